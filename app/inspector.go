package app

import (
	"fmt"
	"strconv"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Inspector is the stage table: every stage of the network (from
// model.Net.Stages, never a second copy of the architecture) with its
// output shape [B, C, H, W], parameters, MACs, time and a heatmap of its
// output; each layer expands to its blocks.
type Inspector struct {
	goapp.Compo
	Rows     []stageRow
	Measured bool   // rows carry timings from a run (else they are the plan)
	Engine   string // who measured them
	Size     int
	Batch    int
	Params   string
	MACs     string
}

// Render draws the table.
func (in *Inspector) Render() goapp.UI {
	caption := fmt.Sprintf("Planned for a batch of %d at %d×%d: %s parameters, %s MACs. Drop an image to measure.", in.Batch, in.Size, in.Size, in.Params, in.MACs)
	if in.Measured {
		caption = fmt.Sprintf("Measured on %s, batch of %d at %d×%d: %s parameters, %s MACs. Heatmaps show the first image's mean activation.", in.Engine, in.Batch, in.Size, in.Size, in.Params, in.MACs)
	}
	return goapp.Section().Class("panel", "inspector").ID("inspector").Aria("labelledby", "inspector-h").Body(
		goapp.H2().ID("inspector-h").Text("Stage inspector"),
		goapp.If(len(in.Rows) == 0, func() goapp.UI {
			return goapp.P().Class("muted").Text("The table appears once the model has loaded.")
		}),
		goapp.If(len(in.Rows) > 0, func() goapp.UI {
			return goapp.Div().Class("table-scroll").Role("region").Aria("labelledby", "inspector-h").TabIndex(0).Body(
				goapp.Table().ID("stages").DataSet("measured", yesNo(in.Measured)).Body(
					goapp.Caption().ID("stages-caption").Text(caption),
					goapp.THead().Body(goapp.Tr().Body(
						goapp.Th().Scope("col").Text("Stage"),
						goapp.Th().Scope("col").Text("Output shape [B, C, H, W]"),
						goapp.Th().Scope("col").Class("num").Text("Params"),
						goapp.Th().Scope("col").Class("num").Text("MACs"),
						goapp.Th().Scope("col").Class("num").Text("Time"),
						goapp.Th().Scope("col").Text("Activation"),
					)),
					goapp.Range(in.Rows).Slice(func(i int) goapp.UI { return in.stage(i) }),
				),
			)
		}),
	)
}

// stage is one row group: the stage's row, and for a layer a row holding
// its blocks behind a disclosure.
func (in *Inspector) stage(i int) goapp.UI {
	r := in.Rows[i]
	return goapp.TBody().Class("stage", "kind-"+cssName(r.Kind)).DataSet("stage", r.Name).Body(
		goapp.Tr().Body(
			goapp.Th().Scope("row").Class("name").Text(r.Name),
			goapp.Td().Class("shape").Text(r.Shape),
			goapp.Td().Class("num").Text(r.Params),
			goapp.Td().Class("num").Text(r.MACs),
			goapp.Td().Class("num", "time").Text(r.Time),
			goapp.Td().Body(heatmapCell(r)),
		),
		goapp.If(len(r.Blocks) > 0, func() goapp.UI {
			return goapp.Tr().Class("blocks-row").Body(
				goapp.Td().ColSpan(6).Body(
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
	return goapp.Table().Class("block-table").Body(
		goapp.THead().Body(goapp.Tr().Body(
			goapp.Th().Scope("col").Text("Block"),
			goapp.Th().Scope("col").Text("Output shape"),
			goapp.Th().Scope("col").Class("num").Text("Stride"),
			goapp.Th().Scope("col").Text("Shortcut"),
			goapp.Th().Scope("col").Class("num").Text("Params"),
			goapp.Th().Scope("col").Class("num").Text("MACs"),
			goapp.Th().Scope("col").Class("num").Text("Time"),
			goapp.Th().Scope("col").Text("Activation"),
		)),
		goapp.TBody().Body(
			goapp.Range(r.Blocks).Slice(func(j int) goapp.UI {
				b := r.Blocks[j]
				shortcut := "identity"
				if b.Downsample {
					shortcut = "1×1 conv (downsample)"
				}
				return goapp.Tr().DataSet("block", b.Name).Body(
					goapp.Th().Scope("row").Class("name").Text(b.Name),
					goapp.Td().Class("shape").Text(b.Shape),
					goapp.Td().Class("num").Text(strconv.Itoa(b.Stride)),
					goapp.Td().Text(shortcut),
					goapp.Td().Class("num").Text(b.Params),
					goapp.Td().Class("num").Text(b.MACs),
					goapp.Td().Class("num").Text(b.Time),
					goapp.Td().Body(heatmapCell(b)),
				)
			}),
		),
	)
}

// heatmapCell is a row's activation picture, or a dash.
func heatmapCell(r stageRow) goapp.UI {
	if r.Heatmap == "" {
		return goapp.Span().Class("muted").Aria("hidden", true).Text("–")
	}
	return goapp.Img().Class("heat").Src(r.Heatmap).Width(28).Height(28).
		Alt("heatmap of " + r.Name + "'s mean activation")
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
