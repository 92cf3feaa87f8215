//go:build !js

package shaders

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"os"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/overlay"
	"github.com/residual-webgpu/residual/model/preprocess"
)

// TestRealCAMChelsea runs the real int8 ResNet-50 on chelsea.png with
// class activation maps, on the GPU and on the CPU: the maps agree within
// camTol, and the top-1 (Egyptian cat) map's peak, upsampled to the
// 224×224 crop as the overlays show it, lies on the cat. Two inputs:
//   - the photo as the app and cmd/classify see it (resize 256, centre
//     crop 224). That crop is all cat, so the box is the face: from the
//     outer corner of the left eye to the right edge, from above the
//     eyes to the bottom edge, x in [30,224), y in [50,224) of the crop;
//   - the photo pasted at the top-left of a 448×448 grey canvas, which
//     the same preprocessing turns into a crop where the photo covers
//     x < 172, y < 130 and the cat (the photo without its background
//     strip on the right, from x = 330 of 385) x in [0,172), y in [0,130):
//     45% of the crop, the rest grey, so a peak there is a real finding.
//
// Skipped like the other real-model tests when the model is not built.
func TestRealCAMChelsea(t *testing.T) {
	m := realWeights(t)
	d := device(t)
	data, err := os.ReadFile("../testdata/photos/chelsea.png")
	if err != nil {
		t.Fatal(err)
	}
	photo, err := preprocess.Decode("chelsea.png", data)
	if err != nil {
		t.Fatal(err)
	}
	canvas := image.NewRGBA(image.Rect(0, 0, 448, 448))
	draw.Draw(canvas, canvas.Rect, &image.Uniform{color.RGBA{128, 128, 128, 255}}, image.Point{}, draw.Src)
	draw.Draw(canvas, photo.Bounds(), photo, image.Point{}, draw.Src)
	cases := []struct {
		name string
		img  image.Image
		box  image.Rectangle // the cat, in the 224×224 crop
	}{
		{"chelsea crop", photo, image.Rect(30, 50, 224, 224)},
		{"chelsea on a grey canvas", canvas, image.Rect(0, 0, 172, 130)},
	}
	var xs []*model.Tensor
	for _, c := range cases {
		x, crop, err := preprocess.Prepare(c.img, m.Meta.Preprocess, 0)
		if err != nil {
			t.Fatal(err)
		}
		if crop.Rect.Dx() != 224 || crop.Rect.Dy() != 224 {
			t.Fatalf("%s: crop %v, the boxes assume 224×224", c.name, crop.Rect)
		}
		xs = append(xs, x)
	}
	x, err := preprocess.Batch(xs...)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := cpu.New(m)
	if err != nil {
		t.Fatal(err)
	}
	ge, err := NewEngine(d, m)
	if err != nil {
		t.Fatal(err)
	}
	defer ge.Close()
	opt := model.RunOptions{TopK: 5, CAM: true}
	want, err := ce.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ge.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("real resnet50 cam: gpu vs cpu, worst max |Δ| / max |cpu map| %.2g", checkCAMs(t, "real resnet50", got, want))
	for i, c := range cases {
		for _, res := range []*model.Result{got, want} {
			if top := res.Top[i][0]; top.Label != "Egyptian cat" {
				t.Fatalf("%s (%s): top-1 %q (%.2f), want Egyptian cat", c.name, res.Engine, top.Label, top.Prob)
			}
			cm := res.CAMs[i][0]
			up := overlay.Upsample(cm.Values, cm.W, cm.H, 224, 224)
			best := 0
			for j, v := range up {
				if v > up[best] {
					best = j
				}
			}
			peak := image.Pt(best%224, best/224)
			cx, cy := cm.Peak()
			t.Logf("%s (%s): Egyptian cat %.2f, %dx%d map peaks at cell (%d,%d), at %v of the crop; cat box %v",
				c.name, res.Engine, res.Top[i][0].Prob, cm.W, cm.H, cx, cy, peak, c.box)
			if !peak.In(c.box) {
				t.Errorf("%s (%s): the Egyptian cat map peaks at %v, outside the cat %v", c.name, res.Engine, peak, c.box)
			}
		}
	}
}
