package app

import (
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// The inspector's rows for ResNet-50 at 224 are the reference table of
// the tutorial (bn1+relu is a row of its own here), taken from the
// model's own plan.
func TestPlanRowsResNet50(t *testing.T) {
	a, _ := model.ByName("resnet50")
	net, err := a.Net()
	if err != nil {
		t.Fatal(err)
	}
	st, err := net.Stages(1, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	rows := planRows(st)
	want := []string{
		"input [1, 3, 224, 224]", "conv1 [1, 64, 112, 112]", "bn1+relu [1, 64, 112, 112]", "maxpool [1, 64, 56, 56]",
		"layer1 [1, 256, 56, 56]", "layer2 [1, 512, 28, 28]", "layer3 [1, 1024, 14, 14]", "layer4 [1, 2048, 7, 7]",
		"avgpool [1, 2048, 1, 1]", "flatten [1, 2048]", "fc [1, 1000]",
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Name+" "+r.Shape)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("rows\n got  %v\n want %v", got, want)
	}
	var blocks []int
	for _, r := range rows {
		if r.Kind == string(model.KindLayer) {
			blocks = append(blocks, len(r.Blocks))
			if !r.Blocks[0].Downsample || r.Blocks[1].Downsample {
				t.Errorf("%s: downsample flags %v %v", r.Name, r.Blocks[0].Downsample, r.Blocks[1].Downsample)
			}
		}
	}
	if len(blocks) != 4 || blocks[0] != 3 || blocks[1] != 4 || blocks[2] != 6 || blocks[3] != 3 {
		t.Errorf("blocks per layer %v", blocks)
	}
	if rows[5].Blocks[0].Stride != 2 || rows[4].Blocks[0].Stride != 1 {
		t.Errorf("strides %d %d", rows[4].Blocks[0].Stride, rows[5].Blocks[0].Stride)
	}
	if rows[1].Params != "9,408" || rows[len(rows)-1].Params != "2.05 M" {
		t.Errorf("params conv1 %s fc %s", rows[1].Params, rows[len(rows)-1].Params)
	}
	for _, r := range rows {
		if r.Time != "–" || r.Heatmap != "" {
			t.Errorf("%s: a plan row has a time or heatmap", r.Name)
		}
	}
	// Re-planned at 320, layer4 is 10×10.
	st, _ = net.Stages(1, 320, 320)
	if r := planRows(st)[7]; r.Name != "layer4" || r.Shape != "[1, 2048, 10, 10]" {
		t.Errorf("at 320: %s %s", r.Name, r.Shape)
	}
}

func TestResultRowsAndImageViews(t *testing.T) {
	hm := &model.Heatmap{W: 2, H: 2, Values: []float32{0, 0.5, 0.75, 1}}
	stages := []model.StageResult{
		{Stage: model.Stage{Name: "input", Kind: model.KindInput, Shape: []int{2, 3, 8, 8}}, Ms: 0.2},
		{Stage: model.Stage{Name: "layer1", Kind: model.KindLayer, Shape: []int{2, 4, 2, 2}, Params: 100, MACs: 2000},
			Ms: 12, Heatmap: hm, Heatmaps: []*model.Heatmap{hm},
			Blocks: []model.StageResult{{Stage: model.Stage{Name: "layer1.0", Kind: model.KindBlock, Shape: []int{2, 4, 2, 2}, Stride: 1}, Ms: 12, Heatmap: hm, Heatmaps: []*model.Heatmap{hm}}}},
		{Stage: model.Stage{Name: "flatten", Kind: model.KindFlatten, Shape: []int{2, 4}}},
	}
	rows := resultRows(stages)
	if rows[1].Time != "12.0 ms" || !strings.HasPrefix(rows[1].Heatmap, "data:image/png") || rows[1].MACs != "2,000" {
		t.Errorf("layer row %+v", rows[1])
	}
	if len(rows[1].Blocks) != 1 || rows[1].Blocks[0].Time != "12.0 ms" || rows[1].Blocks[0].Heatmap == "" {
		t.Errorf("block rows %+v", rows[1].Blocks)
	}
	if rows[2].Time != "–" {
		t.Errorf("flatten time %q", rows[2].Time)
	}
	views := imageViews([]string{"a.png", "b.png"}, nil, [][]model.Prediction{
		{{Index: 3, Label: "cat", Prob: 0.75}, {Index: 9, Prob: 0.1}},
		{{Index: 1, Label: "dog", Prob: 0.5}},
	})
	if views[0].Top[0].Percent != "75.0%" || views[0].Top[1].Label != "class 9" || views[1].Top[0].Label != "dog" {
		t.Errorf("views %+v", views)
	}
}

// An answer whose best class is under lowConfidence is marked unsure.
func TestImageViewsUnsure(t *testing.T) {
	views := imageViews([]string{"horses.jpg", "cat.jpg", "pending.jpg"}, nil, [][]model.Prediction{
		{{Label: "ram", Index: 348, Prob: 0.13}},
		{{Label: "Egyptian cat", Index: 285, Prob: 0.75}},
	})
	if !views[0].Unsure || views[1].Unsure || views[2].Unsure {
		t.Errorf("unsure: %v %v %v, want true false false", views[0].Unsure, views[1].Unsure, views[2].Unsure)
	}
}
