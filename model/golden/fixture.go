package golden

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/residual-webgpu/residual/model"
)

// Fixture is what torchvision computed for one generated network and input
// (one testdata/golden/<name>_<size>.json file written by tools/golden/gen.py).
type Fixture struct {
	Name        string     `json:"fixture"` // e.g. "resnet50_v1", "tiny_basic"
	Arch        model.Arch `json:"arch"`
	BNEps       float64    `json:"bn_eps"` // BatchNorm epsilon of every BN (1e-5, or 1e-3 for v1)
	Seed        uint64     `json:"seed"`   // generator seed of weights and input
	InputShape  []int      `json:"input_shape"`
	Params      int64      `json:"params"` // torch: sum(p.numel() for p in model.parameters())
	Torch       string     `json:"torch"`
	Torchvision string     `json:"torchvision"`
	// Tensors lists torchvision's state dict (num_batches_tracked excluded)
	// in its order, with the Digest of the values gen.py loaded.
	Tensors []TensorDigest `json:"tensors"`
	// Stages follow model.Net.Stages: input, conv1, bn1+relu, maxpool,
	// layer1…4 (with their blocks), avgpool, flatten, fc.
	Stages []StageSum `json:"stages"`
	// Logits is the network's output, [B][classes].
	Logits [][]float32 `json:"-"`
}

// TensorDigest is one state-dict tensor's name, shape and Digest.
type TensorDigest struct {
	Name   string
	Shape  []int
	Digest uint64
}

// UnmarshalJSON reads gen.py's compact [name, shape, "hex digest"].
func (t *TensorDigest) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return fmt.Errorf("tensor digest: want [name, shape, digest], got %d elements", len(raw))
	}
	var hex string
	if err := json.Unmarshal(raw[0], &t.Name); err != nil {
		return fmt.Errorf("tensor digest name: %w", err)
	}
	if err := json.Unmarshal(raw[1], &t.Shape); err != nil {
		return fmt.Errorf("tensor digest %s shape: %w", t.Name, err)
	}
	if err := json.Unmarshal(raw[2], &hex); err != nil {
		return fmt.Errorf("tensor digest %s: %w", t.Name, err)
	}
	d, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return fmt.Errorf("tensor digest %s: %w", t.Name, err)
	}
	t.Digest = d
	return nil
}

// StageSum is one stage's output as torchvision computed it: shape, sum and
// sum of absolute values (in float64).
type StageSum struct {
	Name   string     `json:"name"`
	Shape  []int      `json:"shape"`
	Sum    float64    `json:"sum"`
	AbsSum float64    `json:"abs_sum"`
	Blocks []StageSum `json:"blocks,omitempty"`
}

// fixtureFile is the JSON layout; the logits travel as base64 float32.
type fixtureFile struct {
	Fixture
	LogitsShape []int  `json:"logits_shape"`
	LogitsB64   string `json:"logits_b64"`
}

// Load reads a fixture written by tools/golden/gen.py and checks that it is
// self-consistent (architecture valid, logits of the declared shape).
func Load(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	var ff fixtureFile
	if err := json.Unmarshal(b, &ff); err != nil {
		return nil, fmt.Errorf("load fixture %s: %w", path, err)
	}
	f := ff.Fixture
	if err := f.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("load fixture %s: %w", path, err)
	}
	if len(f.InputShape) != 4 || f.InputShape[1] != 3 {
		return nil, fmt.Errorf("load fixture %s: input shape %v, want [B,3,H,W]", path, f.InputShape)
	}
	if f.BNEps <= 0 || f.BNEps > 1 {
		return nil, fmt.Errorf("load fixture %s: bn_eps %g out of range", path, f.BNEps)
	}
	if len(ff.LogitsShape) != 2 || ff.LogitsShape[0] != f.InputShape[0] || ff.LogitsShape[1] != f.Arch.NumClasses {
		return nil, fmt.Errorf("load fixture %s: logits shape %v, want [%d %d]", path, ff.LogitsShape, f.InputShape[0], f.Arch.NumClasses)
	}
	raw, err := base64.StdEncoding.DecodeString(ff.LogitsB64)
	if err != nil {
		return nil, fmt.Errorf("load fixture %s: logits: %w", path, err)
	}
	rows, cols := ff.LogitsShape[0], ff.LogitsShape[1]
	if len(raw) != 4*rows*cols {
		return nil, fmt.Errorf("load fixture %s: logits hold %d bytes, want %d", path, len(raw), 4*rows*cols)
	}
	f.Logits = make([][]float32, rows)
	for r := range f.Logits {
		f.Logits[r] = make([]float32, cols)
		for c := range f.Logits[r] {
			f.Logits[r][c] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(r*cols+c):]))
		}
	}
	return &f, nil
}

// Net lays out the fixture's architecture.
func (f *Fixture) Net() (model.Net, error) {
	n, err := f.Arch.Net()
	if err != nil {
		return model.Net{}, fmt.Errorf("fixture %s: %w", f.Name, err)
	}
	return n, nil
}

// Input generates the fixture's input batch.
func (f *Fixture) Input() *model.Tensor { return Input(f.InputShape, f.Seed) }
