package app

import (
	"fmt"
	"strconv"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// camDefaultOpacity is the maps' opacity (percent) until the visitor
// moves the slider.
const camDefaultOpacity = 50

// CAMView is "Where it looked": for every image of the answer, the class
// activation map of each of its top classes over the crop the model saw,
// in a colour scale, with one opacity slider for all of them; a map
// clicked is shown large. The overlays are drawn off the render
// (ctx.Async) whenever the answer or the opacity changes; Render only
// shows what was drawn.
type CAMView struct {
	goapp.Compo
	Images []camImage
	Size   int

	opacity int        // percent, 0 when unset (camDefaultOpacity)
	urls    [][]string // the drawn overlays, [image][rank]
	drawn   []camImage // the Images urls were drawn for
	gen     int        // the latest drawing asked for; older ones are dropped
	large   [2]int     // image and rank shown large, image -1 for none
	hasBig  bool
}

// OnMount draws the overlays of the answer it starts with.
func (v *CAMView) OnMount(ctx goapp.Context) { v.redraw(ctx) }

// OnUpdate draws the overlays of a new answer.
func (v *CAMView) OnUpdate(ctx goapp.Context) {
	v.hasBig = false
	v.redraw(ctx)
}

func (v *CAMView) pct() int {
	if v.opacity == 0 {
		return camDefaultOpacity
	}
	return max(v.opacity, 0)
}

// redraw draws every overlay at the current opacity in the background.
func (v *CAMView) redraw(ctx goapp.Context) {
	v.gen++
	gen, imgs, op := v.gen, v.Images, float64(v.pct())/100
	if len(imgs) == 0 {
		v.urls, v.drawn = nil, nil
		return
	}
	ctx.Async(func() {
		urls := camOverlays(imgs, op, func() { breatheWith(func() { pauseFor(0) }) })
		ctx.Dispatch(func(goapp.Context) {
			if v.gen == gen {
				v.urls, v.drawn = urls, imgs
			}
		})
	})
}

// onOpacity takes the slider's value once it is let go.
func (v *CAMView) onOpacity(ctx goapp.Context, e goapp.Event) {
	n, err := strconv.Atoi(ctx.JSSrc().Get("value").String())
	if err != nil {
		return
	}
	v.opacity = min(max(n, 0), 100)
	if v.opacity == 0 {
		v.opacity = -1 // 0% is a choice, not "unset"
	}
	v.redraw(ctx)
}

// url is the drawn overlay of image i, rank r, or "" while it is drawn.
func (v *CAMView) url(i, r int) string {
	if len(v.drawn) != len(v.Images) || i >= len(v.urls) || r >= len(v.urls[i]) {
		return ""
	}
	if len(v.Images) > 0 && &v.drawn[0] != &v.Images[0] { // drawn for another answer
		return ""
	}
	return v.urls[i][r]
}

// Render draws the section: nothing before an answer with maps.
func (v *CAMView) Render() goapp.UI {
	if len(v.Images) == 0 {
		return goapp.Section().Class("panel", "cams", "empty").ID("cams").Hidden(true)
	}
	return goapp.Section().Class("panel", "cams").ID("cams").Aria("labelledby", "cams-h").Body(
		goapp.H2().ID("cams-h").Text("Where it looked"),
		goapp.P().Class("tiny").Text(fmt.Sprintf("For each top class, its class activation map: the classifier's weights for that class applied to layer4's channels at every position, before the average that makes its score, drawn over the %d×%d crop the model saw. Click a map to enlarge it.", v.Size, v.Size)),
		goapp.Div().Class("cam-controls").Body(
			goapp.Label().For("cam-opacity").Text("Map opacity"),
			goapp.Input().Type("range").ID("cam-opacity").Min(0).Max(100).Step(5).Value(strconv.Itoa(v.pct())).
				Aria("valuetext", strconv.Itoa(v.pct())+"%").OnChange(v.onOpacity),
			goapp.Span().Class("cam-opacity-value").Text(strconv.Itoa(v.pct())+"%"),
			v.legend(),
		),
		goapp.Ol().Class("cam-images").Body(
			goapp.Range(v.Images).Slice(func(i int) goapp.UI { return v.image(i) }),
		),
	)
}

// legend is the colour scale.
func (v *CAMView) legend() goapp.UI {
	return goapp.Div().Class("cam-legend").Role("img").Aria("label", "Colour scale: blue where the class's evidence is weakest, red where it is strongest").Body(
		goapp.Span().Text("weakest"),
		goapp.Span().Class("cam-scale").Aria("hidden", true), // overlay.CSSGradient(9) in app.css: the CSP allows no inline style
		goapp.Span().Text("strongest"),
	)
}

// image is one image's maps, and the one shown large.
func (v *CAMView) image(i int) goapp.UI {
	im := v.Images[i]
	return goapp.Li().Class("cam-image").DataSet("image", i).Body(
		goapp.H3().Text(im.Name),
		goapp.Ol().Class("cam-classes").Body(
			goapp.Range(im.Classes).Slice(func(r int) goapp.UI {
				c := im.Classes[r]
				big := v.hasBig && v.large == [2]int{i, r}
				return goapp.Li().Body(
					goapp.Button().Type("button").Class("cam-thumb").ID(fmt.Sprintf("cam-%d-%d", i, r)).
						Aria("pressed", strconv.FormatBool(big)).Title("Show large").
						OnClick(func(ctx goapp.Context, e goapp.Event) {
							if big {
								v.hasBig = false
							} else {
								v.hasBig, v.large = true, [2]int{i, r}
							}
						}).Body(
						v.picture(i, r, 112, c.Label),
						goapp.Span().Class("cam-label").Text(c.Label),
						goapp.Span().Class("pct").Text(c.Percent),
					),
				)
			}),
		),
		goapp.If(v.hasBig && v.large[0] == i && v.large[1] < len(im.Classes), func() goapp.UI {
			r := v.large[1]
			c := im.Classes[r]
			return goapp.Figure().Class("cam-large").ID(fmt.Sprintf("cam-large-%d", i)).Body(
				v.picture(i, r, 448, c.Label),
				goapp.FigCaption().Body(
					goapp.Strong().Text(fmt.Sprintf("%s %s", c.Label, c.Percent)),
					goapp.Text(fmt.Sprintf(" — rank %d of %s; a %d×%d map, upsampled (bilinear). ", r+1, im.Name, c.Map.W, c.Map.H)),
					v.legend(),
					goapp.Button().Type("button").Class("button").Text("Close").
						OnClick(func(ctx goapp.Context, e goapp.Event) { v.hasBig = false }),
				),
			)
		}),
	)
}

// picture is an overlay at side px, or its placeholder while it is drawn.
func (v *CAMView) picture(i, r, side int, label string) goapp.UI {
	url := v.url(i, r)
	if url == "" {
		size := "small"
		if side > 200 {
			size = "large"
		}
		return goapp.Span().Class("cam-pending", size).Role("img").Aria("label", "drawing the map of "+label)
	}
	return goapp.Img().Class("cam-overlay").Src(url).Width(side).Height(side).
		Alt(fmt.Sprintf("Where the model saw %s in %s: its class activation map over the image", label, v.Images[i].Name))
}
