package model

import (
	"math"
	"sort"
)

// Softmax returns the probabilities of one row of logits, computed stably
// in float64.
func Softmax(logits []float32) []float32 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var sum float64
	p := make([]float64, len(logits))
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - m)
		sum += p[i]
	}
	out := make([]float32, len(logits))
	for i := range p {
		out[i] = float32(p[i] / sum)
	}
	return out
}

// TopK returns the k most probable classes of one row of logits, best first,
// labelled from labels where it has an entry.
func TopK(logits []float32, labels []string, k int) []Prediction {
	probs := Softmax(logits)
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if k > len(idx) {
		k = len(idx)
	}
	out := make([]Prediction, k)
	for i := range out {
		j := idx[i]
		out[i] = Prediction{Index: j, Prob: probs[j]}
		if j < len(labels) {
			out[i].Label = labels[j]
		}
	}
	return out
}

// TensorHeatmap summarises the first image of an activation for the
// inspector: an NCHW map as its spatial mean, a vector ([B,C,1,1] or
// [B,N]) as a strip of its values. Every engine shows its stage outputs
// through it.
func TensorHeatmap(shape []int, data []float32) *Heatmap {
	if len(shape) == 0 || shape[0] < 1 {
		return nil
	}
	if len(shape) == 4 && (shape[2] > 1 || shape[3] > 1) {
		return MakeHeatmap(data, shape[1], shape[2], shape[3])
	}
	return MakeHeatmap(data, 1, 1, len(data)/shape[0])
}

// MakeHeatmap summarises the first image of an NCHW activation (or any
// [B,C,H,W] buffer): the mean over channels, box-downsized to at most
// HeatmapSize on a side, scaled to [0,1].
func MakeHeatmap(data []float32, c, h, w int) *Heatmap {
	if c < 1 || h < 1 || w < 1 || len(data) < c*h*w {
		return nil
	}
	mean := make([]float64, h*w)
	for ch := 0; ch < c; ch++ {
		plane := data[ch*h*w : (ch+1)*h*w]
		for i, v := range plane {
			mean[i] += float64(v)
		}
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
			vals[k] += mean[y*w+x]
			cnt[k]++
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range vals {
		vals[i] /= float64(cnt[i] * c)
		lo, hi = math.Min(lo, vals[i]), math.Max(hi, vals[i])
	}
	hm := &Heatmap{W: ww, H: hh, Values: make([]float32, len(vals))}
	for i, v := range vals {
		if hi > lo {
			hm.Values[i] = float32((v - lo) / (hi - lo))
		}
	}
	return hm
}
