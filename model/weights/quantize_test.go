package weights

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestQuantizeErrorBound(t *testing.T) {
	src := tinyF32(t)
	// Give some channels the edge cases: all zeros, a single huge value,
	// values too small for max/127 to be a normal float32 or any float32.
	w := src.Tensors["layer3.0.conv1.weight"] // [8 4 3 3]: 36 per channel
	clear(w.F32[0:36])
	w.F32[36*2] = 1e30
	for i := 36 * 3; i < 36*4; i++ {
		w.F32[i] = float32(i%7-3) * 1e-40
	}
	for i := 36 * 4; i < 36*5; i++ {
		w.F32[i] = float32(i%3-1) * 1e-44 // max/127 rounds to a zero float32
	}
	before := slices.Clone(w.F32)
	q, err := Quantize(src, Int8)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.F32, before) || src.Meta.Scheme != F32 {
		t.Error("Quantize changed its source")
	}
	if s := q.Tensors["layer3.0.conv1.weight"].Scale; s[0] != 1 || s[2] != float32(float64(float32(1e30))/127) || s[4] != math.SmallestNonzeroFloat32 {
		t.Errorf("edge-case scales %v", s[:5])
	}
	if q.Meta.Scheme != Int8 {
		t.Errorf("scheme %s, want int8", q.Meta.Scheme)
	}
	for _, l := range layers(q.Net) {
		sw, sb := src.Weight(l.prefix)
		qw, qb := q.Weight(l.prefix)
		if qw.I8 == nil || qw.F32 != nil || len(qw.Scale) != l.cout() {
			t.Fatalf("%s: not stored as int8", l.prefix)
		}
		if !slices.Equal(qb.F32, sb.F32) {
			t.Errorf("%s: bias changed", l.prefix)
		}
		per := len(sw.F32) / l.cout()
		deq := qw.Float()
		for c := range l.cout() {
			ch := sw.F32[c*per : (c+1)*per]
			maxAbs := 0.0
			for _, v := range ch {
				maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
			}
			scale := qw.Scale[c]
			if maxAbs == 0 {
				if scale <= 0 {
					t.Errorf("%s channel %d: zero channel has scale %v", l.prefix, c, scale)
				}
			} else if float32(maxAbs/127) != 0 && scale != float32(maxAbs/127) {
				t.Errorf("%s channel %d: scale %v, want max|w|/127 = %v", l.prefix, c, scale, maxAbs/127)
			}
			peak := 0
			for i, v := range ch {
				qi := qw.I8[c*per+i]
				if qi < -127 {
					t.Errorf("%s[%d]: q = %d", l.prefix, c*per+i, qi)
				}
				peak = max(peak, int(max(qi, -qi)))
				// Half a step, plus the float32 rounding of q·scale.
				bound := float64(scale)/2 + math.Abs(float64(deq[c*per+i]))*1e-7
				if e := math.Abs(float64(v) - float64(deq[c*per+i])); e > bound {
					t.Errorf("%s[%d]: |%v − %v| = %v > %v", l.prefix, c*per+i, v, deq[c*per+i], e, bound)
				}
			}
			if maxAbs == 0 && peak != 0 || maxAbs != 0 && float32(maxAbs/127) != 0 && peak != 127 {
				t.Errorf("%s channel %d: peak |q| %d (max|w| %v)", l.prefix, c, peak, maxAbs)
			}
		}
	}
	// The quantized model is a valid, encodable file.
	if _, err := Decode("q", encode(t, q)); err != nil {
		t.Error(err)
	}
}

