package shaders

import (
	"math"
	"sort"
)

// life is a tensor's size and the steps from its writer to its last reader.
type life struct {
	bytes    int
	def, end int // end -1: read after the last step (the logits)
}

func (l life) overlaps(o life) bool {
	end, oend := l.end, o.end
	if end < 0 {
		end = math.MaxInt
	}
	if oend < 0 {
		oend = math.MaxInt
	}
	return l.def <= oend && o.def <= end
}

// assign places every tensor in an arena buffer that no tensor alive at
// the same time uses (WebGPU forbids binding one buffer as both input and
// output of a dispatch, so tensors get whole buffers, not offsets). It
// tries a few greedy orders (largest first, or in time order) and choices
// (the tightest buffer that fits, or the largest) and keeps the smallest
// arena; it returns the buffer sizes and each tensor's buffer.
func assign(lives []life) (sizes, of []int) {
	best := -1
	for _, byTime := range []bool{false, true} {
		for _, tight := range []bool{true, false} {
			s, o := assignGreedy(lives, byTime, tight)
			total := 0
			for _, x := range s {
				total += x
			}
			if best < 0 || total < best {
				best, sizes, of = total, s, o
			}
		}
	}
	return sizes, of
}

// assignGreedy is one greedy assignment: tensors by decreasing size (or
// by start), each into a free buffer, preferring among those that fit the
// tightest (or the largest), else the one that grows least, else a new one.
func assignGreedy(lives []life, byTime, tight bool) (sizes, of []int) {
	order := make([]int, len(lives))
	for i := range order {
		order[i] = i
	}
	if !byTime {
		sort.SliceStable(order, func(a, b int) bool { return lives[order[a]].bytes > lives[order[b]].bytes })
	}
	of = make([]int, len(lives))
	var users [][]int // tensors in each buffer
	for _, t := range order {
		l := lives[t]
		best := -1
		for s := range sizes {
			free := true
			for _, u := range users[s] {
				if lives[u].overlaps(l) {
					free = false
					break
				}
			}
			if !free {
				continue
			}
			if best < 0 {
				best = s
				continue
			}
			b, size := sizes[best], sizes[s]
			switch {
			case size >= l.bytes && b < l.bytes: // the first that fits
				best = s
			case size >= l.bytes && b >= l.bytes && (size < b) == tight:
				best = s
			case size < l.bytes && b < l.bytes && size > b: // neither fits: grow the larger
				best = s
			}
		}
		if best < 0 {
			sizes = append(sizes, 0)
			users = append(users, nil)
			best = len(sizes) - 1
		}
		sizes[best] = max(sizes[best], l.bytes)
		users[best] = append(users[best], t)
		of[t] = best
	}
	return sizes, of
}
