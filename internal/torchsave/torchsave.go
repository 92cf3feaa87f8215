// Package torchsave writes a float32 state dict as torch.save (PyTorch ≥
// 1.6) does: a zip of archive/data.pkl (a protocol-2 pickle of an
// OrderedDict of tensors rebuilt by torch._utils._rebuild_tensor_v2),
// archive/data/<key> per storage (stored, little-endian) and
// archive/version. torch.load reads the result; tests use it to make
// checkpoints of any size at test time instead of committing them.
package torchsave

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/golden"
)

// Tensor is one state dict entry: a contiguous float32 tensor.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Write writes tensors, in order, as a torch.save zip to w.
func Write(w io.Writer, tensors []Tensor) error {
	zw := zip.NewWriter(w)
	put := func(name string, data []byte) error {
		// torch aligns storages to 64 bytes; readers must not need it, but
		// stored (uncompressed) entries are what torch writes.
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			return fmt.Errorf("torchsave: %s: %w", name, err)
		}
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("torchsave: %s: %w", name, err)
		}
		return nil
	}
	if err := put("archive/data.pkl", statePickle(tensors)); err != nil {
		return err
	}
	for i, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("torchsave: %s: shape %v holds %d values, not %d", t.Name, t.Shape, n, len(t.Data))
		}
		b := make([]byte, 4*n)
		for j, v := range t.Data {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
		}
		if err := put("archive/data/"+strconv.Itoa(i), b); err != nil {
			return err
		}
	}
	if err := put("archive/version", []byte("3\n")); err != nil {
		return err
	}
	return zw.Close()
}

// statePickle is the OrderedDict of tensors, as torch.save pickles it
// (without memo opcodes).
func statePickle(ts []Tensor) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x02ccollections\nOrderedDict\n)R(")
	for i, t := range ts {
		pickleStr(&b, t.Name)
		b.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		b.WriteByte('(')
		pickleStr(&b, "storage")
		b.WriteString("ctorch\nFloatStorage\n")
		pickleStr(&b, strconv.Itoa(i))
		pickleStr(&b, "cpu")
		pickleInt(&b, int64(len(t.Data)))
		b.WriteString("tQ")
		pickleInt(&b, 0)
		stride := make([]int, len(t.Shape))
		s := 1
		for j := len(t.Shape) - 1; j >= 0; j-- {
			stride[j] = s
			s *= t.Shape[j]
		}
		pickleInts(&b, t.Shape)
		pickleInts(&b, stride)
		b.WriteString("\x89ccollections\nOrderedDict\n)RtR")
	}
	b.WriteString("u.")
	return b.Bytes()
}

// pickleInt writes an int as Python's pickler does: BININT1, BININT or LONG1.
func pickleInt(b *bytes.Buffer, v int64) {
	switch {
	case v >= 0 && v < 256:
		b.Write([]byte{'K', byte(v)})
	case v >= math.MinInt32 && v <= math.MaxInt32:
		b.WriteByte('J')
		binary.Write(b, binary.LittleEndian, int32(v))
	default:
		b.Write([]byte{0x8a, 8})
		binary.Write(b, binary.LittleEndian, v)
	}
}

func pickleStr(b *bytes.Buffer, s string) {
	b.WriteByte('X')
	binary.Write(b, binary.LittleEndian, uint32(len(s)))
	b.WriteString(s)
}

func pickleInts(b *bytes.Buffer, vs []int) {
	b.WriteByte('(')
	for _, v := range vs {
		pickleInt(b, int64(v))
	}
	b.WriteByte('t')
}

// ResNet is the state dict of arch (any of model.Names(), any number of
// classes) with model/golden's deterministic weights for seed, in
// torchvision's state-dict order, num_batches_tracked left out.
func ResNet(arch model.Arch, seed uint64) ([]Tensor, error) {
	net, err := arch.Net()
	if err != nil {
		return nil, fmt.Errorf("torchsave: %w", err)
	}
	sd := golden.Fill(net, seed)
	var ts []Tensor
	for _, s := range net.StateDictTensors() {
		ts = append(ts, Tensor{Name: s.Name, Shape: s.Shape, Data: sd[s.Name]})
	}
	return ts, nil
}
