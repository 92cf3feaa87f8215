package model

import (
	"fmt"
	"math"
)

// Heatmap is a small picture of one image's activation at a stage: the
// mean over its channels, box-downsized to at most HeatmapSize on a side
// and scaled to [0,1], with what a colour scale needs to name its values
// (the raw range before scaling) and its strongest channel's own map.
// A vector ([B,C,1,1] or [B,N]) is a strip of its values instead.
type Heatmap struct {
	W      int       `json:"w"`
	H      int       `json:"h"`
	Values []float32 `json:"values"` // [H][W], scaled to [0,1]: raw = Lo + v·(Hi−Lo)
	// Lo and Hi are the raw range of the map before scaling (the least
	// and the greatest of its downsized values); all values are 0 when
	// Lo == Hi.
	Lo float32 `json:"lo"`
	Hi float32 `json:"hi"`
	// Channels is the activation's channel count: how many channels the
	// map averages, or how many values a vector's strip shows.
	Channels int `json:"channels"`
	// Channel is the channel a Strongest map shows (0 otherwise), and Mean
	// that channel's mean activation over the image.
	Channel int     `json:"channel,omitempty"`
	Mean    float32 `json:"mean,omitempty"`
	// Strongest is the map of the channel with the highest mean
	// activation (the first of equals), downsized and scaled on its own
	// range like the mean; for a strip, the largest value as a 1×1 map.
	// nil on a Strongest map itself.
	Strongest *Heatmap `json:"strongest,omitempty"`
}

// HeatmapSize is the largest side of a Heatmap.
const HeatmapSize = 28

// Raw is the unscaled value of the map's pixel i.
func (h *Heatmap) Raw(i int) float32 { return h.Lo + h.Values[i]*(h.Hi-h.Lo) }

// TensorHeatmaps summarises every image of an activation for the
// inspector: an NCHW map as its spatial mean and strongest channel, a
// vector ([B,C,1,1] or [B,N]) as a strip of its values. Every engine that
// has the whole tensor shows its stage outputs through it.
func TensorHeatmaps(shape []int, data []float32) []*Heatmap {
	if len(shape) == 0 || shape[0] < 1 || len(data)%shape[0] != 0 {
		return nil
	}
	b := shape[0]
	per := len(data) / b
	one := append([]int{1}, shape[1:]...) // an image's shape
	n := 1
	for _, d := range one {
		n *= d
	}
	if per < n {
		return nil
	}
	out := make([]*Heatmap, b)
	for i := range out {
		img := data[i*per : (i+1)*per]
		out[i] = ReadHeatmap(one, func(from, n int) []float32 { return img[from : from+n] })
		if out[i] == nil {
			return nil
		}
	}
	return out
}

// TensorHeatmap is the first image's TensorHeatmaps.
func TensorHeatmap(shape []int, data []float32) *Heatmap {
	if len(shape) == 0 || shape[0] < 1 {
		return nil
	}
	hs := TensorHeatmaps(append([]int{1}, shape[1:]...), data[:len(data)/shape[0]])
	if len(hs) == 0 {
		return nil
	}
	return hs[0]
}

// MakeHeatmap summarises the first image of an NCHW activation (or any
// [B,C,H,W] buffer): the mean over channels and the strongest channel,
// each box-downsized to at most HeatmapSize on a side and scaled to [0,1].
func MakeHeatmap(data []float32, c, h, w int) *Heatmap {
	if c < 1 || h < 1 || w < 1 || len(data) < c*h*w {
		return nil
	}
	return planesHeatmap(c, h, w, func(from, n int) []float32 { return data[from : from+n] })
}

// heatmapChunk is about how many values ReadHeatmap reads at a time.
const heatmapChunk = 64 << 10

// ReadHeatmap is TensorHeatmap of the first image of an activation of
// this shape held outside the Go heap (an engine's wasm memory): read
// gives its values [from, from+n), in a buffer it may reuse from call to
// call. A map is read a few whole channels at a time (about heatmapChunk
// values), then its strongest channel once more, so that no stage output
// is ever copied whole into a Go heap, which in a browser never shrinks.
func ReadHeatmap(shape []int, read func(from, n int) []float32) *Heatmap {
	if len(shape) == 0 {
		return nil
	}
	n := 1
	for _, d := range shape {
		if d < 1 {
			return nil
		}
		n *= d
	}
	if len(shape) == 4 && (shape[2] > 1 || shape[3] > 1) {
		return planesHeatmap(shape[1], shape[2], shape[3], read)
	}
	return VectorHeatmap(read(0, n/shape[0]))
}

// planesHeatmap is MakeHeatmap of c planes of h×w values read through
// read, a few planes at a time.
func planesHeatmap(c, h, w int, read func(from, n int) []float32) *Heatmap {
	hw := h * w
	mean := make([]float64, hw)
	means := make([]float64, c)
	step := max(1, heatmapChunk/hw) // planes a read
	for c0 := 0; c0 < c; c0 += step {
		data := read(c0*hw, min(step, c-c0)*hw)
		for ch := c0; ch < min(c0+step, c); ch++ {
			var s float64
			for i, v := range data[(ch-c0)*hw : (ch-c0+1)*hw] {
				mean[i] += float64(v)
				s += float64(v)
			}
			means[ch] = s / float64(hw)
		}
	}
	for i := range mean {
		mean[i] /= float64(c)
	}
	top := argmax(means)
	plane := make([]float64, hw)
	for i, v := range read(top*hw, hw) {
		plane[i] = float64(v)
	}
	return SummaryHeatmap(mean, plane, h, w, c, top, means[top])
}

