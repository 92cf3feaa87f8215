//go:build js

package wasmsimd

import (
	"context"
	"fmt"
	"syscall/js"
	"time"

	"github.com/residual-webgpu/residual/internal/webio"
)

// jsModule runs the kernel module in the browser: the page's
// WebAssembly compiles it (with SIMD128) over a shared
// WebAssembly.Memory; instance 0 runs on the calling (page's) thread,
// the others in Web Workers running WorkerJS. Go calls dispatch through
// syscall/js and copies bytes in and out of the memory.
type jsModule struct {
	module     js.Value // the compiled WebAssembly.Module, for the workers
	mem        js.Value // the shared WebAssembly.Memory
	exports    js.Value
	dispatchFn js.Value
	hb         uint32
	url        string // WorkerJS's, or "" for a Blob
	blob       string // the Blob URL made for WorkerJS, to revoke
	workers    []js.Value
	funcs      []js.Func
	err        error // a worker's report of a trap
}

func instantiate(ctx context.Context, wasm []byte, workerURL string) (module, error) {
	buf := js.Global().Get("Uint8Array").New(len(wasm))
	js.CopyBytesToJS(buf, wasm)
	var mem js.Value
	if err := catch(func() {
		mem = js.Global().Get("WebAssembly").Get("Memory").New(map[string]any{"initial": memPages, "maximum": memMaxPages, "shared": true})
	}); err != nil {
		return nil, fmt.Errorf("shared memory: %w", err)
	}
	imports := map[string]any{"env": map[string]any{"memory": mem}}
	r, err := webio.Await(js.Global().Get("WebAssembly").Call("instantiate", buf, imports))
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	ex := r.Get("instance").Get("exports")
	m := &jsModule{module: r.Get("module"), mem: mem, exports: ex, dispatchFn: ex.Get("dispatch"), url: workerURL}
	if m.dispatchFn.Type() != js.TypeFunction || ex.Get("worker").Type() != js.TypeFunction {
		return nil, fmt.Errorf("the module has no function dispatch or worker")
	}
	hb := ex.Get("__heap_base")
	if !hb.Truthy() || !ex.Get("__stack_pointer").Truthy() {
		return nil, fmt.Errorf("the module exports no __heap_base or __stack_pointer")
	}
	m.hb = uint32(hb.Get("value").Int())
	return m, nil
}

// catch runs f, turning a thrown JS error into an error.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// DefaultWorkers is how many instances Options{Workers: 0} asks for: one
// a core the browser reports (navigator.hardwareConcurrency), at most
// maxWorkers.
func DefaultWorkers() int {
	n := js.Global().Get("navigator").Get("hardwareConcurrency")
	if n.Type() != js.TypeNumber || n.Int() < 1 {
		return 1
	}
	return min(n.Int(), maxWorkers)
}

func (m *jsModule) start(ctx context.Context, workers int, ctl uint32, stack func() (uint32, error)) (int, string, error) {
	if workers == 1 {
		return 1, "", nil
	}
	// Without cross-origin isolation the memory cannot be posted to a
	// worker (SharedArrayBuffer is withheld).
	if !js.Global().Get("crossOriginIsolated").Truthy() {
		return 1, "no SharedArrayBuffer", nil
	}
	if js.Global().Get("Worker").Type() != js.TypeFunction {
		return 1, "no Web Workers", nil
	}
	url := m.url
	if url == "" {
		blob := js.Global().Get("Blob").New([]any{WorkerJS}, map[string]any{"type": "text/javascript"})
		m.blob = js.Global().Get("URL").Call("createObjectURL", blob).String()
		url = m.blob
	}
	for i := 1; i < workers; i++ {
		top, err := stack()
		if err != nil {
			return 0, "", err
		}
		if err := m.startWorker(ctx, url, ctl, i, top); err != nil {
			m.stopWorkers()
			return 1, fmt.Sprintf("workers failed: %v", err), nil
		}
	}
	return workers, "", nil
}

