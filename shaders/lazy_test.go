package shaders

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// countingFile is a weight file read through io.ReaderAt, counting bytes.
type countingFile struct {
	r *bytes.Reader
	n atomic.Int64
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.r.ReadAt(p, off)
	f.n.Add(int64(n))
	return n, err
}

// lazyModel encodes m and decodes it with weights.DecodeAt, which leaves
// its int8 weights in the file.
func lazyModel(t *testing.T, m *weights.Model) (*weights.Model, *countingFile) {
	t.Helper()
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		t.Fatal(err)
	}
	f := &countingFile{r: bytes.NewReader(b.Bytes())}
	lazy, err := weights.DecodeAt("lazy.safetensors", f, int64(b.Len()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lazy, f
}

// TestEngineReadsWeightsFromFile: a model whose int8 weights stay in
// their file (the browser's download buffer) gives the same logits as the
// held model; each plan reads the weights it packs, and only then.
func TestEngineReadsWeightsFromFile(t *testing.T) {
	d := device(t)
	m, err := golden.Model(tinyArchs[0], 5, 1e-5, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	lazy, f := lazyModel(t, m)
	held, err := NewEngine(d, m)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	e, err := NewEngine(d, lazy)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var int8Bytes int64
	for _, w := range m.Tensors {
		int8Bytes += int64(len(w.I8))
	}
	for i, size := range []int{32, 40} {
		before := f.n.Load()
		x := model.NewTensor(1, 3, size, size)
		for j := range x.Data {
			x.Data[j] = float32(j%17) / 17
		}
		want, err := held.Run(context.Background(), x, model.RunOptions{TopK: 3})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Run(context.Background(), x, model.RunOptions{TopK: 3})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Logits[0], want.Logits[0]) {
			t.Errorf("%d×%d: logits %v, held model's %v", size, size, got.Logits[0][:3], want.Logits[0][:3])
		}
		if read := f.n.Load() - before; read != int8Bytes {
			t.Errorf("plan %d (%d×%d) read %d bytes of the file, want its %d bytes of int8 weights", i, size, size, read, int8Bytes)
		}
	}
	// Another run at a planned size reads nothing.
	before := f.n.Load()
	if _, err := e.Run(context.Background(), model.NewTensor(1, 3, 32, 32), model.RunOptions{TopK: 1}); err != nil {
		t.Fatal(err)
	}
	if read := f.n.Load() - before; read != 0 {
		t.Errorf("a run at a planned size read %d bytes", read)
	}
}

var _ io.ReaderAt = (*countingFile)(nil)
