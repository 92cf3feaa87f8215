package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/convert"
	"github.com/residual-webgpu/residual/model/weights"
)

// Converting a visitor's checkpoint in the browser: the same steps as
// cmd/quantize (convert.ReadBytes, convert.Convert, weights.Quantize,
// weights.Report), from bytes instead of files. It runs in a Web Worker
// (byoworker_js.go) so that the page's thread stays free; the code here is
// plain Go, tested natively.

// maxCheckpointBytes is the largest checkpoint the page converts:
// wide_resnet101_2 is 0.5 GB of float32. The worker holds the file, its
// float32 state dict, the folded and the quantized model at once, so
// more would not fit a wasm heap.
const maxCheckpointBytes = 640 << 20

// The conversion steps, in order, for the progress bar.
var convertSteps = []string{"Reading the checkpoint", "Checking the architecture and folding BatchNorm", "Quantizing", "Measuring the quantization error", "Writing the weight file"}

// byoReport is what the page shows about a converted checkpoint.
type byoReport struct {
	File        string     `json:"file"` // the checkpoint's file name
	Arch        string     `json:"arch"` // e.g. "resnet18"
	Variant     string     `json:"variant"`
	Block       string     `json:"block"`
	Layers      [4]int     `json:"layers"`
	Classes     int        `json:"classes"`
	LabelsFrom  string     `json:"labelsFrom"` // the labels file's name, or how labels were made
	Params      int64      `json:"params"`
	Scheme      string     `json:"scheme"`
	SourceBytes int64      `json:"sourceBytes"` // the checkpoint file
	F32Bytes    int64      `json:"f32Bytes"`    // the folded weights as float32
	OutBytes    int64      `json:"outBytes"`    // the weight file written
	MaxErr      float64    `json:"maxErr"`      // over every layer's weight
	MeanErr     float64    `json:"meanErr"`     // over every weight value
	Notes       []string   `json:"notes,omitempty"`
	Ms          float64    `json:"ms"` // the whole conversion
	SHA256      string     `json:"sha256"`
	PerLayer    []byoLayer `json:"perLayer"`
	StepMs      []float64  `json:"stepMs"` // per convertSteps entry
	Source      string     `json:"source"`
	Skipped     int        `json:"skipped"` // num_batches_tracked entries ignored
}

// byoLayer is one layer's line of the report.
type byoLayer struct {
	Name    string  `json:"name"`
	Params  int     `json:"params"`
	Bytes   int     `json:"bytes"`
	MaxErr  float64 `json:"maxErr"`
	MeanErr float64 `json:"meanErr"`
}

// convertCheckpoint converts a checkpoint's bytes (a .pth or a
// .safetensors state dict) into a weight file of scheme, with labels when
// labelsData is not nil. step is told each step as it starts (its index
// in convertSteps). A panic anywhere becomes an error: the input may be
// hostile, and the page must keep working.
func convertCheckpoint(name string, data []byte, labelsName string, labelsData []byte, scheme weights.Scheme, step func(i int)) (out []byte, rep byoReport, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%s: the converter failed on this file (%v)", name, p)
			debug.PrintStack()
		}
	}()
	if step == nil {
		step = func(int) {}
	}
	if len(data) > maxCheckpointBytes {
		return nil, rep, fmt.Errorf("%s: %s, over the %s a checkpoint may have here", name, formatBytes(int64(len(data))), formatBytes(maxCheckpointBytes))
	}
	start := time.Now()
	last := start
	lap := func() {
		now := time.Now()
		rep.StepMs = append(rep.StepMs, float64(now.Sub(last).Microseconds())/1000)
		last = now
	}
	rep.File, rep.SourceBytes, rep.Scheme = name, int64(len(data)), string(scheme)

	step(0)
	sum := sha256.Sum256(data)
	ck, err := convert.ReadBytes(name, data)
	if err != nil {
		return nil, rep, err
	}
	data = nil // parsed: the bytes can go before the state dict is folded (the wasm heap is the limit)
	rep.Skipped = len(ck.Skipped)
	var opt convert.Options
	if labelsData != nil {
		l, err := convert.ParseLabels(labelsData)
		if err != nil {
			return nil, rep, fmt.Errorf("labels %s: %w", labelsName, err)
		}
		opt.Labels = l
		rep.LabelsFrom = labelsName
	}
	lap()

	step(1)
	f32, notes, err := convert.Convert(ck, opt)
	if err != nil {
		return nil, rep, fmt.Errorf("convert %s: %w", name, err)
	}
	ck = nil // the state dict can go before quantizing: the wasm heap is the limit
	rep.Notes = notes
	if rep.LabelsFrom == "" {
		rep.LabelsFrom = "none given"
		for _, n := range notes {
			if strings.HasPrefix(n, "labels: ") {
				rep.LabelsFrom = strings.TrimPrefix(n, "labels: ")
			}
		}
	}
	f32.Meta.SourceSHA256 = hex.EncodeToString(sum[:])
	rep.SHA256 = f32.Meta.SourceSHA256
	lap()

	step(2)
	q, err := weights.Quantize(f32, scheme)
	if err != nil {
		return nil, rep, fmt.Errorf("quantize %s: %w", name, err)
	}
	lap()

	step(3)
	layers, err := weights.Report(f32, q)
	if err != nil {
		return nil, rep, err
	}
	fillReport(&rep, q, layers)
	lap()

	step(4)
	var buf bytes.Buffer
	if err := q.Encode(&buf); err != nil {
		return nil, rep, fmt.Errorf("write the weight file: %w", err)
	}
	out = buf.Bytes()
	rep.OutBytes = int64(len(out))
	lap()
	rep.Ms = float64(time.Since(start).Microseconds()) / 1000
	return out, rep, nil
}

// fillReport adds the architecture and the per-layer figures of q.
func fillReport(rep *byoReport, q *weights.Model, layers []weights.LayerReport) {
	a := q.Meta.Arch
	rep.Arch, rep.Variant, rep.Block, rep.Layers, rep.Classes = a.Name, string(a.Variant), string(a.Block), a.Layers, a.NumClasses
	rep.Source = q.Meta.Source
	if st, err := q.Net.Stages(1, defaultSize, defaultSize); err == nil {
		rep.Params, _ = model.Totals(st)
	}
	var sumErr float64
	var weightsN int
	for _, l := range layers {
		rep.PerLayer = append(rep.PerLayer, byoLayer{Name: l.Name, Params: l.Params, Bytes: l.Bytes, MaxErr: l.MaxAbsErr, MeanErr: l.MeanAbsErr})
		rep.F32Bytes += 4 * int64(l.Params)
		rep.MaxErr = max(rep.MaxErr, l.MaxAbsErr)
		w, _ := q.Weight(l.Name)
		sumErr += l.MeanAbsErr * float64(w.Len())
		weightsN += w.Len()
	}
	if weightsN > 0 {
		rep.MeanErr = sumErr / float64(weightsN)
	}
}
