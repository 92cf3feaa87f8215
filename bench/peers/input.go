//go:build !js

package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// Names of the shared input files every peer page fetches from /harness/.
const (
	inputNCHW = "input-nchw.bin" // [1,3,224,224] float32 LE: ONNX Runtime, Residual, the ONNX export check
	inputNHWC = "input-nhwc.bin" // [1,224,224,3] float32 LE: TF.js (Keras is channels-last)
)

// inputInfo describes the one preprocessed input all peers classify.
type inputInfo struct {
	Photo      string `json:"photo"`
	Preprocess string `json:"preprocess"`
	SHA256NCHW string `json:"sha256_nchw"`
}

// writeInputs preprocesses photo once, with Residual's own preprocessing
// (Caffe: shorter side 256 bilinear, centre crop 224, BGR, 0–255 minus
// mean), and writes it in both layouts into dir, so that no peer's JS
// preprocessing can differ from another's.
func writeInputs(photo, dir string) (inputInfo, error) {
	data, err := os.ReadFile(photo)
	if err != nil {
		return inputInfo{}, fmt.Errorf("input: %w", err)
	}
	img, err := preprocess.Decode(photo, data)
	if err != nil {
		return inputInfo{}, fmt.Errorf("input %s: %w", photo, err)
	}
	p := weights.CaffePreprocess
	t, _, err := preprocess.Prepare(img, p, 0)
	if err != nil {
		return inputInfo{}, fmt.Errorf("input %s: %w", photo, err)
	}
	if len(t.Shape) != 4 || t.Shape[0] != 1 || t.Shape[1] != 3 {
		return inputInfo{}, fmt.Errorf("input %s: preprocessed shape %v, want [1 3 H W]", photo, t.Shape)
	}
	h, w := t.Shape[2], t.Shape[3]
	nhwc := make([]float32, len(t.Data))
	for c := range 3 {
		for i := range h * w {
			nhwc[i*3+c] = t.Data[c*h*w+i]
		}
	}
	nchwBytes := f32LE(t.Data)
	if err := writeFileAtomic(filepath.Join(dir, inputNCHW), nchwBytes); err != nil {
		return inputInfo{}, err
	}
	if err := writeFileAtomic(filepath.Join(dir, inputNHWC), f32LE(nhwc)); err != nil {
		return inputInfo{}, err
	}
	sum := sha256.Sum256(nchwBytes)
	return inputInfo{
		Photo: filepath.Base(photo),
		Preprocess: fmt.Sprintf("resize %d bilinear, crop %d, %s, ×%g, mean %v (model/preprocess, weights.CaffePreprocess)",
			p.Resize, p.Crop, p.ChannelOrder, p.InputScale, p.Mean),
		SHA256NCHW: hex.EncodeToString(sum[:]),
	}, nil
}

// f32LE is v as little-endian float32 bytes (what Float32Array reads).
func f32LE(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// writeFileAtomic writes data to path through a temporary file, so an
// interrupted run never leaves a truncated input behind.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp makes 0600
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
