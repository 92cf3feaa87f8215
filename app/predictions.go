package app

import (
	"fmt"
	"strconv"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Predictions shows each image of the batch as the model saw it, with its
// top-5 classes, and how long the run took. It is a live region: screen
// readers announce new answers.
type Predictions struct {
	goapp.Compo
	Images  []imageView
	Engine  string
	Size    int
	Latency latency
	PrepMs  float64
	FirstMs float64 // page load → first top-5, in ms since navigation
	Status  string  // what is happening now
	Busy    bool
	Classes int  // how many classes the model knows (0 before it loads)
	HasList bool // the model panel lists them (#class-list)
}

// Render draws the results.
func (p *Predictions) Render() goapp.UI {
	return goapp.Section().Class("panel", "results").ID("results").
		Aria("labelledby", "results-h").Aria("busy", strconv.FormatBool(p.Busy)).
		DataSet("first-top5-ms", fmt.Sprintf("%.0f", p.FirstMs)).Body(
		goapp.H2().ID("results-h").Text("Predictions"),
		goapp.P().Class("status").ID("status").Role("status").Aria("live", "polite").Body(
			goapp.If(p.Busy, func() goapp.UI { return goapp.Span().Class("spinner").Aria("hidden", true) }),
			goapp.Text(p.Status),
		),
		goapp.If(len(p.Images) > 0, func() goapp.UI {
			return goapp.Div().Body(
				p.timing(),
				goapp.If(!p.Busy, func() goapp.UI {
					return goapp.Button().Type("button").Class("button").ID("run-again").
						Text("Run again").Title("Run the same images again to measure a warm run").
						OnClick(func(ctx goapp.Context, e goapp.Event) { ctx.NewAction(actRerun) })
				}),
				goapp.Ol().Class("images").ID("predictions").Aria("live", "polite").Body(
					goapp.Range(p.Images).Slice(func(i int) goapp.UI { return p.image(i) }),
				),
				p.knows(),
			)
		}),
	)
}

// knows says what the answers can be: the model picks among the classes
// it was trained on, always, so a picture of something else still gets
// names; a low top score is how that shows.
func (p *Predictions) knows() goapp.UI {
	what := fmt.Sprintf("%d classes", p.Classes)
	if p.Classes == 1000 {
		what = "the 1000 classes of ImageNet"
	}
	return goapp.P().Class("model-knows").ID("model-knows").Body(
		goapp.If(p.Classes > 0, func() goapp.UI {
			return goapp.Span().Body(
				goapp.Text("The model knows "),
				goapp.If(p.HasList, func() goapp.UI {
					return goapp.A().Href("#class-list").Text(what).
						OnClick(func(ctx goapp.Context, e goapp.Event) { openDetails("class-list") })
				}).Else(func() goapp.UI { return goapp.Text(what) }),
				goapp.Text(" (objects, animals, foods, scenes) and always answers with some of them. "),
			)
		}),
		goapp.Text(fmt.Sprintf("A top score under %.0f%% means it is unsure: the picture may show something that is not one of its classes, and it names the nearest it knows.", lowConfidence*100)),
	)
}

// timing is the latency line.
func (p *Predictions) timing() goapp.UI {
	if p.Engine == "" {
		return goapp.Text("") // the first run is under way: nothing measured yet
	}
	l := p.Latency
	warm := "warm: run again to measure"
	if l.Runs > 1 {
		warm = "warm " + formatMs(l.WarmMs)
	}
	return goapp.P().Class("timing").ID("latency").Body(
		goapp.Strong().Text(fmt.Sprintf("%d image%s at %d×%d on %s: ", len(p.Images), plural(len(p.Images)), p.Size, p.Size, p.Engine)),
		goapp.Span().ID("latency-first").Text("first run "+formatMs(l.FirstMs)),
		goapp.Text(" · "),
		goapp.Span().ID("latency-warm").Text(warm),
		goapp.Text(" · preprocessing "+formatMs(p.PrepMs)),
		goapp.If(p.FirstMs > 0, func() goapp.UI {
			return goapp.Span().ID("first-top5").Text(fmt.Sprintf(" · page load → first top-5 %.1f s", p.FirstMs/1000))
		}),
	)
}

// image is one image's card.
func (p *Predictions) image(i int) goapp.UI {
	im := p.Images[i]
	hid := "image-" + strconv.Itoa(i) + "-h"
	return goapp.Li().Class("image-card").Aria("labelledby", hid).Body(
		goapp.Figure().Body(
			goapp.If(im.Crop != "", func() goapp.UI {
				return goapp.Img().Class("crop").Src(im.Crop).Width(160).Height(160).
					Alt(fmt.Sprintf("%s as the model sees it: resized and centre-cropped to %d×%d", im.Name, p.Size, p.Size))
			}),
			goapp.FigCaption().ID(hid).Text(im.Name),
		),
		goapp.Div().Class("answer").Body(
			goapp.Ol().Class("top5").Body(
				goapp.Range(im.Top).Slice(func(j int) goapp.UI {
					t := im.Top[j]
					return goapp.Li().Class("pred").DataSet("index", t.Index).Body(
						goapp.Span().Class("label").Text(t.Label),
						goapp.Meter().Min(0).Max(1).Value(t.Prob).Aria("label", t.Label+" probability"),
						goapp.Span().Class("pct").Text(t.Percent),
					)
				}),
			),
			goapp.If(im.Unsure, func() goapp.UI {
				return goapp.P().Class("image-note", "unsure").Text(
					fmt.Sprintf("Unsure: no class reaches %.0f%%.", lowConfidence*100))
			}),
			goapp.If(im.Note != "", func() goapp.UI {
				return goapp.P().Class("image-note", "notice", "tiny").Text(im.Note)
			}),
		),
	)
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
