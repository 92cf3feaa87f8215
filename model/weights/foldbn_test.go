package weights

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// stateDict makes a random torchvision-style state dict for net, with
// positive running variances and a num_batches_tracked-like extra entry.
func stateDict(net model.Net, seed uint64) map[string][]float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	sd := map[string][]float32{"bn1.num_batches_tracked": {7}}
	for _, s := range net.StateDictTensors() {
		v := make([]float32, product(s.Shape))
		for i := range v {
			v[i] = float32(r.NormFloat64())
			if strings.HasSuffix(s.Name, "running_var") {
				v[i] = float32(0.1 + r.Float64())
			}
		}
		sd[s.Name] = v
	}
	return sd
}

func TestFoldBNHandComputed(t *testing.T) {
	for _, convBias := range []bool{false, true} {
		arch := tinyArch()
		arch.ConvBias = convBias
		net, err := arch.Net()
		if err != nil {
			t.Fatal(err)
		}
		sd := stateDict(net, 3)
		// conv1: 2 output channels of 3·7·7 = 147 weights.
		w := make([]float32, 2*147)
		for i := range w {
			w[i] = float32(i%5) - 2
		}
		sd["conv1.weight"] = w
		sd["bn1.weight"] = []float32{2, 0.5} // gamma
		sd["bn1.bias"] = []float32{0.5, 3}   // beta
		sd["bn1.running_mean"] = []float32{1, -2}
		sd["bn1.running_var"] = []float32{3, 0} // with eps 1: sqrt 2 and 1
		wantScale := []float32{1, 0.5}          // gamma/sqrt(var+eps)
		wantBias := []float32{-0.5, 4}          // (0-mean)·scale + beta
		if convBias {
			sd["conv1.bias"] = []float32{1, 1}
			wantBias = []float32{0.5, 4.5} // (1-mean)·scale + beta
		}
		got, err := FoldBN(net, sd, 1)
		if err != nil {
			t.Fatal(err)
		}
		fw, fb := got["conv1.weight"], got["conv1.bias"]
		for i, v := range fw.F32 {
			if want := w[i] * wantScale[i/147]; v != want {
				t.Fatalf("conv bias %v: conv1.weight[%d] = %v, want %v", convBias, i, v, want)
			}
		}
		for c, v := range fb.F32 {
			if v != wantBias[c] {
				t.Errorf("conv bias %v: conv1.bias[%d] = %v, want %v", convBias, c, v, wantBias[c])
			}
		}
		if len(got) != len(net.FoldedTensors()) {
			t.Errorf("%d tensors, want %d", len(got), len(net.FoldedTensors()))
		}
		for _, s := range net.FoldedTensors() {
			if got[s.Name] == nil || got[s.Name].Name != s.Name {
				t.Errorf("tensor %s missing or misnamed", s.Name)
			}
		}
		meta := tinyMeta(F32)
		meta.Arch = arch
		if _, err := New(meta, got); err != nil {
			t.Errorf("New rejects FoldBN's output: %v", err)
		}
		// fc is copied, not aliased.
		got["fc.bias"].F32[0] = 42
		if sd["fc.bias"][0] == 42 {
			t.Error("fc.bias aliases the state dict")
		}
	}
}

// TestFoldBNMatchesConvThenBN checks the folded 1×1 downsample conv against
// conv followed by BatchNorm on a random input vector.
func TestFoldBNMatchesConvThenBN(t *testing.T) {
	net, err := tinyArch().Net()
	if err != nil {
		t.Fatal(err)
	}
	const eps = 1e-5
	sd := stateDict(net, 4)
	folded, err := FoldBN(net, sd, eps)
	if err != nil {
		t.Fatal(err)
	}
	ds := net.Layers[1].Blocks[0].Downsample
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float64, ds.Cin)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	w := sd[ds.Name+".weight"]
	fw, fb := folded[ds.Name+".weight"].F32, folded[ds.Name+".bias"].F32
	for c := range ds.Cout {
		conv, fconv := 0.0, float64(fb[c])
		for i := range ds.Cin {
			conv += float64(w[c*ds.Cin+i]) * x[i]
			fconv += float64(fw[c*ds.Cin+i]) * x[i]
		}
		bn := func(p string) float64 { return float64(sd[ds.BN+"."+p][c]) }
		want := (conv-bn("running_mean"))/math.Sqrt(bn("running_var")+eps)*bn("weight") + bn("bias")
		if math.Abs(fconv-want) > 1e-5*(1+math.Abs(want)) {
			t.Errorf("channel %d: folded %v, conv+bn %v", c, fconv, want)
		}
	}
}

func TestFoldBNRejects(t *testing.T) {
	biasArch := tinyArch()
	biasArch.ConvBias = true
	for _, tc := range []struct {
		name string
		arch model.Arch
		eps  float64
		edit func(map[string][]float32)
		want string
	}{
		{"missing running_var", tinyArch(), 1e-5, func(sd map[string][]float32) { delete(sd, "layer3.0.bn2.running_var") }, "tensor layer3.0.bn2.running_var: missing"},
		{"missing conv weight", tinyArch(), 1e-5, func(sd map[string][]float32) { delete(sd, "layer1.0.conv1.weight") }, "tensor layer1.0.conv1.weight: missing"},
		{"missing fc", tinyArch(), 1e-5, func(sd map[string][]float32) { delete(sd, "fc.weight") }, "tensor fc.weight: missing"},
		{"short bn", tinyArch(), 1e-5, func(sd map[string][]float32) { sd["layer2.0.bn1.weight"] = []float32{1} }, "tensor layer2.0.bn1.weight: 1 values, want 4 (shape [4])"},
		{"long conv", tinyArch(), 1e-5, func(sd map[string][]float32) { sd["conv1.weight"] = make([]float32, 295) }, "tensor conv1.weight: 295 values, want 294 (shape [2 3 7 7])"},
		{"short conv bias", tinyArch(), 1e-5, func(sd map[string][]float32) { sd["conv1.bias"] = []float32{1} }, "tensor conv1.bias: 1 values, want 2"},
		{"conv bias required", biasArch, 1e-5, func(sd map[string][]float32) { delete(sd, "layer4.0.conv2.bias") }, "tensor layer4.0.conv2.bias: missing"},
		{"negative variance", tinyArch(), 1e-5, func(sd map[string][]float32) { sd["bn1.running_var"][1] = -1 }, "tensor bn1.running_var: channel 1: variance -1"},
		{"NaN variance", tinyArch(), 1e-5, func(sd map[string][]float32) { sd["bn1.running_var"][0] = float32(math.NaN()) }, "channel 0: variance NaN"},
		{"zero variance, zero eps", tinyArch(), 0, func(sd map[string][]float32) { sd["bn1.running_var"][0] = 0 }, "is not positive"},
		{"NaN eps", tinyArch(), math.NaN(), func(map[string][]float32) {}, "eps NaN"},
		{"negative eps", tinyArch(), -1, func(map[string][]float32) {}, "eps -1"},
	} {
		net, err := tc.arch.Net()
		if err != nil {
			t.Fatal(err)
		}
		sd := stateDict(net, 9)
		tc.edit(sd)
		_, err = FoldBN(net, sd, tc.eps)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "fold batchnorm of tiny: ") {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
