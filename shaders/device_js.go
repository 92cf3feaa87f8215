//go:build js

package shaders

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/gogpu/gputypes"
	"github.com/gogpu/wgpu"
	"github.com/residual-webgpu/residual/internal/webio"
)

// instanceDescriptor is ignored by the browser backend (it has one).
func instanceDescriptor() *wgpu.InstanceDescriptor { return nil }

// checkBackend accepts the browser's adapter: WebGPU is the only path there.
func checkBackend(gputypes.AdapterInfo) error { return nil }

// requiredLimits raises only the limits the engine benefits from to what
// the adapter offers; the browser backend sends only non-zero fields, and
// leaving the rest at the defaults keeps the request valid everywhere.
func requiredLimits(a gputypes.Limits) gputypes.Limits {
	return gputypes.Limits{
		MaxStorageBufferBindingSize:       a.MaxStorageBufferBindingSize,
		MaxBufferSize:                     a.MaxBufferSize,
		MaxComputeWorkgroupStorageSize:    a.MaxComputeWorkgroupStorageSize,
		MaxComputeInvocationsPerWorkgroup: a.MaxComputeInvocationsPerWorkgroup,
		MaxComputeWorkgroupSizeX:          a.MaxComputeWorkgroupSizeX,
		MaxStorageBuffersPerShaderStage:   a.MaxStorageBuffersPerShaderStage,
	}
}

// Name describes the device for people: "webgpu: " and the adapter's
// vendor and architecture as the browser reports them (wgpu's browser
// backend has only a fixed name), e.g. "webgpu: google swiftshader".
func (d *Device) Name() string {
	if d.web.vendor != "" || d.web.arch != "" {
		return strings.TrimSpace("webgpu: " + d.web.vendor + " " + d.web.arch)
	}
	return "webgpu: browser"
}

// webDevice is the page's GPUDevice behind wgpu's Device. wgpu v0.34.5's
// browser backend has no device-lost callback and its error scopes panic
// ("not yet implemented"), so the engine talks to the GPUDevice itself
// for those two things.
type webDevice struct {
	dev    js.Value // the GPUDevice; undefined when it could not be found
	ok     bool
	vendor string // GPUAdapterInfo's, e.g. "google" and "swiftshader"
	arch   string
	relay  js.Value // an EventTarget that fires "lost"; onLost listens until Close
	info   js.Value // the GPUDeviceLostInfo, stored by the lost promise before "lost" fires
	onLost js.Func
}

// jsObject returns the JavaScript object behind one of wgpu's browser
// wrappers (*wgpu.Device, *wgpu.Buffer, ...). wgpu v0.34.5 (pinned in
// go.mod) keeps it in the unexported field `browser`, whose type has an
// exported Ref() js.Value; reading that field needs reflect and unsafe.
// It returns false, never panics, when the layout is not that, so a wgpu
// upgrade degrades error reporting instead of breaking the engine (and
// TestBrowserDeviceFound fails, saying so).
func jsObject(v any) (obj js.Value, ok bool) {
	defer func() {
		if recover() != nil {
			obj, ok = js.Undefined(), false
		}
	}()
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return js.Undefined(), false
	}
	f := rv.Elem().FieldByName("browser")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return js.Undefined(), false
	}
	f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	m := f.MethodByName("Ref")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		return js.Undefined(), false
	}
	r, ok := m.Call(nil)[0].Interface().(js.Value)
	if !ok || r.Type() != js.TypeObject {
		return js.Undefined(), false
	}
	return r, true
}

// watch finds the GPUDevice and records its loss when the browser
// reports it (the `lost` promise settles). The promise calls Go through a
// JS relay that Close disconnects: a device destroyed as the program
// exits must not call into a Go program that is gone. The relay is built
// from bound built-ins (Reflect.set, EventTarget.dispatchEvent), not from
// a string of JS, so a CSP without 'unsafe-eval' allows it.
func (d *Device) watch() {
	dev, ok := jsObject(d.dev)
	if !ok || dev.Get("lost").Type() != js.TypeObject {
		return
	}
	g := js.Global()
	d.web = webDevice{dev: dev, ok: true, relay: g.Get("EventTarget").New(), info: g.Get("Object").New()}
	d.class = classGPU
	if ai := dev.Get("adapterInfo"); ai.Type() == js.TypeObject {
		d.web.vendor, d.web.arch = ai.Get("vendor").String(), ai.Get("architecture").String()
		if strings.Contains(strings.ToLower(d.web.arch), "swiftshader") {
			d.class = classSwiftShader
		}
		// Shuffled conv tiles need subgroups of exactly the workgroup's 4.
		d.sub4 = dev.Get("features").Call("has", "subgroups").Bool() &&
			ai.Get("subgroupMinSize").Truthy() && ai.Get("subgroupMinSize").Int() == 4 && ai.Get("subgroupMaxSize").Int() == 4
	}
	d.web.onLost = js.FuncOf(func(js.Value, []js.Value) any {
		reason, msg := "unknown", ""
		if info := d.web.info.Get("info"); info.Type() == js.TypeObject {
			reason, msg = info.Get("reason").String(), info.Get("message").String()
		}
		d.markLost(fmt.Errorf("browser reports reason %q: %s", reason, msg))
		return nil
	})
	d.web.relay.Call("addEventListener", "lost", d.web.onLost)
	store := g.Get("Reflect").Get("set").Call("bind", js.Null(), d.web.info, "info")
	fire := d.web.relay.Get("dispatchEvent").Call("bind", d.web.relay, g.Get("Event").New("lost"))
	dev.Get("lost").Call("then", store).Call("then", fire)
}

