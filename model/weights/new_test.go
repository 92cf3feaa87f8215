package weights

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// cloneTensors copies a model's tensor map and tensors deeply enough to corrupt.
func cloneTensors(m *Model) map[string]*Tensor {
	out := map[string]*Tensor{}
	for k, t := range m.Tensors {
		c := *t
		c.F32, c.I8, c.Scale = slices.Clone(t.F32), slices.Clone(t.I8), slices.Clone(t.Scale)
		out[k] = &c
	}
	return out
}

func TestNewRejects(t *testing.T) {
	f32, i8 := tinyF32(t), tinyInt8(t)
	const w = "layer2.0.conv2.weight"
	for _, tc := range []struct {
		name  string
		base  *Model
		meta  func(*Metadata)
		edit  func(map[string]*Tensor)
		wants []string
	}{
		{"format version", f32, func(m *Metadata) { m.FormatVersion = 7 }, nil, []string{"format_version 7 is not supported"}},
		{"scheme int4", f32, func(m *Metadata) { m.Scheme = Int4 }, nil, []string{"not supported yet"}},
		{"scheme empty", f32, func(m *Metadata) { m.Scheme = "" }, nil, []string{`unknown scheme ""`}},
		{"arch", f32, func(m *Metadata) { m.Arch.Layers[2] = 0 }, nil, []string{"layer3 has 0 blocks"}},
		{"labels", f32, func(m *Metadata) { m.Labels = []string{"x"} }, nil, []string{"1 labels for 3 classes"}},
		{"NaN mean", f32, func(m *Metadata) { m.Preprocess.Mean[1] = float32(math.NaN()) }, nil, []string{"mean[1] = NaN"}},
		{"Inf std", f32, func(m *Metadata) { m.Preprocess.Std[0] = float32(math.Inf(1)) }, nil, []string{"std[0] = +Inf"}},
		{"NaN input scale", f32, func(m *Metadata) { m.Preprocess.InputScale = float32(math.NaN()) }, nil, []string{"input_scale NaN"}},
		{"huge crop", f32, func(m *Metadata) { m.Preprocess.Crop, m.Preprocess.Resize = 1<<20, 1<<20 }, nil, []string{"crop 1048576 out of range"}},
		{"missing", f32, nil, func(ts map[string]*Tensor) { delete(ts, w) }, []string{"tensor " + w + ": missing"}},
		{"nil tensor", f32, nil, func(ts map[string]*Tensor) { ts[w] = nil }, []string{"tensor " + w + ": missing"}},
		{"extra", f32, nil, func(ts map[string]*Tensor) { ts["zzz"] = &Tensor{} }, []string{`tensor "zzz": not a tensor of tiny`}},
		{"name mismatch", f32, nil, func(ts map[string]*Tensor) { ts[w].Name = "other" }, []string{"tensor " + w + `: named "other"`}},
		{"shape", f32, nil, func(ts map[string]*Tensor) { ts[w].Shape = []int{4, 4, 3} }, []string{"tensor " + w + ": shape [4 4 3], want [4 4 3 3]"}},
		{"short data", f32, nil, func(ts map[string]*Tensor) { ts[w].F32 = ts[w].F32[1:] }, []string{"tensor " + w + ": 143 values, shape [4 4 3 3] needs 144"}},
		{"i8 in f32", f32, nil, func(ts map[string]*Tensor) { ts[w].I8 = make([]int8, 144) }, []string{"tensor " + w + ": want F32 values only for scheme f32"}},
		{"f32 in int8", i8, nil, func(ts map[string]*Tensor) { ts[w].F32 = make([]float32, 144) }, []string{"tensor " + w + ": want I8 values only for scheme int8"}},
		{"f32 only in int8", i8, nil, func(ts map[string]*Tensor) { ts[w].I8, ts[w].F32 = nil, make([]float32, 144) }, []string{"want I8 values only"}},
		{"scale count", i8, nil, func(ts map[string]*Tensor) { ts[w].Scale = ts[w].Scale[:3] }, []string{"tensor " + w + "_scale: 3 scales, want 4"}},
		{"short i8", i8, nil, func(ts map[string]*Tensor) { ts[w].I8 = ts[w].I8[:10] }, []string{"tensor " + w + ": 10 values"}},
		{"NaN weight", f32, nil, func(ts map[string]*Tensor) { ts[w].F32[3] = float32(math.NaN()) }, []string{"tensor " + w + ": value 3 is NaN"}},
		{"zero scale", i8, nil, func(ts map[string]*Tensor) { ts[w].Scale = []float32{1, 0, 1, 1} }, []string{"tensor " + w + "_scale: scale 1 is 0"}},
		{"scale on bias", i8, nil, func(ts map[string]*Tensor) { ts["fc.bias"].Scale = []float32{1, 1, 1} }, []string{"tensor fc.bias: want F32 values only"}},
	} {
		meta := tc.base.Meta
		if tc.meta != nil {
			tc.meta(&meta)
		}
		ts := cloneTensors(tc.base)
		if tc.edit != nil {
			tc.edit(ts)
		}
		_, err := New(meta, ts)
		if err == nil {
			t.Errorf("%s: New accepted it", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "weights: new tiny: ") {
			t.Errorf("%s: error %q lacks the context prefix", tc.name, err)
		}
		for _, want := range tc.wants {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, want)
			}
		}
	}
}

func TestNewDefaults(t *testing.T) {
	src := tinyF32(t)
	meta := src.Meta
	meta.FormatVersion = 0
	ts := cloneTensors(src)
	for _, t := range ts {
		t.Name = ""
	}
	m, err := New(meta, ts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.FormatVersion != FormatVersion {
		t.Errorf("FormatVersion %d, want %d", m.Meta.FormatVersion, FormatVersion)
	}
	for name, tensor := range m.Tensors {
		if tensor.Name != name {
			t.Errorf("tensor %q has Name %q", name, tensor.Name)
		}
	}
	// Every conv and fc has its weight and bias.
	for _, c := range m.Net.Convs() {
		if w, b := m.Weight(c.Name); w == nil || b == nil {
			t.Errorf("Weight(%s) = %v, %v", c.Name, w, b)
		}
	}
	// The model keeps its own tensor map: later edits of the caller's map
	// do not reach it.
	delete(ts, "fc.bias")
	if m.Tensors["fc.bias"] == nil {
		t.Error("New kept the caller's map")
	}
}

func TestValidateMethods(t *testing.T) {
	if err := tinyMeta(Int8).Validate(); err != nil {
		t.Errorf("tiny metadata: %v", err)
	}
	for _, p := range []Preprocess{TorchvisionPreprocess, CaffePreprocess} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for s, ok := range map[Scheme]bool{F32: true, Int8: true, Int4: false, "F32": false} {
		if err := s.Validate(); (err == nil) != ok {
			t.Errorf("Scheme(%q).Validate() = %v", s, err)
		}
	}
}
