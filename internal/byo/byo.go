// Package byo is what the page and the checkpoint converter's worker
// share about a visitor's own checkpoint ("bring your own ResNet"): the
// conversion's steps and report, and how a converted model is kept in
// Cache Storage and described there. It imports nothing heavy, so that
// the page's wasm does not carry the converter (which is
// cmd/converter, a wasm of its own run in a Web Worker; the conversion
// itself is package conv).
package byo

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// CacheName is the Cache Storage bucket that holds weight files, the
// built-in model's and the converted ones (the app's modelCacheName).
const CacheName = "residual-models-v1"

// MaxCheckpointBytes is the largest checkpoint the page converts:
// wide_resnet101_2 is 0.5 GB of float32. The worker holds the file, its
// float32 state dict, the folded and the quantized model at once, so more
// would not fit a wasm heap.
const MaxCheckpointBytes = 640 << 20

// MaxLabelsFileBytes bounds a labels file (convert refuses more anyway).
const MaxLabelsFileBytes = 4 << 20

// Steps are the conversion's steps, in order, for the progress bar.
var Steps = []string{"Reading the checkpoint", "Checking the architecture and folding BatchNorm", "Quantizing", "Measuring the quantization error", "Writing the weight file"}

// Report is what the page shows about a converted checkpoint.
type Report struct {
	File        string    `json:"file"` // the checkpoint's file name
	Arch        string    `json:"arch"` // e.g. "resnet18"
	Variant     string    `json:"variant"`
	Block       string    `json:"block"`
	Layers      [4]int    `json:"layers"`
	Classes     int       `json:"classes"`
	LabelsFrom  string    `json:"labelsFrom"` // the labels file's name, or how labels were made
	Params      int64     `json:"params"`     // the network's, BatchNorm included
	Scheme      string    `json:"scheme"`
	SourceBytes int64     `json:"sourceBytes"` // the checkpoint file
	F32Bytes    int64     `json:"f32Bytes"`    // the folded weights as float32
	OutBytes    int64     `json:"outBytes"`    // the weight file written
	MaxErr      float64   `json:"maxErr"`      // over every layer's weight
	MeanErr     float64   `json:"meanErr"`     // over every weight value
	Notes       []string  `json:"notes,omitempty"`
	Ms          float64   `json:"ms"` // the whole conversion
	StepMs      []float64 `json:"stepMs"`
	SHA256      string    `json:"sha256"` // of the checkpoint file
	PerLayer    []Layer   `json:"perLayer"`
	Source      string    `json:"source"`
	Skipped     int       `json:"skipped"` // num_batches_tracked entries ignored
}

// Layer is one layer's line of the report.
type Layer struct {
	Name    string  `json:"name"`
	Params  int     `json:"params"`
	Bytes   int     `json:"bytes"`
	MaxErr  float64 `json:"maxErr"`
	MeanErr float64 `json:"meanErr"`
}

// MineDir is where converted models live under /web/models/ (a cache key
// only: the server has no such files).
const MineDir = "mine/"

// InfoHeader is the response header that describes a stored model.
const InfoHeader = "X-Residual-Model"

// Stored describes a converted model kept in Cache Storage.
type Stored struct {
	File    string `json:"file"` // the page's model file: MineDir + id + ".safetensors"
	Name    string `json:"name"` // the checkpoint's file name
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
	Classes int    `json:"classes"`
	Params  int64  `json:"params"`
	Bytes   int64  `json:"bytes"` // the stored weight file
	Scheme  string `json:"scheme"`
	Added   int64  `json:"added"` // Unix ms
}

// ID identifies a conversion: the checkpoint's sha256 and the labels, so
// that converting the same pair again replaces the entry.
func ID(checkpointSHA string, labels []byte) string {
	h := sha256.New()
	h.Write([]byte(checkpointSHA))
	h.Write(labels)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// File names the weight file of a conversion ID.
func File(id string) string { return MineDir + id + ".safetensors" }

var storedName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$`)

// IsStored reports whether a model file is a converted one.
func IsStored(file string) bool {
	return strings.HasPrefix(file, MineDir) && len(file) <= 128 && storedName.MatchString(strings.TrimPrefix(file, MineDir))
}

// Encode is the header value for m: base64 JSON, as header values must
// be Latin-1 and file names are not.
func Encode(m Stored) string {
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

// Decode reads a header value back; false when it is not one.
func Decode(v string) (Stored, bool) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) > 4096 {
		return Stored{}, false
	}
	var m Stored
	if json.Unmarshal(b, &m) != nil || !IsStored(m.File) {
		return Stored{}, false
	}
	return m, true
}

// List turns the cache's entries (header values by model file) into the
// list the page shows: newest first; entries without a readable
// description, or whose description names another file, are left out.
func List(headers map[string]string) []Stored {
	var out []Stored
	for file, h := range headers {
		if m, ok := Decode(h); ok && m.File == file {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Stored) int {
		if c := cmp.Compare(b.Added, a.Added); c != 0 {
			return c
		}
		return strings.Compare(a.File, b.File)
	})
	return out
}
