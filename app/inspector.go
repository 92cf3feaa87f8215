package app

import (
	"fmt"
	"strconv"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Inspector is the stage table: every stage of the network (from
// model.Net.Stages, never a second copy of the architecture) with its
// output shape [B, C, H, W], parameters, MACs, time and a heatmap of its
// output; each layer expands to its blocks, each block with its path
// (main branch, shortcut, add, ReLU). A heatmap clicked (or Enter on it)
// is shown large below the table (heatlarge.go): every image's, with its
// colour scale and its strongest channel.
//
// On a phone the table becomes a stack of cards (web/app.css): each cell
// then shows its column's name from data-label, and the explicit ARIA
// roles keep it a table for screen readers whatever its CSS display.
type Inspector struct {
	goapp.Compo
	Rows     []stageRow
	Measured bool   // rows carry timings from a run (else they are the plan)
	Engine   string // who measured them
	Size     int
	Batch    int
	Params   string
	MACs     string
	Images   []string // the names of the batch's images, in order

	large string // the row whose heatmaps are shown large, "" for none
	image int    // the image shown large
}

// OnUpdate closes the large view when its row is gone (a new plan).
func (in *Inspector) OnUpdate(ctx goapp.Context) {
	if in.large != "" && in.findRow(in.large) == nil {
		in.large = ""
	}
}

// Render draws the table.
func (in *Inspector) Render() goapp.UI {
	caption := fmt.Sprintf("Planned for a batch of %d at %d×%d: %s parameters, %s MACs. Classify an image to measure it.", in.Batch, in.Size, in.Size, in.Params, in.MACs)
	if in.Measured {
		caption = fmt.Sprintf("Measured on %s, batch of %d at %d×%d: %s parameters, %s MACs. Heatmaps show each position's mean activation over the channels; click one to see it large for every image, with its scale and strongest channel.", in.Engine, in.Batch, in.Size, in.Size, in.Params, in.MACs)
	}
	return goapp.Section().Class("panel", "inspector").ID("inspector").Aria("labelledby", "inspector-h").OnKeyDown(in.onKey).Body(
		goapp.H2().ID("inspector-h").Text("Stage inspector"),
		goapp.If(len(in.Rows) == 0, func() goapp.UI {
			return goapp.P().Class("muted").Text("The table appears once the model has loaded.")
		}),
		goapp.If(len(in.Rows) > 0, func() goapp.UI {
			return goapp.Div().Class("table-scroll").Role("region").Aria("label", "Stage table").TabIndex(0).Body(
				goapp.Table().ID("stages").Role("table").DataSet("measured", yesNo(in.Measured)).Body(
					goapp.Caption().ID("stages-caption").Text(caption),
					goapp.THead().Role("rowgroup").Body(goapp.Tr().Role("row").Body(
						colHead("Stage"),
						colHead("Output shape [B, C, H, W]"),
						colHead("Params").Class("num"),
						colHead("MACs").Class("num"),
						colHead("Time").Class("num"),
						colHead("Activation"),
					)),
					goapp.Range(in.Rows).Slice(func(i int) goapp.UI { return in.stage(i) }),
				),
			)
		}),
		goapp.If(in.large != "", func() goapp.UI { return in.largeView() }),
	)
}

// stage is one row group: the stage's row, and for a layer a row holding
// its blocks behind a disclosure.
func (in *Inspector) stage(i int) goapp.UI {
	r := in.Rows[i]
	return goapp.TBody().Role("rowgroup").Class("stage", "kind-"+cssName(r.Kind)).DataSet("stage", r.Name).Body(
		goapp.Tr().Role("row").Class("stage-row").Body(
			rowHead(r.Name),
			cell("Output shape", r.Shape).Class("shape", "c-shape"),
			cell("Params", r.Params).Class("num", "c-params"),
			cell("MACs", r.MACs).Class("num", "c-macs"),
			cell("Time", r.Time).Class("num", "time", "c-time"),
			goapp.Td().Role("cell").Class("c-heat").Body(in.heatmapCell(r)),
		),
		goapp.If(len(r.Blocks) > 0, func() goapp.UI {
			return goapp.Tr().Role("row").Class("blocks-row").Body(
				goapp.Td().Role("cell").ColSpan(6).Body(
					goapp.Details().Class("blocks").Body(
						goapp.Summary().Text(fmt.Sprintf("%s: %d blocks", r.Name, len(r.Blocks))),
						in.blocks(r),
					),
				),
			)
		}),
	)
}

// blocks is a layer's block table.
func (in *Inspector) blocks(r stageRow) goapp.UI {
	return goapp.Table().Role("table").Class("block-table").Aria("label", r.Name+"'s blocks").Body(
		goapp.THead().Role("rowgroup").Body(goapp.Tr().Role("row").Body(
			colHead("Block"),
			colHead("Output shape"),
			colHead("Stride").Class("num"),
			colHead("Shortcut"),
			colHead("Path"),
			colHead("Params").Class("num"),
			colHead("MACs").Class("num"),
			colHead("Time").Class("num"),
			colHead("Activation"),
		)),
		goapp.TBody().Role("rowgroup").Body(
			goapp.Range(r.Blocks).Slice(func(j int) goapp.UI {
				b := r.Blocks[j]
				shortcut := "identity"
				if b.Downsample {
					shortcut = "1×1 conv (downsample)"
				}
				return goapp.Tr().Role("row").DataSet("block", b.Name).Body(
					rowHead(b.Name),
					cell("Output shape", b.Shape).Class("shape", "c-shape"),
					cell("Stride", strconv.Itoa(b.Stride)).Class("num", "c-stride"),
					cell("Shortcut", shortcut).Class("c-shortcut"),
					cell("Path", b.Path).Class("c-path"),
					cell("Params", b.Params).Class("num", "c-params"),
					cell("MACs", b.MACs).Class("num", "c-macs"),
					cell("Time", b.Time).Class("num", "c-time"),
					goapp.Td().Role("cell").Class("c-heat").Body(in.heatmapCell(b)),
				)
			}),
		),
	)
}

// colHead is a column header.
func colHead(text string) goapp.HTMLTh {
	return goapp.Th().Scope("col").Role("columnheader").Text(text)
}

// rowHead is a row's name cell.
func rowHead(name string) goapp.HTMLTh {
	return goapp.Th().Scope("row").Role("rowheader").Class("name").Text(name)
}

// cell is a data cell; label is its column's name, which the cards of the
// narrow layout show beside the value (CSS, hidden from screen readers:
// they have the column header).
func cell(label, text string) goapp.HTMLTd {
	return goapp.Td().Role("cell").DataSet("label", label).Text(text)
}

// heatmapCell is a row's activation picture, a button that shows it
// large, or a dash.
func (in *Inspector) heatmapCell(r stageRow) goapp.UI {
	if r.Heatmap == "" {
		return goapp.Span().Class("muted").Aria("hidden", true).Text("–")
	}
	open := in.large == r.Name
	btn := goapp.Button().Type("button").Class("heat-btn").ID("heat-btn-"+r.Name).
		Aria("pressed", strconv.FormatBool(open)).Title("Show large")
	if in.large != "" {
		// Only while the large view exists: aria-controls must name an element.
		btn = btn.Aria("controls", "heat-large")
	}
	return btn.OnClick(func(ctx goapp.Context, e goapp.Event) {
		if open {
			in.large = ""
			return
		}
		in.large, in.image = r.Name, 0
		ctx.Defer(func(goapp.Context) {
			revealElement("heat-large")
			focusElement("heat-large")
		})
	}).Body(
		goapp.Img().Class("heat").Src(r.Heatmap).Width(28).Height(28).
			Alt("heatmap of " + r.Name + "'s mean activation; show it large"),
	)
}

// cssName keeps letters and digits of a kind ("bn+relu" → "bnrelu").
func cssName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}
