package app

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// A visitor's own checkpoint comes in through the model input or a drop,
// beside images: what each file is, is told from its first bytes (names
// lie, and a drop mixes kinds), and the converted weights are kept in the
// page's Cache Storage bucket under mineDir, each with a description in
// a header so that the list needs no body read.

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

// mineDir is where converted models live under /web/models/ (a cache key
// only: the server has no such files).
const mineDir = "mine/"

// storedInfoHeader is the response header that describes a stored model.
const storedInfoHeader = "X-Residual-Model"

// storedModel describes a converted model kept in Cache Storage.
type storedModel struct {
	File    string `json:"file"` // the controller's model file: mineDir + id + ".safetensors"
	Name    string `json:"name"` // the checkpoint's file name
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
	Classes int    `json:"classes"`
	Params  int64  `json:"params"`
	Bytes   int64  `json:"bytes"` // the stored weight file
	Scheme  string `json:"scheme"`
	Added   int64  `json:"added"` // Unix ms
}

// storedFile names the weight file converted from a checkpoint and its
// labels, from the sha256 of both: converting the same pair again
// replaces the entry instead of adding one.
func storedFile(sum string) string {
	if len(sum) > 16 {
		sum = sum[:16]
	}
	return mineDir + sum + ".safetensors"
}

// isStoredFile reports whether a model file is a converted one.
func isStoredFile(file string) bool {
	return strings.HasPrefix(file, mineDir) && modelNamePattern.MatchString(strings.TrimPrefix(file, mineDir))
}

// encodeStored is the header value for m: base64 JSON, as header values
// must be Latin-1 and file names are not.
func encodeStored(m storedModel) string {
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

// decodeStored reads a header value back; false when it is not one.
func decodeStored(v string) (storedModel, bool) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) > 4096 {
		return storedModel{}, false
	}
	var m storedModel
	if json.Unmarshal(b, &m) != nil || !isStoredFile(m.File) {
		return storedModel{}, false
	}
	return m, true
}

// storedList turns the cache's entries (header values by model file) into
// the list the page shows: newest first, entries without a readable
// description or whose description names another file left out.
func storedList(headers map[string]string) []storedModel {
	var out []storedModel
	for file, h := range headers {
		if m, ok := decodeStored(h); ok && m.File == file {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b storedModel) int {
		if c := cmp.Compare(b.Added, a.Added); c != 0 {
			return c
		}
		return strings.Compare(a.File, b.File)
	})
	return out
}

// maxLabelsFileBytes bounds a labels file (convert refuses more anyway).
const maxLabelsFileBytes = 4 << 20

// sumOf identifies a conversion: the checkpoint's sha256 and the labels.
func sumOf(checkpointSHA string, labels []byte) string {
	h := sha256.New()
	h.Write([]byte(checkpointSHA))
	h.Write(labels)
	return hex.EncodeToString(h.Sum(nil))
}
