package app

import goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

// Messages lists problems with the latest input (each names its file) and
// run errors. It is an alert region; the page stays usable.
type Messages struct {
	goapp.Compo
	Problems []string
}

// Render draws the list, or nothing when all is well.
func (m *Messages) Render() goapp.UI {
	return goapp.Div().ID("messages").Role("alert").Body(
		goapp.If(len(m.Problems) > 0, func() goapp.UI {
			return goapp.Div().Class("panel", "problems").Body(
				goapp.Ul().Body(
					goapp.Range(m.Problems).Slice(func(i int) goapp.UI {
						return goapp.Li().Class("error").Text(m.Problems[i])
					}),
				),
				goapp.Button().Type("button").Class("link").ID("dismiss-problems").Text("Dismiss").
					OnClick(func(ctx goapp.Context, e goapp.Event) { ctx.NewAction(actProblem) }),
			)
		}),
	)
}
