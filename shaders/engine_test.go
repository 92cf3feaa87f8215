package shaders

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// tinyArchs cover both block types, both stride placements, grouped convs
// and channel counts that are not multiples of 4.
var tinyArchs = []model.Arch{
	{Name: "tiny-basic", Block: model.Basic, Layers: [4]int{2, 1, 1, 1}, Groups: 1, WidthPerGroup: 64, NumClasses: 10, Variant: model.V15, BaseChannels: 8},
	{Name: "tiny-bottleneck-g2", Block: model.Bottleneck, Layers: [4]int{2, 1, 1, 2}, Groups: 2, WidthPerGroup: 32, NumClasses: 7, Variant: model.V15, BaseChannels: 8},
	{Name: "tiny-bottleneck-v1", Block: model.Bottleneck, Layers: [4]int{1, 2, 1, 1}, Groups: 1, WidthPerGroup: 64, NumClasses: 13, Variant: model.V1, BaseChannels: 8},
	{Name: "tiny-resnext-odd", Block: model.Bottleneck, Layers: [4]int{1, 1, 1, 1}, Groups: 2, WidthPerGroup: 64, NumClasses: 5, Variant: model.V1, BaseChannels: 5},
}

// randModel makes an int8 model of arch a with He-scaled random weights,
// quantized by the weights package as real files are.
func randModel(t testing.TB, a model.Arch, seed int64) *weights.Model {
	t.Helper()
	net, err := a.Net()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	ts := map[string]*weights.Tensor{}
	for _, spec := range net.FoldedTensors() {
		tt := &weights.Tensor{Name: spec.Name, Shape: spec.Shape}
		tt.F32 = make([]float32, tt.Len())
		fanIn := tt.Len() / spec.Shape[0]
		std := math.Sqrt(2 / float64(fanIn))
		if len(spec.Shape) == 1 {
			std = 0.1
		}
		for i := range tt.F32 {
			tt.F32[i] = float32(r.NormFloat64() * std)
		}
		ts[spec.Name] = tt
	}
	meta := weights.Metadata{Arch: a, Preprocess: weights.TorchvisionPreprocess, Scheme: weights.F32}
	for i := 0; i < a.NumClasses; i++ {
		meta.Labels = append(meta.Labels, fmt.Sprintf("class%d", i))
	}
	m, err := weights.New(meta, ts)
	if err != nil {
		t.Fatal(err)
	}
	q, err := weights.Quantize(m, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestEngineMatchesCPU(t *testing.T) {
	d := device(t)
	for ai, a := range tinyArchs {
		m := randModel(t, a, int64(ai))
		ce, err := cpu.New(m)
		if err != nil {
			t.Fatal(err)
		}
		ge, err := NewEngine(d, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][3]int{{1, 32, 32}, {3, 37, 41}, {2, 1, 1}} {
			name := fmt.Sprintf("%s/%dx%dx%d", a.Name, in[0], in[1], in[2])
			x := randTensor(rand.New(rand.NewSource(int64(in[1]))), in[0], 3, in[1], in[2])
			want, err := ce.Run(context.Background(), x, model.RunOptions{TopK: 3, Inspect: true})
			if err != nil {
				t.Fatalf("%s: cpu: %v", name, err)
			}
			for _, opt := range []model.RunOptions{{TopK: 3}, {TopK: 3, Inspect: true, Profile: true}} {
				got, err := ge.Run(context.Background(), x, opt)
				if err != nil {
					t.Fatalf("%s: gpu: %v", name, err)
				}
				checkResult(t, name, got, want, opt)
			}
		}
		ge.Close()
	}
}

// checkResult compares a GPU result with the CPU engine's.
func checkResult(t *testing.T, name string, got, want *model.Result, opt model.RunOptions) {
	t.Helper()
	if len(got.Logits) != len(want.Logits) {
		t.Fatalf("%s: %d logit rows, want %d", name, len(got.Logits), len(want.Logits))
	}
	for i := range want.Logits {
		g := &model.Tensor{Shape: []int{len(got.Logits[i])}, Data: got.Logits[i]}
		w := &model.Tensor{Shape: []int{len(want.Logits[i])}, Data: want.Logits[i]}
		compare(t, fmt.Sprintf("%s image %d logits", name, i), g, w, 1e-4)
		if got.Top[i][0].Index != want.Top[i][0].Index || got.Top[i][0].Label != want.Top[i][0].Label {
			t.Errorf("%s image %d: top-1 %+v, cpu %+v", name, i, got.Top[i][0], want.Top[i][0])
		}
	}
	if len(got.Stages) != len(want.Stages) {
		t.Fatalf("%s: %d stages, want %d", name, len(got.Stages), len(want.Stages))
	}
	var total float64
	for i, s := range got.Stages {
		w := want.Stages[i]
		if s.Name != w.Name || !slices.Equal(s.Shape, w.Shape) || s.MACs != w.MACs || len(s.Blocks) != len(w.Blocks) {
			t.Fatalf("%s: stage %d is %s %v, cpu %s %v", name, i, s.Name, s.Shape, w.Name, w.Shape)
		}
		total += s.Ms
		if opt.Inspect && (s.Heatmap == nil || len(s.Heatmap.Values) != s.Heatmap.W*s.Heatmap.H) {
			t.Fatalf("%s: stage %s has no heatmap", name, s.Name)
		}
		if opt.Inspect && (len(s.Heatmaps) != len(want.Logits) || s.Heatmaps[0] != s.Heatmap) {
			t.Fatalf("%s: stage %s has %d heatmaps for %d images", name, s.Name, len(s.Heatmaps), len(want.Logits))
		}
		if opt.Inspect && s.Kind != model.KindConv && w.Heatmap != nil {
			// conv1's GPU output already has the ReLU applied; the rest
			// match, every image's, range and strongest channel too.
			for j := range w.Heatmaps {
				if d := model.HeatmapDiff(s.Heatmaps[j], w.Heatmaps[j], 1e-3); d != "" {
					t.Errorf("%s: stage %s, image %d: %s", name, s.Name, j, d)
				}
			}
		}
		for k, blk := range s.Blocks {
			if opt.Inspect && len(blk.Heatmaps) == len(w.Blocks[k].Heatmaps) && len(blk.Heatmaps) > 0 {
				for j := range w.Blocks[k].Heatmaps {
					if d := model.HeatmapDiff(blk.Heatmaps[j], w.Blocks[k].Heatmaps[j], 1e-3); d != "" {
						t.Errorf("%s: block %s, image %d: %s", name, blk.Name, j, d)
					}
				}
			} else if opt.Inspect {
				t.Errorf("%s: block %s: %d heatmaps, cpu %d", name, blk.Name, len(blk.Heatmaps), len(w.Blocks[k].Heatmaps))
			}
		}
	}
	if opt.Profile && total <= 0 {
		t.Fatalf("%s: profiled run has no stage times", name)
	}
}

func TestEnginePrepareReusesPlan(t *testing.T) {
	m := randModel(t, tinyArchs[0], 7)
	e := newEngine(t, m)
	if err := e.Prepare(context.Background(), 2, 24, 20); err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewSource(8)), 2, 3, 24, 20)
	first, err := e.Run(context.Background(), x, model.RunOptions{TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.Run(context.Background(), x, model.RunOptions{TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.plans) != 1 {
		t.Fatalf("%d plans after runs of one size, want 1", len(e.plans))
	}
	for i := range first.Logits {
		for j := range first.Logits[i] {
			if first.Logits[i][j] != second.Logits[i][j] {
				t.Fatalf("run is not repeatable: logit [%d][%d] %g then %g", i, j, first.Logits[i][j], second.Logits[i][j])
			}
		}
	}
	if len(first.Top) != 2 || len(first.Top[0]) != 2 || first.Engine == "" {
		t.Fatalf("result: %d top rows of %d, engine %q", len(first.Top), len(first.Top[0]), first.Engine)
	}
}

func TestEngineRejectsBadInput(t *testing.T) {
	d := device(t)
	if _, err := NewEngine(d, nil); err == nil {
		t.Fatal("nil model accepted")
	}
	e := newEngine(t, randModel(t, tinyArchs[0], 9))
	nan := model.NewTensor(1, 3, 16, 16)
	nan.Data[5] = float32(math.NaN())
	for name, x := range map[string]*model.Tensor{
		"nil":         nil,
		"4 channels":  model.NewTensor(1, 4, 16, 16),
		"3-d":         model.NewTensor(3, 16, 16),
		"short data":  {Shape: []int{1, 3, 16, 16}, Data: make([]float32, 10)},
		"NaN":         nan,
		"empty batch": {Shape: []int{0, 3, 16, 16}},
	} {
		if _, err := e.Run(context.Background(), x, model.RunOptions{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestPrecompileMakesEveryPipeline compiles from a model without weights
// (what weights.DecodeHeader gives during a download) on a fresh device,
// then checks that the engine's first run needs no pipeline more and
// answers as the shared device's engine does.
func TestPrecompileMakesEveryPipeline(t *testing.T) {
	ctx := context.Background()
	m := randModel(t, tinyArchs[1], 5)
	d, err := Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	head := &weights.Model{Meta: m.Meta, Net: m.Net}
	if err := d.Precompile(ctx, head, 2, 40, 36); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	compiled := len(d.pipelines)
	d.mu.Unlock()
	if compiled < 4 {
		t.Fatalf("Precompile made %d pipelines, want the convs', pools', fc's and normalize's", compiled)
	}
	hollow, err := NewEngine(d, head)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hollow.Run(ctx, randTensor(rand.New(rand.NewSource(1)), 2, 3, 40, 36), model.RunOptions{}); err == nil ||
		!strings.Contains(err.Error(), "missing weight") {
		t.Fatalf("a model without weights ran: %v", err)
	}
	hollow.Close()
	e, err := NewEngine(d, m)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	x := randTensor(rand.New(rand.NewSource(2)), 2, 3, 40, 36)
	got, err := e.Run(ctx, x, model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	after := len(d.pipelines)
	d.mu.Unlock()
	if after != compiled {
		t.Fatalf("the first run compiled %d more pipelines", after-compiled)
	}
	ref, err := NewEngine(device(t), m)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := ref.Run(ctx, x, model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Logits {
		for j, v := range want.Logits[i] {
			if got.Logits[i][j] != v {
				t.Fatalf("logit [%d][%d] = %v on the precompiled device, %v on the shared one", i, j, got.Logits[i][j], v)
			}
		}
	}
	if err := d.Precompile(ctx, &weights.Model{}, 1, 8, 8); err == nil {
		t.Fatal("Precompile of an empty model succeeded")
	}
}

// newEngine builds an engine for m on the test device, closed when the
// test ends.
func newEngine(t *testing.T, m *weights.Model) *Engine {
	t.Helper()
	e, err := NewEngine(device(t), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}
