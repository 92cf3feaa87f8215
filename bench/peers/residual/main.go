//go:build js && wasm

// Command residual is the Go side of the Residual peer of bench/peers: a
// small wasm program (GOOS=js GOARCH=wasm) that exposes Residual's engines
// to web/residual.html as
//
//	globalThis.residualBench = {
//	  load({engine: "webgpu"|"cpu", model: URL}) → Promise<{engine, arch, scheme, bytes}>,
//	  run(Float32Array [1,3,224,224] NCHW, preprocessed) → Promise<{top5: [{index, label, prob}]}>,
//	}
//
// and then calls globalThis.residualBenchReady(residualBench) if the page
// set it. It uses the same packages as the app (model/weights,
// shaders, model/cpu) without the UI, so the numbers are the engines'. See
// bench/peers/README.md for the contract; nothing in the app imports this.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"syscall/js"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

// engine is what both of Residual's engines offer the bench.
type engine interface {
	run(x *model.Tensor) (*model.Result, error)
	name() string
}

type gpuEngine struct{ e *shaders.Engine }

func (g gpuEngine) run(x *model.Tensor) (*model.Result, error) {
	return g.e.Run(context.Background(), x, shaders.Options{TopK: 5})
}
func (g gpuEngine) name() string { return g.e.Name() }

type cpuEngine struct{ e *cpu.Engine }

func (c cpuEngine) run(x *model.Tensor) (*model.Result, error) {
	return c.e.Run(x, cpu.Options{TopK: 5})
}
func (c cpuEngine) name() string { return cpu.EngineName }

// bench holds the loaded model and engine; runs are serialized.
type bench struct {
	mu  sync.Mutex
	m   *weights.Model
	eng engine
}

func main() {
	b := &bench{}
	obj := js.Global().Get("Object").New()
	obj.Set("load", js.FuncOf(func(_ js.Value, args []js.Value) any {
		var opts js.Value
		if len(args) > 0 {
			opts = args[0]
		}
		return promise(func() (any, error) { return b.load(opts) })
	}))
	obj.Set("run", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) < 1 {
			return promise(func() (any, error) { return nil, errors.New("run: want a Float32Array") })
		}
		x := args[0]
		// Copy now, on the JS callback: the page may reuse the array.
		t, err := tensorFrom(x)
		return promise(func() (any, error) {
			if err != nil {
				return nil, err
			}
			return b.run(t)
		})
	}))
	js.Global().Set("residualBench", obj)
	if ready := js.Global().Get("residualBenchReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(obj)
	}
	select {} // keep the Go program (and its callbacks) alive
}

// load fetches and decodes the weight file and builds the chosen engine.
// For the GPU it opens the device but compiles nothing and uploads no
// weights: like the peers' lazily compiled kernels, that is part of the
// first (cold) run.
func (b *bench) load(opts js.Value) (any, error) {
	engineName, url := "webgpu", ""
	if opts.Type() == js.TypeObject {
		if v := opts.Get("engine"); v.Type() == js.TypeString {
			engineName = v.String()
		}
		if v := opts.Get("model"); v.Type() == js.TypeString {
			url = v.String()
		}
	}
	if url == "" {
		return nil, errors.New("load: options.model (the weight file URL) is required")
	}
	data, err := fetchBytes(url)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", url, err)
	}
	m, err := weights.Decode(url, data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", url, err)
	}
	var eng engine
	switch engineName {
	case "webgpu", "gpu":
		d, err := shaders.Open(context.Background())
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		e, err := shaders.NewEngine(d, m)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		eng = gpuEngine{e}
	case "cpu":
		e, err := cpu.New(m)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		eng = cpuEngine{e}
	default:
		return nil, fmt.Errorf("load: unknown engine %q (want webgpu or cpu)", engineName)
	}
	b.mu.Lock()
	b.m, b.eng = m, eng
	b.mu.Unlock()
	return map[string]any{
		"engine": eng.name(),
		"arch":   m.Meta.Arch.Name + " " + string(m.Meta.Arch.Variant),
		"scheme": string(m.Meta.Scheme),
		"bytes":  len(data),
	}, nil
}

// run classifies x and returns its top-5.
func (b *bench) run(x *model.Tensor) (any, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eng == nil {
		return nil, errors.New("run: call load first")
	}
	res, err := b.eng.run(x)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if len(res.Top) == 0 {
		return nil, errors.New("run: engine returned no predictions")
	}
	top := []any{}
	for _, p := range res.Top[0] {
		top = append(top, map[string]any{"index": p.Index, "label": p.Label, "prob": float64(p.Prob)})
	}
	return map[string]any{"top5": top, "engine": res.Engine}, nil
}

// tensorFrom copies a [1,3,224,224] Float32Array into a tensor.
func tensorFrom(x js.Value) (*model.Tensor, error) {
	if x.Type() != js.TypeObject || !x.InstanceOf(js.Global().Get("Float32Array")) {
		return nil, errors.New("run: want a Float32Array")
	}
	const n = 3 * 224 * 224
	if l := x.Get("length").Int(); l != n {
		return nil, fmt.Errorf("run: input has %d values, want %d ([1,3,224,224])", l, n)
	}
	raw := make([]byte, 4*n)
	u8 := js.Global().Get("Uint8Array").New(x.Get("buffer"), x.Get("byteOffset"), 4*n)
	js.CopyBytesToGo(raw, u8)
	t := model.NewTensor(1, 3, 224, 224)
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return t, nil
}

// fetchBytes GETs url with the page's fetch.
func fetchBytes(url string) ([]byte, error) {
	resp, err := await(js.Global().Call("fetch", url))
	if err != nil {
		return nil, err
	}
	if !resp.Get("ok").Bool() {
		return nil, fmt.Errorf("HTTP %d", resp.Get("status").Int())
	}
	buf, err := await(resp.Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	u8 := js.Global().Get("Uint8Array").New(buf)
	data := make([]byte, u8.Get("length").Int())
	js.CopyBytesToGo(data, u8)
	return data, nil
}

// await blocks the calling goroutine (never a JS callback) until p settles.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- result{v: a[0]}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- result{err: errors.New(js.Global().Get("String").Invoke(a[0]).String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}

// promise runs f on its own goroutine (the engines block on WebGPU
// promises, which would deadlock a JS callback) and settles a JS promise
// with its result.
func promise(f func() (any, error)) js.Value {
	exec := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := f()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	defer exec.Release() // the executor runs synchronously inside Promise's constructor
	return js.Global().Get("Promise").New(exec)
}
