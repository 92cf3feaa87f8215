package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// raw assembles a file from a header text (used as is, no padding) and a
// data section.
func raw(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestWriteMatchesReference(t *testing.T) {
	// The reference implementation's own serialization test: one I32 [2,2]
	// tensor of zeros, header padded with spaces to 64 bytes.
	want := "@\x00\x00\x00\x00\x00\x00\x00" +
		`{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ` +
		strings.Repeat("\x00", 16)
	var b bytes.Buffer
	if err := Write(&b, nil, []TensorInfo{{Name: "test", DType: I32, Shape: []int{2, 2}, Data: make([]byte, 16)}}); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Fatalf("Write = %q\nwant    %q", b.String(), want)
	}

	// With metadata, which comes first.
	b.Reset()
	if err := Write(&b, map[string]string{"framework": "pt"}, []TensorInfo{{Name: "test1", DType: I32, Shape: []int{2, 2}, Data: make([]byte, 16)}}); err != nil {
		t.Fatal(err)
	}
	wantHeader := `{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}`
	n := binary.LittleEndian.Uint64(b.Bytes())
	if n%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", n)
	}
	if got := string(b.Bytes()[8 : 8+n]); strings.TrimRight(got, " ") != wantHeader || len(got)-len(wantHeader) >= 8 {
		t.Errorf("header %q, want %q plus <8 spaces", got, wantHeader)
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := []TensorInfo{
		{Name: "b.i8", DType: I8, Shape: []int{3}, Data: []byte{1, 2, 0xff}},
		{Name: "a.f32", DType: F32, Shape: []int{1, 2}, Data: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}},
		{Name: "c.f64", DType: F64, Shape: []int{1}, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{Name: "d.empty", DType: F32, Shape: []int{0, 5}, Data: []byte{}},
		{Name: "e.scalar", DType: U16, Shape: []int{}, Data: []byte{7, 9}},
		{Name: "f<&>\"quoted\"", DType: BOOL, Shape: []int{1}, Data: []byte{1}},
	}
	meta := map[string]string{"z": "last", "a": `{"json":"inside"}`, "ü": "ünïcode"}
	var b bytes.Buffer
	if err := Write(&b, meta, tensors); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("metadata %v, want %v", f.Metadata, meta)
	}
	// Data order: widest dtype first, then by name.
	var names []string
	for _, ti := range f.Tensors {
		names = append(names, ti.Name)
	}
	wantOrder := []string{"c.f64", "a.f32", "d.empty", "e.scalar", "b.i8", "f<&>\"quoted\""}
	if !reflect.DeepEqual(names, wantOrder) {
		t.Errorf("order %q, want %q", names, wantOrder)
	}
	for _, want := range tensors {
		got := f.Tensor(want.Name)
		if got == nil {
			t.Errorf("tensor %q missing", want.Name)
			continue
		}
		if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %q = %+v, want %+v", want.Name, *got, want)
		}
	}
	// Every tensor starts at a multiple of its element size in the file.
	hdr := 8 + int(binary.LittleEndian.Uint64(b.Bytes()))
	for _, ti := range f.Tensors {
		if len(ti.Data) == 0 {
			continue
		}
		off := bytes.Index(b.Bytes()[hdr:], ti.Data) // data are distinct enough here
		size, _ := DTypeSize(ti.DType)
		if (hdr+off)%size != 0 {
			t.Errorf("tensor %q at file offset %d, not aligned to %d", ti.Name, hdr+off, size)
		}
	}
	if f.Tensor("nope") != nil {
		t.Error("Tensor(nope) not nil")
	}
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		n    int
	}{
		{"empty object", raw("{}", nil), 0},
		{"padded", raw("{}      ", nil), 0},
		{"null metadata", raw(`{"__metadata__":null}`, nil), 0},
		{"zero-size tensors share an offset", raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"c":{"dtype":"I8","shape":[3,0],"data_offsets":[2,2]}}`, []byte{1, 2}), 3},
		{"unsorted offsets", raw(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1, 2}), 2},
		{"whitespace everywhere", raw("{\t\"a\" : { \"dtype\" : \"U8\" ,\r\n\"shape\":[ 1 ] , \"data_offsets\" : [ 0 , 1 ] } }  \n", []byte{7}), 1},
		{"minus zero", raw(`{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,-0]}}`, nil), 1},
	} {
		f, err := Parse(tc.file)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(f.Tensors) != tc.n {
			t.Errorf("%s: %d tensors, want %d", tc.name, len(f.Tensors), tc.n)
		}
	}
}

func TestParseEscapes(t *testing.T) {
	f, err := Parse(raw(`{"__metadata__":{"k\"\\\/":"\b\f\n\r\t\u00e9\ud83d\ude00"},"\u0041\u00DF":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Metadata["k\"\\/"], "\b\f\n\r\té😀"; got != want {
		t.Errorf("metadata %q, want %q", got, want)
	}
	if f.Tensors[0].Name != "Aß" {
		t.Errorf("name %q, want %q", f.Tensors[0].Name, "Aß")
	}
}

