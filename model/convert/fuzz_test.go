package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// FuzzTFJS runs the TF.js reader on a model folder made of the fuzzed
// model.json, two shards (a.bin, b.bin) and labels.json (absent when
// empty). It must never panic, and what it accepts must be a whole
// checkpoint. Seeds: testdata/fuzz/FuzzTFJS (make them with
// RESIDUAL_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds).
func FuzzTFJS(f *testing.F) {
	f.Add([]byte(`{}`), []byte{}, []byte{}, []byte{})
	f.Add([]byte(`{"modelTopology":{},"weightsManifest":[{"paths":["a.bin"],"weights":[]}]}`), []byte{}, []byte{}, []byte(`["a"]`))
	f.Fuzz(func(t *testing.T, modelJSON, a, b, labels []byte) {
		dir := t.TempDir()
		files := map[string][]byte{"model.json": modelJSON, "a.bin": a, "b.bin": b}
		if len(labels) > 0 {
			files["labels.json"] = labels
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ck, err := ReadTFJS(filepath.Join(dir, "model.json"))
		if err != nil {
			return
		}
		if ck.Arch == nil || len(ck.Tensors) == 0 || len(ck.Files) < 2 {
			t.Fatalf("accepted an incomplete checkpoint: arch %v, %d tensors, files %v", ck.Arch, len(ck.Tensors), ck.Files)
		}
		if ck.Labels != nil && len(ck.Labels) != ck.Arch.NumClasses {
			t.Fatalf("%d labels for %d classes", len(ck.Labels), ck.Arch.NumClasses)
		}
	})
}

// FuzzTarball runs the npm tarball reader on arbitrary bytes. Seeds:
// testdata/fuzz/FuzzTarball.
func FuzzTarball(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := readTarball(io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))))
		if err != nil {
			return
		}
		if ck.Arch == nil || len(ck.Tensors) == 0 {
			t.Fatalf("accepted an incomplete checkpoint: arch %v, %d tensors", ck.Arch, len(ck.Tensors))
		}
	})
}

// fuzzSeedModel is the smallest fixture: a basic-block ResNet with one
// channel at the stem, its weights split into a.bin and b.bin, with 10
// labels.
func fuzzSeedModel(t *testing.T) (modelJSON, a, b, labels []byte) {
	arch := tinyArch(model.Basic, [4]int{1, 1, 1, 1}, model.V15)
	arch.BaseChannels = 1
	fx := newKerasFixture(t, arch, "caffe", 1e-3)
	fx.shard = (len(fx.data) + 1) / 2
	files := fx.files(t)
	paths := fx.shardPaths()
	if len(paths) != 2 {
		t.Fatalf("%d shards", len(paths))
	}
	modelJSON = files["model.json"]
	modelJSON = bytes.Replace(modelJSON, []byte(paths[0]), []byte("a.bin"), 1)
	modelJSON = bytes.Replace(modelJSON, []byte(paths[1]), []byte("b.bin"), 1)
	names := map[string]string{}
	for i := range arch.NumClasses {
		names[fmt.Sprint(i)] = fmt.Sprint("class_", i)
	}
	labels, _ = json.Marshal(names)
	return modelJSON, files[paths[0]], files[paths[1]], labels
}

// TestWriteFuzzSeeds checks the fuzz seeds parse, and with
// RESIDUAL_WRITE_FUZZ_SEEDS=1 writes them to testdata/fuzz.
func TestWriteFuzzSeeds(t *testing.T) {
	mj, a, b, labels := fuzzSeedModel(t)
	dir := t.TempDir()
	writeDir(t, dir, map[string][]byte{"model.json": mj, "a.bin": a, "b.bin": b, "labels.json": labels})
	if _, err := ReadTFJS(filepath.Join(dir, "model.json")); err != nil {
		t.Fatalf("seed model: %v", err)
	}
	items := []tarItem{reg("package/package.json", []byte(`{"name":"seed"}`)), reg("package/M/model.json", mj),
		reg("package/M/a.bin", a), reg("package/M/b.bin", b), reg("package/assets/labels.json", labels)}
	tgz, err := os.ReadFile(writeTarball(t, items))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readTarball(io.NewSectionReader(bytes.NewReader(tgz), 0, int64(len(tgz)))); err != nil {
		t.Fatalf("seed tarball: %v", err)
	}
	if os.Getenv("RESIDUAL_WRITE_FUZZ_SEEDS") != "1" {
		return
	}
	seed := func(target, name string, args ...[]byte) {
		var s strings.Builder
		s.WriteString("go test fuzz v1\n")
		for _, a := range args {
			fmt.Fprintf(&s, "[]byte(%q)\n", a)
		}
		d := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), []byte(s.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed("FuzzTFJS", "tiny-basic", mj, a, b, labels)
	seed("FuzzTFJS", "tiny-basic-one-shard", bytes.Replace(mj, []byte(`"a.bin","b.bin"`), []byte(`"a.bin"`), 1), append(append([]byte{}, a...), b...), nil, []byte("c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n"))
	seed("FuzzTarball", "tiny-package", tgz)
}
