//go:build js && wasm

package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall/js"

	"github.com/residual-webgpu/residual/internal/byo"
	"github.com/residual-webgpu/residual/internal/webio"
)

// The page's side of converted models: sniffing given files, running a
// conversion in the worker, listing and removing what Cache Storage keeps.

// readHead reads a file's first n bytes (or all of a shorter one).
func readHead(h fileHandle, n int) ([]byte, error) {
	return webio.BlobBytes(h.file.Call("slice", 0, n))
}

// convertInWorker converts a checkpoint (and labels, when labels.file is
// set) in a new Web Worker and waits for it; step sees each step start.
// The worker stores the weight file itself: only the report crosses over.
func convertInWorker(ckpt fileHandle, labels *fileHandle, step func(int)) (rep byo.Report, sm byo.Stored, err error) {
	defer func() {
		// new Worker throws where workers are refused (a CSP, a sandbox):
		// syscall/js turns that into a panic, which must not end the page.
		if p := recover(); p != nil {
			err = fmt.Errorf("this browser did not start the converter (%v)", p)
		}
	}()
	if js.Global().Get("Worker").Type() != js.TypeFunction {
		return rep, sm, fmt.Errorf("this browser has no Web Workers, which the converter runs in")
	}
	type msg struct {
		kind, text, model string
		step              int
	}
	ch := make(chan msg, 16)
	w := js.Global().Get("Worker").New(converterFiles[0])
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		d := args[0].Get("data")
		m := msg{kind: d.Get("type").String()}
		switch m.kind {
		case "step":
			m.step = d.Get("step").Int()
		case "error":
			m.text = d.Get("message").String()
		case "done":
			m.text, m.model = d.Get("report").String(), d.Get("model").String()
		}
		select {
		case ch <- m:
		default: // never blocks a JS callback; a job posts at most 8 messages, so none is lost
		}
		return nil
	})
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		text := workerFailure(args[0], "the converter's worker")
		select {
		case ch <- msg{kind: "error", text: text}:
		default:
		}
		return nil
	})
	defer onMessage.Release()
	defer onError.Release()
	defer w.Call("terminate")
	w.Call("addEventListener", "message", onMessage)
	w.Call("addEventListener", "error", onError)
	job := map[string]any{"checkpoint": ckpt.file, "labels": nil}
	if labels != nil {
		job["labels"] = labels.file
	}
	w.Call("postMessage", job)
	for m := range ch {
		switch m.kind {
		case "step":
			step(m.step)
		case "error":
			return byo.Report{}, byo.Stored{}, fmt.Errorf("%s", m.text)
		case "exit":
			return byo.Report{}, byo.Stored{}, fmt.Errorf("%s: the converter stopped without an answer: the checkpoint needs more memory than this tab has, or it is malformed", ckpt.name)
		case "done":
			if err := json.Unmarshal([]byte(m.text), &rep); err != nil {
				return rep, sm, fmt.Errorf("the converter's report: %w", err)
			}
			if err := json.Unmarshal([]byte(m.model), &sm); err != nil {
				return rep, sm, fmt.Errorf("the converter's report: %w", err)
			}
			go keepConverterOffline()
			return rep, sm, nil
		}
	}
	return byo.Report{}, byo.Stored{}, fmt.Errorf("unreachable")
}

// converterFiles are what a conversion fetches: the worker and its wasm.
var converterFiles = []string{"/web/convert-worker.js", "/web/converter.wasm"}

// keepConverterOffline puts the converter into the app's own cache once
// it has worked. The service worker precaches only what every visit
// needs, and the converter (a 5.6 MB wasm) is fetched on a first
// conversion only; kept, it converts offline too. The newest
// "app-<version>" cache is the service worker's current one, so the next
// version of the app drops this copy with the rest of its old files.
func keepConverterOffline() {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return
	}
	keys, err := webio.Await(caches.Call("keys"))
	if err != nil {
		return
	}
	name := ""
	for i := 0; i < keys.Get("length").Int(); i++ {
		if k := keys.Index(i).String(); strings.HasPrefix(k, "app-") {
			name = k
		}
	}
	if name == "" {
		return // no service worker yet: nothing serves the page offline anyway
	}
	cache, err := webio.Await(caches.Call("open", name))
	if err != nil {
		return
	}
	for _, u := range converterFiles {
		if hit, err := webio.Await(cache.Call("match", u)); err == nil && hit.Truthy() {
			continue
		}
		if _, err := webio.Await(cache.Call("add", u)); err != nil {
			js.Global().Get("console").Call("warn", "the converter is not kept for offline use: "+err.Error())
			return
		}
	}
}

// listStored lists the converted models in Cache Storage.
func listStored() ([]byo.Stored, error) {
	cache := openModelCache()
	if !cache.Truthy() {
		return nil, nil
	}
	keys, err := webio.Await(cache.Call("keys"))
	if err != nil {
		return nil, fmt.Errorf("list the kept models: %w", err)
	}
	prefix := "/web/models/" + byo.MineDir
	headers := map[string]string{}
	for i := 0; i < keys.Get("length").Int(); i++ {
		req := keys.Index(i)
		p := js.Global().Get("URL").New(req.Get("url")).Get("pathname").String()
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		resp, err := webio.Await(cache.Call("match", req))
		if err != nil || !resp.Truthy() {
			continue
		}
		if h := resp.Get("headers").Call("get", byo.InfoHeader); h.Type() == js.TypeString {
			headers[strings.TrimPrefix(p, "/web/models/")] = h.String()
		}
	}
	return byo.List(headers), nil
}

// removeStored deletes a converted model from Cache Storage.
func removeStored(file string) error {
	if !byo.IsStored(file) {
		return fmt.Errorf("%s is not a converted model", file)
	}
	return forgetModel("/web/models/" + file)
}
