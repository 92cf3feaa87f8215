package golden

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// fixtures loads every testdata/golden/<net>_<size>.json.
func fixtures(t *testing.T) []*Fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []*Fixture
	for _, p := range paths {
		if filepath.Base(p) == "generator.json" {
			continue
		}
		f, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	// The set gen.py writes; a missing file must fail, not shrink the test.
	if len(fs) != 14 {
		t.Fatalf("found %d fixtures in %s, want 14 (regenerate with /usr/bin/python3 tools/golden/gen.py)", len(fs), fixtureDir)
	}
	return fs
}

func fixtureID(f *Fixture) string { return fmt.Sprintf("%s_%d", f.Name, f.InputShape[2]) }

// The torchvision networks' fixtures must describe exactly what ByName
// returns (plus the v1 changes), so the golden test covers model.ByName.
func TestFixtureArchMatchesByName(t *testing.T) {
	for _, f := range fixtures(t) {
		if strings.HasPrefix(f.Name, "tiny") {
			if f.Arch.BaseChannels >= 64 {
				t.Errorf("%s: tiny fixture with base %d", fixtureID(f), f.Arch.BaseChannels)
			}
			continue
		}
		want, err := model.ByName(f.Arch.Name)
		if err != nil {
			t.Errorf("%s: %v", fixtureID(f), err)
			continue
		}
		eps := 1e-5
		if f.Name == "resnet50_v1" {
			want.Variant, want.ConvBias, eps = model.V1, true, 1e-3
		}
		if fmt.Sprintf("%+v", f.Arch) != fmt.Sprintf("%+v", want) || f.BNEps != eps {
			t.Errorf("%s: arch %+v eps %g, want %+v eps %g", fixtureID(f), f.Arch, f.BNEps, want, eps)
		}
	}
}

func sameShape(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// Net.Stages must give torchvision's shapes at every stage and block, and
// torchvision's parameter count.
func TestFixtureStagesAndParams(t *testing.T) {
	for _, f := range fixtures(t) {
		id := fixtureID(f)
		net, err := f.Net()
		if err != nil {
			t.Fatal(err)
		}
		st, err := net.Stages(f.InputShape[0], f.InputShape[2], f.InputShape[3])
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if len(st) != len(f.Stages) {
			t.Errorf("%s: %d stages, torchvision %d", id, len(st), len(f.Stages))
			continue
		}
		for i, s := range st {
			g := f.Stages[i]
			if s.Name != g.Name || !sameShape(s.Shape, g.Shape) {
				t.Errorf("%s: stage %d is %s %v, torchvision %s %v", id, i, s.Name, s.Shape, g.Name, g.Shape)
			}
			if len(s.Blocks) != len(g.Blocks) {
				t.Errorf("%s: %s has %d blocks, torchvision %d", id, s.Name, len(s.Blocks), len(g.Blocks))
				continue
			}
			for j, b := range s.Blocks {
				if b.Name != g.Blocks[j].Name || !sameShape(b.Shape, g.Blocks[j].Shape) {
					t.Errorf("%s: block %s %v, torchvision %s %v", id, b.Name, b.Shape, g.Blocks[j].Name, g.Blocks[j].Shape)
				}
			}
		}
		if p, _ := model.Totals(st); p != f.Params {
			t.Errorf("%s: %d parameters, torchvision %d", id, p, f.Params)
		}
	}
}

// Fill must produce torchvision's state dict: same names in the same order,
// same shapes, and bit-identical values (by digest). The input's sum checks
// Input against the fixture's "input" stage.
func TestFillMatchesTorchvision(t *testing.T) {
	done := map[string]bool{}
	for _, f := range fixtures(t) {
		id := fixtureID(f)
		x := f.Input()
		var sum, abs float64
		for _, v := range x.Data {
			sum += float64(v)
			abs += math.Abs(float64(v))
		}
		in := f.Stages[0]
		if in.Name != "input" || !sameShape(x.Shape, in.Shape) || !close64(sum, in.Sum, 1e-9*in.AbsSum) || !close64(abs, in.AbsSum, 1e-9*in.AbsSum) {
			t.Errorf("%s: input %v sum %v abs %v, torchvision %v %v %v", id, x.Shape, sum, abs, in.Shape, in.Sum, in.AbsSum)
		}
		if done[f.Name] { // the 224 fixture repeats the 64 one's weights
			continue
		}
		if testing.Short() && f.Params > 12e6 {
			t.Logf("%s: %d M values, digests skipped in -short mode", id, f.Params/1e6)
			continue
		}
		done[f.Name] = true
		net, err := f.Net()
		if err != nil {
			t.Fatal(err)
		}
		specs := net.StateDictTensors()
		if len(specs) != len(f.Tensors) {
			t.Errorf("%s: %d state-dict tensors, torchvision %d", id, len(specs), len(f.Tensors))
			continue
		}
		sd := Fill(net, f.Seed)
		for i, s := range specs {
			g := f.Tensors[i]
			if s.Name != g.Name || !sameShape(s.Shape, g.Shape) {
				t.Errorf("%s: tensor %d is %s %v, torchvision %s %v", id, i, s.Name, s.Shape, g.Name, g.Shape)
				continue
			}
			if d := Digest(sd[s.Name]); d != g.Digest {
				t.Errorf("%s: %s digest %016x, torchvision %016x", id, s.Name, d, g.Digest)
			}
		}
		sd = nil
		runtime.GC() // the big nets hold 60-70 M floats each
	}
}

func close64(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestLoadRejectsBadFixtures(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"notjson":  `{`,
		"arch":     `{"arch":{"name":"x","block":"nope"},"input_shape":[1,3,8,8],"bn_eps":1e-5}`,
		"shape":    `{"arch":{"name":"x","block":"basic","layers":[1,1,1,1],"groups":1,"width_per_group":64,"num_classes":2,"variant":"v1.5","base_channels":4},"input_shape":[1,8,8],"bn_eps":1e-5}`,
		"logits":   `{"arch":{"name":"x","block":"basic","layers":[1,1,1,1],"groups":1,"width_per_group":64,"num_classes":2,"variant":"v1.5","base_channels":4},"input_shape":[1,3,8,8],"bn_eps":1e-5,"logits_shape":[1,2],"logits_b64":"AAAA"}`,
		"base64":   `{"arch":{"name":"x","block":"basic","layers":[1,1,1,1],"groups":1,"width_per_group":64,"num_classes":2,"variant":"v1.5","base_channels":4},"input_shape":[1,3,8,8],"bn_eps":1e-5,"logits_shape":[1,2],"logits_b64":"!!"}`,
		"eps":      `{"arch":{"name":"x","block":"basic","layers":[1,1,1,1],"groups":1,"width_per_group":64,"num_classes":2,"variant":"v1.5","base_channels":4},"input_shape":[1,3,8,8],"bn_eps":0}`,
		"digest":   `{"tensors":[["a",[1],"zz"]]}`,
		"digestn":  `{"tensors":[["a",[1]]]}`,
		"classes":  `{"arch":{"name":"x","block":"basic","layers":[1,1,1,1],"groups":1,"width_per_group":64,"num_classes":2,"variant":"v1.5","base_channels":4},"input_shape":[1,3,8,8],"bn_eps":1e-5,"logits_shape":[1,3],"logits_b64":""}`,
		"negative": `{"seed":-1}`,
	} {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil {
			t.Errorf("%s: Load accepted a bad fixture", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Errorf("Load accepted a missing file")
	}
}