func TestQuantizeRounding(t *testing.T) {
	src := tinyF32(t)
	w := src.Tensors["conv1.weight"] // [2 3 7 7]: 147 per channel
	clear(w.F32)
	// Channel 0 has max 127, so its scale is exactly 1 and q = round(w).
	copy(w.F32, []float32{127, 0.5, -0.5, 1.5, -2.5, 0.49, -126.6, 2.4999})
	want := []int8{127, 1, -1, 2, -3, 0, -127, 2}
	q, err := Quantize(src, Int8)
	if err != nil {
		t.Fatal(err)
	}
	qw := q.Tensors["conv1.weight"]
	if qw.Scale[0] != 1 {
		t.Fatalf("scale %v, want 1", qw.Scale[0])
	}
	if got := qw.I8[:len(want)]; !slices.Equal(got, want) {
		t.Errorf("q = %v, want %v (round half away from zero)", got, want)
	}
	if qw.Scale[1] != 1 || slices.ContainsFunc(qw.I8[147:], func(v int8) bool { return v != 0 }) {
		t.Errorf("zero channel: scale %v, values not all zero", qw.Scale[1])
	}
}

func TestQuantizeSchemes(t *testing.T) {
	i8 := tinyInt8(t)
	if _, err := Quantize(i8, Int8); err == nil || !strings.Contains(err.Error(), "source model has scheme int8") {
		t.Errorf("int8 → int8: %v", err)
	}
	if _, err := Quantize(tinyF32(t), Int4); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Errorf("f32 → int4: %v", err)
	}
	if _, err := Quantize(nil, Int8); err == nil {
		t.Error("Quantize(nil) succeeded")
	}
	bad := tinyF32(t)
	delete(bad.Tensors, "fc.bias")
	if _, err := Quantize(bad, Int8); err == nil || !strings.Contains(err.Error(), "fc.bias: missing") {
		t.Errorf("invalid source: %v", err)
	}
	deq, err := Quantize(i8, F32)
	if err != nil {
		t.Fatal(err)
	}
	if deq.Meta.Scheme != F32 {
		t.Errorf("scheme %s", deq.Meta.Scheme)
	}
	for name, tq := range i8.Tensors {
		if d := deq.Tensors[name]; d.I8 != nil || !slices.Equal(d.F32, tq.Float()) {
			t.Errorf("%s: dequantized values differ from Float()", name)
		}
	}
}

func TestReport(t *testing.T) {
	f32 := tinyF32(t)
	q := tinyInt8(t)
	rep, err := Report(f32, q)
	if err != nil {
		t.Fatal(err)
	}
	ls := layers(q.Net)
	if len(rep) != len(ls) {
		t.Fatalf("%d layers reported, want %d", len(rep), len(ls))
	}
	for i, r := range rep {
		l := ls[i]
		n := product(l.wshape)
		if r.Name != l.prefix || r.Params != n+l.cout() || r.Bytes != n+4*l.cout()+4*l.cout() {
			t.Errorf("layer %d: %+v, want name %s params %d bytes %d", i, r, l.prefix, n+l.cout(), n+8*l.cout())
		}
		qw, _ := q.Weight(l.prefix)
		if half := float64(slices.Max(qw.Scale)) / 2 * (1 + 1e-6); r.MaxAbsErr > half || r.MaxAbsErr <= 0 {
			t.Errorf("%s: max error %v outside (0, %v]", r.Name, r.MaxAbsErr, half)
		}
		if r.MeanAbsErr <= 0 || r.MeanAbsErr > r.MaxAbsErr {
			t.Errorf("%s: mean error %v, max %v", r.Name, r.MeanAbsErr, r.MaxAbsErr)
		}
	}
	self, err := Report(f32, f32)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range self {
		if r.MaxAbsErr != 0 || r.MeanAbsErr != 0 || r.Bytes != 4*r.Params {
			t.Errorf("f32 vs itself, layer %d: %+v", i, r)
		}
	}
	wider := tinyArch()
	wider.BaseChannels = 4
	other := randomModel(t, wider, 1)
	if _, err := Report(other, q); err == nil || !strings.Contains(err.Error(), "different layers") {
		t.Errorf("report across archs: %v", err)
	}
	if _, err := Report(nil, q); err == nil {
		t.Error("Report(nil, q) succeeded")
	}
}
