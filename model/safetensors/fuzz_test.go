package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives a Write/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	var valid bytes.Buffer
	if err := Write(&valid, map[string]string{"k": "v"}, []TensorInfo{
		{Name: "w", DType: F32, Shape: []int{2, 1}, Data: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}},
		{Name: "q", DType: I8, Shape: []int{3}, Data: []byte{1, 0x81, 0x7f}},
		{Name: "e", DType: U8, Shape: []int{0}, Data: nil},
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add(valid.Bytes()[:valid.Len()-1])
	f.Add(raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}))
	f.Add(raw(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(raw(`{"__metadata__":null}`, nil))
	f.Add([]byte{})
	f.Add(raw(`{"\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}))
	f.Add(raw(`{"a\u00e9\n":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}`, []byte{0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		// ParseHeader, given the same file's size, agrees.
		h, herr := ParseHeader(data, int64(len(data)))
		if (err == nil) != (herr == nil) || err != nil && err.Error() != herr.Error() {
			t.Fatalf("Parse: %v; ParseHeader: %v", err, herr)
		}
		if err == nil {
			for i, ti := range h.Tensors {
				if ti.Data != nil || !bytes.Equal(data[ti.Offset:ti.Offset+ti.Len], p.Tensors[i].Data) || ti.Name != p.Tensors[i].Name {
					t.Fatalf("ParseHeader's tensor %q at %d+%d is not Parse's", ti.Name, ti.Offset, ti.Len)
				}
			}
		}
		if err != nil {
			// The header scanner may only call JSON malformed when
			// encoding/json agrees.
			if strings.Contains(err.Error(), "malformed JSON") && len(data) >= 8 {
				n := binary.LittleEndian.Uint64(data)
				if json.Valid(data[8 : 8+n]) {
					t.Fatalf("Parse calls valid JSON malformed: %v", err)
				}
			}
			return
		}
		checkAgainstEncodingJSON(t, data, p)
		var b bytes.Buffer
		if err := Write(&b, p.Metadata, p.Tensors); err != nil {
			t.Fatalf("Write of a parsed file: %v", err)
		}
		q, err := Parse(b.Bytes())
		if err != nil {
			t.Fatalf("Parse of a written file: %v", err)
		}
		if len(p.Metadata) == 0 && len(q.Metadata) == 0 {
			q.Metadata = p.Metadata
		}
		if !reflect.DeepEqual(p.Metadata, q.Metadata) || len(p.Tensors) != len(q.Tensors) {
			t.Fatalf("round trip changed the file: %+v → %+v", p, q)
		}
		for _, want := range p.Tensors {
			got := q.Tensor(want.Name)
			if got == nil || got.DType != want.DType || len(got.Shape) != len(want.Shape) || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("round trip changed tensor %q: %+v → %+v", want.Name, want, got)
			}
			for i := range want.Shape {
				if got.Shape[i] != want.Shape[i] {
					t.Fatalf("round trip changed tensor %q's shape: %v → %v", want.Name, want.Shape, got.Shape)
				}
			}
		}
	})
}

// checkAgainstEncodingJSON decodes an accepted file's header with
// encoding/json and requires the same metadata and tensor entries.
func checkAgainstEncodingJSON(t *testing.T, data []byte, p *File) {
	n := binary.LittleEndian.Uint64(data)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &hdr); err != nil {
		t.Fatalf("Parse accepted a header encoding/json rejects: %v", err)
	}
	meta := map[string]string{}
	if raw, ok := hdr[MetadataKey]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("metadata: %v", err)
		}
		if meta == nil {
			meta = map[string]string{}
		}
		delete(hdr, MetadataKey)
	}
	if !reflect.DeepEqual(meta, p.Metadata) {
		t.Fatalf("metadata %q, encoding/json says %q", p.Metadata, meta)
	}
	if len(hdr) != len(p.Tensors) {
		t.Fatalf("%d tensors, encoding/json sees %d keys", len(p.Tensors), len(hdr))
	}
	for _, ti := range p.Tensors {
		var e struct {
			DType       string `json:"dtype"`
			Shape       []int  `json:"shape"`
			DataOffsets []int  `json:"data_offsets"`
		}
		raw, ok := hdr[ti.Name]
		if !ok {
			t.Fatalf("tensor %q unknown to encoding/json", ti.Name)
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("tensor %q: %v", ti.Name, err)
		}
		if e.DType != ti.DType || !reflect.DeepEqual(e.Shape, ti.Shape) || e.DataOffsets[1]-e.DataOffsets[0] != len(ti.Data) {
			t.Fatalf("tensor %q: %+v, encoding/json says %+v", ti.Name, ti, e)
		}
	}
}
