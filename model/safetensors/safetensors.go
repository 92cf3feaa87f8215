// Package safetensors reads and writes the safetensors container
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping tensor names to dtype, shape and
// byte range (plus an optional "__metadata__" string map), then the raw
// little-endian tensor data. Parse is as strict as the reference
// implementation (no holes, overlaps or trailing bytes) and never panics on
// malformed input, so it can read files from untrusted sources.
package safetensors

import (
	"fmt"
	"math"
	"math/bits"
)

// MaxHeaderSize bounds the JSON header Parse accepts and Write produces.
// Real headers are a few hundred KiB at most; the bound keeps a hostile
// length field from driving huge allocations.
const MaxHeaderSize = 16 << 20

// MetadataKey is the header entry that holds the free-form string metadata.
const MetadataKey = "__metadata__"

// The standard dtypes, as spelled in the header.
const (
	BOOL = "BOOL"
	U8   = "U8"
	I8   = "I8"
	I16  = "I16"
	U16  = "U16"
	F16  = "F16"
	BF16 = "BF16"
	I32  = "I32"
	U32  = "U32"
	F32  = "F32"
	F64  = "F64"
	I64  = "I64"
	U64  = "U64"
)

// dtypes lists the supported dtypes in the order of the reference
// implementation's Dtype enum; Write lays tensors out by descending rank so
// that wider types come first and every tensor stays aligned to its size.
var dtypes = []struct {
	name string
	size int
}{
	{BOOL, 1}, {U8, 1}, {I8, 1}, {I16, 2}, {U16, 2}, {F16, 2}, {BF16, 2},
	{I32, 4}, {U32, 4}, {F32, 4}, {F64, 8}, {I64, 8}, {U64, 8},
}

// dtypeRank returns the position of dtype in the reference enum order and
// its size in bytes; ok is false for an unknown dtype.
func dtypeRank(dtype string) (rank, size int, ok bool) {
	for i, d := range dtypes {
		if d.name == dtype {
			return i, d.size, true
		}
	}
	return 0, 0, false
}

// DTypeSize returns the size in bytes of one element of dtype, and false
// when dtype is not one of the standard dtypes.
func DTypeSize(dtype string) (int, bool) {
	_, size, ok := dtypeRank(dtype)
	return size, ok
}

// TensorInfo is one tensor of a file: its name, dtype, shape and raw
// little-endian bytes. Data returned by Parse aliases the parsed buffer;
// ParseHeader leaves it nil. Offset and Len place the bytes in the file.
type TensorInfo struct {
	Name   string
	DType  string
	Shape  []int
	Data   []byte
	Offset int // from the start of the file
	Len    int
}

// File is a parsed safetensors file. Tensors are in data-section order.
type File struct {
	Metadata map[string]string
	Tensors  []TensorInfo
}

// Tensor returns the tensor with the given name, or nil.
func (f *File) Tensor(name string) *TensorInfo {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

// ByteLen returns the number of data bytes a tensor of the given dtype and
// shape occupies. It fails for an unknown dtype, a negative dimension, or a
// size that does not fit in an int.
func ByteLen(dtype string, shape []int) (int, error) {
	size, ok := DTypeSize(dtype)
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", dtype)
	}
	n := uint64(size)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			// An empty tensor: later dimensions cannot overflow a zero.
			n = 0
		}
	}
	if n == 0 {
		return 0, nil
	}
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n = lo
	}
	return int(n), nil
}
