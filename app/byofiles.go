package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// A visitor's own checkpoint comes in through the model input or a drop,
// beside images: what each file is, is told from its first bytes (names
// lie, and a drop mixes kinds). How converted models are kept is package
// internal/byo's.

// fileKind is what a given file is, from its content.
type fileKind int

// The kinds sniffKind tells apart.
const (
	kindOther      fileKind = iota // none of these: left to the image reader, which says why not
	kindImage                      // JPEG, PNG, GIF, BMP or WebP
	kindCheckpoint                 // a torch.save zip or pickle, or a safetensors state dict
	kindLabels                     // text: class names, one per line or JSON
)

// sniffLen is how many leading bytes sniffKind needs.
const sniffLen = 16

// sniffKind tells what a file of size bytes is from its first bytes (up
// to sniffLen) and, for text only, its name.
func sniffKind(name string, head []byte, size int64) fileKind {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return kindCheckpoint // torch.save (≥ 1.6) writes a zip
	case len(head) > 1 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return kindCheckpoint // a bare pickle: torch.save before 1.6 (refused with advice)
	case len(head) >= 9 && head[8] == '{' && size >= 8 && binary.LittleEndian.Uint64(head) <= uint64(size-8):
		return kindCheckpoint // safetensors: the header's length, then its JSON
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}),
		bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")),
		bytes.HasPrefix(head, []byte("GIF8")),
		bytes.HasPrefix(head, []byte("BM")),
		len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		return kindImage
	}
	if len(head) == 0 || bytes.IndexByte(head, 0) >= 0 {
		return kindOther
	}
	// The sniffed prefix may end inside a character.
	for i := 0; i < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	ext := strings.ToLower(path.Ext(name))
	if utf8.Valid(head) && (ext == ".txt" || ext == ".json" || ext == "" || ext == ".labels") {
		return kindLabels
	}
	return kindOther
}

// modelFiles picks the checkpoint and the optional labels file out of the
// files given together (indexes into kinds; labels is -1 when none), or
// says what is wrong with the set.
func modelFiles(names []string, kinds []fileKind) (ckpt, labels int, err error) {
	ckpt, labels = -1, -1
	for i, k := range kinds {
		switch k {
		case kindCheckpoint:
			if ckpt >= 0 {
				return -1, -1, fmt.Errorf("%s and %s are both checkpoints: give one at a time", names[ckpt], names[i])
			}
			ckpt = i
		case kindLabels:
			if labels >= 0 {
				return -1, -1, fmt.Errorf("%s and %s both look like labels files: give one at most", names[labels], names[i])
			}
			labels = i
		case kindImage:
			return -1, -1, fmt.Errorf("%s is an image: choose images with “Choose images…”, and here a checkpoint (.pth or .safetensors) with its labels file", names[i])
		default:
			return -1, -1, fmt.Errorf("%s is neither a checkpoint (.pth or .safetensors) nor a labels file (.txt or .json)", names[i])
		}
	}
	if ckpt < 0 {
		return -1, -1, fmt.Errorf("no checkpoint among the files: give a torchvision .pth or a .safetensors state dict (and optionally a labels file)")
	}
	return ckpt, labels, nil
}
