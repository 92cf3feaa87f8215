package cpu

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// TestRunSplitsLargeBatches: a batch over the activation bound runs in
// sub-batches and answers as one run would, image for image, with the
// whole batch's stage table.
func TestRunSplitsLargeBatches(t *testing.T) {
	m := randModel(t, tinyArchs[1], 21, true)
	e, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(22, 22)), 5, 3, 36, 28)
	opt := model.RunOptions{TopK: 3, Inspect: true, Profile: true}
	whole, err := e.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Net.Program(1, 36, 28)
	if err != nil {
		t.Fatal(err)
	}
	saved := maxActivationBytes
	maxActivationBytes = 2 * p.PeakBytes() // two images at a time: 2, 2, 1
	defer func() { maxActivationBytes = saved }()
	split, err := e.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(split.Logits) != 5 || fmt.Sprint(split.Logits) != fmt.Sprint(whole.Logits) || fmt.Sprint(split.Top) != fmt.Sprint(whole.Top) {
		t.Fatalf("split logits %v\nwhole %v", split.Logits, whole.Logits)
	}
	for i, s := range split.Stages {
		if fmt.Sprint(s.Stage) != fmt.Sprint(whole.Stages[i].Stage) || s.Ms <= 0 && s.MACs > 0 ||
			!reflect.DeepEqual(s.Heatmap, whole.Stages[i].Heatmap) || len(s.Heatmaps) != 5 ||
			!reflect.DeepEqual(s.Heatmaps, whole.Stages[i].Heatmaps) {
			t.Errorf("stage %s: %v %g ms, whole batch %v", s.Name, s.Shape, s.Ms, whole.Stages[i].Shape)
		}
	}
}

// TestEveryOpKindRuns: the engine runs a program with every op kind
// (model's TestProgramUsesEveryOpKind keeps ResNets so).
func TestEveryOpKindRuns(t *testing.T) {
	for _, k := range model.OpKinds {
		op := model.Op{Kind: k, Name: string(k), Conv: model.Conv{Name: "conv1", Cin: 3, Cout: 4, Kernel: 7, Stride: 2, Pad: 3, Groups: 1},
			FC: model.Linear{Name: "fc", In: 32, Out: 10}}
		if k == model.OpConv || k == model.OpFC {
			op.Name = map[model.OpKind]string{model.OpConv: "conv1", model.OpFC: "fc"}[k]
		}
		if err := checkOp(randModel(t, tinyArchs[0], 1, false), op); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if err := checkOp(randModel(t, tinyArchs[0], 1, false), model.Op{Kind: "softmax", Name: "x"}); err == nil {
		t.Error("an unknown kind passed")
	}
}
