package convert

import (
	"bytes"
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/safetensors"
)

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// bf16Bytes truncates to bfloat16 (the test values are chosen exact).
func bf16Bytes(v []float32) []byte {
	b := make([]byte, 2*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(math.Float32bits(f)>>16))
	}
	return b
}

func writeSafetensors(t *testing.T, meta map[string]string, ts []safetensors.TensorInfo) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, meta, ts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSafetensorsRoundTrip writes a real state dict (read from a .pth) as a
// DataParallel-prefixed safetensors file with an I64 counter, reads it back,
// and gets the same tensors; Convert gives the same model from both.
func TestSafetensorsRoundTrip(t *testing.T) {
	ck, err := ReadPTH(filepath.Join(sharedPTH, "tiny_bottleneck.pth"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.TensorInfo
	for _, name := range ck.Tensors.Names() {
		tt := ck.Tensors[name]
		ts = append(ts, safetensors.TensorInfo{Name: "module." + name, DType: safetensors.F32, Shape: tt.Shape, Data: f32Bytes(tt.Data)})
	}
	ts = append(ts, safetensors.TensorInfo{Name: "module.bn1.num_batches_tracked", DType: safetensors.I64, Shape: []int{}, Data: make([]byte, 8)})
	got, err := ParseSafetensors(writeSafetensors(t, map[string]string{"format": "pt"}, ts))
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != Safetensors || !slices.Equal(got.Skipped, []string{"bn1.num_batches_tracked"}) {
		t.Errorf("format %s, skipped %v", got.Format, got.Skipped)
	}
	if !slices.Equal(got.Tensors.Names(), ck.Tensors.Names()) {
		t.Fatalf("names %v, want %v", got.Tensors.Names(), ck.Tensors.Names())
	}
	for name, want := range ck.Tensors {
		g := got.Tensors[name]
		if !slices.Equal(g.Shape, want.Shape) || !slices.Equal(g.Data, want.Data) {
			t.Errorf("%s differs", name)
		}
	}
	a, _, err := Convert(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Convert(got, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, ta := range a.Tensors {
		if !slices.Equal(ta.F32, b.Tensors[name].F32) {
			t.Errorf("folded %s differs", name)
		}
	}
}

// TestSafetensorsDTypes checks F16, BF16 and F64 decoding and the errors.
func TestSafetensorsDTypes(t *testing.T) {
	vals := []float32{1, -2, 0.5, 0, 256, -0.25}
	halves := []uint16{0x3c00, 0xc000, 0x3800, 0x0000, 0x5c00, 0xb400}
	h := make([]byte, 2*len(halves))
	for i, v := range halves {
		binary.LittleEndian.PutUint16(h[2*i:], v)
	}
	d := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(d[8*i:], math.Float64bits(float64(v)))
	}
	data := writeSafetensors(t, nil, []safetensors.TensorInfo{
		{Name: "f16", DType: safetensors.F16, Shape: []int{2, 3}, Data: h},
		{Name: "bf16", DType: safetensors.BF16, Shape: []int{6}, Data: bf16Bytes(vals)},
		{Name: "f64", DType: safetensors.F64, Shape: []int{3, 2}, Data: d},
	})
	ck, err := ParseSafetensors(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"f16", "bf16", "f64"} {
		if !slices.Equal(ck.Tensors[name].Data, vals) {
			t.Errorf("%s = %v, want %v", name, ck.Tensors[name].Data, vals)
		}
	}
	if !slices.Equal(ck.Tensors["f16"].Shape, []int{2, 3}) {
		t.Errorf("f16 shape %v", ck.Tensors["f16"].Shape)
	}

	bad := writeSafetensors(t, nil, []safetensors.TensorInfo{{Name: "conv1.weight", DType: safetensors.I32, Shape: []int{1}, Data: make([]byte, 4)}})
	if _, err := ParseSafetensors(bad); err == nil || !strings.Contains(err.Error(), "conv1.weight") {
		t.Errorf("I32 weight: %v", err)
	}
	ours := writeSafetensors(t, map[string]string{"format_version": "1"}, []safetensors.TensorInfo{{Name: "fc.bias", DType: safetensors.F32, Shape: []int{1}, Data: make([]byte, 4)}})
	if _, err := ParseSafetensors(ours); err == nil || !strings.Contains(err.Error(), "Residual weight file") {
		t.Errorf("weight file: %v", err)
	}
	if _, err := ParseSafetensors([]byte("\x08\x00\x00\x00\x00\x00\x00\x00{garbage")); err == nil {
		t.Error("garbage header accepted")
	}
}

// TestHalfToFloat checks binary16 decoding at the edges.
func TestHalfToFloat(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 1.0 / (1 << 24)}, {0x8001, -1.0 / (1 << 24)},
		{0x0400, 1.0 / (1 << 14)}, {0x03ff, 1023.0 / (1 << 24)}, {0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	} {
		if got := halfToFloat(c.h); got != c.want {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if got := halfToFloat(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("halfToFloat(0x8000) = %v, want -0", got)
	}
	if got := halfToFloat(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("halfToFloat(0x7e00) = %v, want NaN", got)
	}
}
