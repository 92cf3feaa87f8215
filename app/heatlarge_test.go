package app

import (
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// TestInspectorLargeView: rows carry every image's map; the large view of
// a row shows its name and shape, both maps with their scales' numbers,
// the strongest channel and a picker of the images; block rows show
// their path.
func TestInspectorLargeView(t *testing.T) {
	x := model.NewTensor(2, 4, 6, 6)
	for i := range x.Data {
		x.Data[i] = float32(i%37) / 10
	}
	hs := model.TensorHeatmaps(x.Shape, x.Data)
	blk := model.StageResult{Stage: model.Stage{Name: "layer1.0", Kind: model.KindBlock, Shape: []int{2, 4, 6, 6}, Stride: 2, Downsample: true,
		Path: "1×1/2 → 3×3 → 1×1 + 1×1/2 conv (downsample) → add → ReLU"}}
	blk.SetHeatmaps(hs)
	st := model.StageResult{Stage: model.Stage{Name: "layer1", Kind: model.KindLayer, Shape: []int{2, 4, 6, 6}}, Blocks: []model.StageResult{blk}}
	st.SetHeatmaps(hs)
	rows := resultRows([]model.StageResult{st})
	if len(rows[0].Maps) != 2 || rows[0].Heatmap != rows[0].Maps[0].Mean || rows[0].Maps[0].Mean == rows[0].Maps[1].Mean {
		t.Fatalf("maps %d, first %v", len(rows[0].Maps), rows[0].Heatmap == rows[0].Maps[0].Mean)
	}
	m := rows[0].Maps[0]
	if m.Channels != 4 || m.Strongest == "" || m.Lo == m.Hi || m.Channel != hs[0].Strongest.Channel {
		t.Errorf("map %+v", m)
	}
	in := &Inspector{Rows: rows, Measured: true, Engine: "cpu", Size: 6, Batch: 2, Images: []string{"a.png", "b.png"}}
	html := render(t, in)
	wantAll(t, html, `id="heat-btn-layer1"`, `id="heat-btn-layer1.0"`, "1×1/2 → 3×3 → 1×1 + 1×1/2 conv (downsample) → add → ReLU", "click one to see it large")
	if strings.Contains(html, `id="heat-large"`) {
		t.Error("the large view shows before a click")
	}
	in = &Inspector{Rows: rows, Measured: true, Engine: "cpu", Size: 6, Batch: 2, Images: []string{"a.png", "b.png"}, large: "layer1.0"}
	html = render(t, in)
	wantAll(t, html, `id="heat-large"`, "layer1.0 [2, 4, 6, 6]", "image 1, a.png", "image 2, b.png",
		"mean over 4 channels", m.Lo, m.Hi, m.SLo, m.SHi, "of 4, the strongest", `class="heat-scale"`)
	in = &Inspector{Rows: rows, Measured: true, Engine: "cpu", Size: 6, Batch: 2, Images: []string{"a.png", "b.png"}, large: "layer1.0", image: 1}
	html = render(t, in)
	wantAll(t, html, "layer1.0 [2, 4, 6, 6] — image 2, b.png", rows[0].Maps[1].Mean)
	if formatValue(3.4123) != "3.41" || formatValue(-0.004) != "-0.004" || formatValue(12345) != "1.2e+04" || formatValue(0) != "0.00" {
		t.Errorf("formatValue: %s %s %s %s", formatValue(3.4123), formatValue(-0.004), formatValue(12345), formatValue(0))
	}
}
