package app

import (
	"fmt"
	"slices"

	"github.com/residual-webgpu/residual/model"
)

// The architecture explorer's data: what its tables show, taken from
// model.Net.Program's stage table (shapes, parameters, MACs are copied,
// never recomputed here), and how two architectures' rows line up.

// exChoice is one architecture the explorer lays out: a torchvision name
// and where its bottlenecks put the stride.
type exChoice struct {
	Name    string
	Variant model.Variant
}

// exShape is the input the explorer plans for.
type exShape struct {
	Classes, Batch, Size int
}

// The explorer's input ranges: sizes a person would try, batches that fit.
const (
	exMinSize, exMaxSize       = 32, 1024
	exMaxBatch                 = 64
	exMaxClasses               = 100000
	exDefaultSize, exDefaultBS = 224, 1
)

// exPlan is one architecture's table as the explorer shows it.
type exPlan struct {
	Choice exChoice
	Shape  exShape
	Arch   model.Arch
	Net    model.Net
	Rows   []exRow // the stage table in order, each layer's row followed by its blocks'
	// Params and MACs are model.Totals of the stage table.
	Params, MACs int64
	// WeightBytes is the size of its int8 weight tensors (one byte per
	// weight, float32 biases and per-channel scales), what a run with
	// random weights allocates; ActBytes the largest activation of the
	// Program in float32.
	WeightBytes, ActBytes int64
	Err                   string // why it cannot be laid out (the rest is empty)
}

// exRow is one row of an architecture's table: a stage, or a block of a
// layer (Block true), as model.Stage has it.
type exRow struct {
	Name       string
	Kind       model.StageKind
	Block      bool
	Shape      []int
	Params     int64
	MACs       int64
	Stride     int
	Downsample bool
}

// Title names the choice for people: "resnet50 v1.5". Basic blocks have
// no variant: their stride is always on the first 3×3.
func (c exChoice) Title() string {
	if a, err := model.ByName(c.Name); err == nil && a.Block == model.Basic {
		return c.Name
	}
	return c.Name + " " + string(c.Variant)
}

// arch is the model.Arch of the choice with classes.
func (c exChoice) arch(classes int) (model.Arch, error) {
	a, err := model.ByName(c.Name)
	if err != nil {
		return model.Arch{}, err
	}
	a.Variant = c.Variant
	a.NumClasses = classes
	return a, a.Validate()
}

// planArch lays a choice out for the shape: its Program's stage table.
func planArch(c exChoice, s exShape) exPlan {
	p := exPlan{Choice: c, Shape: s}
	fail := func(err error) exPlan {
		p.Err = fmt.Sprintf("%s: %v", c.Title(), err)
		return p
	}
	if s.Size < exMinSize || s.Size > exMaxSize {
		return fail(fmt.Errorf("input size %d is outside %d–%d", s.Size, exMinSize, exMaxSize))
	}
	if s.Batch < 1 || s.Batch > exMaxBatch {
		return fail(fmt.Errorf("batch %d is outside 1–%d", s.Batch, exMaxBatch))
	}
	if s.Classes < 1 || s.Classes > exMaxClasses {
		return fail(fmt.Errorf("%d classes is outside 1–%d", s.Classes, exMaxClasses))
	}
	a, err := c.arch(s.Classes)
	if err != nil {
		return fail(err)
	}
	net, err := a.Net()
	if err != nil {
		return fail(err)
	}
	prog, err := net.Program(s.Batch, s.Size, s.Size)
	if err != nil {
		return fail(err)
	}
	p.Arch, p.Net = a, net
	for _, st := range prog.Stages {
		p.Rows = append(p.Rows, rowOf(st, false))
		for _, b := range st.Blocks {
			p.Rows = append(p.Rows, rowOf(b, true))
		}
	}
	p.Params, p.MACs = model.Totals(prog.Stages)
	for _, t := range net.FoldedTensors() {
		n := int64(1)
		for _, d := range t.Shape {
			n *= int64(d)
		}
		if len(t.Shape) > 1 {
			p.WeightBytes += n + 4*int64(t.Shape[0]) // int8 values, a float32 scale per output channel
		} else {
			p.WeightBytes += 4 * n
		}
	}
	for _, t := range prog.Tensors {
		p.ActBytes = max(p.ActBytes, 4*int64(t.Elems()))
	}
	return p
}

// rowOf copies a stage table row.
func rowOf(s model.Stage, block bool) exRow {
	return exRow{Name: s.Name, Kind: s.Kind, Block: block, Shape: slices.Clone(s.Shape),
		Params: s.Params, MACs: s.MACs, Stride: s.Stride, Downsample: s.Downsample}
}

// Shortcut says what a block adds to its output.
func (r exRow) Shortcut() string {
	if !r.Block {
		return ""
	}
	s := "identity"
	if r.Downsample {
		s = "1×1 conv (downsample)"
	}
	if r.Stride > 1 {
		s = fmt.Sprintf("stride %d, %s", r.Stride, s)
	}
	return s
}

// exLine is one row of the explorer's table: the same row (by name) of
// every architecture shown, nil where one has no such row (ResNet-50's
// layer1.2 beside ResNet-18), and where they differ.
type exLine struct {
	Name  string
	Kind  model.StageKind
	Block bool
	Cells []*exRow
	// Differs is set when the architectures' rows are not the same
	// (shape, parameters, MACs or shortcut), or one lacks the row; the
	// Diff fields say which values differ.
	Differs                                  bool
	DiffShape, DiffParams, DiffMACs, DiffCut bool
}

// mergeRows lines the plans' rows up by name, in forward order: a row
// one plan lacks comes after the row before it in the plan that has it.
func mergeRows(plans []exPlan) []exLine {
	var lines []exLine
	at := map[string]int{}
	for k, p := range plans {
		pos := -1
		for i := range p.Rows {
			r := &p.Rows[i]
			j, ok := at[r.Name]
			if !ok {
				j = pos + 1
				lines = slices.Insert(lines, j, exLine{Name: r.Name, Kind: r.Kind, Block: r.Block, Cells: make([]*exRow, len(plans))})
				for n, v := range at {
					if v >= j {
						at[n] = v + 1
					}
				}
				at[r.Name] = j
			}
			lines[j].Cells[k] = r
			pos = j
		}
	}
	for i := range lines {
		l := &lines[i]
		if len(l.Cells) < 2 {
			continue
		}
		a, b := l.Cells[0], l.Cells[1]
		if a == nil || b == nil {
			l.Differs = true
			continue
		}
		l.DiffShape = !slices.Equal(a.Shape, b.Shape)
		l.DiffParams = a.Params != b.Params
		l.DiffMACs = a.MACs != b.MACs
		l.DiffCut = a.Shortcut() != b.Shortcut()
		l.Differs = l.DiffShape || l.DiffParams || l.DiffMACs || l.DiffCut
	}
	return lines
}
