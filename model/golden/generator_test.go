package golden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

const fixtureDir = "../../testdata/golden"

// Published reference values, independent of gen.py.
func TestKnownVectors(t *testing.T) {
	// SplitMix64 seeded with 0 (Vigna's splitmix64.c) starts e220a8397b1dcdaf.
	if got := Raw(0, 0); got != 0xe220a8397b1dcdaf {
		t.Errorf("Raw(0,0) = %016x, want e220a8397b1dcdaf", got)
	}
	// FNV-1a-64 of "" is the offset basis; of "a" it is af63dc4c8601ec8c.
	if got := Key("", 0); got != 0xcbf29ce484222325 {
		t.Errorf("FNV-1a(\"\") = %016x", got)
	}
	if got := Key("a", 0); got != 0xaf63dc4c8601ec8c {
		t.Errorf("FNV-1a(\"a\") = %016x", got)
	}
	if got := Key("a", 0xff); got != 0xaf63dc4c8601ec8c^0xff {
		t.Errorf("Key xors the seed: %016x", got)
	}
	if Unit(0) != -1 || Unit(math.MaxUint64) != 1-1.0/(1<<23) {
		t.Errorf("Unit range: %v %v", Unit(0), Unit(math.MaxUint64))
	}
}

type generatorEntry struct {
	Name        string    `json:"name"`
	Seed        uint64    `json:"seed"`
	Kind        string    `json:"kind"`
	FanIn       int       `json:"fan_in"`
	Key         string    `json:"key"`
	ScaleBits   string    `json:"scale_bits"`
	Offset      float32   `json:"offset"`
	Raw         []string  `json:"raw"`
	UniformBits []string  `json:"uniform_bits"`
	Values      []float32 `json:"values"`
	ValuesBits  []string  `json:"values_bits"`
}

func hexBits(v uint64, width int) string { return fmt.Sprintf("%0*x", width, v) }

// TestGeneratorMatchesPython checks Go against the first values numpy
// produced for a few streams (testdata/golden/generator.json), bit for bit.
func TestGeneratorMatchesPython(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtureDir, "generator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		ClosingFactor float64          `json:"closing_factor"`
		Entries       []generatorEntry `json:"entries"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.ClosingFactor != ClosingFactor {
		t.Errorf("closing factor: python %v, Go %v", g.ClosingFactor, ClosingFactor)
	}
	if len(g.Entries) < 3 {
		t.Fatalf("generator.json has %d entries", len(g.Entries))
	}
	for _, e := range g.Entries {
		var d Dist
		switch e.Kind {
		case "input":
			d = InputDist
		case "conv":
			d = ConvDist(e.FanIn, false)
		case "conv_closing":
			d = ConvDist(e.FanIn, true)
		case "fc":
			d = FCDist(e.FanIn)
		case "bn_weight":
			d = BNWeightDist
		case "running_var":
			d = RunningVarDist
		case "fc_bias":
			d = FCBiasDist
		default:
			t.Errorf("%s: unknown kind %q", e.Name, e.Kind)
			continue
		}
		id := fmt.Sprintf("%s seed %x", e.Name, e.Seed)
		k := Key(e.Name, e.Seed)
		if hexBits(k, 16) != e.Key {
			t.Errorf("%s: key %016x, python %s", id, k, e.Key)
		}
		if got := hexBits(uint64(math.Float32bits(d.Scale)), 8); got != e.ScaleBits || d.Offset != e.Offset {
			t.Errorf("%s: scale %s offset %v, python %s %v", id, got, d.Offset, e.ScaleBits, e.Offset)
		}
		n := len(e.Raw)
		if n == 0 || len(e.UniformBits) != n || len(e.ValuesBits) != n {
			t.Fatalf("%s: malformed entry", id)
		}
		u := Uniform(e.Name, e.Seed, n)
		v := d.Values(e.Name, e.Seed, n)
		for i := 0; i < n; i++ {
			if got := hexBits(Raw(k, uint64(i)), 16); got != e.Raw[i] {
				t.Errorf("%s: raw[%d] %s, python %s", id, i, got, e.Raw[i])
			}
			if got := hexBits(uint64(math.Float32bits(u[i])), 8); got != e.UniformBits[i] {
				t.Errorf("%s: uniform[%d] %s, python %s", id, i, got, e.UniformBits[i])
			}
			if got := hexBits(uint64(math.Float32bits(v[i])), 8); got != e.ValuesBits[i] {
				t.Errorf("%s: value[%d] %s (%v), python %s (%v)", id, i, got, v[i], e.ValuesBits[i], e.Values[i])
			}
		}
	}
}

// The streams must not depend on how many values are asked for.
func TestUniformPrefixStable(t *testing.T) {
	a := Uniform("layer1.0.conv1.weight", 7, 5)
	b := Uniform("layer1.0.conv1.weight", 7, 100)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("value %d differs: %v vs %v", i, a[i], b[i])
		}
	}
	c := Uniform("layer1.0.conv1.weight", 8, 5)
	if a[0] == c[0] && a[1] == c[1] {
		t.Errorf("seed does not change the stream")
	}
	for _, x := range b {
		if x < -1 || x >= 1 {
			t.Fatalf("value %v outside [-1,1)", x)
		}
	}
	if len(Uniform("x", 1, -3)) != 0 {
		t.Errorf("negative n must give an empty slice")
	}
}
