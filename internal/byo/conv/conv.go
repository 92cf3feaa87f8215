// Package conv converts a visitor's checkpoint in the browser: the same
// steps as cmd/quantize (convert.ReadBytes, convert.Convert,
// weights.Quantize, weights.Report), from bytes instead of files. It runs
// in the converter's Web Worker (cmd/converter); the code is plain Go,
// tested natively.
package conv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/residual-webgpu/residual/internal/byo"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/convert"
	"github.com/residual-webgpu/residual/model/weights"
)

// Convert converts a checkpoint's bytes (a .pth or a .safetensors state
// dict) into a weight file of scheme, with the labels file's names when
// labels is not nil. step is told each step as it starts (its index in
// byo.Steps). A panic anywhere becomes an error: the input may be hostile,
// and the page must keep working.
func Convert(name string, data []byte, labelsName string, labels []byte, scheme weights.Scheme, step func(i int)) (out []byte, rep byo.Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%s: the converter failed on this file (%v)", name, p)
		}
	}()
	if step == nil {
		step = func(int) {}
	}
	if len(data) > byo.MaxCheckpointBytes {
		return nil, rep, fmt.Errorf("%s: %d MB, over the %d MB a checkpoint may have here", name, len(data)>>20, byo.MaxCheckpointBytes>>20)
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
	if labels != nil {
		l, err := convert.ParseLabels(labels)
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
	ck = nil
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
	fill(&rep, q, layers)
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

// fill adds the architecture and the per-layer figures of q.
func fill(rep *byo.Report, q *weights.Model, layers []weights.LayerReport) {
	a := q.Meta.Arch
	rep.Arch, rep.Variant, rep.Block, rep.Layers, rep.Classes = a.Name, string(a.Variant), string(a.Block), a.Layers, a.NumClasses
	rep.Source = q.Meta.Source
	if st, err := q.Net.Stages(1, 224, 224); err == nil {
		rep.Params, _ = model.Totals(st)
	}
	var sumErr float64
	var weightsN int
	for _, l := range layers {
		rep.PerLayer = append(rep.PerLayer, byo.Layer{Name: l.Name, Params: l.Params, Bytes: l.Bytes, MaxErr: l.MaxAbsErr, MeanErr: l.MeanAbsErr})
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
