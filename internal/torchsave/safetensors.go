package torchsave

import (
	"encoding/binary"
	"io"
	"math"

	"github.com/residual-webgpu/residual/model/safetensors"
)

// WriteSafetensors writes tensors as a safetensors state dict (F32, no
// metadata), as Hugging Face and timm export torchvision models.
func WriteSafetensors(w io.Writer, tensors []Tensor) error {
	infos := make([]safetensors.TensorInfo, len(tensors))
	for i, t := range tensors {
		b := make([]byte, 4*len(t.Data))
		for j, v := range t.Data {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
		}
		infos[i] = safetensors.TensorInfo{Name: t.Name, DType: "F32", Shape: t.Shape, Data: b}
	}
	return safetensors.Write(w, nil, infos)
}
