package convert

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/safetensors"
	"github.com/residual-webgpu/residual/model/weights"
)

// maxSafetensorsBytes caps a safetensors file: the largest torchvision
// ResNet, wide_resnet101_2, is 0.5 GB of float32 (1 GB of float64).
const maxSafetensorsBytes = 1<<30 + 64<<20

// ReadSafetensors reads a safetensors file holding a torchvision-named state
// dict (as timm and Hugging Face export them). See ParseSafetensors.
func ReadSafetensors(path string) (*Checkpoint, error) {
	f, size, err := openRegular(nil, path)
	if err != nil {
		return nil, fmt.Errorf("read safetensors %s: %w", path, err)
	}
	defer f.Close()
	if size > maxSafetensorsBytes {
		return nil, fmt.Errorf("read %s: %d bytes, over the %d MB a ResNet state dict can need", path, size, maxSafetensorsBytes>>20)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("read safetensors %s: %w", path, err)
	}
	ck, err := ParseSafetensors(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	ck.Source = "safetensors state dict " + baseName(path)
	ck.Files = []string{path}
	return ck, nil
}

// ParseSafetensors reads a safetensors state dict from memory. F32, F16,
// BF16 and F64 tensors become float32; integer num_batches_tracked counters
// are skipped; any other dtype is an error. The prefixes wrappers put on
// every name ("module.", "_orig_mod.", see namePrefix) are stripped. A
// Residual weight file (already folded) and another network than a ResNet
// (see checkResNet) are refused.
func ParseSafetensors(data []byte) (*Checkpoint, error) {
	f, err := safetensors.Parse(data)
	if err != nil {
		return nil, err
	}
	if _, ok := f.Metadata["format_version"]; ok {
		return nil, fmt.Errorf("this is a Residual weight file (BatchNorm already folded), not a state dict to convert")
	}
	ck := &Checkpoint{Format: Safetensors, Tensors: StateDict{}, Preprocess: ptr(weights.TorchvisionPreprocess)}
	names := make([]string, len(f.Tensors))
	for i, t := range f.Tensors {
		names[i] = t.Name
	}
	prefix := namePrefix(names)
	shapes := make(map[string][]int, len(f.Tensors))
	for _, t := range f.Tensors {
		shapes[t.Name[len(prefix):]] = t.Shape
	}
	if err := checkResNet(shapes); err != nil {
		return nil, err
	}
	for _, t := range f.Tensors {
		name := t.Name[len(prefix):]
		vals, err := decodeFloats(t.DType, t.Data)
		if err != nil {
			if strings.HasSuffix(name, "num_batches_tracked") {
				ck.Skipped = append(ck.Skipped, name)
				continue
			}
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		ck.Tensors[name] = &model.Tensor{Shape: append([]int{}, t.Shape...), Data: vals}
	}
	if len(ck.Tensors) == 0 {
		return nil, fmt.Errorf("the file holds no float tensors")
	}
	return ck, nil
}

// decodeFloats converts little-endian tensor bytes of a float dtype to
// float32. safetensors.Parse has already checked the length against the shape.
func decodeFloats(dtype string, b []byte) ([]float32, error) {
	switch dtype {
	case safetensors.F32:
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case safetensors.F64:
		out := make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return out, nil
	case safetensors.F16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out, nil
	case safetensors.BF16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not a float type (want F32, F16, BF16 or F64)", dtype)
}

// halfToFloat converts an IEEE 754 binary16 value to float32, subnormals,
// infinities and NaNs included. Every float16 reader uses it (.pth
// storages too, decoded from their bytes: gopickle v0.3.0's own
// conversion gets subnormals wrong).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = mant × 2^-24.
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
