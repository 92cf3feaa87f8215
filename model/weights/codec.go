package weights

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/residual-webgpu/residual/model/safetensors"
)

// Load reads and checks the weight file at path (see Decode).
func Load(path string) (*Model, error) {
	// Stat first: opening a FIFO would block until something writes it.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("load %s: not a regular file (%v)", path, st.Mode().Type())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return Decode(path, data)
}

// Decode parses and checks a weight file held in memory; name only labels
// errors (e.g. "load resnet50.safetensors: tensor layer1.0.conv1.weight:
// shape [64 64 1 1], want [64 256 1 1]"). Beyond the container's own
// checks it validates the metadata (see Metadata.Validate) and requires
// the tensors to be exactly the folded network's, with the dtypes the
// scheme stores, finite values and positive scales. An int8 model's
// weights are data's own bytes, not copies (a ResNet-50 would otherwise
// be held twice while it loads, and a browser's wasm memory never
// shrinks): data must not change afterwards. Scales, biases and float32
// weights are copies.
func Decode(name string, data []byte) (*Model, error) {
	return DecodeEach(name, data, nil)
}

// DecodeEach is Decode that calls each, when not nil, once the header is
// parsed (done 0) and after every layer's tensors are decoded and checked,
// with the layers done so far and their number: a progress bar, and a
// place for a host with a single thread (the browser) to let the page
// paint during a decode of seconds.
func DecodeEach(name string, data []byte, each func(done, total int)) (*Model, error) {
	m, err := decode(data, each)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return m, nil
}

// DecodeHeader reads a weight file's metadata and network from its first
// bytes, before the tensors have arrived: the model it returns has no
// tensors, enough to plan a GPU engine's pipelines while the rest
// downloads. prefix must hold safetensors.HeaderEnd bytes; a shorter one
// gives an error wrapping safetensors.ErrShortPrefix.
func DecodeHeader(name string, prefix []byte) (*Model, error) {
	kv, err := safetensors.ParseMetadata(prefix)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	meta, err := decodeMetadata(kv)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	net, err := meta.net()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return &Model{Meta: meta, Net: net}, nil
}

// DecodeAt is DecodeEach for a file of size bytes read through r, whose
// int8 weights stay there: it reads and checks the header, the scales,
// the biases and any float32 weights, and leaves each int8 weight in r
// for Tensor.Int8 to read when an engine packs it. A browser's wasm
// memory never shrinks, so a ResNet-50 decoded from memory keeps 25 MB of
// Go heap for good; decoded from the download's own buffer it keeps none.
// r must keep returning the same bytes for as long as the model is used.
func DecodeAt(name string, r io.ReaderAt, size int64, each func(done, total int)) (*Model, error) {
	m, err := decodeAt(r, size, each)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return m, nil
}

func decodeAt(r io.ReaderAt, size int64, each func(done, total int)) (*Model, error) {
	var lenBytes [8]byte
	if size < int64(len(lenBytes)) {
		return nil, fmt.Errorf("safetensors: file is %d bytes, too short for the 8-byte header length", size)
	}
	if _, err := r.ReadAt(lenBytes[:], 0); err != nil {
		return nil, fmt.Errorf("read the header's length: %w", err)
	}
	end, err := safetensors.HeaderEnd(lenBytes[:])
	if err != nil {
		return nil, err
	}
	if int64(end) > size {
		end = int(size) // a header past the end: ParseHeader says so
	}
	head := make([]byte, end)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("read the header: %w", err)
	}
	f, err := safetensors.ParseHeader(head, size)
	if err != nil {
		return nil, err
	}
	read := func(ti *safetensors.TensorInfo) ([]byte, error) {
		b := make([]byte, ti.Len)
		if _, err := r.ReadAt(b, int64(ti.Offset)); err != nil {
			return nil, fmt.Errorf("tensor %s: read %d bytes at %d: %w", ti.Name, ti.Len, ti.Offset, err)
		}
		return b, nil
	}
	return decodeFile(f, read, r, each)
}

func decode(data []byte, each func(done, total int)) (*Model, error) {
	f, err := safetensors.Parse(data)
	if err != nil {
		return nil, err
	}
	read := func(ti *safetensors.TensorInfo) ([]byte, error) { return ti.Data, nil }
	return decodeFile(f, read, nil, each)
}

