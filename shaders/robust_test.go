package shaders

import (
	"context"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// expectedErrorLabel marks GPU objects that tests make invalid on
// purpose; TestBrowser ignores the console warnings that name it.
const expectedErrorLabel = "expected-error"

// TestShaderErrorIsAnError compiles invalid WGSL: the error must come back
// from the call, naming the kernel (in the browser WebGPU reports it only
// asynchronously), must not be cached, and the device must keep working.
func TestShaderErrorIsAnError(t *testing.T) {
	d := device(t)
	for _, src := range []string{
		"fn main( {", // syntax
		"@compute @workgroup_size(1) fn main() { let x = nowhere; }", // semantics
		"@compute @workgroup_size(1) fn other() {}",                  // no entry point "main": the pipeline fails
	} {
		k, err := d.kernel(expectedErrorLabel, src, []bool{true})
		if err == nil {
			t.Fatalf("invalid WGSL %q compiled: %+v", src, k)
		}
		if !strings.Contains(err.Error(), expectedErrorLabel) {
			t.Errorf("error %q does not name the kernel", err)
		}
		t.Logf("%q: %v", src, err)
		if _, err := d.kernel(expectedErrorLabel, src, []bool{true}); err == nil {
			t.Fatal("an invalid pipeline was cached")
		}
	}
	x := randTensor(rand.New(rand.NewSource(1)), 1, 4, 3, 3)
	if _, err := d.MaxPool(context.Background(), x); err != nil {
		t.Fatalf("device unusable after a shader error: %v", err)
	}
}

// TestOversizedBufferIsAnError asks for more than the device allows.
func TestOversizedBufferIsAnError(t *testing.T) {
	d := device(t)
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v", r)
			}
		}()
		err = d.do("oversized", func() error {
			b, err := d.newBuffer(expectedErrorLabel, d.limits.MaxBufferSize+16, storageUsage)
			if err == nil {
				b.Release()
			}
			return err
		})
	}()
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("oversized buffer: got %v", err)
	}
}

// TestDoRecoversPanics checks that a panic inside wgpu (as its browser
// backend's error scopes do) comes back as an error.
func TestDoRecoversPanics(t *testing.T) {
	d := device(t)
	err := d.do("panicking call", func() error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "panicking call") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v", err)
	}
	if d.Lost() != nil {
		t.Fatalf("a panic marked the device lost: %v", d.Lost())
	}
}

// TestDeviceLossThenReopen loses a device under a working engine (the
// browser destroys the GPUDevice; natively wgpu's device is released):
// every call must then fail with ErrDeviceLost instead of panicking or
// returning garbage, closing must be safe, and Open + NewEngine must give
// a working engine with the same results.
func TestDeviceLossThenReopen(t *testing.T) {
	ctx := context.Background()
	m := randModel(t, tinyArchs[0], 11)
	x := randTensor(rand.New(rand.NewSource(12)), 1, 3, 16, 16)
	d, err := Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(d, m)
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.Run(ctx, x, model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.loseForTest()
	_, err = e.Run(ctx, x, model.RunOptions{})
	if !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("run on a lost device: got %v, want ErrDeviceLost", err)
	}
	t.Logf("run after loss: %v", err)
	if d.Lost() == nil {
		t.Fatal("Lost() is nil after the loss")
	}
	if err := e.Prepare(ctx, 2, 16, 16); !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("prepare on a lost device: got %v", err)
	}
	if _, err := d.AvgPool(ctx, model.NewTensor(1, 4, 2, 2)); !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("op on a lost device: got %v", err)
	}
	e.Close()
	d.Close()

	d2, err := Open(ctx)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer d2.Close()
	e2, err := NewEngine(d2, m)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	after, err := e2.Run(ctx, x, model.RunOptions{})
	if err != nil {
		t.Fatalf("run after reopening: %v", err)
	}
	for i, v := range before.Logits[0] {
		if after.Logits[0][i] != v {
			t.Fatalf("logit %d: %g before the loss, %g after reopening", i, v, after.Logits[0][i])
		}
	}
}

// TestFailedRunDropsNewPlan fails the first run of a size (its context is
// canceled before the readback): the plan built for it must be dropped,
// since in the browser a failure may mean invalid pipelines, and the next
// run must build a working one.
func TestFailedRunDropsNewPlan(t *testing.T) {
	d := device(t)
	e := newEngine(t, randModel(t, tinyArchs[0], 41))
	x := randTensor(rand.New(rand.NewSource(42)), 1, 3, 12, 12)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Run(ctx, x, model.RunOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("run with a canceled context: got %v", err)
	}
	if len(e.plans) != 0 {
		t.Fatalf("%d plans kept after the failed first run", len(e.plans))
	}
	if _, err := e.Run(context.Background(), x, model.RunOptions{}); err != nil {
		t.Fatalf("run after the failure: %v", err)
	}
	if len(e.plans) != 1 {
		t.Fatalf("%d plans after a good run, want 1", len(e.plans))
	}
	if d.Lost() != nil {
		t.Fatalf("a canceled run marked the device lost: %v", d.Lost())
	}
}
