package convert

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/golden"
)

// sharedPTH is the folder of real torch.save files tools/golden/gen.py
// writes, each with a JSON sidecar.
const sharedPTH = "../../testdata/pth"

// sidecar is a testdata/pth/*.json file: what torch says each tensor holds.
type sidecar struct {
	Format       string `json:"format"`
	StateDictKey string `json:"state_dict_key"`
	Arch         *struct {
		Name       string `json:"name"`
		NumClasses int    `json:"num_classes"`
	} `json:"arch"`
	Tensors []struct {
		Name        string    `json:"name"`
		DType       string    `json:"dtype"`
		Shape       []int     `json:"shape"`
		Sum         float64   `json:"sum"`
		AbsSum      float64   `json:"abs_sum"`
		WeightedSum float64   `json:"weighted_sum"`
		Values      []float64 `json:"values"`
		Head        []float64 `json:"head"`
		Digest      string    `json:"digest"`     // golden.Digest of torch's float32 values
		Subnormals  int       `json:"subnormals"` // values subnormal in the tensor's dtype
	} `json:"tensors"`
}

func readSidecar(t *testing.T, pth string) sidecar {
	t.Helper()
	b, err := os.ReadFile(strings.TrimSuffix(pth, ".pth") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var s sidecar
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s sidecar: %v", pth, err)
	}
	return s
}

func sharedPTHFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedPTH, "*.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .pth fixtures in %s (run /usr/bin/python3 tools/golden/gen.py --only pth)", sharedPTH)
	}
	return files
}

// closeTo compares float64 sums of float32 data with the sidecar's: the
// same values summed in another order may differ in the last bits.
func closeTo(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))+1e-12
}

// TestPTHMatchesSidecars reads every zip fixture of testdata/pth at the
// tensor level and checks names (in order), shapes and values — sums,
// position-weighted sums (a reader ignoring strides or offsets fails these)
// and the first values — against what torch wrote in the sidecars.
func TestPTHMatchesSidecars(t *testing.T) {
	for _, file := range sharedPTHFiles(t) {
		side := readSidecar(t, file)
		if side.Format != "zip" {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			_, entries, _, err := loadTorch(file, f, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.key)
			}
			var want []string
			for _, st := range side.Tensors {
				want = append(want, st.Name)
			}
			if !slices.Equal(names, want) {
				t.Fatalf("names %v, want %v", names, want)
			}
			for i, st := range side.Tensors {
				pt := entries[i].value.(*pthTensor)
				if err := pt.check(); err != nil {
					t.Fatalf("%s: %v", st.Name, err)
				}
				isFloat := pt.storage.class.float
				float := strings.HasPrefix(st.DType, "float") || st.DType == "bfloat16"
				if isFloat != float {
					t.Fatalf("%s: isFloat %v for dtype %s", st.Name, isFloat, st.DType)
				}
				if !float {
					continue
				}
				raw, err := pt.storage.read(pt.extent)
				if err != nil {
					t.Fatalf("%s: %v", st.Name, err)
				}
				mt := pt.decode(raw)
				if !slices.Equal(mt.Shape, st.Shape) {
					t.Errorf("%s: shape %v, want %v", st.Name, mt.Shape, st.Shape)
				}
				var sum, abs, weighted float64
				for j, v := range mt.Data {
					sum += float64(v)
					abs += math.Abs(float64(v))
					weighted += float64(v) * float64(j%17+1)
				}
				if !closeTo(sum, st.Sum) || !closeTo(abs, st.AbsSum) || !closeTo(weighted, st.WeightedSum) {
					t.Errorf("%s: sums %v %v %v, want %v %v %v", st.Name, sum, abs, weighted, st.Sum, st.AbsSum, st.WeightedSum)
				}
				first := st.Values
				if first == nil {
					first = st.Head
				} else if len(first) != len(mt.Data) {
					t.Errorf("%s: %d values, want %d", st.Name, len(mt.Data), len(first))
				}
				for j, v := range first {
					if mt.Data[j] != float32(v) {
						t.Errorf("%s[%d] = %v, want %v", st.Name, j, mt.Data[j], float32(v))
						break
					}
				}
			}
		})
	}
}

