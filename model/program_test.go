package model

import (
	"fmt"
	"slices"
	"testing"
)

// TestProgramUsesEveryOpKind keeps OpKinds and the builder in step: every
// kind is in a ResNet's program, so the engines' whole-network tests run
// (and must handle) each of them.
func TestProgramUsesEveryOpKind(t *testing.T) {
	for _, name := range []string{"resnet18", "resnet50"} {
		p, err := mustNet(t, name).Program(2, 64, 48)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range OpKinds {
			if !slices.ContainsFunc(p.Ops, func(o Op) bool { return o.Kind == k }) {
				t.Errorf("%s: no %s op", name, k)
			}
		}
		for _, o := range p.Ops {
			if !slices.Contains(OpKinds, o.Kind) {
				t.Errorf("%s: op %s of kind %q is not in OpKinds", name, o.Name, o.Kind)
			}
		}
	}
}

// TestProgramLiveness checks each tensor's producer and last use against
// the ops that write and read it, and that every stage row shows the
// tensor of its last op.
func TestProgramLiveness(t *testing.T) {
	p, err := mustNet(t, "resnet50").Program(1, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ops) != 1+1+1+16*3+4+1+1+1 {
		t.Errorf("%d ops", len(p.Ops))
	}
	last := map[int]int{}
	for i, o := range p.Ops {
		if p.Tensors[o.Out].Producer != i {
			t.Errorf("op %d %s: its output's producer is %d", i, o.Name, p.Tensors[o.Out].Producer)
		}
		for _, in := range []int{o.In, o.Residual} {
			if in < 0 {
				continue
			}
			if p.Tensors[in].Producer >= i {
				t.Errorf("op %d %s reads tensor %d before it is written", i, o.Name, in)
			}
			last[in] = i
		}
	}
	last[p.Output] = len(p.Ops)
	for id, ti := range p.Tensors {
		want, read := last[id]
		if !read {
			want = ti.Producer
		}
		for v, vi := range p.Tensors { // a tensor lives as long as its views
			if vi.ViewOf == id {
				want = max(want, last[v])
			}
		}
		if ti.LastUse != want {
			t.Errorf("tensor %d %v: last use %d, want %d", id, ti.Shape, ti.LastUse, want)
		}
	}
	if p.Input != 0 || p.Tensors[p.Input].Producer != -1 || p.Output != p.Ops[len(p.Ops)-1].Out {
		t.Errorf("input %d, output %d", p.Input, p.Output)
	}
	for _, s := range p.Stages {
		if fmt.Sprint(s.Shape) != fmt.Sprint(p.Tensors[s.Out].Shape) {
			t.Errorf("stage %s shows tensor %d of shape %v, says %v", s.Name, s.Out, p.Tensors[s.Out].Shape, s.Shape)
		}
	}
	// ResNet-50's peak is layer1.0's last conv: the shortcut (the
	// downsample's output), the branch's input and output.
	if peak := p.PeakBytes(); peak != 4*(256*56*56+64*56*56+256*56*56) {
		t.Errorf("peak %d bytes", peak)
	}
}

// TestProgramRejectsBrokenLayouts: channels that do not chain up and
// inputs out of range fail.
func TestProgramRejectsBrokenLayouts(t *testing.T) {
	n := mustNet(t, "resnet18")
	n.Layers[1].Blocks[0].Convs[0].Cin = 99
	if _, err := n.Program(1, 64, 64); err == nil {
		t.Error("broken channels: no error")
	}
	if _, err := mustNet(t, "resnet18").Program(MaxBatch+1, 8, 8); err == nil {
		t.Error("huge batch: no error")
	}
	if _, err := mustNet(t, "resnet18").Program(0, 64, 64); err == nil {
		t.Error("empty batch: no error")
	}
}
