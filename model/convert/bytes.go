package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// ReadBytes reads a checkpoint held in memory (a file given to the
// browser page, which has no file system): a torch.save zip or a
// safetensors state dict, told apart by content as Read does. name is the
// file's name, for messages and the Source description. The checkpoint's
// Files is empty, so Convert leaves SourceSHA256 for the caller to set.
// The same bounds as the file readers apply: the bytes may be hostile.
func ReadBytes(name string, data []byte) (*Checkpoint, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		ck, err := readPTH(name, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, err
		}
		ck.Files = nil
		return ck, nil
	case len(data) >= 9 && data[8] == '{' && binary.LittleEndian.Uint64(data) <= uint64(len(data)-8):
		if len(data) > maxSafetensorsBytes {
			return nil, fmt.Errorf("read %s: %d bytes, over the %d MB a ResNet state dict can need", name, len(data), maxSafetensorsBytes>>20)
		}
		ck, err := ParseSafetensors(data)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		ck.Source = "safetensors state dict " + baseName(name)
		return ck, nil
	case len(data) > 1 && data[0] == 0x80 && data[1] <= 5:
		return nil, fmt.Errorf("read %s: legacy (non-zip) torch.save format is not supported; re-save it with torch ≥ 1.6: torch.save(torch.load(f), g)", name)
	}
	head := data
	if len(head) > 64 {
		head = head[:64]
	}
	return nil, fmt.Errorf("read %s: not a checkpoint: expected a torch.save zip (.pth) or a .safetensors state dict (%s)", name, describeHead(head))
}
