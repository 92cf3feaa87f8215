package wasmsimd

import (
	"slices"
	"testing"
)

// TestConvStrips: convs laid out and multiplied a strip of output rows at
// a time (here every conv of the generated nets, with strips of odd
// widths, not multiples of 8) give the whole convs' logits.
func TestConvStrips(t *testing.T) {
	wasm := buildKernels(t)
	for _, a := range testArchs {
		m, x := generated(t, a)
		opt := Options{Workers: 2, WorkerURL: workerURL}
		want := runEngine(t, wasm, m, x, opt)
		old := colBudget
		colBudget = 3000
		got := runEngine(t, wasm, m, x, opt)
		colBudget = old
		for i := range want.Logits {
			if !slices.Equal(got.Logits[i], want.Logits[i]) {
				t.Errorf("%s, image %d: logits in strips differ from whole convs'", a.Name, i)
			}
		}
	}
	for _, tc := range []struct{ kk, oh, ow, want int }{
		{147, 112, 112, 15}, // conv1 at 224: 15 rows of 112 (1680 columns, a multiple of 8) fit in 1 MB
		{576, 56, 56, 8},    // a layer1 3×3 conv
		{27, 7, 7, 7},       // all of it fits
		{1000, 40, 13, 16},  // 20 rows fit; 16·13 is the first multiple of 8 below
	} {
		if got := stripRows(tc.kk, tc.oh, tc.ow); got != tc.want {
			t.Errorf("stripRows(%d, %d, %d) = %d, want %d", tc.kk, tc.oh, tc.ow, got, tc.want)
		}
	}
}
