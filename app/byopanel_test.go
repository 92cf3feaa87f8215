package app

import (
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/internal/byo"
)

// The panel offers the model input (name=model, several files), shows a
// conversion's report with its per-layer table left closed, and lists the
// built-in model as the one in use.
func TestRenderModelsPanel(t *testing.T) {
	p := &ModelsPanel{Active: defaultModel, Phase: phaseReady}
	p.report = &byo.Report{File: "r18.pth", Arch: "resnet18", Block: "basic", Layers: [4]int{2, 2, 2, 2}, Variant: "v1.5",
		Classes: 10, LabelsFrom: "cifar10.txt", Params: 11181642, Scheme: "int8", SourceBytes: 44793930, F32Bytes: 44707368,
		OutBytes: 11216512, MaxErr: 0.002, MeanErr: 6e-5, Ms: 2500, PerLayer: []byo.Layer{{Name: "conv1"}, {Name: "fc"}}}
	html := render(t, p)
	wantAll(t, html, `name="model"`, `multiple`, `id="convert-report"`, `Converted r18.pth`,
		`resnet18 (basic blocks [2 2 2 2], v1.5)`, `cifar10.txt`, `11.18 M`, `44.8 MB checkpoint`, `11.2 MB int8`,
		`Quantization error of each of the 2 layers`, `2.5 s in this tab`, `Built-in ResNet-50 (ImageNet)`, `(in use)`)
	if strings.Contains(html, `id="report-layers"`) {
		t.Error("the per-layer table is built before its disclosure is opened")
	}
	if strings.Contains(html, `id="convert-progress"`) || strings.Contains(html, `id="convert-error"`) {
		t.Error("progress or an error shown with nothing under way")
	}
}
