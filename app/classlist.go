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
	// open: the list's items exist only once it has been opened. A
	// thousand of them cost the page about a second of main thread in
	// wasm, just as the model becomes ready.
	open bool
}

// Render draws the list, or nothing before the model has loaded. Its
// numbers are the class indices (data-index on each prediction).
func (c *ClassList) Render() goapp.UI {
	if len(c.Labels) == 0 {
		return goapp.Div().Class("class-list-empty")
	}
	return goapp.Details().Class("class-list").ID("class-list").Open(c.open).OnToggle(c.onToggle).Body(
		goapp.Summary().Text(fmt.Sprintf("The %d classes it knows", len(c.Labels))),
		goapp.If(c.open, func() goapp.UI {
			// A scroll box: focusable, so keyboards can scroll it.
			return goapp.Div().Class("class-scroll").TabIndex(0).Role("region").Aria("label", "Class list").Body(
				goapp.Ol().Start(0).Body(
					goapp.Range(c.Labels).Slice(func(i int) goapp.UI { return goapp.Li().Text(c.Labels[i]) }),
				),
			)
		}),
	)
}

// onToggle follows the disclosure's state (opened by its summary or by
// the link under the top-5).
func (c *ClassList) onToggle(ctx goapp.Context, e goapp.Event) {
	c.open = ctx.JSSrc().Get("open").Bool()
}
