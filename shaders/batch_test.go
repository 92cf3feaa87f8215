package shaders

import (
	"context"
	"math/rand"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
)

// TestRunSplitsLargeBatches: a batch over the device's budget runs in
// equal sub-batches through one plan (the last padded) and answers as the
// CPU engine does for the whole batch, from tensors and from bytes.
func TestRunSplitsLargeBatches(t *testing.T) {
	m := randModel(t, tinyArchs[1], 41)
	e := newEngine(t, m)
	const b, h, w = 5, 36, 28
	one, err := e.maxBatch(h, w)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Net.Program(1, h, w)
	if err != nil {
		t.Fatal(err)
	}
	saved := activationBudget
	// Room for two images: 5 run as 2, 2 and 1 padded to 2.
	_, lives := newLayout(p).lives(p, 1)
	sizes, _ := assign(lives)
	arena := 0
	for _, s := range sizes {
		arena += s - slack
	}
	activationBudget = 2*arena + arena/2
	defer func() { activationBudget = saved }()
	if n, err := e.maxBatch(h, w); err != nil || n != 2 || one < 5 {
		t.Fatalf("max batch %d (%v), %d without the budget", n, err, one)
	}
	x := randTensor(rand.New(rand.NewSource(42)), b, 3, h, w)
	ce, err := cpu.New(m)
	if err != nil {
		t.Fatal(err)
	}
	opt := model.RunOptions{TopK: 3, Inspect: true, Profile: true, CAM: true}
	want, err := ce.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, "split", got, want, opt)
	checkCAMs(t, "split", got, want) // the padded image's maps are dropped
	if len(e.plans) != 1 || e.plans[[3]int{2, h, w}] == nil {
		t.Errorf("plans %v, want one of batch 2", keys(e.plans))
	}
	if err := e.Prepare(context.Background(), b, h, w); err != nil || len(e.plans) != 1 {
		t.Errorf("prepare for %d: %v, %d plans", b, err, len(e.plans))
	}
}

func keys[K comparable, V any](m map[K]V) []K {
	var ks []K
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
