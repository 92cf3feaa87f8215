package shaders

import (
	"fmt"

	"github.com/gogpu/gputypes"
	"github.com/gogpu/wgpu"
)

// kernel is one compiled compute pipeline with its explicit bind group
// layout: binding i is a storage buffer, read-only unless written[i], and
// with uniform, binding uniformBinding is a uniform buffer (a conv's
// shape: one pipeline serves every conv of the same kind).
type kernel struct {
	label   string
	module  *wgpu.ShaderModule
	bgl     *wgpu.BindGroupLayout
	layout  *wgpu.PipelineLayout
	pipe    *wgpu.ComputePipeline
	written []bool
	uniform bool
}

// uniformBinding is where kernels with a uniform take it: past every
// storage binding a kernel may have.
const uniformBinding = 8

// release frees the pipeline's objects; releasing twice is harmless.
func (k *kernel) release() {
	if k.pipe != nil {
		k.pipe.Release()
	}
	if k.layout != nil {
		k.layout.Release()
	}
	if k.bgl != nil {
		k.bgl.Release()
	}
	if k.module != nil {
		k.module.Release()
	}
	k.pipe, k.layout, k.bgl, k.module = nil, nil, nil, nil
}

// kernel compiles (or fetches from the device's cache) the pipeline for
// the entry point "main" of a generated WGSL source.
func (d *Device) kernel(label, src string, written []bool) (*kernel, error) {
	return d.kernelEntry(label, src, "main", written)
}

// kernelEntry is kernel for a named entry point.
func (d *Device) kernelEntry(label, src, entry string, written []bool) (*kernel, error) {
	return d.kernelFull(label, src, entry, written, false)
}

// kernelFull is kernelEntry for a kernel that may also take a uniform.
func (d *Device) kernelFull(label, src, entry string, written []bool, uniform bool) (*kernel, error) {
	key := fmt.Sprint(entry, "\x00", written, uniform, "\x00", src)
	d.mu.Lock()
	k, ok := d.pipelines[key]
	d.mu.Unlock()
	if ok {
		return k, nil
	}
	k = &kernel{label: label, written: append([]bool(nil), written...), uniform: uniform}
	// In the browser a bad shader or pipeline is reported asynchronously:
	// the error scopes of the outermost do turn it into an error, and
	// settlePipelines drops what was cached under them.
	err := d.do("kernel "+label, func() error {
		if err := d.compile(k, src, entry); err != nil {
			return err
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if old, ok := d.pipelines[key]; ok { // made meanwhile by another goroutine
			k.release()
			k = old
			return nil
		}
		d.pipelines[key] = k
		d.pending = append(d.pending, key)
		return nil
	})
	if err != nil {
		k.release()
		return nil, err
	}
	return k, nil
}

// compile creates k's shader module, layouts and pipeline.
func (d *Device) compile(k *kernel, src, entry string) error {
	var err error
	k.module, err = d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{Label: k.label, WGSL: src})
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	entries := make([]gputypes.BindGroupLayoutEntry, len(k.written))
	for i, w := range k.written {
		t := gputypes.BufferBindingTypeReadOnlyStorage
		if w {
			t = gputypes.BufferBindingTypeStorage
		}
		entries[i] = gputypes.BindGroupLayoutEntry{Binding: uint32(i), Visibility: wgpu.ShaderStageCompute,
			Buffer: &gputypes.BufferBindingLayout{Type: t}}
	}
	if k.uniform {
		entries = append(entries, gputypes.BindGroupLayoutEntry{Binding: uniformBinding, Visibility: wgpu.ShaderStageCompute,
			Buffer: &gputypes.BufferBindingLayout{Type: gputypes.BufferBindingTypeUniform}})
	}
	if k.bgl, err = d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: k.label, Entries: entries}); err != nil {
		return fmt.Errorf("bind group layout: %w", err)
	}
	if k.layout, err = d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: k.label, BindGroupLayouts: []*wgpu.BindGroupLayout{k.bgl}}); err != nil {
		return fmt.Errorf("pipeline layout: %w", err)
	}
	// Our kernels never read workgroup memory before writing it, so the
	// zero fill (costly on CPU drivers) is skipped where the backend allows.
	zero := false
	if k.pipe, err = d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{Label: k.label, Layout: k.layout,
		Module: k.module, EntryPoint: entry, ZeroInitializeWorkgroupMemory: &zero}); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// span is a byte range of a buffer bound to one binding.
type span struct {
	buf    *wgpu.Buffer
	offset uint64
	size   uint64
}

// whole binds all of b.
func whole(b *wgpu.Buffer) span { return span{buf: b, size: b.Size()} }

// bind creates the bind group for one dispatch of k: one span per storage
// binding, then the uniform's when k has one.
func (d *Device) bind(k *kernel, spans ...span) (*wgpu.BindGroup, error) {
	want := len(k.written)
	if k.uniform {
		want++
	}
	if len(spans) != want {
		return nil, fmt.Errorf("kernel %s: %d buffers for %d bindings", k.label, len(spans), want)
	}
	entries := make([]wgpu.BindGroupEntry, len(spans))
	for i, s := range spans {
		if s.buf == nil {
			return nil, fmt.Errorf("kernel %s: binding %d has no buffer", k.label, i)
		}
		b := uint32(i)
		if i == len(k.written) {
			b = uniformBinding
		}
		entries[i] = wgpu.BindGroupEntry{Binding: b, Buffer: s.buf, Offset: s.offset, Size: s.size}
	}
	bg, err := d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: k.label, Layout: k.bgl, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("kernel %s: bind group: %w", k.label, err)
	}
	return bg, nil
}

// dispatch is one recorded kernel launch.
type dispatch struct {
	k       *kernel
	bg      *wgpu.BindGroup
	x, y, z uint32
}