// askExtraFeatures makes the next GPUAdapter.requestDevice ask for the
// "subgroups" feature too, where the adapter has it: wgpu v0.34.5's
// browser backend has no name for that feature. The wrapper is installed
// on GPUAdapter.prototype only for the duration of Open's request; undo
// puts the browser's method back.
func askExtraFeatures() (undo func()) {
	g := js.Global()
	cls := g.Get("GPUAdapter")
	if cls.Type() != js.TypeFunction {
		return func() {}
	}
	proto := cls.Get("prototype")
	orig := proto.Get("requestDevice")
	wrap := js.FuncOf(func(this js.Value, args []js.Value) any {
		desc := g.Get("Object").New()
		if len(args) > 0 && args[0].Type() == js.TypeObject {
			desc = g.Get("Object").Call("assign", desc, args[0])
		}
		if f := this.Get("features"); f.Type() == js.TypeObject && f.Call("has", "subgroups").Bool() {
			req := g.Get("Array").New()
			if rf := desc.Get("requiredFeatures"); rf.Type() == js.TypeObject {
				req = g.Get("Array").Call("from", rf)
			}
			req.Call("push", "subgroups")
			desc.Set("requiredFeatures", req)
		}
		return orig.Call("call", this, desc)
	})
	proto.Set("requestDevice", wrap)
	return func() {
		proto.Set("requestDevice", orig)
		wrap.Release()
	}
}

// unwatch disconnects the lost relay, before Close destroys the device.
func (d *Device) unwatch() {
	if d.web.ok {
		d.web.relay.Call("removeEventListener", "lost", d.web.onLost)
		d.web.onLost.Release()
	}
}

// errorFilters are the WebGPU error kinds scoped runs catch.
var errorFilters = []string{"validation", "out-of-memory", "internal"}

// scoped runs f inside WebGPU error scopes and returns the first error any
// of them caught, with ErrOutOfMemory for out-of-memory ones. It blocks
// on the scopes' promises: like every GPU call here, it must run on a
// goroutine of its own, never in a JS callback.
func (d *Device) scoped(f func() error) (err error) {
	if !d.web.ok {
		return f()
	}
	for _, filter := range errorFilters {
		d.web.dev.Call("pushErrorScope", filter)
	}
	defer func() {
		// Pop in reverse order even when f failed or panicked, so the
		// device's scope stack stays balanced.
		var first error
		for i := len(errorFilters) - 1; i >= 0; i-- {
			v, perr := webio.Await(d.web.dev.Call("popErrorScope"))
			switch {
			case perr != nil:
				perr = fmt.Errorf("pop %s error scope: %w", errorFilters[i], perr)
			case v.Type() == js.TypeObject:
				perr = fmt.Errorf("webgpu %s error: %s", errorFilters[i], v.Get("message").String())
				if errorFilters[i] == "out-of-memory" {
					perr = fmt.Errorf("%w: %w", ErrOutOfMemory, perr)
				}
			}
			if first == nil {
				first = perr
			}
		}
		if first != nil {
			if err != nil {
				err = fmt.Errorf("%w; %w", err, first)
			} else {
				err = first
			}
		}
	}()
	return f()
}

// lostGrace is how long a failed call waits for the browser to say that
// the device is lost: the `lost` promise and a rejected mapAsync settle in
// no fixed order.
const lostGrace = 200 * time.Millisecond

// settleLost reports whether the device is lost, giving the browser a
// moment to settle the `lost` promise when it has not yet.
func (d *Device) settleLost() error {
	if err := d.Lost(); err != nil || !d.web.ok {
		return err
	}
	select {
	case <-d.lostCh:
	case <-time.After(lostGrace):
	}
	return d.Lost()
}

// loseForTest destroys the GPUDevice underneath wgpu, which the browser
// reports as a loss, as it would a GPU process crash.
func (d *Device) loseForTest() {
	if d.web.ok {
		d.web.dev.Call("destroy")
		return
	}
	d.dev.Release()
	d.markLost(errors.New("simulated"))
}