// decodeFile builds the model from a parsed file, getting each tensor's
// bytes with read. With lazy set, int8 weights are not read but left
// there (Tensor.Int8); otherwise they alias read's bytes.
func decodeFile(f *safetensors.File, read func(*safetensors.TensorInfo) ([]byte, error), lazy io.ReaderAt, each func(done, total int)) (*Model, error) {
	meta, err := decodeMetadata(f.Metadata)
	if err != nil {
		return nil, err
	}
	net, err := meta.net()
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*safetensors.TensorInfo, len(f.Tensors))
	for i := range f.Tensors {
		byName[f.Tensors[i].Name] = &f.Tensors[i]
	}
	used := map[string]*Tensor{}
	get := func(name string, shape []int, dtype string) (*safetensors.TensorInfo, error) {
		ti := byName[name]
		if ti == nil {
			return nil, fmt.Errorf("tensor %s: missing", name)
		}
		if !slices.Equal(ti.Shape, shape) {
			return nil, fmt.Errorf("tensor %s: shape %v, want %v", name, ti.Shape, shape)
		}
		if ti.DType != dtype {
			return nil, fmt.Errorf("tensor %s: dtype %s, want %s for scheme %s", name, ti.DType, dtype, meta.Scheme)
		}
		return ti, nil
	}
	getBytes := func(name string, shape []int, dtype string) ([]byte, error) {
		ti, err := get(name, shape, dtype)
		if err != nil {
			return nil, err
		}
		return read(ti)
	}
	tensors := map[string]*Tensor{}
	ls := layers(net)
	for li, l := range ls {
		if each != nil {
			each(li, len(ls)) // the first call follows parsing the header
		}
		wname, bname := l.prefix+".weight", l.prefix+".bias"
		w := &Tensor{Name: wname, Shape: l.wshape}
		if meta.Scheme == Int8 {
			ti, err := get(wname, l.wshape, safetensors.I8)
			if err != nil {
				return nil, err
			}
			if lazy != nil {
				w.at = &stored{r: lazy, off: int64(ti.Offset), n: ti.Len}
			} else {
				data, err := read(ti)
				if err != nil {
					return nil, err
				}
				w.I8 = int8s(data) // the file's bytes themselves (see Decode)
			}
			sb, err := getBytes(wname+ScaleSuffix, []int{l.cout()}, safetensors.F32)
			if err != nil {
				return nil, err
			}
			w.Scale = float32s(sb)
			used[wname+ScaleSuffix] = w
		} else {
			wb, err := getBytes(wname, l.wshape, safetensors.F32)
			if err != nil {
				return nil, err
			}
			w.F32 = float32s(wb)
		}
		bb, err := getBytes(bname, []int{l.cout()}, safetensors.F32)
		if err != nil {
			return nil, err
		}
		b := &Tensor{Name: bname, Shape: []int{l.cout()}, F32: float32s(bb)}
		for _, t := range []*Tensor{w, b} {
			if err := checkValues(t); err != nil {
				return nil, err
			}
			tensors[t.Name] = t
			used[t.Name] = t
		}
	}
	if err := noExtra(byName, used, meta); err != nil {
		return nil, err
	}
	if each != nil {
		each(len(ls), len(ls))
	}
	return &Model{Meta: meta, Net: net, Tensors: tensors}, nil
}

// float32s decodes little-endian F32 bytes (a multiple of 4, as the
// container checked) into a new slice.
func float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// f32Bytes encodes float32s as little-endian bytes.
func f32Bytes(f []float32) []byte {
	out := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

// Encode writes the model as a weight file, after checking it as New does
// (so a file Encode writes is one Decode accepts). Scales are written as
// <weight name>+ScaleSuffix tensors.
func (m *Model) Encode(w io.Writer) error {
	if m == nil {
		return fmt.Errorf("encode: nil model")
	}
	if err := m.encode(w); err != nil {
		return fmt.Errorf("encode %s: %w", m.Meta.Arch.Name, err)
	}
	return nil
}

func (m *Model) encode(w io.Writer) error {
	checked, err := build(m.Meta, m.Tensors)
	if err != nil {
		return err
	}
	kv, err := checked.Meta.encode()
	if err != nil {
		return err
	}
	var ts []safetensors.TensorInfo
	for _, t := range checked.Tensors {
		if t.I8 != nil {
			q := make([]byte, len(t.I8))
			for i, v := range t.I8 {
				q[i] = byte(v)
			}
			ts = append(ts,
				safetensors.TensorInfo{Name: t.Name, DType: safetensors.I8, Shape: t.Shape, Data: q},
				safetensors.TensorInfo{Name: t.Name + ScaleSuffix, DType: safetensors.F32, Shape: []int{len(t.Scale)}, Data: f32Bytes(t.Scale)})
		} else {
			ts = append(ts, safetensors.TensorInfo{Name: t.Name, DType: safetensors.F32, Shape: t.Shape, Data: f32Bytes(t.F32)})
		}
	}
	return safetensors.Write(w, kv, ts)
}

// Save writes the model to path through a temporary file in the same
// directory renamed into place, so a failure never leaves a partial file
// at path.
func (m *Model) Save(path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("save %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := m.Encode(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