// TestReadPTHStateDicts reads the state-dict fixtures through ReadPTH: float
// tensors kept, num_batches_tracked skipped, wrappers unwrapped.
func TestReadPTHStateDicts(t *testing.T) {
	for _, name := range []string{"tiny_basic", "tiny_basic_10", "tiny_bottleneck", "checkpoint"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(sharedPTH, name+".pth")
			side := readSidecar(t, file)
			ck, err := ReadPTH(file)
			if err != nil {
				t.Fatal(err)
			}
			if ck.Format != PTH || !slices.Equal(ck.Files, []string{file}) {
				t.Errorf("format %s files %v", ck.Format, ck.Files)
			}
			var floats, counters int
			for _, st := range side.Tensors {
				if strings.HasSuffix(st.Name, "num_batches_tracked") {
					counters++
					continue
				}
				floats++
				got := ck.Tensors[st.Name]
				if got == nil || !slices.Equal(got.Shape, st.Shape) {
					t.Errorf("%s: got %v, want shape %v", st.Name, got, st.Shape)
				}
			}
			if len(ck.Tensors) != floats || len(ck.Skipped) != counters || counters == 0 {
				t.Errorf("%d tensors and %d skipped, want %d and %d", len(ck.Tensors), len(ck.Skipped), floats, counters)
			}
			arch, err := InferArch(ck.Tensors)
			if err != nil {
				t.Fatal(err)
			}
			if arch.NumClasses != side.Arch.NumClasses {
				t.Errorf("inferred %d classes, want %d", arch.NumClasses, side.Arch.NumClasses)
			}
		})
	}
}

// TestReadPTHDataParallel reads a {"model": {"module.…": …}, "arch": …}
// training checkpoint: same tensors as the bare state dict, prefix stripped.
func TestReadPTHDataParallel(t *testing.T) {
	bare, err := ReadPTH(filepath.Join(sharedPTH, "tiny_basic_10.pth"))
	if err != nil {
		t.Fatal(err)
	}
	dp, err := ReadPTH("testdata/dataparallel.pth")
	if err != nil {
		t.Fatal(err)
	}
	if dp.ArchName != "tiny_basic_10" {
		t.Errorf("ArchName %q", dp.ArchName)
	}
	if !slices.Equal(dp.Tensors.Names(), bare.Tensors.Names()) {
		t.Fatalf("names %v, want %v", dp.Tensors.Names(), bare.Tensors.Names())
	}
	for name, want := range bare.Tensors {
		got := dp.Tensors[name]
		if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s differs", name)
		}
	}
}