// SummaryHeatmap is the last step of every engine's heatmap, from the
// reductions of one image it computed its own way (the GPU on the GPU):
// mean, the channel mean at each of the h×w positions; plane, the
// strongest channel top's values there, and topMean that channel's mean
// over the image; c the channel count.
func SummaryHeatmap(mean, plane []float64, h, w, c, top int, topMean float64) *Heatmap {
	hm := scaledMap(mean, h, w)
	if hm == nil {
		return nil
	}
	hm.Channels = c
	if s := scaledMap(plane, h, w); s != nil {
		s.Channels, s.Channel, s.Mean = c, top, float32(topMean)
		hm.Strongest = s
	}
	return hm
}

// VectorHeatmap is a vector's strip: its values in a row, box-downsized
// to at most HeatmapSize and scaled to [0,1], with its largest value as the strongest channel.
func VectorHeatmap(v []float32) *Heatmap {
	if len(v) == 0 {
		return nil
	}
	vals := make([]float64, len(v))
	for i, x := range v {
		vals[i] = float64(x)
	}
	hm := scaledMap(vals, 1, len(v))
	top := argmax(vals)
	hm.Channels = len(v)
	hm.Strongest = &Heatmap{W: 1, H: 1, Values: []float32{0}, Lo: v[top], Hi: v[top], Channels: len(v), Channel: top, Mean: v[top]}
	return hm
}

// argmax is the index of the first largest value (NaN never wins).
func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] || math.IsNaN(v[best]) {
			best = i
		}
	}
	return best
}

// scaledMap box-downsizes an h×w plane to at most HeatmapSize on a side
// and scales it to [0,1] over its own range, which it keeps.
func scaledMap(plane []float64, h, w int) *Heatmap {
	if h < 1 || w < 1 || len(plane) < h*w {
		return nil
	}
	scale := 1
	for (h+scale-1)/scale > HeatmapSize || (w+scale-1)/scale > HeatmapSize {
		scale++
	}
	hh, ww := (h+scale-1)/scale, (w+scale-1)/scale
	vals := make([]float64, hh*ww)
	cnt := make([]int, hh*ww)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			k := (y/scale)*ww + x/scale
			vals[k] += plane[y*w+x]
			cnt[k]++
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range vals {
		vals[i] /= float64(cnt[i])
		lo, hi = math.Min(lo, vals[i]), math.Max(hi, vals[i])
	}
	hm := &Heatmap{W: ww, H: hh, Values: make([]float32, len(vals)), Lo: float32(lo), Hi: float32(hi)}
	for i, v := range vals {
		if hi > lo {
			hm.Values[i] = float32((v - lo) / (hi - lo))
		}
	}
	return hm
}

// SetHeatmaps gives the row every image's heatmap, in batch order
// (Heatmap is the first's).
func (s *StageResult) SetHeatmaps(hs []*Heatmap) {
	s.Heatmaps = hs
	s.Heatmap = nil
	if len(hs) > 0 {
		s.Heatmap = hs[0]
	}
}

// HeatmapDiff says how got differs from want beyond tol, or "" when they
// agree: the same size and channel count, scaled values within tol, the
// raw range within tol of the range's magnitude, and the same strongest
// channel, or one whose mean is within tol of want's (a near tie two
// engines may break differently; their maps are then not compared).
// The engines' tests compare their heatmaps with the CPU's through it.
func HeatmapDiff(got, want *Heatmap, tol float64) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("heatmap %v, want %v", got != nil, want != nil)
		}
		return ""
	}
	if got.W != want.W || got.H != want.H || len(got.Values) != len(want.Values) || got.Channels != want.Channels {
		return fmt.Sprintf("%dx%d of %d channels, want %dx%d of %d", got.W, got.H, got.Channels, want.W, want.H, want.Channels)
	}
	mag := math.Max(1, math.Max(math.Abs(float64(want.Lo)), math.Abs(float64(want.Hi))))
	if math.Abs(float64(got.Lo-want.Lo)) > tol*mag || math.Abs(float64(got.Hi-want.Hi)) > tol*mag {
		return fmt.Sprintf("range %g…%g, want %g…%g", got.Lo, got.Hi, want.Lo, want.Hi)
	}
	if want.Hi-want.Lo > float32(tol*mag) { // a flat map's scaled values are noise
		for i, v := range want.Values {
			if d := math.Abs(float64(got.Values[i] - v)); d > tol {
				return fmt.Sprintf("value %d is %g, want %g", i, got.Values[i], v)
			}
		}
	}
	g, w := got.Strongest, want.Strongest
	if g == nil || w == nil {
		if (g == nil) != (w == nil) {
			return fmt.Sprintf("strongest channel %v, want %v", g != nil, w != nil)
		}
		return ""
	}
	if g.Channel != w.Channel {
		if math.Abs(float64(g.Mean-w.Mean)) > tol*math.Max(1, math.Abs(float64(w.Mean))) {
			return fmt.Sprintf("strongest channel %d (mean %g), want %d (mean %g)", g.Channel, g.Mean, w.Channel, w.Mean)
		}
		return ""
	}
	if math.Abs(float64(g.Mean-w.Mean)) > tol*math.Max(1, math.Abs(float64(w.Mean))) {
		return fmt.Sprintf("strongest channel %d: mean %g, want %g", g.Channel, g.Mean, w.Mean)
	}
	if d := HeatmapDiff(&Heatmap{W: g.W, H: g.H, Values: g.Values, Lo: g.Lo, Hi: g.Hi, Channels: g.Channels},
		&Heatmap{W: w.W, H: w.H, Values: w.Values, Lo: w.Lo, Hi: w.Hi, Channels: w.Channels}, tol); d != "" {
		return fmt.Sprintf("strongest channel %d: %s", w.Channel, d)
	}
	return ""
}
