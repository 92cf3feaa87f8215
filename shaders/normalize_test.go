package shaders

import (
	"context"
	"image"
	"math"
	"math/rand"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// randImage is a noisy RGBA picture (alpha random too: it must be ignored).
func randImage(r *rand.Rand, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r.Read(img.Pix)
	return img
}

// TestNormalizeMatchesPreprocess runs the GPU preprocessing on crops made
// by model/preprocess and demands its float input bit for bit, for
// torchvision's and Caffe's conventions (BGR, 0–255), on a batch of two.
func TestNormalizeMatchesPreprocess(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewSource(1))
	for _, p := range []weights.Preprocess{weights.TorchvisionPreprocess, weights.CaffePreprocess} {
		var crops []*image.RGBA
		var want []float32
		for i := 0; i < 2; i++ {
			x, crop, err := preprocess.Prepare(randImage(r, 45+i, 37), p, 24)
			if err != nil {
				t.Fatal(err)
			}
			crops = append(crops, crop)
			want = append(want, x.Data...)
		}
		rgba, h, w, err := PackRGBA(crops...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Normalize(context.Background(), rgba, 2, h, w, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Data) != len(want) || got.Shape[0] != 2 || got.Shape[1] != 3 || got.Shape[2] != 24 || got.Shape[3] != 24 {
			t.Fatalf("%s: shape %v, %d values, want [2 3 24 24]", p.ChannelOrder, got.Shape, len(want))
		}
		for i, v := range want {
			if math.Float32bits(got.Data[i]) != math.Float32bits(v) {
				t.Fatalf("%s: value %d is %g, preprocess gives %g", p.ChannelOrder, i, got.Data[i], v)
			}
		}
	}
	if _, err := d.Normalize(context.Background(), make([]byte, 10), 1, 2, 2, weights.TorchvisionPreprocess); err == nil {
		t.Fatal("10 bytes accepted for a 2×2 image")
	}
	bad := weights.TorchvisionPreprocess
	bad.ChannelOrder = "GBR"
	if _, err := d.Normalize(context.Background(), make([]byte, 16), 1, 2, 2, bad); err == nil {
		t.Fatal("channel order GBR accepted")
	}
}

// TestRunImageMatchesRun classifies crops from bytes and from
// preprocess's tensors: the logits must be identical, with and without
// profiling and inspection.
func TestRunImageMatchesRun(t *testing.T) {
	m := randModel(t, tinyArchs[1], 21)
	e := newEngine(t, m)
	r := rand.New(rand.NewSource(2))
	var crops []*image.RGBA
	var xs []*model.Tensor
	for i := 0; i < 3; i++ {
		x, crop, err := preprocess.Prepare(randImage(r, 40, 52), m.Meta.Preprocess, 32)
		if err != nil {
			t.Fatal(err)
		}
		crops = append(crops, crop)
		xs = append(xs, x)
	}
	x, err := preprocess.Batch(xs...)
	if err != nil {
		t.Fatal(err)
	}
	rgba, h, w, err := PackRGBA(crops...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, opt := range []model.RunOptions{{}, {Profile: true, Inspect: true}} {
		want, err := e.Run(ctx, x, opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.RunImage(ctx, rgba, 3, h, w, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.Logits {
			for j, v := range want.Logits[i] {
				if got.Logits[i][j] != v {
					t.Fatalf("%+v: image %d logit %d: %g from bytes, %g from the tensor", opt, i, j, got.Logits[i][j], v)
				}
			}
		}
		if opt.Profile && got.Stages[0].Ms <= 0 {
			t.Errorf("profiled RunImage did not time the input stage (the preprocessing)")
		}
	}
	if _, err := e.RunImage(ctx, rgba[:len(rgba)-4], 3, h, w, model.RunOptions{}); err == nil {
		t.Fatal("short pixel data accepted")
	}
}
