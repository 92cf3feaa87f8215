//go:build !js

package wasmsimd

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// wazeroModule runs the kernel module natively (tests, benchmarks):
// wazero compiles its SIMD to the host's.
type wazeroModule struct {
	rt  wazero.Runtime
	mod api.Module
	fns map[string]api.Function
	hb  uint32
}

func instantiate(ctx context.Context, wasm []byte) (module, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2|api.CoreFeatureSIMD))
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	m := &wazeroModule{rt: rt, mod: mod, fns: map[string]api.Function{}}
	for _, name := range exports {
		if m.fns[name] = mod.ExportedFunction(name); m.fns[name] == nil {
			rt.Close(ctx)
			return nil, fmt.Errorf("the module has no function %s", name)
		}
	}
	hb := mod.ExportedGlobal("__heap_base")
	if mod.Memory() == nil || hb == nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("the module exports no memory or __heap_base")
	}
	m.hb = uint32(hb.Get())
	return m, nil
}

func (m *wazeroModule) call(ctx context.Context, name string, args ...any) (any, error) {
	f := m.fns[name]
	in := make([]uint64, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int:
			in[i] = uint64(uint32(int32(v)))
		case float32:
			in[i] = api.EncodeF32(v)
		default:
			return nil, fmt.Errorf("%s: argument %d is a %T", name, i, a)
		}
	}
	out, err := f.Call(ctx, in...)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	if r := f.Definition().ResultTypes(); r[0] == api.ValueTypeF32 {
		return api.DecodeF32(out[0]), nil
	}
	return int(int32(uint32(out[0]))), nil
}

func (m *wazeroModule) heapBase() uint32 { return m.hb }
func (m *wazeroModule) size() uint64     { return uint64(m.mod.Memory().Size()) }
func (m *wazeroModule) grow(pages uint32) bool {
	_, ok := m.mod.Memory().Grow(pages)
	return ok
}
func (m *wazeroModule) read(p uint32, n int) []byte {
	b, _ := m.mod.Memory().Read(p, uint32(n))
	return append([]byte(nil), b...)
}
func (m *wazeroModule) write(p uint32, b []byte) { m.mod.Memory().Write(p, b) }
func (m *wazeroModule) close()                   { m.rt.Close(context.Background()) }
