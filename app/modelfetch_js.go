//go:build js && wasm

package app

import (
	"errors"
	"fmt"
	"syscall/js"
)

// fetchWorkerURL is the worker that downloads the weight file
// (web/fetch-worker.js, which says why).
const fetchWorkerURL = "/web/fetch-worker.js"

// errNoFetchWorker says the worker could not start (no Workers, a CSP, a
// static host without the script): the page then reads the file itself.
var errNoFetchWorker = errors.New("the download worker did not start")

// loadInWorker is loadModelFile done by the fetch worker: Cache Storage
// or the network, progress as it comes, then the whole file, which stays
// in the worker (keptFile). errNoFetchWorker when the worker never
// answered.
func loadInWorker(url string, progress func(head []byte, loaded, total int64, cached bool)) (*keptFile, bool, error) {
	var head []byte
	fw, cached, stored, err := startFileWorker(url, true, func(h []byte, loaded, total int64, cached bool) {
		head = h
		progress(h, loaded, total, cached)
	})
	if err != nil {
		return nil, false, err
	}
	reopen := func() (fileHolder, bool, error) {
		fw, cached, _, err := startFileWorker(url, false, nil)
		if err != nil {
			return nil, false, err
		}
		return fw, cached, nil
	}
	debug := func(s string) { js.Global().Get("console").Call("debug", s) }
	return newKeptFile(url, fw, head, stored, reopen, debug), cached, nil
}

// workerMessage is one message from the fetch worker.
type workerMessage struct {
	kind string
	v    js.Value
}

// fileWorker is a fetch worker that has loaded one weight file and keeps
// it: the page reads it a range at a time (read), and closing the worker
// frees it at once, with everything else of the worker's.
type fileWorker struct {
	w                  js.Value
	onMessage, onError js.Func
	progress, end      chan workerMessage
	bytes              int64
	scratch            js.Value // the buffer each read fills, passed to the worker and back
}

var _ fileHolder = (*fileWorker)(nil)

// size is the file's length in bytes.
func (fw *fileWorker) size() int64 { return fw.bytes }

// startFileWorker starts a fetch worker and has it load url: from Cache
// Storage, else the network (with store, putting it into Cache Storage).
// It says whether the file came from Cache Storage (cached) and is there
// now (stored). progress may be nil.
func startFileWorker(url string, store bool, progress func(head []byte, loaded, total int64, cached bool)) (fw *fileWorker, cached, stored bool, err error) {
	defer func() {
		// new Worker throws where workers are refused: syscall/js turns
		// that into a panic, which must not end the page.
		if p := recover(); p != nil {
			if fw != nil {
				fw.close()
			}
			fw, cached, stored, err = nil, false, false, errNoFetchWorker
		}
	}()
	if progress == nil {
		progress = func([]byte, int64, int64, bool) {}
	}
	if js.Global().Get("Worker").Type() != js.TypeFunction {
		return nil, false, false, errNoFetchWorker
	}
	// Progress may be dropped when the page is behind (the next one says
	// more); the rest never are: they have their own room.
	fw = &fileWorker{progress: make(chan workerMessage, 8), end: make(chan workerMessage, 4), scratch: js.Undefined()}
	fw.onMessage = js.FuncOf(func(_ js.Value, args []js.Value) any {
		d := args[0].Get("data")
		m := workerMessage{kind: d.Get("type").String(), v: d}
		ch := fw.end
		if m.kind == "progress" {
			ch = fw.progress
		}
		select {
		case ch <- m:
		default:
		}
		return nil
	})
	fw.onError = js.FuncOf(func(_ js.Value, args []js.Value) any {
		text := workerFailure(args[0], "the download worker")
		select {
		case fw.end <- workerMessage{kind: "worker-error", v: js.ValueOf(text)}:
		default:
		}
		return nil
	})
	fail := func(err error) (*fileWorker, bool, bool, error) {
		fw.close()
		return nil, false, false, err
	}
	fw.w = js.Global().Get("Worker").New(fetchWorkerURL)
	fw.w.Call("addEventListener", "message", fw.onMessage)
	fw.w.Call("addEventListener", "error", fw.onError)
	fw.w.Call("postMessage", map[string]any{"type": "load", "url": url, "cacheName": modelCacheName, "limit": maxModelBytes, "store": store})

	var head []byte
	var loaded, total int64
	heard := false
	for {
		select {
		case m := <-fw.progress:
			heard = true
			loaded, total = int64(m.v.Get("loaded").Float()), int64(m.v.Get("total").Float())
			cached = m.v.Get("cached").Bool()
			progress(head, loaded, total, cached)
		case m := <-fw.end:
			switch m.kind {
			case "worker-error":
				if !heard {
					return fail(errNoFetchWorker) // the script did not load
				}
				return fail(errors.New(m.v.String()))
			case "error":
				return fail(errors.New(m.v.Get("message").String()))
			case "head":
				heard = true
				u8 := js.Global().Get("Uint8Array").New(m.v.Get("bytes"))
				head = make([]byte, u8.Get("length").Int())
				js.CopyBytesToGo(head, u8)
				progress(head, loaded, total, cached)
			case "done":
				fw.bytes = int64(m.v.Get("size").Float())
				if fw.bytes > maxModelBytes {
					return fail(fmt.Errorf("%s: larger than the %d-byte limit", url, int64(maxModelBytes)))
				}
				return fw, m.v.Get("cached").Bool(), m.v.Get("stored").Bool(), nil
			}
		}
	}
}

// read copies len(p) bytes of the file at off into p. One read at a
// time (keptFile holds its lock).
func (fw *fileWorker) read(p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	if fw.scratch.IsUndefined() || fw.scratch.Get("byteLength").Int() < len(p) {
		fw.scratch = js.Global().Get("ArrayBuffer").New(max(len(p), 1<<20))
	}
	fw.w.Call("postMessage", map[string]any{"type": "read", "off": off, "n": len(p), "buffer": fw.scratch}, []any{fw.scratch})
	fw.scratch = js.Undefined() // the worker has it now
	m := <-fw.end
	switch m.kind {
	case "bytes":
		fw.scratch = m.v.Get("buffer")
		js.CopyBytesToGo(p, js.Global().Get("Uint8Array").New(fw.scratch, 0, len(p)))
		return nil
	case "worker-error":
		return errors.New(m.v.String())
	default:
		return fmt.Errorf("the download worker: %s", m.v.Get("message").String())
	}
}

// close ends the worker, freeing the file.
func (fw *fileWorker) close() {
	if fw.w.Truthy() {
		fw.w.Call("terminate")
	}
	if fw.onMessage.Truthy() {
		fw.onMessage.Release()
	}
	if fw.onError.Truthy() {
		fw.onError.Release()
	}
}

// workerFailure says what a Worker's error event reports ("<who> failed:
// <message>"), and keeps the browser from also logging it as uncaught.
func workerFailure(ev js.Value, who string) string {
	ev.Call("preventDefault")
	text := who + " failed"
	if m := ev.Get("message"); m.Type() == js.TypeString {
		text += ": " + m.String()
	}
	return text
}