// TestReadPTHRejects checks that files which are not float state dicts fail
// with an error saying why, and never panic.
func TestReadPTHRejects(t *testing.T) {
	dir := t.TempDir()
	whole, err := os.ReadFile(filepath.Join(sharedPTH, "tiny_basic_10.pth"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.pth")
	if err := os.WriteFile(truncated, whole[:len(whole)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pth")
	if err := os.WriteFile(garbage, []byte("definitely not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, want string }{
		{filepath.Join(sharedPTH, "legacy.pth"), "legacy"},
		{filepath.Join(sharedPTH, "views.pth"), "long_vec"},
		{filepath.Join(sharedPTH, "dtypes.pth"), "i32"},
		{"testdata/tensor.pth", "single tensor"},
		{"testdata/list.pth", "list, not a state dict"},
		{"testdata/nodict.pth", "no state dict"},
		{"testdata/mixed.pth", `"note" is a string`},
		{"testdata/module.pth", "state_dict()"},
		{"testdata/script.pt", "TorchScript"},
		{truncated, "not a torch.save zip"},
		{garbage, "not a torch.save zip"},
	} {
		_, err := ReadPTH(c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadPTH(%s) = %v, want an error containing %q", filepath.Base(c.file), err, c.want)
		}
	}
	// Read dispatches on content: the legacy pickle and garbage get their own errors.
	if _, err := Read(filepath.Join(sharedPTH, "legacy.pth")); err == nil || !strings.Contains(err.Error(), "legacy") {
		t.Errorf("Read(legacy.pth) = %v", err)
	}
	if _, err := Read(garbage); err == nil || !strings.Contains(err.Error(), "not a checkpoint") {
		t.Errorf("Read(garbage) = %v", err)
	}
}

// microArch is tools/golden/gen.py's micro_basic_10, the network of the
// testdata/layouts checkpoints and of testdata/pth/micro_*.pth.
var microArch = model.Arch{Name: "resnet_basic_1-1-1-1_base2", Block: model.Basic, Layers: [4]int{1, 1, 1, 1},
	Groups: 1, WidthPerGroup: 64, NumClasses: 10, Variant: model.V15, BaseChannels: 2}

// TestReadPTHHalfPrecision reads a whole ResNet saved by torch in float16
// and in bfloat16, with subnormals planted in every tensor, and checks
// every value bit for bit against torch's own float32 conversion (the
// sidecar's digests), among them float16 0x0099 (9.1e-6), which gopickle
// v0.3.0 decodes as 7.0e-5.
func TestReadPTHHalfPrecision(t *testing.T) {
	for _, name := range []string{"micro_f16", "micro_bf16"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(sharedPTH, name+".pth")
			ck, err := ReadPTH(file)
			if err != nil {
				t.Fatal(err)
			}
			side := readSidecar(t, file)
			subnormals, checked := 0, 0
			for _, st := range side.Tensors {
				if st.Digest == "" {
					continue
				}
				got := ck.Tensors[st.Name]
				if got == nil {
					t.Fatalf("no %s", st.Name)
				}
				if d := fmt.Sprintf("%016x", golden.Digest(got.Data)); d != st.Digest {
					t.Errorf("%s: digest %s, torch's float32 values give %s", st.Name, d, st.Digest)
				}
				n := 0
				for _, v := range got.Data {
					if a := math.Abs(float64(v)); a != 0 && a < tinyNormal(name) {
						n++
					}
				}
				if n != st.Subnormals {
					t.Errorf("%s: %d subnormal values, torch has %d", st.Name, n, st.Subnormals)
				}
				subnormals += n
				checked++
			}
			if checked != len(ck.Tensors) || subnormals < 1000 {
				t.Errorf("%d of %d tensors checked, %d subnormals (want all, and over 1000)", checked, len(ck.Tensors), subnormals)
			}
			if name == "micro_f16" {
				if v := ck.Tensors["fc.weight"].Data[0]; v != 153.0/(1<<24) {
					t.Errorf("fc.weight[0] (float16 0x0099) = %g, want %g", v, 153.0/(1<<24))
				}
			}
			arch, err := InferArch(ck.Tensors)
			if err != nil || arch != microArch {
				t.Errorf("InferArch: %+v, %v", arch, err)
			}
		})
	}
}

// tinyNormal is the smallest normal value of a fixture's storage type.
func tinyNormal(fixture string) float64 {
	if fixture == "micro_f16" {
		return math.Ldexp(1, -14)
	}
	return math.Ldexp(1, -126)
}

// TestReadPTHCompression reads deflated zips and refuses other zip
// compression methods by name, before inflating anything.
func TestReadPTHCompression(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(12, func(w io.Writer) (io.WriteCloser, error) { return nopCloser{w}, nil })
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: 12})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\x80\x02}q\x00.")) // the bytes are never inflated
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = readPTH("bz.pth", bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err == nil || !strings.Contains(err.Error(), "read bz.pth: zip entry archive/data.pkl is compressed with bzip2 (zip method 12)") {
		t.Errorf("bzip2 entry: %v", err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
