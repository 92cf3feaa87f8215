package wasmsimd

import (
	"bytes"
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model/weights"
)

// TestEngineReadsWeightsFromFile: a model whose int8 weights stay in
// their file (the browser's download buffer, weights.DecodeAt) packs
// them from there and gives exactly the held model's logits.
func TestEngineReadsWeightsFromFile(t *testing.T) {
	wasm := buildKernels(t)
	m, x := generated(t, testArchs[1])
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		t.Fatal(err)
	}
	lazy, err := weights.DecodeAt("lazy.safetensors", bytes.NewReader(b.Bytes()), int64(b.Len()), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range lazy.Tensors {
		if w.I8 != nil {
			t.Fatalf("%s: DecodeAt held an int8 weight", name)
		}
	}
	opt := Options{Workers: 1}
	want := runEngine(t, wasm, m, x, opt)
	got := runEngine(t, wasm, lazy, x, opt)
	for i := range want.Logits {
		if !slices.Equal(got.Logits[i], want.Logits[i]) {
			t.Errorf("image %d: logits differ from the held model's", i)
		}
	}
}
