// Package convert reads trained ResNet checkpoints — PyTorch torch.save
// files, safetensors state dicts and TF.js layers models of the Keras
// ResNets — into a torchvision-named float32 state dict, infers or checks
// the architecture, and turns them into Residual's folded weight model.
//
// Every reader returns a Checkpoint: the state dict plus whatever the source
// itself says about architecture, BatchNorm epsilon, preprocessing and
// labels. Convert then resolves what the source left open (from Options or
// defaults), checks every tensor against the layout model.Net implies, and
// folds BatchNorm into the convolutions.
package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// StateDict is a float32 state dict under torchvision's names
// ("conv1.weight", "layer1.0.bn1.running_var", "fc.bias", …), shapes as
// torchvision's (conv weights OIHW, fc weight [out, in]).
type StateDict map[string]*model.Tensor

// Names returns the state dict's tensor names, sorted.
func (sd StateDict) Names() []string {
	names := make([]string, 0, len(sd))
	for k := range sd {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Format names the kind of file a checkpoint came from.
type Format string

// The formats Read understands.
const (
	PTH         Format = "pth"         // torch.save zip file
	Safetensors Format = "safetensors" // safetensors state dict
	TFJS        Format = "tfjs"        // TF.js layers model (model.json + shards)
)

// Checkpoint is what a reader found in a source: the state dict and what the
// source itself knows. Zero fields mean "the source does not say".
type Checkpoint struct {
	Format  Format
	Tensors StateDict
	// Arch is the architecture the source describes (TF.js topologies do,
	// with the variant read from the strides); nil when it must be inferred
	// from tensor shapes.
	Arch *model.Arch
	// ArchName is an architecture name the source mentions (the "arch"
	// entry of a PyTorch ImageNet-example checkpoint), checked against the
	// tensors like -arch; "" when none.
	ArchName string
	// BNEps is the BatchNorm epsilon the source declares; 0 when unknown.
	BNEps float64
	// Preprocess is the input preprocessing the source's training used;
	// nil when unknown.
	Preprocess *weights.Preprocess
	// Labels are the class names the source ships; nil when none.
	Labels []string
	// Source describes the input for people (it goes into the metadata).
	Source string
	// Files are the files read, in the order their bytes are hashed for
	// Metadata.SourceSHA256.
	Files []string
	// Skipped lists entries that were not float tensors and were ignored
	// (num_batches_tracked counters), for the report.
	Skipped []string
}

// Read detects the format of path by its content and reads it: a zip file is
// a torch.save checkpoint, a file starting with a safetensors header is a
// safetensors state dict, a JSON object with a "modelTopology" is a TF.js
// layers model, and a gzip file is an npm tarball holding one.
func Read(path string) (*Checkpoint, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("read %s: is a directory (give the model.json, .pth or .safetensors file)", path)
	}
	f, size, err := openRegular(nil, path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return ReadPTH(path)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return ReadNPMTarball(path)
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) <= uint64(size-8):
		return ReadSafetensors(path)
	case len(bytes.TrimSpace(head)) > 0 && bytes.TrimSpace(head)[0] == '{':
		return ReadTFJS(path)
	case len(head) > 1 && head[0] == 0x80 && head[1] <= 5:
		// A raw pickle: torch.save before 1.6 (or _use_new_zipfile_serialization=False).
		return nil, fmt.Errorf("read %s: legacy (non-zip) torch.save format is not supported; re-save it with torch ≥ 1.6: torch.save(torch.load(f), g)", path)
	}
	return nil, fmt.Errorf("read %s: not a checkpoint: expected a torch.save zip (.pth), a .safetensors file, a TF.js model.json or an npm tarball (%s)", path, describeHead(head))
}

// describeHead summarises a file's first bytes for an error message.
func describeHead(head []byte) string {
	if len(head) == 0 {
		return "the file is empty"
	}
	if len(head) > 8 {
		head = head[:8]
	}
	return fmt.Sprintf("starts with % x", head)
}

// baseName is the file name of a path, for Source descriptions that must
// not depend on where the file happened to be.
func baseName(p string) string { return filepath.Base(p) }

// ptr returns a pointer to a copy of v, so that a Checkpoint never aliases
// package-level values such as weights.TorchvisionPreprocess.
func ptr[T any](v T) *T { return &v }
