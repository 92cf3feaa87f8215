package app

import (
	"path"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Samples is a row of sample photos; choosing one classifies it.
type Samples struct {
	goapp.Compo
}

// Render draws the row.
func (s *Samples) Render() goapp.UI {
	return goapp.Div().Class("samples").Body(
		goapp.H3().ID("samples-h").Text("Or try a sample"),
		goapp.Ul().Aria("labelledby", "samples-h").Body(
			goapp.Range(samplePhotos).Slice(func(i int) goapp.UI {
				p := samplePhotos[i]
				return goapp.Li().Body(
					goapp.Button().Type("button").Class("sample").ID("sample-"+strings.TrimSuffix(p.File, path.Ext(p.File))).
						Aria("label", "Classify the sample photo of "+p.Alt).
						OnClick(func(ctx goapp.Context, e goapp.Event) {
							ctx.NewActionWithValue(actSample, p.File)
						}).
						Body(goapp.Img().Src("/web/samples/"+p.File).Aria("hidden", true).Width(96).Height(64).Loading("lazy")),
				)
			}),
		),
	)
}
