package safetensors

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Parse reads a safetensors file held in memory. The returned tensors' Data
// slices alias data (nothing is copied). It rejects everything the
// reference implementation rejects — a header that is not a JSON object,
// unknown dtypes, byte ranges that do not match dtype×shape, overlapping
// ranges, holes and trailing bytes — plus duplicate names and unknown
// fields, and its errors name the offending tensor.
func Parse(data []byte) (*File, error) {
	header, err := headerOf(data, len(data))
	if err != nil {
		return nil, err
	}
	f, err := layout(header, len(data))
	if err != nil {
		return nil, err
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		t.Data = data[t.Offset : t.Offset+t.Len : t.Offset+t.Len]
	}
	return f, nil
}

// ParseHeader reads a file of size bytes from its first bytes, at least
// its header (HeaderEnd bytes), with every check Parse makes: for a reader
// that keeps the tensors' bytes elsewhere (a browser's ArrayBuffer, a file)
// and fetches each by its Offset and Len when it needs it. The tensors'
// Data are nil.
func ParseHeader(prefix []byte, size int64) (*File, error) {
	if size < 0 || size > int64(^uint(0)>>1) {
		return nil, fmt.Errorf("safetensors: file size %d out of range", size)
	}
	header, err := headerOf(prefix, int(size))
	if err != nil {
		return nil, err
	}
	return layout(header, int(size))
}

// layout parses header, the JSON header of a file of size bytes, and
// checks that its tensors tile the data section exactly.
func layout(header []byte, size int) (*File, error) {
	start := 8 + len(header)
	dataLen := size - start
	f := &File{Metadata: map[string]string{}}
	sc := &scanner{b: header}
	err := sc.header(f.Metadata, func(name string) error {
		t, sp, err := sc.tensor(dataLen)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		t.Name = name
		t.Offset, t.Len = start+sp[0], sp[1]-sp[0]
		f.Tensors = append(f.Tensors, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}

	// Lay the tensors out in data order and require them to tile the data
	// section exactly, as the reference implementation does.
	sorted := slices.Clone(f.Tensors)
	slices.SortStableFunc(sorted, func(a, b TensorInfo) int {
		if a.Offset != b.Offset {
			return cmp.Compare(a.Offset, b.Offset)
		}
		return cmp.Compare(a.Len, b.Len)
	})
	pos, prev := start, ""
	for _, t := range sorted {
		begin, end := t.Offset, t.Offset+t.Len
		switch {
		case begin > pos:
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d,%d] leave a hole: bytes [%d,%d) belong to no tensor", t.Name, begin-start, end-start, pos-start, begin-start)
		case begin < pos:
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d,%d] overlap tensor %q, which ends at %d", t.Name, begin-start, end-start, prev, pos-start)
		}
		pos, prev = end, t.Name
	}
	if pos != size {
		return nil, fmt.Errorf("safetensors: %d trailing bytes after the last tensor's data (data section is %d bytes, tensors cover %d)", size-pos, dataLen, pos-start)
	}
	f.Tensors = sorted
	return f, nil
}

// ErrShortPrefix says a prefix of a file ends before its header does.
var ErrShortPrefix = errors.New("safetensors: prefix ends before the header")

// HeaderEnd tells, from a file's first 8 bytes, how many bytes from its
// start hold the header (8 + the header length): a streaming reader can
// parse the metadata once it has that many. A shorter prefix gives
// ErrShortPrefix.
func HeaderEnd(prefix []byte) (int, error) {
	if len(prefix) < 8 {
		return 0, ErrShortPrefix
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n < 2 || n > MaxHeaderSize {
		_, err := headerOf(prefix, len(prefix))
		return 0, err
	}
	return 8 + int(n), nil
}

// ParseMetadata reads the metadata from a prefix of a file that holds at
// least its header (HeaderEnd bytes), before the tensor data has arrived.
// The whole header must be well-formed, each tensor entry included; the
// entries' byte ranges are checked only when Parse reads the whole file.
// A prefix that ends inside the header gives an error wrapping
// ErrShortPrefix.
func ParseMetadata(prefix []byte) (map[string]string, error) {
	header, err := headerOf(prefix, -1)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{}
	sc := &scanner{b: header}
	err = sc.header(meta, func(name string) error {
		if _, _, _, err := sc.entry(); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	return meta, nil
}

// headerOf checks and returns the JSON header at the start of data, a
// file of size bytes (-1: unknown, data being a prefix of it).
func headerOf(data []byte, size int) ([]byte, error) {
	if len(data) < 8 {
		if size < 0 {
			return nil, ErrShortPrefix
		}
		return nil, fmt.Errorf("safetensors: file is %d bytes, too short for the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	switch {
	case n < 2:
		return nil, fmt.Errorf("safetensors: header length %d is too small for a JSON object", n)
	case n > MaxHeaderSize:
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	case size >= 0 && n > uint64(size-8):
		return nil, fmt.Errorf("safetensors: header length %d runs beyond the end of the %d-byte file", n, size)
	case n > uint64(len(data)-8):
		return nil, fmt.Errorf("%w (%d of %d header bytes)", ErrShortPrefix, len(data)-8, n)
	}
	header := data[8 : 8+n]
	if !utf8.Valid(header) {
		return nil, errors.New("safetensors: header is not valid UTF-8")
	}
	if header[0] != '{' {
		return nil, errors.New("safetensors: header does not start with '{'")
	}
	return header, nil
}

// tensor reads one tensor entry and checks it against a data section of
// dataLen bytes.
func (s *scanner) tensor(dataLen int) (TensorInfo, [2]int, error) {
	var t TensorInfo
	var offs [2]int
	dtype, shape, o, err := s.entry()
	if err != nil {
		return t, offs, err
	}
	switch {
	case dtype == nil:
		return t, offs, errors.New("missing dtype")
	case shape == nil:
		return t, offs, errors.New("missing shape")
	case o == nil:
		return t, offs, errors.New("missing data_offsets")
	case len(o) != 2:
		return t, offs, fmt.Errorf("data_offsets has %d values, want 2", len(o))
	}
	t.DType, t.Shape, offs = *dtype, shape, [2]int{o[0], o[1]}
	want, err := ByteLen(t.DType, t.Shape)
	if err != nil {
		return t, offs, err
	}
	if offs[0] > offs[1] {
		return t, offs, fmt.Errorf("data_offsets [%d,%d] end before they begin", offs[0], offs[1])
	}
	if offs[1] > dataLen {
		return t, offs, fmt.Errorf("data_offsets [%d,%d] run beyond the %d-byte data section", offs[0], offs[1], dataLen)
	}
	if got := offs[1] - offs[0]; got != want {
		return t, offs, fmt.Errorf("data_offsets [%d,%d] span %d bytes, dtype %s shape %v needs %d", offs[0], offs[1], got, t.DType, t.Shape, want)
	}
	return t, offs, nil
}
