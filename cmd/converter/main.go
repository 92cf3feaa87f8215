//go:build js && wasm

// Command converter is the checkpoint converter the page runs in a Web
// Worker (web/convert-worker.js), built with GOOS=js GOARCH=wasm into
// web/converter.wasm: a program of its own, so that the page's wasm does
// not carry the .pth and safetensors readers. It does one job and exits:
// it reads the checkpoint (and the labels file) the page sent in
// self.residualJob, converts and quantizes it (package
// internal/byo/conv), stores the weight file in the page's Cache Storage
// bucket and posts the report. It posts {type: "step", step} as each step
// starts, then {type: "done", report, model} or {type: "error", message}.
package main

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"syscall/js"
	"time"

	"github.com/residual-webgpu/residual/internal/byo"
	"github.com/residual-webgpu/residual/internal/byo/conv"
	"github.com/residual-webgpu/residual/internal/webio"
	"github.com/residual-webgpu/residual/model/weights"
)

func main() {
	// The heap never shrinks and holds several copies of the weights:
	// collect early.
	debug.SetGCPercent(25)
	post := func(m map[string]any) { js.Global().Call("postMessage", m) }
	job := js.Global().Get("residualJob")
	if !job.Truthy() {
		post(map[string]any{"type": "error", "message": "the converter was started without a job"})
		return
	}
	rep, entry, err := run(job, func(i int) { post(map[string]any{"type": "step", "step": i}) })
	if err != nil {
		post(map[string]any{"type": "error", "message": err.Error()})
		return
	}
	rb, _ := json.Marshal(rep)
	eb, _ := json.Marshal(entry)
	post(map[string]any{"type": "done", "report": string(rb), "model": string(eb)})
}

// run reads, converts and stores one job.
func run(job js.Value, step func(int)) (byo.Report, byo.Stored, error) {
	ck, lb := job.Get("checkpoint"), job.Get("labels")
	name := ck.Get("name").String()
	if size := int64(ck.Get("size").Float()); size > byo.MaxCheckpointBytes {
		return byo.Report{}, byo.Stored{}, fmt.Errorf("%s: %d MB, over the %d MB a checkpoint may have here", name, size>>20, byo.MaxCheckpointBytes>>20)
	}
	step(0)
	data, err := webio.BlobBytes(ck)
	if err != nil {
		return byo.Report{}, byo.Stored{}, fmt.Errorf("%s: cannot read the file: %w", name, err)
	}
	var labels []byte
	var labelsName string
	if lb.Truthy() {
		labelsName = lb.Get("name").String()
		if size := int64(lb.Get("size").Float()); size > byo.MaxLabelsFileBytes {
			return byo.Report{}, byo.Stored{}, fmt.Errorf("labels %s: %d bytes, over the %d a labels file may have", labelsName, size, byo.MaxLabelsFileBytes)
		}
		if labels, err = webio.BlobBytes(lb); err != nil {
			return byo.Report{}, byo.Stored{}, fmt.Errorf("labels %s: cannot read the file: %w", labelsName, err)
		}
	}
	// data is not read after the call: the checkpoint's bytes can be
	// collected once Convert has parsed them.
	out, rep, err := conv.Convert(name, data, labelsName, labels, weights.Int8, step)
	if err != nil {
		return rep, byo.Stored{}, err
	}
	entry := byo.Stored{
		File: byo.File(byo.ID(rep.SHA256, labels)), Name: name, Arch: rep.Arch, Variant: rep.Variant,
		Classes: rep.Classes, Params: rep.Params, Bytes: rep.OutBytes, Scheme: rep.Scheme, Added: time.Now().UnixMilli(),
	}
	if err := store(entry, out); err != nil {
		return rep, byo.Stored{}, err
	}
	return rep, entry, nil
}

// store puts a converted weight file into the page's Cache Storage
// bucket, described by its header, under the URL the page loads it from.
func store(m byo.Stored, data []byte) error {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return fmt.Errorf("this browser gives the page no Cache Storage (not https, or a private window), so the converted model cannot be kept")
	}
	cache, err := webio.Await(caches.Call("open", byo.CacheName))
	if err != nil {
		return fmt.Errorf("open this browser's cache: %w", err)
	}
	u8 := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u8, data)
	headers := map[string]any{
		"Content-Type":   "application/octet-stream",
		"Content-Length": fmt.Sprint(len(data)),
		byo.InfoHeader:   byo.Encode(m),
	}
	resp := js.Global().Get("Response").New(u8, map[string]any{"headers": headers})
	if _, err := webio.Await(cache.Call("put", "/web/models/"+m.File, resp)); err != nil {
		return fmt.Errorf("keep the converted model in this browser: %w", err)
	}
	return nil
}
