//go:build !js

package wasmsimd

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// wazeroModule runs the kernel module natively (tests, benchmarks):
// wazero compiles its SIMD to the host's; instance 0 runs on the calling
// goroutine, the others each in a goroutine of their own, all over the
// shared memory a tiny "env" module exports.
type wazeroModule struct {
	rt           wazero.Runtime
	compiled     wazero.CompiledModule
	mem          api.Memory
	inst         []api.Module
	callDispatch func(context.Context, ...uint64) ([]uint64, error)
	hb           uint32
	ctl          uint32
	workers      sync.WaitGroup
	errs         chan error
}

// memoryModule is a module that only exports a shared memory of the
// limits the kernels import: (memory (export "memory") memPages
// memMaxPages shared).
func memoryModule() []byte {
	leb := func(v uint32) []byte {
		var b []byte
		for {
			c := byte(v & 0x7f)
			v >>= 7
			if v == 0 {
				return append(b, c)
			}
			b = append(b, c|0x80)
		}
	}
	limits := append(append([]byte{0x03}, leb(memPages)...), leb(memMaxPages)...) // 0x03: a maximum, shared
	mem := append([]byte{0x01}, limits...)
	exp := append([]byte{0x01, 6}, "memory"...)
	exp = append(exp, 0x02, 0x00)
	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	b = append(append(append(b, 0x05), leb(uint32(len(mem)))...), mem...)
	return append(append(append(b, 0x07), leb(uint32(len(exp)))...), exp...)
}

func instantiate(ctx context.Context, wasm []byte, _ string) (module, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2|api.CoreFeatureSIMD|experimental.CoreFeaturesThreads))
	env, err := rt.InstantiateWithConfig(ctx, memoryModule(), wazero.NewModuleConfig().WithName("env"))
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("shared memory: %w", err)
	}
	m := &wazeroModule{rt: rt, mem: env.Memory()}
	if m.compiled, err = rt.CompileModule(ctx, wasm); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("compile: %w", err)
	}
	i0, err := m.instance(ctx, 0, 0)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	m.callDispatch = i0.ExportedFunction("dispatch").Call
	m.hb = uint32(i0.ExportedGlobal("__heap_base").Get())
	return m, nil
}

// instance instantiates the module once more; stackTop, when not 0, is
// its own C stack.
func (m *wazeroModule) instance(ctx context.Context, i int, stackTop uint32) (api.Module, error) {
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, wazero.NewModuleConfig().WithName(fmt.Sprintf("kernels%d", i)))
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	for _, name := range []string{"dispatch", "worker", "stop", "relaxed"} {
		if mod.ExportedFunction(name) == nil {
			return nil, fmt.Errorf("the module has no function %s", name)
		}
	}
	hb, sp := mod.ExportedGlobal("__heap_base"), mod.ExportedGlobal("__stack_pointer")
	msp, ok := sp.(api.MutableGlobal)
	if hb == nil || !ok {
		return nil, fmt.Errorf("the module exports no __heap_base or mutable __stack_pointer")
	}
	if stackTop != 0 {
		msp.Set(uint64(stackTop))
	}
	m.inst = append(m.inst, mod)
	return mod, nil
}

func (m *wazeroModule) start(ctx context.Context, workers int, ctl uint32, stack func() (uint32, error)) (int, string, error) {
	m.ctl = ctl
	m.errs = make(chan error, workers)
	for i := 1; i < workers; i++ {
		top, err := stack()
		if err != nil {
			return 0, "", err
		}
		mod, err := m.instance(ctx, i, top)
		if err != nil {
			return 0, "", err
		}
		m.workers.Add(1)
		go func() {
			defer m.workers.Done()
			// Not ctx: the worker outlives Load's context, until close.
			for {
				_, err := mod.ExportedFunction("worker").Call(context.Background(), uint64(ctl), uint64(i))
				if err == nil {
					return
				}
				// A trap (a kernel's bug) left its part uncounted: report
				// it and count it, so that dispatch (which sleeps a
				// millisecond at a time) returns, then go on.
				select {
				case m.errs <- fmt.Errorf("worker %d: %w", i, err):
				default:
				}
				b, _ := m.mem.Read(ctl+4*ctlDone, 4)
				atomic.AddInt32((*int32)(unsafe.Pointer(&b[0])), 1)
			}
		}()
	}
	return workers, "", nil
}

func (m *wazeroModule) dispatch(ctx context.Context, ctl uint32) error {
	// Natively instance 0 may sleep, a millisecond at a time.
	if _, err := m.callDispatch(ctx, uint64(ctl), 1_000_000); err != nil {
		return err
	}
	select {
	case err := <-m.errs:
		return err
	default:
		return nil
	}
}

func (m *wazeroModule) callInt(ctx context.Context, name string) (int, error) {
	r, err := m.inst[0].ExportedFunction(name).Call(ctx)
	if err != nil {
		return 0, err
	}
	return int(int32(uint32(r[0]))), nil
}

// RelaxedSIMD says whether the relaxed-SIMD build of the kernel module
// (tools/build_kernels.sh OUT relaxed) can run here: natively never
// (wazero does not implement relaxed SIMD).
func RelaxedSIMD() bool { return false }

func (m *wazeroModule) heapBase() uint32 { return m.hb }
func (m *wazeroModule) size() uint64     { return uint64(m.mem.Size()) }
func (m *wazeroModule) grow(pages uint32) bool {
	_, ok := m.mem.Grow(pages)
	return ok
}
func (m *wazeroModule) read(p uint32, b []byte) {
	src, _ := m.mem.Read(p, uint32(len(b)))
	copy(b, src)
}
func (m *wazeroModule) write(p uint32, b []byte) { m.mem.Write(p, b) }

func (m *wazeroModule) close() {
	if len(m.inst) > 1 {
		m.inst[0].ExportedFunction("stop").Call(context.Background(), uint64(m.ctl))
		m.workers.Wait()
	}
	m.rt.Close(context.Background())
}

// DefaultWorkers is how many instances Options{Workers: 0} runs:
// natively one a core, at most maxWorkers.
func DefaultWorkers() int { return min(runtime.NumCPU(), maxWorkers) }
