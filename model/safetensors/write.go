package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"
)

// Write writes a safetensors file holding meta (omitted when empty) and
// tensors. Like the reference implementation it lays the data out by
// descending dtype (widest first, so every tensor is aligned to its element
// size) then by name, writes the header as compact JSON with "__metadata__"
// first, and pads the header with spaces to a multiple of 8 bytes. It
// checks each tensor (known dtype, data length matching the shape, unique
// name other than "__metadata__") before writing anything.
func Write(w io.Writer, meta map[string]string, tensors []TensorInfo) error {
	order := make([]int, len(tensors))
	rank := make([]int, len(tensors))
	seen := map[string]bool{}
	for i, t := range tensors {
		order[i] = i
		if t.Name == MetadataKey {
			return fmt.Errorf("safetensors: write: tensor %d has the reserved name %q", i, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("safetensors: write: duplicate tensor %q", t.Name)
		}
		if !utf8.ValidString(t.Name) {
			return fmt.Errorf("safetensors: write: tensor %q: name is not valid UTF-8", t.Name)
		}
		seen[t.Name] = true
		r, _, ok := dtypeRank(t.DType)
		if !ok {
			return fmt.Errorf("safetensors: write: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		rank[i] = r
		want, err := ByteLen(t.DType, t.Shape)
		if err != nil {
			return fmt.Errorf("safetensors: write: tensor %q: %w", t.Name, err)
		}
		if len(t.Data) != want {
			return fmt.Errorf("safetensors: write: tensor %q: %d data bytes, dtype %s shape %v needs %d", t.Name, len(t.Data), t.DType, t.Shape, want)
		}
	}
	sort.Slice(order, func(a, b int) bool {
		ia, ib := order[a], order[b]
		if rank[ia] != rank[ib] {
			return rank[ia] > rank[ib]
		}
		return tensors[ia].Name < tensors[ib].Name
	})

	var h bytes.Buffer
	h.WriteByte('{')
	if len(meta) > 0 {
		writeString(&h, MetadataKey)
		h.WriteByte(':')
		keys := make([]string, 0, len(meta))
		for k, v := range meta {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return fmt.Errorf("safetensors: write: %s[%q] is not valid UTF-8", MetadataKey, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeString(&h, k)
			h.WriteByte(':')
			writeString(&h, meta[k])
		}
		h.WriteByte('}')
	}
	off := 0
	for i, ti := range order {
		t := tensors[ti]
		if i > 0 || len(meta) > 0 {
			h.WriteByte(',')
		}
		writeString(&h, t.Name)
		fmt.Fprintf(&h, `:{"dtype":"%s","shape":[`, t.DType)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			fmt.Fprint(&h, d)
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, off+len(t.Data))
		off += len(t.Data)
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return fmt.Errorf("safetensors: write: header is %d bytes, over the %d-byte limit", h.Len(), MaxHeaderSize)
	}

	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, ti := range order {
		if _, err := w.Write(tensors[ti].Data); err != nil {
			return fmt.Errorf("safetensors: write: tensor %q: %w", tensors[ti].Name, err)
		}
	}
	return nil
}

// writeString appends s as a JSON string. encoding/json's HTML escaping is
// turned off so names like "a<b" stay readable in the header.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes; Encode never fails on a bytes.Buffer
	b.Truncate(b.Len() - 1) // drop Encode's newline
}
