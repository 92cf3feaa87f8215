// Package cpuchoice builds the engine a page runs on the CPU: Residual's
// wasm SIMD kernels (package wasmsimd) where they load, and the Go engine
// (package model/cpu), the reference, where they cannot: a browser
// without SIMD128, a kernel module that did not download, or weights the
// kernels do not take. The app and bench/peers' residual-cpu peer both
// build their CPU engine here, so the benchmark measures what a visitor
// without a GPU gets.
package cpuchoice

import (
	"context"
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/wasmsimd"
)

// Name is what the CPU engines call themselves on the page (the engine
// badge, Result.Engine): "cpu" for the Go engine, "cpu (wasm simd…)"
// for the kernels. IsCPU tells either from the GPU's names.
const Name = "cpu"

// IsCPU reports whether an engine name (Result.Engine) is one of the CPU
// engines built here.
func IsCPU(name string) bool {
	return name == Name || len(name) > len(Name)+1 && name[:len(Name)+1] == Name+" "
}

// Options say how to build the engine.
type Options struct {
	// Kernels returns the kernel module's bytes (web/kernels.wasm); nil
	// builds the Go engine.
	Kernels func(context.Context) ([]byte, error)
	// Go builds the Go engine even when the kernels would load (the
	// reference, e.g. ?cpu=go).
	Go bool
	// Workers is how many threads the kernels use (the page's and Web
	// Workers); 0: one a core, where the page is cross-origin isolated.
	Workers int
	// Yield, when not nil, is called between ops, at most every
	// YieldEvery, so that a page's only thread can repaint during a run.
	Yield      func()
	YieldEvery time.Duration
}

var _ model.LayerTimer = (*Engine)(nil)

// Engine is the CPU engine built, with what the page says about it.
type Engine struct {
	model.Engine
	// SIMD says the wasm SIMD kernels run (otherwise the Go engine).
	SIMD bool
	// Desc names the engine for people: "wasm SIMD, 2 workers", or
	// "Go (WebAssembly, no SIMD)".
	Desc string
	// Fallback says why the kernels are not in use when they were
	// wanted; empty otherwise.
	Fallback string
	name     string
}

// New builds the CPU engine for m. A failure to build the SIMD engine
// is not an error: the Go engine runs instead and Fallback says why.
func New(ctx context.Context, m *weights.Model, opt Options) (*Engine, error) {
	e := &Engine{}
	if !opt.Go && opt.Kernels != nil {
		s, err := simd(ctx, m, opt)
		if err == nil {
			e.Engine, e.SIMD, e.Desc, e.name = s, true, s.Mode(), Name+" (wasm simd)"
			return e, nil
		}
		e.Fallback = fmt.Sprintf("The wasm SIMD engine could not start (%v); the Go engine runs instead.", err)
	}
	g, err := cpu.New(m)
	if err != nil {
		return nil, err
	}
	if opt.Yield != nil {
		g.SetYield(opt.YieldEvery, opt.Yield)
	}
	e.Engine, e.Desc, e.name = g, "Go (WebAssembly, no SIMD)", Name
	if opt.Go {
		e.Desc = "Go (WebAssembly, no SIMD; chosen by hand)"
	}
	return e, nil
}

// simd builds the kernels' engine.
func simd(ctx context.Context, m *weights.Model, opt Options) (*wasmsimd.Engine, error) {
	if m.Meta.Scheme != weights.Int8 {
		return nil, fmt.Errorf("the kernels take int8 weights, this model's are %s", m.Meta.Scheme)
	}
	wasm, err := opt.Kernels(ctx)
	if err != nil {
		return nil, err
	}
	return wasmsimd.New(ctx, wasm, m, wasmsimd.Options{Workers: opt.Workers, Yield: opt.Yield, YieldEvery: opt.YieldEvery})
}

// Name is the engine's name on the page.
func (e *Engine) Name() string { return e.name }

// TimeLayer times one layer on the engine it wraps (model.LayerTimer),
// for the page's probe of the faster engine.
func (e *Engine) TimeLayer(ctx context.Context, name string, b, h, w int) (float64, error) {
	t, ok := e.Engine.(model.LayerTimer)
	if !ok {
		return 0, fmt.Errorf("%s cannot time a layer alone", e.name)
	}
	return t.TimeLayer(ctx, name, b, h, w)
}

// Run runs the engine it wraps and names the answer as the page does.
func (e *Engine) Run(ctx context.Context, x *model.Tensor, opt model.RunOptions) (*model.Result, error) {
	r, err := e.Engine.Run(ctx, x, opt)
	if r != nil {
		r.Engine = e.name
	}
	return r, err
}
