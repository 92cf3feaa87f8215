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
