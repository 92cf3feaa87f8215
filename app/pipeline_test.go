package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

func TestPrepareBatchGoodAndBad(t *testing.T) {
	m := tinyModel(t)
	files := []inputFile{
		{Name: "cat.png", Data: photo(t, 300, 200, "png")},
		{Name: "notes.txt", Data: []byte("just some text, not an image")},
		{Name: "empty.jpg", Data: nil},
		{Name: "broken.png", Data: photo(t, 64, 64, "png")[:60]},
		{Name: "unreadable.jpg", Err: errors.New("unreadable.jpg: cannot read the file: NotReadableError")},
		{Name: "huge.png", Data: pngHeader(10000, 8000)},
		{Name: "dog.jpg", Data: photo(t, 180, 320, "jpeg")},
	}
	b := prepareBatch(files, m.Meta.Preprocess, 160)
	if fmt.Sprint(b.Names) != "[cat.png dog.jpg]" {
		t.Fatalf("names %v, errors %v", b.Names, b.Errs)
	}
	if b.X == nil || fmt.Sprint(b.X.Shape) != "[2 3 160 160]" {
		t.Fatalf("batch shape %v", b.X)
	}
	if len(b.Crops) != 2 || b.Crops[0].Bounds().Dx() != 160 || b.Crops[1].Bounds().Dy() != 160 {
		t.Errorf("crops %v", b.Crops)
	}
	if len(b.Errs) != 5 {
		t.Fatalf("errors %q", b.Errs)
	}
	// Each message names its file and says what is wrong.
	for i, want := range [][2]string{
		{"notes.txt", "not an image"},
		{"empty.jpg", "empty"},
		{"broken.png", "corrupt"},
		{"unreadable.jpg", "cannot read"},
		{"huge.png", "megapixel"},
	} {
		if !strings.Contains(b.Errs[i], want[0]) || !strings.Contains(b.Errs[i], want[1]) {
			t.Errorf("error %d %q: want %q and %q", i, b.Errs[i], want[0], want[1])
		}
	}
}

func TestPrepareBatchLimit(t *testing.T) {
	m := tinyModel(t)
	img := photo(t, 40, 40, "png")
	var files []inputFile
	for i := 0; i < maxBatch+2; i++ {
		files = append(files, inputFile{Name: fmt.Sprintf("%d.png", i), Data: img})
	}
	b := prepareBatch(files, m.Meta.Preprocess, 160)
	if b.X == nil || b.X.Shape[0] != maxBatch || len(b.Errs) != 2 || !strings.Contains(b.Errs[0], fmt.Sprint(maxBatch)) {
		t.Fatalf("batch %v, errors %q", b.X.Shape, b.Errs)
	}
	if b := prepareBatch([]inputFile{{Name: "x.txt", Data: []byte("x")}}, m.Meta.Preprocess, 160); b.X != nil || len(b.Errs) != 1 {
		t.Fatalf("all-bad batch: %v %q", b.X, b.Errs)
	}
}

// The whole pipeline on the real CPU engine: the stages the page shows
// come from the engine's walk of the model's own Net.Stages.
func TestPipelineOnCPUEngine(t *testing.T) {
	m := tinyModel(t)
	set := newEngineSet()
	e, err := set.get(BackendCPU, m)
	if err != nil {
		t.Fatal(err)
	}
	b := prepareBatch([]inputFile{
		{Name: "a.png", Data: photo(t, 120, 90, "png")},
		{Name: "b.jpg", Data: photo(t, 90, 120, "jpeg")},
	}, m.Meta.Preprocess, 160)
	res, ms, err := runEngine(e, b.X, m.Meta.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if ms <= 0 || res.Engine != "cpu" || len(res.Top) != 2 || len(res.Top[0]) != topK {
		t.Fatalf("result: %v ms, engine %q, top %v", ms, res.Engine, res.Top)
	}
	if !strings.HasPrefix(res.Top[0][0].Label, "label ") {
		t.Errorf("unlabelled top-1 %+v", res.Top[0][0])
	}
	plan, err := m.Net.Stages(2, 160, 160)
	if err != nil {
		t.Fatal(err)
	}
	rows := resultRows(res.Stages)
	if len(rows) != len(plan) {
		t.Fatalf("%d rows, plan has %d stages", len(rows), len(plan))
	}
	for i, r := range rows {
		if r.Name != plan[i].Name || r.Shape != formatShape(plan[i].Shape) {
			t.Errorf("row %d: %s %s, plan %s %v", i, r.Name, r.Shape, plan[i].Name, plan[i].Shape)
		}
		if plan[i].Kind != model.KindFlatten && r.Heatmap == "" && plan[i].Kind != model.KindFC {
			t.Errorf("%s: no heatmap", r.Name)
		}
	}
	if again, _ := set.get(BackendCPU, m); again != e {
		t.Error("the engine was rebuilt for the same model")
	}
}

// fakeEngine answers with fixed logits and no top-k, like an engine that
// leaves labelling to the caller.
type fakeEngine struct {
	logits [][]float32
	err    error
	closed *bool
}

func (f fakeEngine) Run(_ context.Context, x *model.Tensor, _ model.RunOptions) (*model.Result, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &model.Result{Logits: f.logits}, nil
}
func (f fakeEngine) Name() string { return "fake" }
func (f fakeEngine) Close()       { *f.closed = true }

func TestRunEngineFillsTopK(t *testing.T) {
	x := model.NewTensor(2, 3, 4, 4)
	labels := []string{"a", "b", "c", "d", "e", "f"}
	res, _, err := runEngine(fakeEngine{logits: [][]float32{{0, 5, 1, 0, 0, 0}, {9, 0, 0, 0, 0, 1}}}, x, labels)
	if err != nil {
		t.Fatal(err)
	}
	if res.Top[0][0].Label != "b" || res.Top[1][0].Label != "a" || len(res.Top[0]) != topK || res.Engine != "fake" {
		t.Errorf("top %+v engine %q", res.Top, res.Engine)
	}
	if _, _, err := runEngine(fakeEngine{logits: [][]float32{{1}}}, x, labels); err == nil {
		t.Error("one answer for two images accepted")
	}
	if _, _, err := runEngine(fakeEngine{err: errors.New("device lost")}, x, labels); err == nil || !strings.Contains(err.Error(), "fake engine: device lost") {
		t.Errorf("error %v", err)
	}
}

func TestEngineSet(t *testing.T) {
	closed := false
	built := 0
	set := &engineSet{engines: map[Backend]model.Engine{},
		newCPU: func(*weights.Model) (model.Engine, error) { built++; return fakeEngine{closed: &closed}, nil }}
	if _, err := set.get(BackendGPU, &weights.Model{}); !errors.Is(err, errNoGPUEngine) {
		t.Errorf("no GPU engine: %v", err)
	}
	m1, m2 := &weights.Model{}, &weights.Model{}
	set.get(BackendCPU, m1)
	set.get(BackendCPU, m1)
	if built != 1 {
		t.Errorf("built %d engines for one model", built)
	}
	set.get(BackendCPU, m2)
	if built != 2 || !closed {
		t.Errorf("a new model did not replace (built %d, closed %v)", built, closed)
	}
	// A failed build is remembered, not retried for every run.
	tries := 0
	set.newGPU = func(*weights.Model) (model.Engine, error) { tries++; return nil, errors.New("no adapter") }
	for range 3 {
		if _, err := set.get(BackendGPU, m2); err == nil || err.Error() != "no adapter" {
			t.Errorf("GPU build error %v", err)
		}
	}
	if tries != 1 {
		t.Errorf("the failing GPU engine was built %d times", tries)
	}
}
