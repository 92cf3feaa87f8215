package convert

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// TestConvertPTHMatchesTorchvision is the end-to-end check of the PyTorch
// path: real torch.save files (testdata/pth, values = golden.Fill), read,
// architecture inferred, BatchNorm folded, run by the CPU engine on the
// golden input, give torchvision's logits (testdata/golden) to 1e-4 of the
// largest logit.
func TestConvertPTHMatchesTorchvision(t *testing.T) {
	for _, c := range []struct{ pth, fixture string }{
		{"tiny_basic.pth", "tiny_basic_32.json"},
		{"tiny_bottleneck.pth", "tiny_bottleneck_32.json"},
		{"checkpoint.pth", "tiny_basic_10_32.json"},
	} {
		t.Run(c.pth, func(t *testing.T) {
			f, err := golden.Load(filepath.Join("../../testdata/golden", c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			ck, err := ReadPTH(filepath.Join(sharedPTH, c.pth))
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := Convert(ck, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, want := m.Meta.Arch, f.Arch
			got.Name, want.Name = "", ""
			if got != want {
				t.Errorf("arch %+v, fixture %+v", got, want)
			}
			eng, err := cpu.New(m)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Run(context.Background(), f.Input(), model.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			maxAbs, maxDiff := 0.0, 0.0
			for n := range f.Logits {
				for k, w := range f.Logits[n] {
					maxAbs = math.Max(maxAbs, math.Abs(float64(w)))
					maxDiff = math.Max(maxDiff, math.Abs(float64(res.Logits[n][k]-w)))
				}
			}
			if maxAbs == 0 || maxDiff > 1e-4*maxAbs {
				t.Errorf("max|Δlogit| %g for max|logit| %g", maxDiff, maxAbs)
			}
		})
	}
}

func tinyCheckpoint(t *testing.T) *Checkpoint {
	t.Helper()
	ck, err := ReadPTH(filepath.Join(sharedPTH, "tiny_basic_10.pth"))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// TestConvertOptions checks how options and the checkpoint's own knowledge
// combine, and that contradictions are errors.
func TestConvertOptions(t *testing.T) {
	ck := tinyCheckpoint(t)
	m, notes, err := Convert(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Arch.Variant != model.V15 || m.Meta.Scheme != weights.F32 || m.Meta.Preprocess != weights.TorchvisionPreprocess {
		t.Errorf("defaults: %+v", m.Meta)
	}
	if len(m.Meta.Labels) != 10 || m.Meta.Labels[9] != "class 9" || len(notes) != 1 || !strings.Contains(notes[0], "-labels") {
		t.Errorf("labels %q, notes %q", m.Meta.Labels, notes)
	}
	if sum, _ := HashFiles(ck.Files); m.Meta.SourceSHA256 != sum || len(sum) != 64 {
		t.Errorf("sha256 %q, want %q", m.Meta.SourceSHA256, sum)
	}

	labels := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	m, _, err = Convert(ck, Options{Variant: model.V1, Labels: labels, NumClasses: 10, Preprocess: &weights.CaffePreprocess, Source: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Arch.Variant != model.V1 || !slices.Equal(m.Meta.Labels, labels) || m.Meta.Preprocess != weights.CaffePreprocess || m.Meta.Source != "mine" {
		t.Errorf("options not applied: %+v", m.Meta)
	}

	for _, c := range []struct {
		opt  Options
		want string
	}{
		{Options{Arch: "resnet18"}, "look like resnet_basic_1-1-1-1_base4"},
		{Options{Arch: "resnet9000"}, "unknown architecture"},
		{Options{NumClasses: 1000}, "10 classes, not 1000"},
		{Options{Labels: []string{"x"}}, "1 labels for the classifier's 10 classes"},
		{Options{BNEps: -1}, "epsilon"},
		{Options{Variant: "v2"}, "variant"},
	} {
		if _, _, err := Convert(ck, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Convert(%+v) = %v, want an error containing %q", c.opt, err, c.want)
		}
	}

	// The checkpoint's own "arch" entry is checked like -arch.
	named := *ck
	named.ArchName = "resnet34"
	if _, _, err := Convert(&named, Options{}); err == nil || !strings.Contains(err.Error(), "resnet34") {
		t.Errorf("wrong ArchName accepted: %v", err)
	}
}

// TestConvertFoldsWithEps checks the epsilon that reaches the fold: the
// source's, the default, or the option's.
func TestConvertFoldsWithEps(t *testing.T) {
	ck := tinyCheckpoint(t)
	stem := func(m *weights.Model) float32 { return m.Tensors["conv1.weight"].F32[0] }
	want := func(eps float64) float32 {
		s := float64(ck.Tensors["bn1.weight"].Data[0]) / math.Sqrt(float64(ck.Tensors["bn1.running_var"].Data[0])+eps)
		return float32(float64(ck.Tensors["conv1.weight"].Data[0]) * s)
	}
	m, _, err := Convert(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if stem(m) != want(DefaultBNEps) {
		t.Errorf("default eps: %v, want %v", stem(m), want(DefaultBNEps))
	}
	m, _, err = Convert(ck, Options{BNEps: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if stem(m) != want(0.5) || want(0.5) == want(DefaultBNEps) {
		t.Errorf("eps 0.5: %v, want %v", stem(m), want(0.5))
	}
	src := *ck
	src.BNEps = 0.25
	m, notes, err := Convert(&src, Options{BNEps: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if stem(m) != want(0.5) || !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "overrides") }) {
		t.Errorf("override: %v, notes %q", stem(m), notes)
	}
	m, _, err = Convert(&src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if stem(m) != want(0.25) {
		t.Errorf("source eps: %v, want %v", stem(m), want(0.25))
	}
}

// TestConvertTFJSArchChecks: -arch and -variant must agree with what a
// TF.js topology says.
func TestConvertTFJSArchChecks(t *testing.T) {
	fx := newKerasFixture(t, tinyArch(model.Bottleneck, [4]int{1, 1, 1, 1}, model.V1), "caffe", 1e-3)
	ck, err := fx.parse(t, fx.files(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Convert(ck, Options{Variant: model.V15}); err == nil || !strings.Contains(err.Error(), "v1") {
		t.Errorf("variant contradiction: %v", err)
	}
	if _, _, err := Convert(ck, Options{Arch: "resnet50"}); err == nil || !strings.Contains(err.Error(), "not a resnet50") {
		t.Errorf("arch contradiction: %v", err)
	}
	m, notes, err := Convert(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Arch.Variant != model.V1 || len(notes) != 1 {
		t.Errorf("arch %+v notes %q", m.Meta.Arch, notes)
	}
}

// TestHashFiles hashes files concatenated, and fails on a missing one.
func TestHashFiles(t *testing.T) {
	if s, err := HashFiles(nil); s != "" || err != nil {
		t.Errorf("no files: %q %v", s, err)
	}
	if _, err := HashFiles([]string{"testdata/none"}); err == nil {
		t.Error("missing file hashed")
	}
	a, _ := HashFiles([]string{"testdata/tensor.pth", "testdata/list.pth"})
	b, _ := HashFiles([]string{"testdata/list.pth", "testdata/tensor.pth"})
	if a == b || len(a) != 64 {
		t.Errorf("order ignored: %s %s", a, b)
	}
}
