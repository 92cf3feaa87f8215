package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ClassList is every class the model can answer with, behind a
// disclosure (#class-list, the target of the line under the top-5): the
// answer to "why did it call my horse a ram?".
type ClassList struct {
	goapp.Compo
	Labels []string
}

// Render draws the list, or nothing before the model has loaded. Its
// numbers are the class indices (data-index on each prediction).
func (c *ClassList) Render() goapp.UI {
	if len(c.Labels) == 0 {
		return goapp.Div().Class("class-list-empty")
	}
	return goapp.Details().Class("class-list").ID("class-list").Body(
		goapp.Summary().Text(fmt.Sprintf("The %d classes it knows", len(c.Labels))),
		// A scroll box: focusable, so keyboards can scroll it.
		goapp.Div().Class("class-scroll").TabIndex(0).Role("region").Aria("label", "Class list").Body(
			goapp.Ol().Start(0).Body(
				goapp.Range(c.Labels).Slice(func(i int) goapp.UI { return goapp.Li().Text(c.Labels[i]) }),
			),
		),
	)
}
