package app

import (
	"fmt"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/model"
)

// BlockDiagram draws an architecture's residual block as SVG, from the
// network's layout (model.Net): the main branch's convs in order with
// their kernels, channels, groups and stride, the shortcut (identity, or
// the downsample branch's 1×1 conv), the add and the ReLU. It shows
// layer2's first block, where a stage halves the size: the stride and the
// downsample branch both sit there, so v1 and v1.5 differ visibly.
type BlockDiagram struct {
	goapp.Compo
	Prefix string // unique start of the drawing's element ids
	Title  string // the architecture, for people
	Net    model.Net
}

const svgNS = "http://www.w3.org/2000/svg"

// svgEl is an SVG element: go-app creates it in the SVG namespace only
// when told, element by element.
func svgEl(tag string) goapp.HTMLElem { return goapp.Elem(tag).XMLNS(svgNS) }

// The drawing's geometry, in SVG user units.
const (
	bdWidth  = 460
	bdBoxX   = 20
	bdBoxW   = 270
	bdBoxH   = 46
	bdGap    = 26
	bdLaneX  = 380 // the shortcut's lane
	bdDownW  = 150
	bdTop    = 8
	bdNodeH  = 28
	bdNodeW  = 220
	bdCenter = bdBoxX + bdBoxW/2
)

// exampleBlock is the block the diagram draws: layer2.0.
func (d *BlockDiagram) exampleBlock() (model.Block, bool) {
	if len(d.Net.Layers) < 2 || len(d.Net.Layers[1].Blocks) == 0 {
		return model.Block{}, false
	}
	return d.Net.Layers[1].Blocks[0], true
}

// convLabel describes a conv in a box's first line: "3×3 conv, 128 → 128, 32 groups".
func convLabel(c model.Conv) string {
	s := fmt.Sprintf("%d×%d conv, %d → %d", c.Kernel, c.Kernel, c.Cin, c.Cout)
	if c.Groups > 1 {
		s += fmt.Sprintf(", %d groups", c.Groups)
	}
	return s
}