func TestParseRejects(t *testing.T) {
	u8 := func(name string, b, e int) string {
		return `"` + name + `":{"dtype":"U8","shape":[` + strconv.Itoa(e-b) + `],"data_offsets":[` + strconv.Itoa(b) + `,` + strconv.Itoa(e) + `]}`
	}
	four := []byte{1, 2, 3, 4}
	hugeLen := binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1)
	for _, tc := range []struct {
		name string
		file []byte
		want []string // substrings of the error
	}{
		{"short file", []byte{1, 0, 0}, []string{"too short"}},
		{"header length 0", raw("", nil), []string{"header length 0", "too small"}},
		{"header length 1", raw("{", nil), []string{"header length 1", "too small"}},
		{"header too large", append(hugeLen, "{}"...), []string{"exceeds"}},
		{"header beyond file", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), []string{"header length 100", "beyond"}},
		{"huge header length", append(binary.LittleEndian.AppendUint64(nil, 1<<63), "{}"...), []string{"exceeds"}},
		{"invalid utf-8", raw("{\"\xff\":1}", nil), []string{"UTF-8"}},
		{"not an object", raw("[1,2]", nil), []string{"start with '{'"}},
		{"malformed JSON", raw(`{"a" 1}`, nil), []string{"malformed JSON"}},
		{"missing value", raw(`{"a":}`, nil), []string{`tensor "a"`, "not an object"}},
		{"trailing comma", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},}`, []byte{0}), []string{"malformed JSON", "not a string"}},
		{"leading zero", raw(`{"a":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}`, []byte{0}), []string{"malformed JSON", "invalid number"}},
		{"exponent dim", raw(`{"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}}`, []byte{0}), []string{`shape[0] = 1e0 is not an integer`}},
		{"lone surrogate", raw(`{"\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), []string{"lone surrogate"}},
		{"bad escape", raw(`{"\x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), []string{"invalid escape"}},
		{"control character", raw("{\"a\tb\":{}}", nil), []string{"control character"}},
		{"unterminated", raw(`{"a":{"dtype":"U8"`, nil), []string{"malformed JSON"}},
		{"trailing garbage", raw(`{}x`, nil), []string{"after the object"}},
		{"second value", raw(`{}{}`, nil), []string{"after the object"}},
		{"entry not object", raw(`{"w":5}`, nil), []string{`tensor "w"`, "not an object"}},
		{"metadata not object", raw(`{"__metadata__":"x"}`, nil), []string{"__metadata__", "not an object"}},
		{"metadata value not string", raw(`{"__metadata__":{"k":1}}`, nil), []string{`__metadata__["k"]`, "not a string"}},
		{"metadata duplicate key", raw(`{"__metadata__":{"k":"a","k":"b"}}`, nil), []string{`duplicate key "k"`}},
		{"unknown dtype", raw(`{"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, `unknown dtype "F8"`}},
		{"dtype not string", raw(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, "dtype is not a string"}},
		{"negative dim", raw(`{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, nil), []string{`tensor "w"`, "shape[0] = -1 is negative"}},
		{"float dim", raw(`{"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]}}`, nil), []string{`tensor "w"`, "not an integer"}},
		{"quoted dim", raw(`{"w":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, "not an integer"}},
		{"dim beyond int64", raw(`{"w":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,0]}}`, nil), []string{`tensor "w"`, "too large"}},
		{"shape product overflows", raw(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}`, nil), []string{`tensor "w"`, "too large"}},
		{"shape times size overflows", raw(`{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil), []string{`tensor "w"`, "too large"}},
		{"shape not array", raw(`{"w":{"dtype":"U8","shape":1,"data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, "shape is not an array"}},
		{"missing dtype", raw(`{"w":{"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, "missing dtype"}},
		{"missing shape", raw(`{"w":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, "missing shape"}},
		{"missing offsets", raw(`{"w":{"dtype":"U8","shape":[1]}}`, []byte{0}), []string{`tensor "w"`, "missing data_offsets"}},
		{"unknown field", raw(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":0}}`, []byte{0}), []string{`tensor "w"`, `unknown field "x"`}},
		{"duplicate field", raw(`{"w":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), []string{`tensor "w"`, `duplicate key "dtype"`}},
		{"three offsets", raw(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []byte{0}), []string{`tensor "w"`, "3 values, want 2"}},
		{"negative offset", raw(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []byte{0}), []string{`tensor "w"`, "negative"}},
		{"byte length mismatch", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, four), []string{`tensor "w"`, "span 4 bytes", "needs 8"}},
		{"offsets beyond data", raw(`{"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, four), []string{`tensor "w"`, "beyond the 4-byte data section"}},
		{"offsets reversed", raw(`{"w":{"dtype":"U8","shape":[0],"data_offsets":[3,1]}}`, four), []string{`tensor "w"`, "end before they begin"}},
		{"overlap", raw("{"+u8("a", 0, 3)+","+u8("b", 2, 4)+"}", four), []string{`tensor "b"`, `overlap tensor "a"`}},
		{"same range twice", raw("{"+u8("a", 0, 4)+","+u8("b", 0, 4)+"}", four), []string{`tensor "b"`, "overlap"}},
		{"hole", raw("{"+u8("a", 0, 1)+","+u8("b", 2, 4)+"}", four), []string{`tensor "b"`, "hole", "[1,2)"}},
		{"hole at start", raw("{"+u8("a", 1, 4)+"}", four), []string{`tensor "a"`, "hole"}},
		{"trailing bytes", raw("{"+u8("a", 0, 3)+"}", four), []string{"1 trailing bytes"}},
		{"data but no tensors", raw("{}", four), []string{"4 trailing bytes"}},
		{"duplicate tensor", raw("{"+u8("a", 0, 2)+","+u8("a", 2, 4)+"}", four), []string{`duplicate key "a"`}},
	} {
		_, err := Parse(tc.file)
		if err == nil {
			t.Errorf("%s: Parse accepted it", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestWriteRejects(t *testing.T) {
	ok := TensorInfo{Name: "a", DType: U8, Shape: []int{2}, Data: []byte{1, 2}}
	for _, tc := range []struct {
		name    string
		meta    map[string]string
		tensors []TensorInfo
		want    string
	}{
		{"duplicate", nil, []TensorInfo{ok, ok}, `duplicate tensor "a"`},
		{"metadata name", nil, []TensorInfo{{Name: MetadataKey, DType: U8, Shape: []int{0}}}, "reserved name"},
		{"unknown dtype", nil, []TensorInfo{{Name: "x", DType: "F4", Shape: []int{0}}}, `tensor "x": unknown dtype "F4"`},
		{"length mismatch", nil, []TensorInfo{{Name: "x", DType: F32, Shape: []int{2}, Data: []byte{1}}}, `tensor "x": 1 data bytes`},
		{"negative dim", nil, []TensorInfo{{Name: "x", DType: F32, Shape: []int{-2}}}, `tensor "x": shape [-2] has a negative`},
		{"bad utf-8 name", nil, []TensorInfo{{Name: "\xff", DType: U8, Shape: []int{0}}}, "UTF-8"},
		{"bad utf-8 metadata", map[string]string{"k": "\xfe"}, nil, "UTF-8"},
	} {
		var b bytes.Buffer
		err := Write(&b, tc.meta, tc.tensors)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before failing", tc.name, b.Len())
		}
	}
	for after := 0; after < 3; after++ {
		if err := Write(&failWriter{after: after}, nil, []TensorInfo{ok}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("writer failing after %d writes: error %v", after, err)
		}
	}
}

func TestByteLen(t *testing.T) {
	for _, tc := range []struct {
		dtype string
		shape []int
		want  int
		err   bool
	}{
		{F32, []int{2, 3}, 24, false},
		{BF16, nil, 2, false},
		{I64, []int{0, 1 << 62, 1 << 62}, 0, false},
		{U8, []int{1 << 62, 1 << 62}, 0, true},
		{F32, []int{1 << 62}, 0, true},
		{U8, []int{-1}, 0, true},
		{"Q4", []int{1}, 0, true},
	} {
		got, err := ByteLen(tc.dtype, tc.shape)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ByteLen(%s, %v) = %d, %v; want %d, error %v", tc.dtype, tc.shape, got, err, tc.want, tc.err)
		}
	}
}
