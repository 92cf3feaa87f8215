//go:build js

package shaders

import (
	"context"
	"math/rand"
	"syscall/js"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// wantNamePrefix is how a browser device names itself.
const wantNamePrefix = "webgpu"

// TestBrowserDeviceFound checks that the engine reached the page's
// GPUDevice behind wgpu's wrapper: without it, WebGPU errors and device
// loss would go unnoticed (see jsObject).
func TestBrowserDeviceFound(t *testing.T) {
	d := device(t)
	if !d.web.ok {
		t.Fatal("the GPUDevice behind wgpu's Device was not found: has wgpu's browser backend changed?")
	}
}

// TestBrowserTimestamps checks that profiled runs in this browser use GPU
// timestamps (SwiftShader has timestamp-query): one submission with a
// time for every stage that runs.
func TestBrowserTimestamps(t *testing.T) {
	d := device(t)
	e := newEngine(t, randModel(t, tinyArchs[0], 31))
	x := randTensor(rand.New(rand.NewSource(32)), 1, 3, 32, 32)
	if _, err := e.Run(context.Background(), x, model.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	p := e.plans[[3]int{1, 32, 32}]
	var segs []segment
	for _, s := range p.slots {
		var sg segment
		for _, st := range s.steps {
			sg.ds = append(sg.ds, dispatch{k: st.k, bg: st.bg, x: st.x, y: st.y, z: 1})
		}
		segs = append(segs, sg)
	}
	var ms []float64
	var ok bool
	if err := d.do("timestamps", func() (err error) {
		ms, ok, err = d.submitTimed(context.Background(), segs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("no timestamp queries: profiling falls back to a submission per stage")
	}
	var total float64
	for i, v := range ms {
		if v < 0 || (len(segs[i].ds) == 0 && v != 0) {
			t.Fatalf("stage %d: %g ms", i, v)
		}
		total += v
	}
	if total <= 0 {
		t.Fatalf("timestamps say the network took %g ms", total)
	}
	t.Logf("stage times from timestamps: %v", ms)
}

// TestPageForbidsEval checks that TestBrowser's page really forbids
// building JS from strings, so every browser test also proves the engine
// works under a strict CSP.
func TestPageForbidsEval(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("new Function worked: the test page's CSP does not forbid eval")
		}
	}()
	js.Global().Get("Function").New("return 1")
}
