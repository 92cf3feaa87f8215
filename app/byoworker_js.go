//go:build js && wasm

package app

import (
	"encoding/json"
	"fmt"
	"syscall/js"
	"time"

	"github.com/residual-webgpu/residual/internal/webio"
	"github.com/residual-webgpu/residual/model/weights"
)

// The worker's side of a conversion (web/convert-worker.js runs this
// program with the job in self.residualJob).

// InConverterWorker reports whether this program runs in the converter's
// Web Worker rather than in the page.
func InConverterWorker() bool {
	return js.Global().Get("document").IsUndefined() && js.Global().Get("residualJob").Truthy()
}

// RunConversion does the worker's one job and returns: it reads the
// checkpoint (and the labels file) the page sent, converts and quantizes
// it, stores the weight file in Cache Storage and posts the report. It
// posts {type: "step", step} as each step starts, then {type: "done",
// report, model} or {type: "error", message}.
func RunConversion() {
	post := func(m map[string]any) { js.Global().Call("postMessage", m) }
	rep, entry, err := convertJob(js.Global().Get("residualJob"), func(i int) {
		post(map[string]any{"type": "step", "step": i})
	})
	if err != nil {
		post(map[string]any{"type": "error", "message": err.Error()})
		return
	}
	rb, _ := json.Marshal(rep)
	eb, _ := json.Marshal(entry)
	post(map[string]any{"type": "done", "report": string(rb), "model": string(eb)})
}

// convertJob reads, converts and stores one job.
func convertJob(job js.Value, step func(int)) (byoReport, storedModel, error) {
	ck, lb := job.Get("checkpoint"), job.Get("labels")
	name := ck.Get("name").String()
	if size := int64(ck.Get("size").Float()); size > maxCheckpointBytes {
		return byoReport{}, storedModel{}, fmt.Errorf("%s: %s, over the %s a checkpoint may have here", name, formatBytes(size), formatBytes(maxCheckpointBytes))
	}
	step(0)
	data, err := blobBytes(ck)
	if err != nil {
		return byoReport{}, storedModel{}, fmt.Errorf("%s: cannot read the file: %w", name, err)
	}
	var labels []byte
	var labelsName string
	if lb.Truthy() {
		labelsName = lb.Get("name").String()
		if size := int64(lb.Get("size").Float()); size > maxLabelsFileBytes {
			return byoReport{}, storedModel{}, fmt.Errorf("labels %s: %s, over the %s a labels file may have", labelsName, formatBytes(size), formatBytes(maxLabelsFileBytes))
		}
		if labels, err = blobBytes(lb); err != nil {
			return byoReport{}, storedModel{}, fmt.Errorf("labels %s: cannot read the file: %w", labelsName, err)
		}
	}
	// data is not read after the call: the checkpoint's bytes can be
	// collected once convertCheckpoint has parsed them.
	out, rep, err := convertCheckpoint(name, data, labelsName, labels, weights.Int8, step)
	if err != nil {
		return rep, storedModel{}, err
	}
	entry := storedModel{
		File: storedFile(sumOf(rep.SHA256, labels)), Name: name, Arch: rep.Arch, Variant: rep.Variant,
		Classes: rep.Classes, Params: rep.Params, Bytes: rep.OutBytes, Scheme: rep.Scheme, Added: time.Now().UnixMilli(),
	}
	if err := storeModel(entry, out); err != nil {
		return rep, storedModel{}, err
	}
	return rep, entry, nil
}

// blobBytes reads a File or Blob whole.
func blobBytes(b js.Value) ([]byte, error) {
	buf, err := webio.Await(b.Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	u8 := js.Global().Get("Uint8Array").New(buf)
	data := make([]byte, u8.Get("length").Int())
	js.CopyBytesToGo(data, u8)
	return data, nil
}

// storeModel puts a converted weight file into the page's Cache Storage
// bucket, described by its header.
func storeModel(m storedModel, data []byte) error {
	cache := openModelCache()
	if !cache.Truthy() {
		return fmt.Errorf("this browser gives the page no Cache Storage (a private window, or not https), so the converted model cannot be kept")
	}
	u8 := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u8, data)
	headers := map[string]any{
		"Content-Type":   "application/octet-stream",
		"Content-Length": fmt.Sprint(len(data)),
		storedInfoHeader: encodeStored(m),
	}
	resp := js.Global().Get("Response").New(u8, map[string]any{"headers": headers})
	if _, err := webio.Await(cache.Call("put", "/web/models/"+m.File, resp)); err != nil {
		return fmt.Errorf("keep the converted model in this browser: %w", err)
	}
	return nil
}
