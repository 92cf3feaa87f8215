package golden

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/residual-webgpu/residual/model"
)

// Sidecar describes one small torch.save file of testdata/pth (the .json
// beside each .pth, written by tools/golden/gen.py): what a .pth reader must
// find in it.
type Sidecar struct {
	File   string `json:"file"`   // the .pth file's base name
	What   string `json:"what"`   // for people
	Format string `json:"format"` // "zip" (torch ≥ 1.6 default) or "legacy"
	Torch  string `json:"torch"`
	// Generated files hold a network's state dict with golden.Fill's values
	// (and int64 num_batches_tracked = 0); Arch, BNEps and Seed say which.
	Generated bool        `json:"generated"`
	Arch      *model.Arch `json:"arch,omitempty"`
	BNEps     float64     `json:"bn_eps,omitempty"`
	Seed      uint64      `json:"seed"`
	// StateDictKey is set when the file is a checkpoint dict holding the
	// state dict under this key (with Epoch beside it).
	StateDictKey string          `json:"state_dict_key,omitempty"`
	Epoch        int             `json:"epoch,omitempty"`
	Tensors      []SidecarTensor `json:"tensors"`
}

// SidecarTensor is one tensor as torch saw it. Values are in logical
// row-major order whatever the strides; sums are float64 over them.
type SidecarTensor struct {
	Name          string  `json:"name"`
	DType         string  `json:"dtype"` // torch's: float32, float16, bfloat16, float64, int64, int32, uint8, bool
	Shape         []int   `json:"shape"`
	Stride        []int   `json:"stride"`
	StorageOffset int     `json:"storage_offset"`
	StorageNumel  int     `json:"storage_numel"` // elements in the whole (possibly shared) storage
	Sum           float64 `json:"sum"`
	AbsSum        float64 `json:"abs_sum"`
	// WeightedSum is the sum of v[i]·(i mod 17 + 1): it catches a reader
	// that gets every value right but in the wrong places.
	WeightedSum float64   `json:"weighted_sum"`
	Values      []float64 `json:"values,omitempty"` // all values, for tensors of at most 64
	Head        []float64 `json:"head,omitempty"`   // the first 4 values of larger ones
}

// LoadSidecar reads a testdata/pth/*.json sidecar.
func LoadSidecar(path string) (*Sidecar, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load sidecar: %w", err)
	}
	var s Sidecar
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("load sidecar %s: %w", path, err)
	}
	if s.File == "" || len(s.Tensors) == 0 {
		return nil, fmt.Errorf("load sidecar %s: no file or no tensors", path)
	}
	if s.Generated {
		if s.Arch == nil {
			return nil, fmt.Errorf("load sidecar %s: generated file without arch", path)
		}
		if err := s.Arch.Validate(); err != nil {
			return nil, fmt.Errorf("load sidecar %s: %w", path, err)
		}
	}
	return &s, nil
}

// Checksums computes the sidecar's sums for values in logical row-major
// order, so a reader test can compare what it decoded.
func Checksums(v []float64) (sum, abs, weighted float64) {
	for i, x := range v {
		sum += x
		if x < 0 {
			abs -= x
		} else {
			abs += x
		}
		weighted += x * float64(i%17+1)
	}
	return
}