// Render draws the block and says in words what it shows.
func (d *BlockDiagram) Render() goapp.UI {
	b, ok := d.exampleBlock()
	if !ok {
		return goapp.Figure().Class("ex-diagram").Body(goapp.FigCaption().Text(d.Title + ": no block to draw"))
	}
	a := d.Net.Arch
	kind := "BasicBlock"
	if a.Block == model.Bottleneck {
		kind = "Bottleneck"
	}
	addY := bdTop + bdNodeH + bdGap + len(b.Convs)*(bdBoxH+bdGap) + 14
	outY := addY + 14 + bdGap + 22
	height := outY + bdNodeH + bdTop
	titleID, descID := d.Prefix+"-title", d.Prefix+"-desc"

	var parts []goapp.UI
	parts = append(parts,
		svgEl("title").ID(titleID).Text(fmt.Sprintf("%s: the %s %s", d.Title, kind, b.Name)),
		svgEl("desc").ID(descID).Text(d.describe(b)),
		svgEl("defs").Body(
			svgEl("marker").ID(d.Prefix+"-arrow").Attr("viewBox", "0 0 10 10").Attr("refX", 9).Attr("refY", 5).
				Attr("markerWidth", 7).Attr("markerHeight", 7).Attr("orient", "auto-start-reverse").Body(
				svgEl("path").Attr("d", "M 0 0 L 10 5 L 0 10 z").Class("bd-arrowhead"),
			),
		),
	)
	arrow := fmt.Sprintf("url(#%s-arrow)", d.Prefix)
	line := func(x1, y1, x2, y2 int, cls ...string) goapp.UI {
		return svgEl("line").Attr("x1", x1).Attr("y1", y1).Attr("x2", x2).Attr("y2", y2).
			Class(append([]string{"bd-wire"}, cls...)...).Attr("marker-end", arrow)
	}
	text := func(x, y int, s string, cls ...string) goapp.HTMLElem {
		return svgEl("text").Attr("x", x).Attr("y", y).Attr("text-anchor", "middle").Class(cls...).Text(s)
	}
	// The input.
	parts = append(parts,
		svgEl("rect").Attr("x", bdCenter-bdNodeW/2).Attr("y", bdTop).Attr("width", bdNodeW).Attr("height", bdNodeH).Attr("rx", 14).Class("bd-node"),
		text(bdCenter, bdTop+19, fmt.Sprintf("%s input: %d channels", b.Name, b.Cin), "bd-node-text"),
	)
	y := bdTop + bdNodeH
	for i, c := range b.Convs {
		top := y + bdGap
		parts = append(parts, line(bdCenter, y, bdCenter, top-1))
		cls := []string{"bd-conv"}
		if c.Stride > 1 {
			cls = append(cls, "bd-strided")
		}
		second := "BN, ReLU"
		label := convLabel(c)
		if i == len(b.Convs)-1 {
			second = "BN (ReLU after the add)"
			if a.Block == model.Bottleneck {
				label += fmt.Sprintf(" (expands ×%d)", a.Expansion())
			}
		}
		parts = append(parts,
			svgEl("rect").Attr("x", bdBoxX).Attr("y", top).Attr("width", bdBoxW).Attr("height", bdBoxH).Attr("rx", 8).Class(cls...),
			text(bdCenter, top+19, label, "bd-conv-text"),
		)
		if c.Stride > 1 {
			parts = append(parts, svgEl("text").Attr("x", bdCenter).Attr("y", top+37).Attr("text-anchor", "middle").Class("bd-sub").Body(
				svgEl("tspan").Class("bd-stride").Text(fmt.Sprintf("stride %d", c.Stride)),
				svgEl("tspan").Text(" · "+second),
			))
		} else {
			parts = append(parts, text(bdCenter, top+37, second, "bd-sub"))
		}
		y = top + bdBoxH
	}
	// The add, its ReLU and the output.
	parts = append(parts,
		line(bdCenter, y, bdCenter, addY-15),
		svgEl("circle").Attr("cx", bdCenter).Attr("cy", addY).Attr("r", 14).Class("bd-add"),
		text(bdCenter, addY+6, "+", "bd-add-text"),
		text(bdCenter-44, addY+5, "add", "bd-sub"),
		line(bdCenter, addY+14, bdCenter, outY-1),
		text(bdCenter+40, addY+14+bdGap/2+8, "ReLU", "bd-sub"),
		svgEl("rect").Attr("x", bdCenter-bdNodeW/2).Attr("y", outY).Attr("width", bdNodeW).Attr("height", bdNodeH).Attr("rx", 14).Class("bd-node"),
		text(bdCenter, outY+19, fmt.Sprintf("output: %d channels", b.Cout), "bd-node-text"),
	)
	// The shortcut: out of the input, down the lane, into the add.
	start := fmt.Sprintf("M %d %d H %d", bdCenter+bdNodeW/2, bdTop+bdNodeH/2, bdLaneX)
	if ds := b.Downsample; ds != nil {
		boxY := (bdTop+bdNodeH+addY)/2 - bdBoxH/2
		parts = append(parts,
			svgEl("path").Attr("d", fmt.Sprintf("%s V %d", start, boxY-1)).Class("bd-wire", "bd-shortcut").Attr("marker-end", arrow),
			svgEl("rect").Attr("x", bdLaneX-bdDownW/2).Attr("y", boxY).Attr("width", bdDownW).Attr("height", bdBoxH+16).Attr("rx", 8).Class("bd-down"),
			text(bdLaneX, boxY+17, "downsample", "bd-sub"),
			text(bdLaneX, boxY+34, fmt.Sprintf("1×1 conv, %d → %d", ds.Cin, ds.Cout), "bd-conv-text"),
			text(bdLaneX, boxY+51, fmt.Sprintf("stride %d · BN", ds.Stride), "bd-sub", "bd-stride"),
			svgEl("path").Attr("d", fmt.Sprintf("M %d %d V %d H %d", bdLaneX, boxY+bdBoxH+16, addY, bdCenter+15)).Class("bd-wire", "bd-shortcut").Attr("marker-end", arrow),
		)
	} else {
		parts = append(parts,
			svgEl("path").Attr("d", fmt.Sprintf("%s V %d H %d", start, addY, bdCenter+15)).Class("bd-wire", "bd-shortcut", "bd-identity").Attr("marker-end", arrow),
			text(bdLaneX, (bdTop+addY)/2, "identity", "bd-sub"),
		)
	}
	return goapp.Figure().Class("ex-diagram").ID(d.Prefix).DataSet("block", kind).Body(
		svgEl("svg").Attr("viewBox", fmt.Sprintf("0 0 %d %d", bdWidth, height)).Attr("width", bdWidth).Attr("height", height).
			Role("img").Aria("labelledby", titleID+" "+descID).Class("bd-svg").Body(parts...),
		goapp.FigCaption().Body(
			goapp.Strong().Text(d.Title+": "+kind),
			goapp.Text(" — "+d.describe(b)),
		),
	)
}

// describe says in words what the drawing shows.
func (d *BlockDiagram) describe(b model.Block) string {
	a := d.Net.Arch
	var convs []string
	for _, c := range b.Convs {
		s := convLabel(c)
		if c.Stride > 1 {
			s += fmt.Sprintf(" (stride %d)", c.Stride)
		}
		convs = append(convs, s)
	}
	w := fmt.Sprintf("%s: %s, then the shortcut is added and a ReLU applied.", b.Name, strings.Join(convs, "; "))
	if b.Downsample != nil {
		w += fmt.Sprintf(" The shortcut is the downsample branch, a 1×1 conv with stride %d and BN, since the block changes size and channels.", b.Downsample.Stride)
	}
	switch {
	case a.Block == model.Basic:
		w += " Basic blocks put the stride on the first 3×3; every other block has stride 1 and an identity shortcut."
	case a.Variant == model.V1:
		w += fmt.Sprintf(" v1 (the paper) puts the stride on the first 1×1; the last 1×1 expands ×%d.", a.Expansion())
	default:
		w += fmt.Sprintf(" v1.5 (torchvision) puts the stride on the 3×3; the last 1×1 expands ×%d.", a.Expansion())
	}
	return w
}
