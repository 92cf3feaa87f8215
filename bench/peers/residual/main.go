//go:build js && wasm

// Command residual is the Go side of the Residual peer of bench/peers: a
// small wasm program (GOOS=js GOARCH=wasm) that exposes Residual's engines
// to web/residual.html as
//
//	globalThis.residualBench = {
//	  load({engine: "webgpu"|"cpu"|"go", model: URL, kernels: URL, threads: N (0: a core each)}) → Promise<{engine, mode, arch, scheme, bytes, precompileMs}>,
//	  run(Float32Array [1,3,224,224] NCHW, preprocessed) → Promise<{top5: [{index, label, prob}]}>,
//	  profile(the same) → Promise<{top5, stages: [{name, ms, macs}]}>, a run timed stage by stage,
//	}
//
// and then calls globalThis.residualBenchReady(residualBench) if the page
// set it. It uses the same packages as the app (model/weights, shaders,
// and internal/cpuchoice, which builds the app's CPU engine: the wasm
// SIMD kernels from the kernels URL, or with "go" the Go engine) without
// the UI, so the numbers are the engines'. See
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
	"time"

	"github.com/residual-webgpu/residual/internal/cpuchoice"
	"github.com/residual-webgpu/residual/internal/webio"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/safetensors"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

// bench holds the loaded model and engine; runs are serialized.
type bench struct {
	mu  sync.Mutex
	m   *weights.Model
	eng model.Engine
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
	for _, f := range []struct {
		name    string
		profile bool
	}{{"run", false}, {"profile", true}} {
		obj.Set(f.name, js.FuncOf(func(_ js.Value, args []js.Value) any {
			if len(args) < 1 {
				return promise(func() (any, error) { return nil, errors.New(f.name + ": want a Float32Array") })
			}
			// Copy now, on the JS callback: the page may reuse the array.
			t, err := tensorFrom(args[0])
			return promise(func() (any, error) {
				if err != nil {
					return nil, err
				}
				return b.run(t, f.profile)
			})
		}))
	}
	js.Global().Set("residualBench", obj)
	if ready := js.Global().Get("residualBenchReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(obj)
	}
	select {} // keep the Go program (and its callbacks) alive
}

// load downloads and decodes the weight file and builds the chosen
// engine. For the GPU it does what the app does: as soon as the file's
// header is in, it opens the device and compiles the pipelines for one
// 224×224 image while the rest downloads (so that part of the load
// overlaps the download; on loopback there is little to overlap). Weights
// are packed and uploaded in the first (cold) run, as the peers upload
// or compile theirs lazily; load reports how long the compile took.
func (b *bench) load(opts js.Value) (any, error) {
	engineName, url, kernelsURL, threads := "webgpu", "", "", 0
	if opts.Type() == js.TypeObject {
		if v := opts.Get("engine"); v.Type() == js.TypeString {
			engineName = v.String()
		}
		if v := opts.Get("model"); v.Type() == js.TypeString {
			url = v.String()
		}
		if v := opts.Get("kernels"); v.Type() == js.TypeString {
			kernelsURL = v.String()
		}
		if v := opts.Get("threads"); v.Type() == js.TypeNumber {
			threads = v.Int()
		}
	}
	if url == "" {
		return nil, errors.New("load: options.model (the weight file URL) is required")
	}
	gpu := engineName == "webgpu" || engineName == "gpu"
	if !gpu && engineName != "cpu" && engineName != "go" {
		return nil, fmt.Errorf("load: unknown engine %q (want webgpu, cpu or go)", engineName)
	}
	type opened struct {
		d   *shaders.Device
		ms  float64
		err error
	}
	devc := make(chan opened, 1)
	started := false
	each := func(data []byte, _ int64) {
		if !gpu || started {
			return
		}
		head, err := weights.DecodeHeader(url, data)
		if errors.Is(err, safetensors.ErrShortPrefix) {
			return
		}
		started = true
		go func() {
			t0 := time.Now()
			d, err := shaders.Open(context.Background())
			if err == nil && head != nil { // a bad header: Decode below says why
				err = d.Precompile(context.Background(), head, 1, 224, 224)
			}
			devc <- opened{d, float64(time.Since(t0).Microseconds()) / 1e3, err}
		}()
	}
	resp, err := webio.Fetch(url)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	data, err := webio.ReadBody(url, resp, 1<<30, each)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	m, err := weights.Decode(url, data)
	var dev opened
	if started {
		dev = <-devc
	}
	if err == nil {
		err = dev.err
	}
	if err != nil {
		if dev.d != nil {
			dev.d.Close()
		}
		return nil, fmt.Errorf("load %s: %w", url, err)
	}
	var eng model.Engine
	mode := ""
	if gpu {
		eng, err = shaders.OpenEngine(context.Background(), dev.d, m)
	} else {
		opt := cpuchoice.Options{Go: engineName == "go", Workers: threads}
		if kernelsURL != "" {
			opt.Kernels = func(context.Context) ([]byte, error) { return webio.Get(kernelsURL, 1<<20) }
		}
		var ce *cpuchoice.Engine
		if ce, err = cpuchoice.New(context.Background(), m, opt); err == nil && engineName == "cpu" && !ce.SIMD {
			// The peer measures the app's no-GPU engine: a silent Go
			// fallback would measure the wrong one.
			err = errors.New(ce.Fallback)
		}
		if err == nil {
			eng, mode = ce, ce.Desc
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	b.mu.Lock()
	b.m, b.eng = m, eng
	b.mu.Unlock()
	return map[string]any{
		"engine":       eng.Name(),
		"mode":         mode,
		"arch":         m.Meta.Arch.Name + " " + string(m.Meta.Arch.Variant),
		"scheme":       string(m.Meta.Scheme),
		"bytes":        len(data),
		"precompileMs": dev.ms,
	}, nil
}

// run classifies x and returns its top-5, and with profile the time of
// every stage: [{name, ms, macs}].
func (b *bench) run(x *model.Tensor, profile bool) (any, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eng == nil {
		return nil, errors.New("run: call load first")
	}
	res, err := b.eng.Run(context.Background(), x, model.RunOptions{TopK: 5, Profile: profile})
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
	out := map[string]any{"top5": top, "engine": res.Engine}
	if profile {
		stages := []any{}
		for _, s := range res.Stages {
			if s.MACs > 0 || s.Ms > 0 {
				stages = append(stages, map[string]any{"name": s.Name, "ms": s.Ms, "macs": float64(s.MACs)})
			}
		}
		out["stages"] = stages
	}
	return out, nil
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
