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
	lazy := inFile(t, m)
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

// TestPackInChunks: packing four rows at a time (groups and classes that
// leave a last chunk of one or two rows; from the file and held; gemm_i8's
// panels and gemm_q8's rows) gives the logits of packing each layer
// whole.
func TestPackInChunks(t *testing.T) {
	wasm := buildKernels(t)
	for _, a := range testArchs {
		m, x := generated(t, a)
		lazy := inFile(t, m)
		for _, opt := range []Options{{Workers: 1}, {Workers: 1, Int8Activations: true}} {
			want := runEngine(t, wasm, m, x, opt)
			old := packChunk
			packChunk = 1 // 4 rows at a time
			held, lz := runEngine(t, wasm, m, x, opt), runEngine(t, wasm, lazy, x, opt)
			packChunk = old
			for i := range want.Logits {
				if !slices.Equal(held.Logits[i], want.Logits[i]) || !slices.Equal(lz.Logits[i], want.Logits[i]) {
					t.Errorf("%s %+v, image %d: logits packed 4 rows at a time differ from packed whole", a.Name, opt, i)
				}
			}
		}
	}
}

// inFile is m written out and decoded with DecodeAt: its int8 weights
// left in the file.
func inFile(t *testing.T, m *weights.Model) *weights.Model {
	t.Helper()
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		t.Fatal(err)
	}
	lazy, err := weights.DecodeAt("lazy.safetensors", bytes.NewReader(b.Bytes()), int64(b.Len()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lazy
}
