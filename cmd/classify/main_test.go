package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
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
	dir := t.TempDir()
	if err := run([]string{"-model", path, "-json", "-cam", dir, "../../testdata/photos/chelsea.png"}, &out); err != nil {
		t.Fatal(err)
	}
	var doc jsonDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Images[0].Top5[0].Label; got != "Egyptian cat" {
		t.Errorf("chelsea: %s", got)
	}
	if got, want := doc.Images[0].CAMs[0], filepath.Join(dir, "chelsea_top1_Egyptian_cat.png"); got != want {
		t.Errorf("top-1 map %s, want %s", got, want)
	}
}

// TestCAMWritesPNGs: -cam writes one overlay per image and top-k class,
// named by image, rank and class, each a PNG of the crop's size, and
// -json lists them.
func TestCAMWritesPNGs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "maps")
	var out bytes.Buffer
	photos := []string{"../../testdata/photos/chelsea.png", "../../testdata/photos/kite.jpg", "../../testdata/photos/chelsea.png"}
	if err := run(append([]string{"-model", tinyModel(t), "-k", "3", "-json", "-cam", dir}, photos...), &out); err != nil {
		t.Fatal(err)
	}
	var doc jsonDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 9 {
		t.Fatalf("%d files in %s, want 9", len(entries), dir)
	}
	stems := []string{"chelsea", "kite", "chelsea-2"}
	for i, im := range doc.Images {
		if len(im.CAMs) != 3 {
			t.Fatalf("%s: %d maps listed", im.File, len(im.CAMs))
		}
		for r, path := range im.CAMs {
			want := filepath.Join(dir, fmt.Sprintf("%s_top%d_class_%d.png", stems[i], r+1, im.Top5[r].Index))
			if path != want {
				t.Errorf("map %s, want %s", path, want)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
				t.Errorf("%s is %v, want the 64×64 crop", path, b)
			}
		}
	}
	for _, c := range []struct{ in, want string }{{"Egyptian cat", "Egyptian_cat"}, {"../x", "x"}, {"", "image"}, {"a/b c", "a_b_c"}} {
		if got := safeName(c.in); got != c.want {
			t.Errorf("safeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
