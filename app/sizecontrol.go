package app

import (
	"strconv"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// SizeControl chooses the input side the network runs at; changing it
// re-plans the stage table and re-runs the current images.
type SizeControl struct {
	goapp.Compo
	Size int
}

// Render draws the choices as a radio group (arrow keys move between them).
func (s *SizeControl) Render() goapp.UI {
	return goapp.FieldSet().Class("toggle", "sizes").ID("size-control").Body(
		goapp.Legend().Text("Input size (pixels)"),
		goapp.Range(inputSizes).Slice(func(i int) goapp.UI {
			n := inputSizes[i]
			id := "size-" + strconv.Itoa(n)
			return goapp.Label().For(id).Class("choice").Body(
				checkedIf(goapp.Input().Type("radio").Name("size").ID(id).Value(strconv.Itoa(n)), s.Size == n).
					OnChange(func(ctx goapp.Context, e goapp.Event) { ctx.NewActionWithValue(actSize, n) }),
				goapp.Span().Text(strconv.Itoa(n)),
			)
		}),
	)
}
