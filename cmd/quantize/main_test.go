package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/weights"
)

// tinyPTH is a real torch.save state dict of a 10-class tiny basic ResNet.
var tinyPTH, _ = filepath.Abs("../../testdata/pth/tiny_basic_10.pth")

// reportRows parses the per-layer table of the report: name → fields.
func reportRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	in := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "layer":
			in = true
		case in && len(f) == 5:
			rows[f[0]] = f[1:]
		case in:
			in = false
		}
	}
	return rows
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestQuantizePTH converts a real .pth end to end: exit status 0, a
// loadable int8 file with the given labels and the input's sha256, and a
// report with one row per layer whose numbers add up to the total.
func TestQuantizePTH(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.txt")
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("digit %d", i))
	}
	if err := os.WriteFile(labels, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tiny.safetensors")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-labels", labels, "-num-classes", "10", "-o", out, tinyPTH}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	m, err := weights.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(tinyPTH)
	sum := sha256.Sum256(src)
	if m.Meta.Scheme != weights.Int8 || !slices.Equal(m.Meta.Labels, names) || m.Meta.SourceSHA256 != hex.EncodeToString(sum[:]) ||
		m.Meta.Arch.NumClasses != 10 || m.Meta.Preprocess != weights.TorchvisionPreprocess {
		t.Errorf("metadata %+v", m.Meta)
	}
	rows := reportRows(t, stdout.String())
	var layers []string
	for _, c := range m.Net.Convs() {
		layers = append(layers, c.Name)
	}
	layers = append(layers, "fc")
	if len(rows) != len(layers)+1 { // and the total
		t.Errorf("%d report rows for %d layers + total:\n%s", len(rows), len(layers), stdout.String())
	}
	var params, size float64
	for _, name := range layers {
		r, ok := rows[name]
		if !ok {
			t.Errorf("no report row for %s", name)
			continue
		}
		w, b := m.Weight(name)
		if got := atof(t, r[0]); int(got) != w.Len()+b.Len() {
			t.Errorf("%s: %v params, want %d", name, got, w.Len()+b.Len())
		}
		if got := atof(t, r[1]); int(got) != len(w.I8)+4*len(w.Scale)+4*len(b.F32) {
			t.Errorf("%s: %v bytes", name, got)
		}
		if e := atof(t, r[2]); e <= 0 || e > 0.05 || atof(t, r[3]) > e {
			t.Errorf("%s: max err %s mean %s", name, r[2], r[3])
		}
		params += atof(t, r[0])
		size += atof(t, r[1])
	}
	if tot := rows["total"]; tot == nil || atof(t, tot[0]) != params || atof(t, tot[1]) != size {
		t.Errorf("total row %v, want %v params %v bytes", tot, params, size)
	}
	if !strings.Contains(stdout.String(), "wrote "+out) {
		t.Errorf("report does not say what it wrote:\n%s", stdout.String())
	}
}

// TestQuantizeF32DefaultName: -scheme f32 reports zero error, and without -o
// the file is named after the architecture, variant and scheme.
func TestQuantizeF32DefaultName(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-scheme", "f32", tinyPTH}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "note: labels") {
		t.Errorf("no note about generated labels: %q", stderr.String())
	}
	name := "resnet_basic_1-1-1-1_base4-v1.5-f32.safetensors"
	m, err := weights.Load(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Scheme != weights.F32 {
		t.Errorf("scheme %s", m.Meta.Scheme)
	}
	for name, r := range reportRows(t, stdout.String()) {
		if atof(t, r[2]) != 0 || atof(t, r[3]) != 0 {
			t.Errorf("%s: f32 error %s %s", name, r[2], r[3])
		}
	}
}

// TestQuantizeCheckpointLayouts converts training checkpoints as the
// PyTorch ImageNet example, the checkpoint tutorial and torchvision's
// references save them, a float16 state dict and a deflated re-zip.
func TestQuantizeCheckpointLayouts(t *testing.T) {
	dir := t.TempDir()
	for _, file := range []string{"../../model/convert/testdata/layouts/imagenet_example.pth", "../../model/convert/testdata/layouts/tutorial.pth",
		"../../model/convert/testdata/layouts/references.pth", "../../model/convert/testdata/layouts/deflated.pth", "../../testdata/pth/micro_f16.pth"} {
		out := filepath.Join(dir, filepath.Base(file)+".safetensors")
		var stdout, stderr bytes.Buffer
		if code := run([]string{"-o", out, file}, &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit %d: %s", file, code, stderr.String())
			continue
		}
		m, err := weights.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if a := m.Meta.Arch; a.BaseChannels != 2 || a.NumClasses != 10 || a.Layers != [4]int{1, 1, 1, 1} {
			t.Errorf("%s: arch %+v", file, a)
		}
	}
}

// TestQuantizeFailures: every failure exits non-zero with a message and
// leaves no output file (and an existing one untouched), even when the
// failure is in writing.
func TestQuantizeFailures(t *testing.T) {
	dir := t.TempDir()
	three := filepath.Join(dir, "three.txt")
	if err := os.WriteFile(three, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	legacy, _ := filepath.Abs("../../testdata/pth/legacy.pth")
	aDir := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(aDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.safetensors")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{filepath.Join(dir, "missing.pth")}, 1, "no such file"},
		{[]string{"-arch", "resnet50", tinyPTH}, 1, "does not match resnet50"},
		{[]string{"-num-classes", "5", tinyPTH}, 1, "10 classes, not 5"},
		{[]string{"-labels", three, tinyPTH}, 1, "3 labels"},
		{[]string{"-labels", filepath.Join(dir, "nolabels"), tinyPTH}, 1, "read labels"},
		{[]string{legacy}, 1, "legacy"},
		{[]string{three}, 1, "not a checkpoint"},
		{[]string{"../../model/convert/testdata/layouts/vgg11.pth"}, 1, "quantize: read ../../model/convert/testdata/layouts/vgg11.pth: this is not a torchvision ResNet (found a VGG-11 (vgg11): features.0.weight, classifier.0.weight, classifier.6.weight …); Residual runs resnet18, "},
		{[]string{"-arch", "resnet18", "../../model/convert/testdata/layouts/mobilenet_v2.pth"}, 1, "this is not a torchvision ResNet (found a MobileNetV2"},
		{[]string{"-scheme", "int4", tinyPTH}, 2, "int4"},
		{[]string{"-variant", "v2", tinyPTH}, 2, "v2"},
		{[]string{"-preprocess", "imagenet", tinyPTH}, 2, "imagenet"},
		{[]string{}, 2, "usage"},
		{[]string{tinyPTH, tinyPTH}, 2, "usage"},
		{[]string{"-bogus", tinyPTH}, 2, "bogus"},
	} {
		if err := os.WriteFile(out, []byte("previous"), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		args := append([]string{"-o", out}, c.args...)
		code := run(args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("quantize %v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
		if b, _ := os.ReadFile(out); string(b) != "previous" {
			t.Errorf("quantize %v: output file changed", c.args)
		}
	}

	// A failure while writing (the target is a directory) leaves nothing behind.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-o", aDir, tinyPTH}, &stdout, &stderr); code != 1 {
		t.Errorf("writing onto a directory: exit %d", code)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{"a-directory", "out.safetensors", "three.txt"}) {
		t.Errorf("files left after a failed write: %v", left)
	}
	if sub, _ := os.ReadDir(aDir); len(sub) != 0 {
		t.Errorf("files left in the target directory: %v", sub)
	}
}
