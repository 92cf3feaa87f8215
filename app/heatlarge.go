package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The inspector's large view of one row's heatmaps: methods of Inspector,
// whose state (large, image) says which row and image are shown.

// findRow is the row (a stage or a block) named name, or nil.
func (in *Inspector) findRow(name string) *stageRow {
	for i := range in.Rows {
		if in.Rows[i].Name == name {
			return &in.Rows[i]
		}
		for j := range in.Rows[i].Blocks {
			if in.Rows[i].Blocks[j].Name == name {
				return &in.Rows[i].Blocks[j]
			}
		}
	}
	return nil
}

// onKey closes the large view on Escape, giving the focus back to the
// heatmap that opened it.
func (in *Inspector) onKey(ctx goapp.Context, e goapp.Event) {
	if in.large == "" || e.Get("key").String() != "Escape" {
		return
	}
	in.close(ctx)
}

// close hides the large view and refocuses its row's heatmap.
func (in *Inspector) close(ctx goapp.Context) {
	id := "heat-btn-" + in.large
	in.large = ""
	ctx.Defer(func(goapp.Context) { focusElement(id) })
}

// imageName is the name of image i of the batch.
func (in *Inspector) imageName(i int) string {
	if i < len(in.Images) && in.Images[i] != "" {
		return fmt.Sprintf("image %d, %s", i+1, in.Images[i])
	}
	return fmt.Sprintf("image %d", i+1)
}

// largeView is the open row's heatmaps shown large: the chosen image's
// channel mean and strongest channel, each with its colour scale, and a
// picker of every image of the batch.
func (in *Inspector) largeView() goapp.UI {
	r := in.findRow(in.large)
	if r == nil || len(r.Maps) == 0 {
		return goapp.Text("")
	}
	i := min(max(in.image, 0), len(r.Maps)-1)
	m := r.Maps[i]
	what := fmt.Sprintf("mean over %d channels", m.Channels)
	if m.Strip {
		what = fmt.Sprintf("the %d values, in order", m.Channels)
	}
	cls := "heat-large"
	if m.Strip {
		cls = "heat-large heat-strip"
	}
	return goapp.Figure().Class(cls).ID("heat-large").TabIndex(-1).Aria("labelledby", "heat-large-h").Body(
		goapp.Div().Class("heat-large-head").Body(
			goapp.H3().ID("heat-large-h").Text(fmt.Sprintf("%s %s — %s", r.Name, r.Shape, in.imageName(i))),
			goapp.Button().Type("button").Class("button").ID("heat-close").Text("Close").
				OnClick(func(ctx goapp.Context, e goapp.Event) { in.close(ctx) }),
		),
		goapp.If(len(r.Maps) > 1, func() goapp.UI {
			return goapp.Ul().Class("heat-images").Aria("label", "Images of the batch").Body(
				goapp.Range(r.Maps).Slice(func(j int) goapp.UI {
					return goapp.Li().Body(
						goapp.Button().Type("button").Class("heat-pick").DataSet("image", j).
							Aria("pressed", fmt.Sprint(j == i)).
							OnClick(func(ctx goapp.Context, e goapp.Event) { in.image = j }).Body(
							goapp.Img().Class("heat-pick-map").Src(r.Maps[j].Mean).Width(56).Height(56).Alt("the map of "+in.imageName(j)),
							goapp.Span().Text(in.imageName(j)),
						),
					)
				}),
			)
		}),
		goapp.Div().Class("heat-maps").Body(
			heatPanel("heat-mean", m.Mean, "mean", what, m.Lo, m.Hi,
				fmt.Sprintf("%s's mean activation over its %d channels for %s", r.Name, m.Channels, in.imageName(i))),
			goapp.If(m.Strongest != "", func() goapp.UI {
				return heatPanel("heat-channel", m.Strongest, "channel",
					fmt.Sprintf("channel %d of %d, the strongest (mean %s)", m.Channel, m.Channels, m.ChannelMean), m.SLo, m.SHi,
					fmt.Sprintf("%s's channel %d for %s", r.Name, m.Channel, in.imageName(i)))
			}),
		),
		goapp.If(m.Strongest == "" && m.Channels > 0, func() goapp.UI {
			return goapp.P().Class("heat-channel-note").Text(fmt.Sprintf("Largest: channel %d of %d (%s).", m.Channel, m.Channels, m.ChannelMean))
		}),
		goapp.FigCaption().Class("tiny").Text(fmt.Sprintf("A %d×%d map of %s's output %s, box-averaged from the full resolution; each map's colours span its own range. Escape closes.", m.W, m.H, r.Name, r.Shape)),
	)
}

// heatPanel is one large map with its title and its colour scale, the raw
// values lo and hi at its ends.
func heatPanel(class, src, kind, title, lo, hi, alt string) goapp.UI {
	return goapp.Div().Class("heat-panel", class).DataSet("map", kind).Body(
		goapp.P().Class("heat-title").Text(title),
		goapp.Img().Class("heat-big").Src(src).Width(224).Height(224).Alt(alt),
		goapp.Div().Class("heat-legend").Role("img").Aria("label", fmt.Sprintf("Colour scale from %s (dark purple) to %s (yellow)", lo, hi)).Body(
			goapp.Span().Class("heat-lo").Text(lo),
			goapp.Span().Class("heat-scale").Aria("hidden", true),
			goapp.Span().Class("heat-hi").Text(hi),
		),
	)
}
