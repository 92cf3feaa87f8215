//go:build !js

package shaders

import (
	"context"
	"errors"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// Where `make weights` leaves the real int8 ResNet-50, and the photos.
const (
	realModel  = "../web/models/resnet50-v1-int8.safetensors"
	photosGlob = "../testdata/photos/*"
	requireEnv = "RESIDUAL_REQUIRE_WEIGHTS" // set by `make test`: a missing model fails
)

// TestRealResNet50MatchesCPU classifies every photo in testdata/photos with
// the real int8 ResNet-50 (the Caffe model `make weights` converts) at 224,
// in one batch, on the GPU and on the CPU reference: each photo's top-5
// must be the same classes in the same order, and the logits must agree
// within 1e-3 of the largest. Skipped (with the reason) when the model has
// not been built, unless RESIDUAL_REQUIRE_WEIGHTS is set.
func TestRealResNet50MatchesCPU(t *testing.T) {
	m := realWeights(t)
	d := device(t)
	x, crops, names := photoBatch(t, m.Meta.Preprocess)
	got, want, e := runBoth(t, d, m, x, "real resnet50")
	for i, n := range names {
		t.Logf("%s: %s", n, labels(got.Top[i]))
	}
	checkLogits(t, "real resnet50", got, want, 1e-3)

	// The same photos as bytes, preprocessed on the GPU: the network
	// must see exactly what it saw from preprocess's tensors.
	rgba, h, w, err := PackRGBA(crops...)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	fromBytes, err := e.RunImage(context.Background(), rgba, len(crops), h, w, model.RunOptions{TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RunImage: %v", time.Since(t0).Round(time.Millisecond))
	for i := range got.Logits {
		for j, v := range got.Logits[i] {
			if fromBytes.Logits[i][j] != v {
				t.Fatalf("%s: logit %d is %g from bytes, %g from the tensor", names[i], j, fromBytes.Logits[i][j], v)
			}
		}
	}
}

// realWeights loads the real int8 ResNet-50. A missing file skips the
// test with the command that builds it, or fails it when requireEnv is set;
// -short skips it unless requireEnv is set.
func realWeights(t *testing.T) *weights.Model {
	t.Helper()
	if testing.Short() && os.Getenv(requireEnv) == "" {
		t.Skip("-short: the real ResNet-50 takes ~20 s on the CPU reference and lavapipe")
	}
	m, err := weights.Load(realModel)
	if errors.Is(err, fs.ErrNotExist) && os.Getenv(requireEnv) == "" {
		t.Skipf("%s absent: run `make weights` to build it (set %s to make this a failure)", realModel, requireEnv)
	}
	if err != nil {
		t.Fatalf("real weights (%s is set: `make weights` must have built them): %v", requireEnv, err)
	}
	return m
}

// photoBatch decodes and preprocesses every test photo into one batch,
// also returning the crops as the network sees them and the file names.
func photoBatch(t *testing.T, p weights.Preprocess) (*model.Tensor, []*image.RGBA, []string) {
	t.Helper()
	paths, err := filepath.Glob(photosGlob)
	if err != nil || len(paths) < 5 {
		t.Fatalf("testdata/photos: %d photos, %v", len(paths), err)
	}
	var xs []*model.Tensor
	var crops []*image.RGBA
	var names []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		img, err := preprocess.Decode(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x, crop, err := preprocess.Prepare(img, p, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		xs = append(xs, x)
		crops = append(crops, crop)
		names = append(names, name)
	}
	x, err := preprocess.Batch(xs...)
	if err != nil {
		t.Fatal(err)
	}
	return x, crops, names
}
