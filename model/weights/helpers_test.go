package weights

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// tinyArch is a full ResNet layout with two base channels: every code path
// of a real network in a few thousand weights.
func tinyArch() model.Arch {
	return model.Arch{Name: "tiny", Block: model.Basic, Layers: [4]int{1, 1, 1, 1}, Groups: 1,
		WidthPerGroup: 64, NumClasses: 3, Variant: model.V15, BaseChannels: 2}
}

func tinyMeta(s Scheme) Metadata {
	return Metadata{FormatVersion: FormatVersion, Arch: tinyArch(), Preprocess: TorchvisionPreprocess, Scheme: s,
		Labels: []string{"cat", "dog", "teapot"}, Source: "test", SourceSHA256: strings.Repeat("ab", 32)}
}

// randomModel builds a valid F32 model of arch with deterministic values.
func randomModel(t testing.TB, arch model.Arch, seed uint64) *Model {
	t.Helper()
	net, err := arch.Net()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	tensors := map[string]*Tensor{}
	for _, s := range net.FoldedTensors() {
		v := make([]float32, product(s.Shape))
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.1)
		}
		tensors[s.Name] = &Tensor{Shape: s.Shape, F32: v}
	}
	meta := tinyMeta(F32)
	meta.Arch = arch
	meta.Labels = nil
	m, err := New(meta, tensors)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tinyF32(t testing.TB) *Model {
	m := randomModel(t, tinyArch(), 1)
	m.Meta = tinyMeta(F32)
	return m
}

func tinyInt8(t testing.TB) *Model {
	t.Helper()
	q, err := Quantize(tinyF32(t), Int8)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func encode(t testing.TB, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
