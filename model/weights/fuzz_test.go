package weights

import (
	"bytes"
	"encoding/binary"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/safetensors"
)

// FuzzDecode checks that Decode never panics on arbitrary bytes and that
// whatever it accepts re-encodes to a file that decodes to the same model.
// Its seed corpus is testdata/fuzz/FuzzDecode (regenerate with
// go test ./model/weights -run TestFuzzDecodeSeeds -update-seeds).
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode("fuzz.safetensors", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "load fuzz.safetensors: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		for name, tensor := range m.Tensors {
			if got := len(tensor.Float()); got != tensor.Len() {
				t.Fatalf("tensor %s: %d values for shape %v", name, got, tensor.Shape)
			}
		}
		var b bytes.Buffer
		if err := m.Encode(&b); err != nil {
			t.Fatalf("Encode of a decoded model: %v", err)
		}
		again, err := Decode("again", b.Bytes())
		if err != nil {
			t.Fatalf("Decode of a re-encoded model: %v", err)
		}
		if !reflect.DeepEqual(m.Tensors, again.Tensors) || !reflect.DeepEqual(m.Meta.Arch, again.Meta.Arch) || m.Meta.Scheme != again.Meta.Scheme || len(m.Meta.Labels) != len(again.Meta.Labels) {
			t.Fatal("round trip changed the model")
		}
	})
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzDecode")

// fuzzSeeds are the seed corpus: valid_* files must decode, the others
// must not.
func fuzzSeeds(t *testing.T) map[string][]byte {
	// One base channel: the smallest full ResNet layout, so the seeds
	// (and the fuzzer's work per input) stay small.
	arch := tinyArch()
	arch.BaseChannels = 1
	f32 := randomModel(t, arch, 7)
	f32.Meta.Labels = []string{"a", "b", "c"}
	q, err := Quantize(f32, Int8)
	if err != nil {
		t.Fatal(err)
	}
	i8 := encode(t, q)
	mutate := func(fn func(meta map[string]string, ts []safetensors.TensorInfo) []safetensors.TensorInfo) []byte {
		return rewrite(t, i8, fn)
	}
	f32.Meta.Labels = nil
	huge := bytes.Clone(i8)
	binary.LittleEndian.PutUint64(huge, math.MaxUint64)
	return map[string][]byte{
		"valid_int8":        i8,
		"valid_f32":         encode(t, f32),
		"bad_truncated":     i8[:len(i8)-100],
		"bad_header_length": huge,
		"bad_header_json":   bytes.Replace(i8, []byte(`"dtype":"I8"`), []byte(`"dtype":'I8'`), 1),
		"bad_scheme_int4":   mutate(setMeta("scheme", "int4")),
		"bad_shape":         mutate(editTensor("fc.weight", func(ti *safetensors.TensorInfo) { ti.Shape = []int{8, 3} })),
		"bad_nan_scale":     mutate(editTensor("fc.weight"+ScaleSuffix, putF32(1, float32(math.NaN())))),
		"bad_missing":       mutate(dropTensor("layer2.0.downsample.0.bias")),
	}
}

const seedHeader = "go test fuzz v1\n[]byte("

func TestFuzzDecodeSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	seeds := fuzzSeeds(t)
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			text := seedHeader + strconv.Quote(string(data)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range seeds {
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("seed %s: %v (run with -update-seeds)", name, err)
			continue
		}
		if len(text) > 100<<10 {
			t.Errorf("seed %s is %d bytes, keep seeds under 100 KiB", name, len(text))
		}
		s, ok := strings.CutPrefix(string(text), seedHeader)
		s, ok2 := strings.CutSuffix(s, ")\n")
		if !ok || !ok2 {
			t.Errorf("seed %s is not a go test fuzz v1 []byte file", name)
			continue
		}
		data, err := strconv.Unquote(s)
		if err != nil {
			t.Errorf("seed %s: %v", name, err)
			continue
		}
		_, err = Decode(name, []byte(data))
		if strings.HasPrefix(name, "valid_") && err != nil {
			t.Errorf("seed %s does not decode: %v", name, err)
		}
		if !strings.HasPrefix(name, "valid_") && err == nil {
			t.Errorf("seed %s decodes but should not", name)
		}
	}
}
