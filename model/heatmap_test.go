package model

import (
	"math"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestTensorHeatmaps: every image of a batch gets its own map, with the
// raw range of its channel mean, the channel count and its strongest
// channel's own map.
func TestTensorHeatmaps(t *testing.T) {
	const b, c, h, w = 2, 3, 4, 5
	x := NewTensor(b, c, h, w)
	for i := range b {
		for ch := range c {
			for p := range h * w {
				v := float32(p) // a ramp in every channel
				if ch == 1+i {  // image 0: channel 1 strongest, image 1: channel 2
					v = 10 + float32(h*w-p)
				}
				x.Data[((i*c+ch)*h*w)+p] = v
			}
		}
	}
	hs := TensorHeatmaps(x.Shape, x.Data)
	if len(hs) != b {
		t.Fatalf("%d heatmaps, want %d", len(hs), b)
	}
	for i, hm := range hs {
		if hm.W != w || hm.H != h || hm.Channels != c || hm.Strongest == nil {
			t.Fatalf("image %d: %+v", i, hm)
		}
		// The mean of two ramps p and one 10+20−p is (p+30)/3.
		if math.Abs(float64(hm.Lo)-10) > 1e-5 || math.Abs(float64(hm.Hi)-49.0/3) > 1e-5 ||
			math.Abs(float64(hm.Raw(7))-37.0/3) > 1e-5 {
			t.Errorf("image %d: lo %g hi %g raw[7] %g, want 10, 16.33, 12.33", i, hm.Lo, hm.Hi, hm.Raw(7))
		}
		s := hm.Strongest
		if s.Channel != 1+i || s.Channels != c || s.Lo != 11 || s.Hi != 30 || s.Values[0] != 1 || s.Values[len(s.Values)-1] != 0 {
			t.Errorf("image %d: strongest %+v", i, s)
		}
		if math.Abs(float64(s.Mean)-(10+10.5)) > 1e-5 {
			t.Errorf("image %d: strongest mean %g, want 20.5", i, s.Mean)
		}
	}
	if first := TensorHeatmap(x.Shape, x.Data); first.Strongest.Channel != 1 || first.Lo != hs[0].Lo {
		t.Errorf("TensorHeatmap %+v, want image 0's", first)
	}
	// A vector is a strip of its values, the largest its strongest.
	v := TensorHeatmaps([]int{2, 4}, []float32{1, 3, 2, 0, -1, -2, 5, 4})
	if len(v) != 2 || v[1].W != 4 || v[1].H != 1 || v[1].Lo != -2 || v[1].Hi != 5 || v[1].Strongest.Channel != 2 || v[0].Strongest.Channel != 1 {
		t.Errorf("strips %+v %+v", v[0], v[1])
	}
	// A large map is downsized to HeatmapSize, its strongest channel too.
	big := TensorHeatmaps([]int{1, 2, 112, 56}, make([]float32, 2*112*56))
	if big[0].H != HeatmapSize || big[0].W != 14 || big[0].Strongest.H != HeatmapSize || big[0].Hi != 0 {
		t.Errorf("big %dx%d, strongest %dx%d", big[0].W, big[0].H, big[0].Strongest.W, big[0].Strongest.H)
	}
}

// TestBlockPath: a block's row says its branch, its shortcut, the add
// and the ReLU.
func TestBlockPath(t *testing.T) {
	c := func(k, s, g int) Conv { return Conv{Kernel: k, Stride: s, Groups: g} }
	down := c(1, 2, 1)
	b := Block{Convs: []Conv{c(1, 1, 1), c(3, 2, 32), c(1, 1, 1)}, Downsample: &down}
	if got, want := BlockPath(b), "1×1 → 3×3/2 g32 → 1×1 + 1×1/2 conv (downsample) → add → ReLU"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	b = Block{Convs: []Conv{c(3, 1, 1), c(3, 1, 1)}}
	if got := BlockPath(b); got != "3×3 → 3×3 + identity → add → ReLU" {
		t.Errorf("path %q", got)
	}
	n := mustNet(t, "resnet50")
	p, err := n.Program(1, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Stages {
		for _, blk := range st.Blocks {
			if !strings.HasSuffix(blk.Path, "→ add → ReLU") || blk.Downsample != strings.Contains(blk.Path, "downsample") {
				t.Errorf("%s: path %q", blk.Name, blk.Path)
			}
		}
	}
}

// TestReadHeatmap: a map read a few channels at a time (one channel a
// read for a large plane, several for small ones, a vector at once) is
// TensorHeatmap's, and reads each value once plus the strongest
// channel's plane again.
func TestReadHeatmap(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, shape := range [][]int{{1, 3, 224, 224}, {1, 300, 20, 20}, {1, 7, 5, 1}, {1, 2048, 1, 1}, {1, 1000}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		read, reads := 0, 0
		got := ReadHeatmap(shape, func(from, k int) []float32 {
			read, reads = read+k, reads+1
			return slices.Clone(data[from : from+k])
		})
		if want := TensorHeatmap(shape, data); !reflect.DeepEqual(got, want) {
			t.Errorf("%v: ReadHeatmap differs from TensorHeatmap", shape)
		}
		plane := 0
		if len(shape) == 4 && shape[2]*shape[3] > 1 {
			plane = shape[2] * shape[3]
		}
		if read != n+plane || (plane > 0 && n/plane > 1 && reads < 2) {
			t.Errorf("%v: %d values read in %d reads, want %d", shape, read, reads, n+plane)
		}
	}
}
