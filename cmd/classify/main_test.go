package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// tinyModel writes a small generated model and returns its path.
func tinyModel(t *testing.T) string {
	t.Helper()
	a := model.Arch{Name: "tiny", Block: model.Basic, Layers: [4]int{1, 1, 1, 1}, Groups: 1, WidthPerGroup: 64,
		NumClasses: 7, Variant: model.V15, BaseChannels: 4}
	m, err := golden.Model(a, 1, 1e-5, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	m.Meta.Preprocess.Resize, m.Meta.Preprocess.Crop = 73, 64
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestJSON(t *testing.T) {
	var out bytes.Buffer
	photos := []string{"../../testdata/photos/chelsea.png", "../../testdata/photos/kite.jpg"}
	if err := run(append([]string{"-model", tinyModel(t), "-json"}, photos...), &out); err != nil {
		t.Fatal(err)
	}
	var doc jsonDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if len(doc.Images) != 2 || doc.Images[1].File != photos[1] || len(doc.Images[0].Top5) != 5 {
		t.Fatalf("images: %+v", doc.Images)
	}
	var p float32
	for _, pr := range doc.Images[0].Top5 {
		p += pr.Prob
		if !strings.HasPrefix(pr.Label, "class ") {
			t.Errorf("label %q", pr.Label)
		}
	}
	if p <= 0 || p > 1.0001 {
		t.Errorf("top-5 probabilities sum to %g", p)
	}
	names := []string{}
	for _, s := range doc.Stages {
		names = append(names, s.Name)
	}
	want := "input conv1 bn1+relu maxpool layer1 layer2 layer3 layer4 avgpool flatten fc"
	if strings.Join(names, " ") != want {
		t.Errorf("stages %v", names)
	}
	if fc := doc.Stages[len(doc.Stages)-1]; len(fc.Shape) != 2 || fc.Shape[0] != 2 || fc.Shape[1] != 7 {
		t.Errorf("fc shape %v", fc.Shape)
	}
}

func TestText(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-model", tinyModel(t), "../../testdata/photos/coffee.png"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"coffee.png", "engine: cpu", "layer4.0", "total"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("hello"), 0o644)
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("\x05\x00\x00\x00\x00\x00\x00\x00{...}"), 0o644)
	huge := filepath.Join(dir, "video.jpg")
	if f, err := os.Create(huge); err == nil { // sparse: no disk used
		f.Truncate(65 << 20)
		f.Close()
	}
	tiny := tinyModel(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", tiny}, "no images"},
		{[]string{"-model", tiny, txt}, "notes.txt: not an image"},
		{[]string{"-model", tiny, filepath.Join(dir, "missing.png")}, "missing.png"},
		{[]string{"-model", bad, "../../testdata/photos/coffee.png"}, "bad.safetensors"},
		{[]string{"-model", tiny, "-size", "-3", "../../testdata/photos/coffee.png"}, "coffee.png"},
		{[]string{"-model", tiny, huge}, "video.jpg: 65 MB, over the 64 MB limit for an image"},
		{[]string{"-model", tiny, dir}, "not a regular file"},
		{[]string{"-model", dir, "../../testdata/photos/coffee.png"}, "not a regular file"},
	} {
		var out bytes.Buffer
		err := run(c.args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

// TestRealModel runs the default model (built by `make weights`) when present.
func TestRealModel(t *testing.T) {
	path := "../../" + DefaultModel
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("RESIDUAL_REQUIRE_WEIGHTS") != "" {
			t.Fatal(err)
		}
		t.Skipf("%s not built (make weights)", path)
	}
	var out bytes.Buffer
	if err := run([]string{"-model", path, "-json", "../../testdata/photos/chelsea.png"}, &out); err != nil {
		t.Fatal(err)
	}
	var doc jsonDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Images[0].Top5[0].Label; got != "Egyptian cat" {
		t.Errorf("chelsea: %s", got)
	}
}
