package shaders

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/gogpu/gputypes"
	"github.com/gogpu/wgpu"
)

// storageUsage is what every engine buffer allows: binding as storage,
// upload into and copy out of.
const storageUsage = wgpu.BufferUsageStorage | wgpu.BufferUsageCopyDst | wgpu.BufferUsageCopySrc

// slack is added to every activation buffer so that kernels reading a whole
// vec4 of channels at a tensor's last element stay in bounds.
const slack = 16

// newBuffer creates a storage buffer of at least size bytes, rounded up to 16.
func (d *Device) newBuffer(label string, size uint64, usage gputypes.BufferUsage) (*wgpu.Buffer, error) {
	size = (size + 15) &^ 15
	if size == 0 {
		size = 16
	}
	if size > d.limits.MaxBufferSize {
		return nil, fmt.Errorf("buffer %s: %d bytes exceeds the device's %d", label, size, d.limits.MaxBufferSize)
	}
	b, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: label, Size: size, Usage: usage})
	if err != nil {
		return nil, fmt.Errorf("buffer %s (%d bytes): %w", label, size, err)
	}
	return b, nil
}

// f32Bytes encodes float32s little-endian.
func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// littleEndian is true on every platform Residual runs on (wasm, amd64,
// arm64), where a []uint32's memory already is its little-endian bytes.
var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// wordBytes is words as little-endian bytes: the same memory where the
// platform is little-endian (a 25 MB weight upload then needs no second
// copy in the Go heap, which in a browser never shrinks), else a copy.
func wordBytes(words []uint32) []byte {
	if !littleEndian || len(words) == 0 {
		return u32Bytes(words)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 4*len(words))
}

// u32Bytes encodes uint32s little-endian.
func u32Bytes(v []uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// write uploads data at offset; data is padded to a multiple of 4 bytes.
func (d *Device) write(b *wgpu.Buffer, offset uint64, data []byte) error {
	if len(data)%4 != 0 {
		data = append(data, make([]byte, 4-len(data)%4)...)
	}
	if err := d.queue.WriteBuffer(b, offset, data); err != nil {
		return fmt.Errorf("upload %s: %w", b.Label(), err)
	}
	return nil
}

// readback maps a MapRead buffer after the queue's work and decodes n float32s.
func readback(ctx context.Context, staging *wgpu.Buffer, n int) ([]float32, error) {
	size := uint64(4 * n)
	size = (size + 3) &^ 3
	if err := staging.Map(ctx, wgpu.MapModeRead, 0, size); err != nil {
		return nil, fmt.Errorf("readback: map: %w", err)
	}
	rng, err := staging.MappedRange(0, size)
	if err != nil {
		_ = staging.Unmap()
		return nil, fmt.Errorf("readback: mapped range: %w", err)
	}
	raw := rng.Bytes()
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if err := staging.Unmap(); err != nil {
		return nil, fmt.Errorf("readback: unmap: %w", err)
	}
	return out, nil
}

// copyOp is a buffer-to-buffer copy recorded between compute passes.
type copyOp struct {
	src, dst       *wgpu.Buffer
	srcOff, dstOff uint64
	size           uint64
}

// segment is one compute pass followed by copies.
type segment struct {
	ds     []dispatch
	copies []copyOp
}

// submit records the segments in one command encoder and submits it.
func (d *Device) submitSegments(segs []segment) error {
	enc, err := d.dev.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "residual"})
	if err != nil {
		return fmt.Errorf("submit: encoder: %w", err)
	}
	for _, sg := range segs {
		if len(sg.ds) > 0 {
			pass, err := enc.BeginComputePass(&wgpu.ComputePassDescriptor{Label: "residual"})
			if err != nil {
				enc.DiscardEncoding()
				return fmt.Errorf("submit: compute pass: %w", err)
			}
			for _, x := range sg.ds {
				pass.SetPipeline(x.k.pipe)
				pass.SetBindGroup(0, x.bg, nil)
				pass.Dispatch(x.x, x.y, x.z)
			}
			if err := pass.End(); err != nil {
				enc.DiscardEncoding()
				return fmt.Errorf("submit: end pass: %w", err)
			}
		}
		for _, c := range sg.copies {
			enc.CopyBufferToBuffer(c.src, c.srcOff, c.dst, c.dstOff, (c.size+3)&^3)
		}
	}
	cb, err := enc.Finish()
	if err != nil {
		return fmt.Errorf("submit: finish: %w", err)
	}
	if _, err := d.queue.Submit(cb); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	return nil
}

// submit records dispatches in one compute pass, then copies copyBytes of
// src into staging (when staging is not nil), and submits it all at once.
func (d *Device) submit(ds []dispatch, src, staging *wgpu.Buffer, copyBytes uint64) error {
	sg := segment{ds: ds}
	if staging != nil {
		sg.copies = []copyOp{{src: src, dst: staging, size: copyBytes}}
	}
	return d.submitSegments([]segment{sg})
}