// startWorker starts the Web Worker of instance part and waits until it
// is ready.
func (m *jsModule) startWorker(ctx context.Context, url string, ctl uint32, part int, stackTop uint32) error {
	var w js.Value
	if err := catch(func() { w = js.Global().Get("Worker").New(url) }); err != nil {
		return err
	}
	m.workers = append(m.workers, w)
	ready := make(chan error, 1)
	send := func(err error) {
		select {
		case ready <- err:
		default:
		}
	}
	onMessage := js.FuncOf(func(_ js.Value, a []js.Value) any {
		d := a[0].Get("data")
		switch {
		case d.Get("ready").Truthy():
			send(nil)
		case d.Get("error").Truthy():
			err := fmt.Errorf("%s", d.Get("error").String())
			send(err)
			if m.err == nil {
				m.err = err
			}
		}
		return nil
	})
	onError := js.FuncOf(func(_ js.Value, a []js.Value) any {
		msg := a[0].Get("message")
		if msg.Type() != js.TypeString {
			msg = js.ValueOf("failed to load " + url)
		}
		send(fmt.Errorf("%s", msg.String()))
		return nil
	})
	m.funcs = append(m.funcs, onMessage, onError)
	w.Set("onmessage", onMessage)
	w.Set("onerror", onError)
	w.Call("postMessage", map[string]any{"module": m.module, "memory": m.mem, "ctl": ctl, "part": part, "stack": stackTop})
	select {
	case err := <-ready:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return fmt.Errorf("worker %d did not start in 30 s", part)
	}
}

func (m *jsModule) stopWorkers() {
	for _, w := range m.workers {
		w.Call("terminate")
	}
	m.workers = nil
	for _, f := range m.funcs {
		f.Release()
	}
	m.funcs = nil
	if m.blob != "" {
		js.Global().Get("URL").Call("revokeObjectURL", m.blob)
		m.blob = ""
	}
}

func (m *jsModule) dispatch(ctx context.Context, ctl uint32) error {
	if err := catch(func() { m.dispatchFn.Invoke(ctl, 0) }); err != nil { // 0: the page's thread spins, never sleeps
		return err
	}
	return m.err
}

func (m *jsModule) callInt(ctx context.Context, name string) (n int, err error) {
	f := m.exports.Get(name)
	if f.Type() != js.TypeFunction {
		return 0, fmt.Errorf("the module has no function %s", name)
	}
	err = catch(func() { n = f.Invoke().Int() })
	return n, err
}

// relaxedProbe is a module whose one function returns
// i32x4.relaxed_dot_i8x16_i7x16_add_s (0xfd 0x113) of three zero
// vectors: it validates only where relaxed SIMD does.
func relaxedProbe() []byte {
	b := []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
		0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
		0x03, 0x02, 0x01, 0x00, // one function of it
		0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
	}
	for range 3 {
		b = append(append(b, 0xfd, 0x0c), make([]byte, 16)...) // v128.const 0
	}
	return append(b, 0xfd, 0x93, 0x02, 0x0b) // the relaxed dot, end
}

// RelaxedSIMD says whether this browser validates relaxed SIMD's
// i32x4.relaxed_dot_i8x16_i7x16_add_s, that is whether the relaxed build
// of the kernel module (tools/build_kernels.sh OUT relaxed; the
// Makefile's web/kernels-relaxed.wasm) can run here.
func RelaxedSIMD() bool {
	probe := relaxedProbe()
	b := js.Global().Get("Uint8Array").New(len(probe))
	js.CopyBytesToJS(b, probe)
	var ok bool
	if catch(func() { ok = js.Global().Get("WebAssembly").Call("validate", b).Bool() }) != nil {
		return false
	}
	return ok
}

func (m *jsModule) heapBase() uint32 { return m.hb }
func (m *jsModule) size() uint64     { return uint64(m.mem.Get("buffer").Get("byteLength").Int()) }
func (m *jsModule) grow(pages uint32) bool {
	return catch(func() { m.mem.Call("grow", pages) }) == nil
}

// view is a Uint8Array over n bytes at p (made anew: growing the memory
// replaces its buffer).
func (m *jsModule) view(p uint32, n int) js.Value {
	return js.Global().Get("Uint8Array").New(m.mem.Get("buffer"), p, n)
}
func (m *jsModule) read(p uint32, b []byte)  { js.CopyBytesToGo(b, m.view(p, len(b))) }
func (m *jsModule) write(p uint32, b []byte) { js.CopyBytesToJS(m.view(p, len(b)), b) }
func (m *jsModule) close()                   { m.stopWorkers() }
