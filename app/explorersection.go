package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ExplorerSection is the way into the architecture explorer: a button
// that opens and closes it below the banner. The Explorer is mounted only
// while open, so the classifier's page pays nothing for it until asked;
// ?view=explorer opens it at once (a link to it).
type ExplorerSection struct {
	goapp.Compo
	Backend Backend // the page's engine choice, passed to the explorer's runs

	open bool
}

// OnMount opens the explorer when the address asks for it.
func (s *ExplorerSection) OnMount(ctx goapp.Context) {
	if queryParam("view") == "explorer" {
		s.open = true
	}
}

// Render draws the button, and the explorer when open.
func (s *ExplorerSection) Render() goapp.UI {
	label := "Explore the architectures"
	if s.open {
		label = "Close the explorer"
	}
	return goapp.Section().Class("explorer-section").Aria("label", "Architecture explorer").Body(
		goapp.Div().Class("explorer-bar").Body(
			goapp.Button().Type("button").Class("button").ID("explorer-toggle").
				Aria("expanded", yesNoBool(s.open)).Aria("controls", "explorer").Text(label).OnClick(s.toggle),
			goapp.Span().Class("muted", "explorer-hint").Text("Every torchvision ResNet stage by stage, side by side — no weights needed."),
		),
		goapp.If(s.open, func() goapp.UI { return &Explorer{Backend: s.Backend} }),
	)
}

// toggle opens or closes the explorer.
func (s *ExplorerSection) toggle(ctx goapp.Context, e goapp.Event) {
	s.open = !s.open
	if s.open {
		ctx.Defer(func(goapp.Context) { revealElement("explorer") })
	}
}

// yesNoBool writes a flag as ARIA wants it: "true" or "false".
func yesNoBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
