package golden

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pthDir = "../../testdata/pth"

func sidecars(t *testing.T) map[string]*Sidecar {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(pthDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Sidecar{}
	for _, p := range paths {
		s, err := LoadSidecar(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(pthDir, s.File)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(s.File, ".pth")] = s
	}
	for _, want := range []string{"tiny_basic", "tiny_bottleneck", "tiny_basic_10", "checkpoint", "views", "legacy", "dtypes"} {
		if out[want] == nil {
			t.Fatalf("testdata/pth: no %s sidecar (regenerate with /usr/bin/python3 tools/golden/gen.py --only pth)", want)
		}
	}
	return out
}

func closeRel(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// The generated .pth files must hold exactly golden.Fill's state dict (plus
// num_batches_tracked), so a reader test can compare bit for bit with Fill.
func TestGeneratedPthSidecarsMatchFill(t *testing.T) {
	for name, s := range sidecars(t) {
		if !s.Generated {
			continue
		}
		net, err := s.Arch.Net()
		if err != nil {
			t.Fatal(err)
		}
		sd := Fill(net, s.Seed)
		byName := map[string]SidecarTensor{}
		for _, st := range s.Tensors {
			byName[st.Name] = st
		}
		for _, spec := range net.StateDictTensors() {
			st, ok := byName[spec.Name]
			if !ok {
				t.Errorf("%s: %s missing from the file", name, spec.Name)
				continue
			}
			delete(byName, spec.Name)
			if st.DType != "float32" || !sameShape(st.Shape, spec.Shape) || st.StorageOffset != 0 {
				t.Errorf("%s: %s is %s %v offset %d, want float32 %v offset 0", name, spec.Name, st.DType, st.Shape, st.StorageOffset, spec.Shape)
				continue
			}
			v := sd[spec.Name]
			f := make([]float64, len(v))
			for i, x := range v {
				f[i] = float64(x)
			}
			sum, abs, w := Checksums(f)
			if !closeRel(sum, st.Sum) || !closeRel(abs, st.AbsSum) || !closeRel(w, st.WeightedSum) {
				t.Errorf("%s: %s sums %v %v %v, torch %v %v %v", name, spec.Name, sum, abs, w, st.Sum, st.AbsSum, st.WeightedSum)
			}
			head := st.Head
			if head == nil {
				head = st.Values
			}
			if len(head) == 0 {
				t.Errorf("%s: %s has no values", name, spec.Name)
			}
			for i, h := range head {
				if float32(h) != v[i] {
					t.Errorf("%s: %s[%d] = %v, Fill %v", name, spec.Name, i, h, v[i])
				}
			}
		}
		// What is left must be the BatchNorms' int64 counters.
		for n, st := range byName {
			if !strings.HasSuffix(n, ".num_batches_tracked") || st.DType != "int64" || len(st.Shape) != 0 {
				t.Errorf("%s: unexpected tensor %s %s %v", name, n, st.DType, st.Shape)
			}
		}
	}
}

// gather reads a strided view out of a storage the way a .pth reader must.
func gather(storage []float64, shape, stride []int, offset int) []float64 {
	n := numel(shape)
	out := make([]float64, 0, n)
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		p := offset
		for d := range shape {
			p += idx[d] * stride[d]
		}
		out = append(out, storage[p])
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// The views file's sidecar must be self-consistent: every view of the
// shared storage is "base" read through the view's offset and strides, and
// every listed sum matches the listed values.
func TestViewsSidecarConsistent(t *testing.T) {
	s := sidecars(t)["views"]
	by := map[string]SidecarTensor{}
	for _, st := range s.Tensors {
		by[st.Name] = st
		if st.Values == nil {
			t.Errorf("views: %s has no values", st.Name)
			continue
		}
		// The sidecar writes float32 values as their shortest decimals.
		for i, x := range st.Values {
			st.Values[i] = float64(float32(x))
		}
		by[st.Name] = st
		sum, abs, w := Checksums(st.Values)
		if !closeRel(sum, st.Sum) || !closeRel(abs, st.AbsSum) || !closeRel(w, st.WeightedSum) {
			t.Errorf("views: %s sums %v %v %v, torch %v %v %v", st.Name, sum, abs, w, st.Sum, st.AbsSum, st.WeightedSum)
		}
	}
	base := by["base"].Values
	for _, n := range []string{"transposed", "rows", "cols", "strided"} {
		v := by[n]
		if v.StorageNumel != len(base) {
			t.Errorf("%s: storage of %d, base has %d", n, v.StorageNumel, len(base))
		}
		got := gather(base, v.Shape, v.Stride, v.StorageOffset)
		for i := range got {
			if got[i] != v.Values[i] {
				t.Fatalf("%s[%d]: strided read %v, torch %v", n, i, got[i], v.Values[i])
			}
		}
	}
	if e := by["expanded"]; len(e.Stride) != 2 || e.Stride[0] != 0 {
		t.Errorf("expanded: stride %v, want a 0 stride", e.Stride)
	}
	if c := by["bn.num_batches_tracked"]; c.DType != "int64" || len(c.Values) != 1 || c.Values[0] != 7 {
		t.Errorf("num_batches_tracked: %+v", c)
	}
}
