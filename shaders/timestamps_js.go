//go:build js

package shaders

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/gogpu/gputypes"
	"github.com/residual-webgpu/residual/internal/webio"
)

// requiredFeatures asks for timestamp queries where the adapter has them:
// profiled runs then time every stage inside one submission.
func requiredFeatures(a gputypes.Features) gputypes.Features {
	return a & gputypes.Features(gputypes.FeatureTimestampQuery)
}

// WebGPU buffer usage bits (GPUBufferUsage).
const (
	jsMapRead      = 0x0001
	jsCopySrc      = 0x0004
	jsCopyDst      = 0x0008
	jsQueryResolve = 0x0200
)

// spans turns a resolved timestamp buffer (begin, end pairs of uint64
// nanoseconds) into milliseconds. It reads the words as uint32 halves:
// exact, and no JS built from strings (a page's CSP may forbid eval).
func spans(buf js.Value, n int) []float64 {
	w := js.Global().Get("Uint32Array").New(buf)
	at := func(i int) uint64 {
		return uint64(uint32(w.Index(2*i).Int())) | uint64(uint32(w.Index(2*i+1).Int()))<<32
	}
	out := make([]float64, n)
	for i := range out {
		if b, e := at(2*i), at(2*i+1); e >= b {
			out[i] = float64(e-b) / 1e6
		}
	}
	return out
}

// submitTimed records segs as submitSegments does, but through the page's
// WebGPU directly (wgpu's browser backend has no query sets), with
// timestamps written at the start and end of every compute pass, and
// returns each segment's GPU time in milliseconds (0 for segments without
// dispatches). ok is false, with no error and nothing submitted, when the
// device has no timestamp queries or the JS objects cannot be reached.
func (d *Device) submitTimed(ctx context.Context, segs []segment) (ms []float64, ok bool, err error) {
	if !d.web.ok || !d.web.dev.Get("features").Call("has", "timestamp-query").Bool() {
		return nil, false, nil
	}
	type jsDispatch struct {
		pipe, bg js.Value
		x, y, z  uint32
	}
	type jsCopy struct {
		src, dst       js.Value
		srcOff, dstOff uint64
		size           uint64
	}
	// Resolve every object first: a wrapper we cannot see into means the
	// caller's fallback, not a half-recorded encoder.
	passes := make([][]jsDispatch, len(segs))
	copies := make([][]jsCopy, len(segs))
	for i, sg := range segs {
		for _, x := range sg.ds {
			pipe, ok1 := jsObject(x.k.pipe)
			bg, ok2 := jsObject(x.bg)
			if !ok1 || !ok2 {
				return nil, false, nil
			}
			passes[i] = append(passes[i], jsDispatch{pipe, bg, x.x, x.y, x.z})
		}
		for _, c := range sg.copies {
			src, ok1 := jsObject(c.src)
			dst, ok2 := jsObject(c.dst)
			if !ok1 || !ok2 {
				return nil, false, nil
			}
			copies[i] = append(copies[i], jsCopy{src, dst, c.srcOff, c.dstOff, (c.size + 3) &^ 3})
		}
	}
	n := len(segs)
	dev := d.web.dev
	object := func(kv ...any) js.Value {
		o := js.Global().Get("Object").New()
		for i := 0; i+1 < len(kv); i += 2 {
			o.Set(kv[i].(string), kv[i+1])
		}
		return o
	}
	qs := dev.Call("createQuerySet", object("type", "timestamp", "count", 2*n))
	defer qs.Call("destroy")
	resolve := dev.Call("createBuffer", object("size", 16*n, "usage", jsQueryResolve|jsCopySrc))
	defer resolve.Call("destroy")
	read := dev.Call("createBuffer", object("size", 16*n, "usage", jsMapRead|jsCopyDst))
	defer read.Call("destroy")

	enc := dev.Call("createCommandEncoder", object("label", "residual profile"))
	for i := range segs {
		if len(passes[i]) > 0 {
			pass := enc.Call("beginComputePass", object("label", "residual",
				"timestampWrites", object("querySet", qs, "beginningOfPassWriteIndex", 2*i, "endOfPassWriteIndex", 2*i+1)))
			for _, x := range passes[i] {
				pass.Call("setPipeline", x.pipe)
				pass.Call("setBindGroup", 0, x.bg)
				pass.Call("dispatchWorkgroups", x.x, x.y, x.z)
			}
			pass.Call("end")
		}
		for _, c := range copies[i] {
			enc.Call("copyBufferToBuffer", c.src, float64(c.srcOff), c.dst, float64(c.dstOff), float64(c.size))
		}
	}
	// Unused query pairs (segments without dispatches) resolve to zeros.
	enc.Call("resolveQuerySet", qs, 0, 2*n, resolve, 0)
	enc.Call("copyBufferToBuffer", resolve, 0, read, 0, 16*n)
	dev.Get("queue").Call("submit", js.Global().Get("Array").New(enc.Call("finish")))

	if _, err := webio.Await(read.Call("mapAsync", jsMapRead)); err != nil {
		return nil, true, fmt.Errorf("profile: map timestamps: %w", err)
	}
	ms = spans(read.Call("getMappedRange"), n)
	for i := range ms {
		if len(passes[i]) == 0 {
			ms[i] = 0
		}
	}
	read.Call("unmap")
	if err := ctx.Err(); err != nil {
		return nil, true, fmt.Errorf("profile: %w", err)
	}
	return ms, true, nil
}
