package shaders

import (
	"math/rand"
	"testing"
)

// TestAssignKeepsLiveTensorsApart checks the arena assignment on random
// lifetimes: tensors alive at the same step never share a buffer, every
// buffer holds its tensors, and the arena is no smaller than the peak of
// live bytes (a bound no assignment can beat) nor wildly above it.
func TestAssignKeepsLiveTensorsApart(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.Intn(40)
		lives := make([]life, n)
		for i := range lives {
			def := 1 + r.Intn(30)
			end := def + r.Intn(6)
			if r.Intn(10) == 0 {
				end = -1
			}
			lives[i] = life{bytes: 16 * (1 + r.Intn(100)), def: def, end: end}
		}
		sizes, of := assign(lives)
		total := 0
		for _, s := range sizes {
			total += s
		}
		for i, a := range lives {
			if sizes[of[i]] < a.bytes {
				t.Fatalf("trial %d: tensor %d (%d bytes) in a buffer of %d", trial, i, a.bytes, sizes[of[i]])
			}
			for j := i + 1; j < n; j++ {
				if of[i] == of[j] && a.overlaps(lives[j]) {
					t.Fatalf("trial %d: tensors %d %+v and %d %+v share buffer %d", trial, i, a, j, lives[j], of[i])
				}
			}
		}
		peak := 0
		for s := 0; s <= 40; s++ {
			live := 0
			for _, l := range lives {
				if l.overlaps(life{def: s, end: s}) {
					live += l.bytes
				}
			}
			peak = max(peak, live)
		}
		if total < peak || total > 3*peak {
			t.Fatalf("trial %d: arena %d bytes for a peak of %d live", trial, total, peak)
		}
	}
}
