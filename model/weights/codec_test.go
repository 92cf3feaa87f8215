package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/safetensors"
)

func sameModel(t *testing.T, got, want *Model) {
	t.Helper()
	if !reflect.DeepEqual(got.Meta, want.Meta) {
		t.Errorf("meta %+v, want %+v", got.Meta, want.Meta)
	}
	if !reflect.DeepEqual(got.Net, want.Net) {
		t.Errorf("net differs")
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Errorf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for name, w := range want.Tensors {
		g := got.Tensors[name]
		if g == nil || !reflect.DeepEqual(*g, *w) {
			t.Errorf("tensor %s differs: %+v, want %+v", name, g, w)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range []*Model{tinyF32(t), tinyInt8(t)} {
		t.Run(string(m.Meta.Scheme), func(t *testing.T) {
			data := encode(t, m)
			if again := encode(t, m); !bytes.Equal(data, again) {
				t.Error("Encode is not deterministic")
			}
			got, err := Decode("tiny.safetensors", data)
			if err != nil {
				t.Fatal(err)
			}
			sameModel(t, got, m)

			path := filepath.Join(t.TempDir(), "tiny.safetensors")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(onDisk, data) {
				t.Error("Save wrote different bytes from Encode")
			}
			loaded, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sameModel(t, loaded, m)
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
				t.Errorf("saved file mode %v, %v; want 0644", st.Mode(), err)
			}
		})
	}
}

func TestInt8FileLayout(t *testing.T) {
	m := tinyInt8(t)
	f, err := safetensors.Parse(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, s := range m.Net.FoldedTensors() {
		if strings.HasSuffix(s.Name, ".weight") {
			want[s.Name] = safetensors.I8
			want[s.Name+ScaleSuffix] = safetensors.F32
		} else {
			want[s.Name] = safetensors.F32
		}
	}
	if len(f.Tensors) != len(want) {
		t.Errorf("%d tensors in file, want %d", len(f.Tensors), len(want))
	}
	for _, ti := range f.Tensors {
		if want[ti.Name] != ti.DType {
			t.Errorf("tensor %s: dtype %s, want %q", ti.Name, ti.DType, want[ti.Name])
		}
	}
	for _, k := range []string{"format_version", "arch", "preprocess", "scheme", "labels", "source", "source_sha256"} {
		if _, ok := f.Metadata[k]; !ok {
			t.Errorf("metadata lacks %s", k)
		}
	}
	if f.Metadata["scheme"] != "int8" || f.Metadata["format_version"] != "1" || f.Metadata["labels"] != `["cat","dog","teapot"]` {
		t.Errorf("metadata %v", f.Metadata)
	}
}

// rewrite parses a valid file, lets fn corrupt its metadata and tensors,
// and writes it back.
func rewrite(t *testing.T, data []byte, fn func(meta map[string]string, ts []safetensors.TensorInfo) []safetensors.TensorInfo) []byte {
	t.Helper()
	f, err := safetensors.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	ts := fn(f.Metadata, f.Tensors)
	var b bytes.Buffer
	if err := safetensors.Write(&b, f.Metadata, ts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func setMeta(key, value string) func(map[string]string, []safetensors.TensorInfo) []safetensors.TensorInfo {
	return func(m map[string]string, ts []safetensors.TensorInfo) []safetensors.TensorInfo {
		if value == "<delete>" {
			delete(m, key)
		} else {
			m[key] = value
		}
		return ts
	}
}

func editTensor(name string, fn func(*safetensors.TensorInfo)) func(map[string]string, []safetensors.TensorInfo) []safetensors.TensorInfo {
	return func(_ map[string]string, ts []safetensors.TensorInfo) []safetensors.TensorInfo {
		for i := range ts {
			if ts[i].Name == name {
				ts[i].Data = bytes.Clone(ts[i].Data)
				fn(&ts[i])
				return ts
			}
		}
		panic("no tensor " + name)
	}
}

func dropTensor(name string) func(map[string]string, []safetensors.TensorInfo) []safetensors.TensorInfo {
	return func(_ map[string]string, ts []safetensors.TensorInfo) []safetensors.TensorInfo {
		for i := range ts {
			if ts[i].Name == name {
				return append(ts[:i:i], ts[i+1:]...)
			}
		}
		panic("no tensor " + name)
	}
}

func addTensor(ti safetensors.TensorInfo) func(map[string]string, []safetensors.TensorInfo) []safetensors.TensorInfo {
	return func(_ map[string]string, ts []safetensors.TensorInfo) []safetensors.TensorInfo { return append(ts, ti) }
}

func putF32(i int, v float32) func(*safetensors.TensorInfo) {
	return func(ti *safetensors.TensorInfo) { binary.LittleEndian.PutUint32(ti.Data[4*i:], math.Float32bits(v)) }
}

func preprocess(edit func(*Preprocess)) string {
	p := TorchvisionPreprocess
	edit(&p)
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestDecodeRejects(t *testing.T) {
	f32 := encode(t, tinyF32(t))
	i8 := encode(t, tinyInt8(t))
	// The tiny network's first block: 2→2 channels, 3×3.
	const w, b = "layer1.0.conv1.weight", "layer1.0.conv1.bias"
	for _, tc := range []struct {
		name string
		file []byte
		want []string // substrings of the error after "load tiny.safetensors: "
	}{
		{"truncated", i8[:len(i8)-1], []string{"safetensors", "beyond the", "data section"}},
		{"trailing byte", append(bytes.Clone(i8), 0), []string{"safetensors", "1 trailing bytes"}},
		{"truncated header", i8[:20], []string{"safetensors", "beyond the end"}},
		{"empty", nil, []string{"too short"}},
		{"bad header length", append(binary.LittleEndian.AppendUint64(nil, 1), i8[8:]...), []string{"header length 1"}},
		{"header not JSON", append(binary.LittleEndian.AppendUint64(nil, 4), "{xx}"...), []string{"malformed JSON"}},
		{"duplicate tensor", bytes.Replace(i8, []byte(`"layer1.0.conv1.bias"`), []byte(`"layer1.0.conv2.bias"`), 1), []string{`duplicate key "layer1.0.conv2.bias"`}},
		{"no metadata", rewrite(t, i8, func(m map[string]string, ts []safetensors.TensorInfo) []safetensors.TensorInfo {
			clear(m)
			return ts
		}), []string{"missing format_version"}},
		{"format version 2", rewrite(t, i8, setMeta("format_version", "2")), []string{"format_version 2 is not supported"}},
		{"format version text", rewrite(t, i8, setMeta("format_version", "one")), []string{"format_version", `"one" is not an integer`}},
		{"arch missing", rewrite(t, i8, setMeta("arch", "<delete>")), []string{"missing arch"}},
		{"arch malformed", rewrite(t, i8, setMeta("arch", `{"name":`)), []string{"metadata arch"}},
		{"arch null", rewrite(t, i8, setMeta("arch", `null`)), []string{"metadata arch", "not a JSON object"}},
		{"arch invalid", rewrite(t, i8, setMeta("arch", `{"name":"tiny","block":"weird","layers":[1,1,1,1],"groups":1,"width_per_group":64,"num_classes":3,"variant":"v1.5","base_channels":2}`)), []string{"arch tiny", `unknown block type "weird"`}},
		{"arch variant", rewrite(t, i8, setMeta("arch", `{"name":"tiny","block":"basic","layers":[1,1,1,1],"groups":1,"width_per_group":64,"num_classes":3,"base_channels":2}`)), []string{"unknown variant"}},
		{"scheme missing", rewrite(t, i8, setMeta("scheme", "<delete>")), []string{"missing scheme"}},
		{"scheme int4", rewrite(t, i8, setMeta("scheme", "int4")), []string{"scheme int4 is not supported yet"}},
		{"scheme unknown", rewrite(t, i8, setMeta("scheme", "fp8")), []string{`unknown scheme "fp8"`}},
		{"labels count", rewrite(t, i8, setMeta("labels", `["a","b"]`)), []string{"labels: 2 labels for 3 classes"}},
		{"labels not array", rewrite(t, i8, setMeta("labels", `"a"`)), []string{"labels", "not a JSON array"}},
		{"labels not strings", rewrite(t, i8, setMeta("labels", `[1,2,3]`)), []string{"metadata labels"}},
		{"preprocess missing", rewrite(t, i8, setMeta("preprocess", "<delete>")), []string{"missing preprocess"}},
		{"preprocess crop 0", rewrite(t, i8, setMeta("preprocess", preprocess(func(p *Preprocess) { p.Crop = 0 }))), []string{"preprocess: crop 0"}},
		{"preprocess resize < crop", rewrite(t, i8, setMeta("preprocess", preprocess(func(p *Preprocess) { p.Resize = 200 }))), []string{"preprocess: resize 200"}},
		{"preprocess channel order", rewrite(t, i8, setMeta("preprocess", preprocess(func(p *Preprocess) { p.ChannelOrder = "RBG" }))), []string{`channel_order "RBG"`}},
		{"preprocess std 0", rewrite(t, i8, setMeta("preprocess", preprocess(func(p *Preprocess) { p.Std[2] = 0 }))), []string{"std[2] = 0"}},
		{"preprocess input scale", rewrite(t, i8, setMeta("preprocess", preprocess(func(p *Preprocess) { p.InputScale = -1 }))), []string{"input_scale -1"}},
		{"preprocess overflow", rewrite(t, i8, setMeta("preprocess", `{"resize":256,"crop":224,"channel_order":"RGB","input_scale":1,"mean":[1e39,0,0],"std":[1,1,1]}`)), []string{"metadata preprocess"}},
		{"missing weight", rewrite(t, i8, dropTensor(w)), []string{"tensor " + w + ": missing"}},
		{"missing scale", rewrite(t, i8, dropTensor(w+ScaleSuffix)), []string{"tensor " + w + "_scale: missing"}},
		{"missing bias", rewrite(t, f32, dropTensor("fc.bias")), []string{"tensor fc.bias: missing"}},
		{"extra tensor", rewrite(t, i8, addTensor(safetensors.TensorInfo{Name: "layer9.weight", DType: "F32", Shape: []int{1}, Data: make([]byte, 4)})), []string{`tensor "layer9.weight": not a tensor of tiny with scheme int8`}},
		{"scale in f32 file", rewrite(t, f32, addTensor(safetensors.TensorInfo{Name: w + ScaleSuffix, DType: "F32", Shape: []int{2}, Data: make([]byte, 8)})), []string{`tensor "` + w + `_scale": not a tensor of tiny with scheme f32`}},
		{"wrong shape", rewrite(t, i8, editTensor(w, func(ti *safetensors.TensorInfo) { ti.Shape = []int{2, 2, 9, 1} })), []string{"tensor " + w + ": shape [2 2 9 1], want [2 2 3 3]"}},
		{"wrong scale shape", rewrite(t, i8, editTensor(w+ScaleSuffix, func(ti *safetensors.TensorInfo) { ti.Shape = []int{1, 2} })), []string{"tensor " + w + "_scale: shape [1 2], want [2]"}},
		{"f32 weight in int8 file", rewrite(t, i8, editTensor(w, func(ti *safetensors.TensorInfo) {
			ti.DType = safetensors.F32
			ti.Data = make([]byte, 4*len(ti.Data))
		})), []string{"tensor " + w + ": dtype F32, want I8 for scheme int8"}},
		{"i8 weight in f32 file", rewrite(t, f32, editTensor(w, func(ti *safetensors.TensorInfo) {
			ti.DType = safetensors.I8
			ti.Data = ti.Data[:len(ti.Data)/4]
		})), []string{"tensor " + w + ": dtype I8, want F32 for scheme f32"}},
		{"f64 bias", rewrite(t, i8, editTensor(b, func(ti *safetensors.TensorInfo) {
			ti.DType = safetensors.F64
			ti.Data = make([]byte, 2*len(ti.Data))
		})), []string{"tensor " + b + ": dtype F64, want F32"}},
		{"NaN bias", rewrite(t, i8, editTensor(b, putF32(1, float32(math.NaN())))), []string{"tensor " + b + ": value 1 is NaN"}},
		{"Inf f32 weight", rewrite(t, f32, editTensor(w, putF32(5, float32(math.Inf(-1))))), []string{"tensor " + w + ": value 5 is -Inf"}},
		{"NaN fc weight", rewrite(t, f32, editTensor("fc.weight", putF32(0, float32(math.NaN())))), []string{"tensor fc.weight: value 0 is NaN"}},
		{"zero scale", rewrite(t, i8, editTensor(w+ScaleSuffix, putF32(0, 0))), []string{"tensor " + w + "_scale: scale 0 is 0"}},
		{"negative scale", rewrite(t, i8, editTensor(w+ScaleSuffix, putF32(1, -0.5))), []string{"tensor " + w + "_scale: scale 1 is -0.5"}},
		{"NaN scale", rewrite(t, i8, editTensor("fc.weight"+ScaleSuffix, putF32(2, float32(math.NaN())))), []string{"tensor fc.weight_scale: scale 2 is NaN"}},
		{"Inf scale", rewrite(t, i8, editTensor("conv1.weight"+ScaleSuffix, putF32(0, float32(math.Inf(1))))), []string{"tensor conv1.weight_scale: scale 0 is +Inf"}},
	} {
		_, err := Decode("tiny.safetensors", tc.file)
		if err == nil {
			t.Errorf("%s: Decode accepted it", tc.name)
			continue
		}
		// DecodeAt reads the same file through a ReaderAt: the same
		// checks, the same words.
		if _, errAt := DecodeAt("tiny.safetensors", bytes.NewReader(tc.file), int64(len(tc.file)), nil); errAt == nil || errAt.Error() != err.Error() {
			t.Errorf("%s: DecodeAt says %v, Decode %v", tc.name, errAt, err)
		}
		if !strings.HasPrefix(err.Error(), "load tiny.safetensors: ") {
			t.Errorf("%s: error %q does not name the file", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}

func TestDecodeAccepts(t *testing.T) {
	i8 := encode(t, tinyInt8(t))
	for _, tc := range []struct {
		name string
		file []byte
		test func(*Model) bool
	}{
		{"no labels", rewrite(t, i8, setMeta("labels", "[]")), func(m *Model) bool { return len(m.Meta.Labels) == 0 }},
		{"labels key absent", rewrite(t, i8, setMeta("labels", "<delete>")), func(m *Model) bool { return len(m.Meta.Labels) == 0 }},
		{"unknown metadata key", rewrite(t, i8, setMeta("comment", "hi")), func(m *Model) bool { return m.Meta.Source == "test" }},
		{"caffe preprocessing", rewrite(t, i8, setMeta("preprocess", preprocess(func(p *Preprocess) { *p = CaffePreprocess }))), func(m *Model) bool { return m.Meta.Preprocess == CaffePreprocess }},
		{"i8 value -128", rewrite(t, i8, editTensor("fc.weight", func(ti *safetensors.TensorInfo) { ti.Data[0] = 0x80 })), func(m *Model) bool { return m.Tensors["fc.weight"].I8[0] == -128 }},
	} {
		m, err := Decode("tiny.safetensors", tc.file)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if !tc.test(m) {
			t.Errorf("%s: decoded model fails its check", tc.name)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.safetensors")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "load "+path) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestSaveFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	m := tinyF32(t)
	m.Tensors["fc.bias"].F32[0] = float32(math.NaN()) // Encode refuses invalid models
	err := m.Save(path)
	if err == nil || !strings.Contains(err.Error(), "save "+path) || !strings.Contains(err.Error(), "fc.bias") {
		t.Errorf("Save of an invalid model: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Save left %d files behind: %v", len(ents), ents[0].Name())
	}

	// An existing file survives a failed Save untouched.
	good := tinyF32(t)
	if err := good.Save(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := m.Save(path); err == nil {
		t.Fatal("Save of an invalid model succeeded")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed Save changed the existing file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries after a failed Save, want 1", len(ents))
	}

	if err := good.Save(filepath.Join(dir, "no", "such", "dir.safetensors")); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

// TestDecodeHeader reads the metadata from the first bytes of a file, as a
// streaming download does, and refuses a prefix that stops inside the
// header with safetensors.ErrShortPrefix.
func TestDecodeHeader(t *testing.T) {
	m := tinyInt8(t)
	data := encode(t, m)
	if _, err := safetensors.HeaderEnd(data[:7]); !errors.Is(err, safetensors.ErrShortPrefix) {
		t.Fatalf("HeaderEnd of 7 bytes: %v, want ErrShortPrefix", err)
	}
	end, err := safetensors.HeaderEnd(data[:8])
	if err != nil || end <= 8 || end >= len(data) {
		t.Fatalf("HeaderEnd = %d, %v for a %d-byte file", end, err, len(data))
	}
	if _, err := DecodeHeader("tiny", data[:end-1]); !errors.Is(err, safetensors.ErrShortPrefix) {
		t.Fatalf("DecodeHeader of a prefix ending in the header: %v, want ErrShortPrefix", err)
	}
	for _, n := range []int{end, end + 100, len(data)} {
		got, err := DecodeHeader("tiny", data[:n])
		if err != nil {
			t.Fatalf("DecodeHeader(%d bytes): %v", n, err)
		}
		if got.Tensors != nil || got.Meta.Arch.Name != m.Meta.Arch.Name || got.Meta.Scheme != m.Meta.Scheme ||
			len(got.Net.Layers) != len(m.Net.Layers) || got.Net.FC != m.Net.FC || len(got.Meta.Labels) != len(m.Meta.Labels) {
			t.Fatalf("DecodeHeader(%d bytes) = %+v, want the metadata of %+v and no tensors", n, got.Meta, m.Meta)
		}
	}
	bad := rewrite(t, data, setMeta("format_version", "2"))
	end, _ = safetensors.HeaderEnd(bad)
	if _, err := DecodeHeader("tiny", bad[:end]); err == nil || !strings.Contains(err.Error(), "format_version 2 is not supported") {
		t.Fatalf("DecodeHeader of a version-2 header: %v", err)
	}
	if _, err := DecodeHeader("tiny", append(binary.LittleEndian.AppendUint64(nil, 1<<40), '{')); err == nil || errors.Is(err, safetensors.ErrShortPrefix) {
		t.Fatalf("DecodeHeader of a huge header length: %v, want a plain error", err)
	}
}

// DecodeEach reports the parsed header (0), then every layer once, in
// order, ending at the total, and decodes the same model as Decode.
func TestDecodeEachReportsLayers(t *testing.T) {
	m := tinyInt8(t)
	data := encode(t, m)
	var seen []int
	total := -1
	got, err := DecodeEach("tiny.safetensors", data, func(done, n int) {
		if total >= 0 && n != total {
			t.Fatalf("total changed from %d to %d", total, n)
		}
		total = n
		seen = append(seen, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, got, m)
	if want := len(layers(m.Net)); total != want || len(seen) != want+1 {
		t.Fatalf("reported %v of %d, want 0…%d", seen, total, want)
	}
	for i, d := range seen {
		if d != i {
			t.Fatalf("reported %v, want 0…%d in order", seen, total)
		}
	}
	// A file that fails part way reports only the layers before the failure.
	seen = nil
	bad := rewrite(t, data, dropTensor("fc.bias"))
	if _, err := DecodeEach("bad.safetensors", bad, func(done, _ int) { seen = append(seen, done) }); err == nil {
		t.Fatal("a file without fc.bias decoded")
	}
	if len(seen) != len(layers(m.Net)) || seen[len(seen)-1] != len(layers(m.Net))-1 {
		t.Errorf("a failed decode reported %v", seen)
	}
}

// TestDecodeAtLeavesInt8InTheFile: DecodeAt reads scales, biases and
// float32 weights but leaves int8 weights in the file, reading each when
// asked, and gives the model Decode gives once they are read.
func TestDecodeAtLeavesInt8InTheFile(t *testing.T) {
	for _, m := range []*Model{tinyInt8(t), tinyF32(t)} {
		file := encode(t, m)
		want, err := Decode("tiny.safetensors", file)
		if err != nil {
			t.Fatal(err)
		}
		r := &countingReader{r: bytes.NewReader(file)}
		lazy, err := DecodeAt("tiny.safetensors", r, int64(len(file)), nil)
		if err != nil {
			t.Fatal(err)
		}
		decodeRead := r.n
		var int8Bytes int
		for name, w := range want.Tensors {
			l := lazy.Tensors[name]
			if w.I8 != nil {
				int8Bytes += len(w.I8)
				if l.I8 != nil || !l.Quantized() {
					t.Errorf("%s %s: DecodeAt held the int8 weight (or lost it)", m.Meta.Scheme, name)
				}
				q, err := l.Int8()
				if err != nil || !reflect.DeepEqual(q, w.I8) {
					t.Errorf("%s %s: Int8 gave %v, %v; want %v", m.Meta.Scheme, name, q, err, w.I8)
				}
				// Into a buffer: one too small is grown, one large
				// enough (holding another layer's bytes) is reused.
				for _, buf := range [][]int8{nil, make([]int8, 1), make([]int8, len(w.I8)+7)} {
					for i := range buf {
						buf[i] = 99
					}
					q, err := l.Int8Into(buf)
					if err != nil || !reflect.DeepEqual(q, w.I8) {
						t.Errorf("%s %s: Int8Into(%d-byte buffer) gave %v, %v; want %v", m.Meta.Scheme, name, len(buf), q, err, w.I8)
					}
					if cap(buf) >= len(w.I8) && &q[0] != &buf[0] {
						t.Errorf("%s %s: Int8Into did not reuse a %d-byte buffer", m.Meta.Scheme, name, len(buf))
					}
				}
				// A few rows at a time: any range, from the file or
				// held; none past the end.
				for _, t8 := range []*Tensor{l, w} {
					from, n := len(w.I8)/3, len(w.I8)/2
					if q, err := t8.Int8Range(make([]int8, 1), from, n); err != nil || !reflect.DeepEqual(q, w.I8[from:from+n]) {
						t.Errorf("%s %s: Int8Range(%d, %d) gave %v, %v; want %v", m.Meta.Scheme, name, from, n, q, err, w.I8[from:from+n])
					}
					if _, err := t8.Int8Range(nil, from, len(w.I8)); err == nil || !strings.Contains(err.Error(), name) {
						t.Errorf("%s %s: Int8Range past the end: %v", m.Meta.Scheme, name, err)
					}
				}
				// A held weight is its own values, not a copy.
				if q, _ := w.Int8Into(make([]int8, len(w.I8))); &q[0] != &w.I8[0] {
					t.Errorf("%s %s: Int8Into copied a held weight", m.Meta.Scheme, name)
				}
			}
			if !reflect.DeepEqual(l.Float(), w.Float()) {
				t.Errorf("%s %s: Float differs from Decode's", m.Meta.Scheme, name)
			}
		}
		// The 8-byte header length is read twice.
		if m.Meta.Scheme == Int8 && decodeRead > int64(len(file)-int8Bytes+8) {
			t.Errorf("DecodeAt read %d bytes of a %d-byte file whose int8 weights are %d bytes", decodeRead, len(file), int8Bytes)
		}
		held, err := lazy.Held()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(held.Tensors, want.Tensors) || !reflect.DeepEqual(held.Meta, want.Meta) {
			t.Errorf("%s: Held differs from Decode's model", m.Meta.Scheme)
		}
		if m.Meta.Scheme == Int8 && held == lazy {
			t.Error("Held returned the lazy model itself")
		}
		if again, _ := held.Held(); again != held {
			t.Error("Held of a held model made a copy")
		}
	}
	// A file that can no longer be read says which tensor and why.
	file := encode(t, tinyInt8(t))
	r := &failingReader{r: bytes.NewReader(file)}
	lazy, err := DecodeAt("tiny.safetensors", r, int64(len(file)), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.fail = errors.New("the cached copy is gone")
	w, _ := lazy.Weight("layer1.0.conv1")
	if _, err := w.Int8(); err == nil || !strings.Contains(err.Error(), "tensor layer1.0.conv1.weight: read") || !strings.Contains(err.Error(), "the cached copy is gone") {
		t.Errorf("Int8 on an unreadable file: %v", err)
	}
	if _, err := lazy.Held(); err == nil {
		t.Error("Held on an unreadable file gave no error")
	}
}

type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

type failingReader struct {
	r    io.ReaderAt
	fail error
}

func (f *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if f.fail != nil {
		return 0, f.fail
	}
	return f.r.ReadAt(p, off)
}
