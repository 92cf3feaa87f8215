package cpuchoice

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// kernels builds the kernel module as make does.
func kernels(t *testing.T) func(context.Context) ([]byte, error) {
	out := filepath.Join(t.TempDir(), "kernels.wasm")
	if b, err := exec.Command("../../tools/build_kernels.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("build_kernels.sh (tools/deps.sh installs clang and lld): %v\n%s", err, b)
	}
	return func(context.Context) ([]byte, error) { return os.ReadFile(out) }
}

var arch = model.Arch{Name: "basic", Block: model.Basic, Layers: [4]int{1, 1, 1, 1}, Groups: 1, WidthPerGroup: 64,
	NumClasses: 10, Variant: model.V15, BaseChannels: 8}

// TestChoice: the kernels run where they load, named "cpu (wasm simd)";
// the Go engine runs by hand, without kernels, for float32 weights and
// when the kernels fail, each time saying why; both answer alike.
func TestChoice(t *testing.T) {
	ctx := context.Background()
	i8, err := golden.Model(arch, 3, 1e-5, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	f32, err := golden.Model(arch, 3, 1e-5, weights.F32)
	if err != nil {
		t.Fatal(err)
	}
	k := kernels(t)
	broken := func(context.Context) ([]byte, error) { return nil, errors.New("HTTP 404") }
	x := model.NewTensor(1, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(i%7) / 7
	}
	var tops []int
	for _, c := range []struct {
		name     string
		m        *weights.Model
		opt      Options
		simd     bool
		fallback string // in Fallback; "" for none
	}{
		{"kernels", i8, Options{Kernels: k}, true, ""},
		{"by hand", i8, Options{Kernels: k, Go: true}, false, ""},
		{"no kernels", i8, Options{}, false, ""},
		{"float32 weights", f32, Options{Kernels: k}, false, "int8 weights"},
		{"kernels missing", i8, Options{Kernels: broken}, false, "HTTP 404"},
	} {
		e, err := New(ctx, c.m, c.opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res, err := e.Run(ctx, x, model.RunOptions{TopK: 1})
		e.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := "cpu"
		if c.simd {
			want = "cpu (wasm simd)"
		}
		if e.SIMD != c.simd || e.Name() != want || res.Engine != want || !IsCPU(res.Engine) {
			t.Errorf("%s: SIMD %v, name %q, answer from %q; want %q", c.name, e.SIMD, e.Name(), res.Engine, want)
		}
		if c.fallback == "" && e.Fallback != "" || !strings.Contains(e.Fallback, c.fallback) {
			t.Errorf("%s: fallback %q, want one containing %q", c.name, e.Fallback, c.fallback)
		}
		if c.m == i8 {
			tops = append(tops, res.Top[0][0].Index)
		}
	}
	for _, top := range tops[1:] {
		if top != tops[0] {
			t.Errorf("top-1 differs between the engines: %v", tops)
		}
	}
	for _, n := range []string{"webgpu (google swiftshader)", "gpu", "cpux", ""} {
		if IsCPU(n) {
			t.Errorf("IsCPU(%q)", n)
		}
	}
}

// TestTimeLayer: both CPU engines time one layer alone, for the page's
// probe of the faster engine.
func TestTimeLayer(t *testing.T) {
	ctx := context.Background()
	m, err := golden.Model(arch, 3, 1e-5, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{Kernels: kernels(t)}, {}} {
		e, err := New(ctx, m, opt)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := e.TimeLayer(ctx, "layer1.0.conv1", 2, 128, 128)
		if err != nil || ms <= 0 {
			t.Errorf("%s: layer1.0.conv1 took %g ms (%v)", e.Name(), ms, err)
		}
		if _, err := e.TimeLayer(ctx, "layer9.conv", 1, 64, 64); err == nil {
			t.Errorf("%s: timed a layer that does not exist", e.Name())
		}
		e.Close()
	}
}
