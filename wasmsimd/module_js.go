//go:build js

package wasmsimd

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/residual-webgpu/residual/internal/webio"
)

// jsModule runs the kernel module in the browser: the page's
// WebAssembly compiles it (with SIMD128), Go calls its exports through
// syscall/js and copies bytes in and out of its memory.
type jsModule struct {
	exports js.Value
	mem     js.Value // the WebAssembly.Memory
	fns     map[string]js.Value
	hb      uint32
}

func instantiate(ctx context.Context, wasm []byte) (module, error) {
	buf := js.Global().Get("Uint8Array").New(len(wasm))
	js.CopyBytesToJS(buf, wasm)
	r, err := webio.Await(js.Global().Get("WebAssembly").Call("instantiate", buf, js.ValueOf(map[string]any{})))
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	ex := r.Get("instance").Get("exports")
	m := &jsModule{exports: ex, mem: ex.Get("memory"), fns: map[string]js.Value{}}
	for _, name := range exports {
		if m.fns[name] = ex.Get(name); m.fns[name].Type() != js.TypeFunction {
			return nil, fmt.Errorf("the module has no function %s", name)
		}
	}
	hb := ex.Get("__heap_base")
	if !m.mem.Truthy() || !hb.Truthy() {
		return nil, fmt.Errorf("the module exports no memory or __heap_base")
	}
	m.hb = uint32(hb.Get("value").Int())
	return m, nil
}

func (m *jsModule) call(ctx context.Context, name string, args ...any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil { // a trap is a thrown js.Error
			err = fmt.Errorf("%s: %v", name, r)
		}
	}()
	in := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int:
			in[i] = v
		case float32:
			in[i] = float64(v)
		default:
			return nil, fmt.Errorf("%s: argument %d is a %T", name, i, a)
		}
	}
	r := m.fns[name].Invoke(in...)
	switch {
	case r.Type() != js.TypeNumber:
		return nil, nil
	case name == "absmax":
		return float32(r.Float()), nil
	}
	return r.Int(), nil
}

func (m *jsModule) heapBase() uint32 { return m.hb }
func (m *jsModule) size() uint64     { return uint64(m.mem.Get("buffer").Get("byteLength").Int()) }
func (m *jsModule) grow(pages uint32) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m.mem.Call("grow", pages)
	return true
}

// view is a Uint8Array over n bytes at p (made anew: growing the memory
// replaces its buffer).
func (m *jsModule) view(p uint32, n int) js.Value {
	return js.Global().Get("Uint8Array").New(m.mem.Get("buffer"), p, n)
}
func (m *jsModule) read(p uint32, n int) []byte {
	b := make([]byte, n)
	js.CopyBytesToGo(b, m.view(p, n))
	return b
}
func (m *jsModule) write(p uint32, b []byte) { js.CopyBytesToJS(m.view(p, len(b)), b) }
func (m *jsModule) close()                   {}
