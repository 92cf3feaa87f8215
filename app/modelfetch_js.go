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

// copyPiece is how much of the finished download one task copies into
// the Go heap before the page gets its thread back.
const copyPiece = 4 << 20

// loadInWorker is loadModelBytes done by the fetch worker: Cache Storage
// or the network, progress as it comes, then the whole file, copied into
// the Go heap in pieces. errNoFetchWorker when the worker never answered.
func loadInWorker(url string, progress func(head []byte, loaded, total int64, cached bool)) (data []byte, cached bool, err error) {
	defer func() {
		// new Worker throws where workers are refused: syscall/js turns
		// that into a panic, which must not end the page.
		if p := recover(); p != nil {
			data, cached, err = nil, false, errNoFetchWorker
		}
	}()
	if js.Global().Get("Worker").Type() != js.TypeFunction {
		return nil, false, errNoFetchWorker
	}
	type message struct {
		kind string
		v    js.Value
	}
	// Progress may be dropped when the page is behind (the next one says
	// more); the head and the end never are: they have their own room.
	progressCh := make(chan message, 8)
	endCh := make(chan message, 4)
	heard := false
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		d := args[0].Get("data")
		m := message{kind: d.Get("type").String(), v: d}
		if m.kind == "progress" {
			select {
			case progressCh <- m:
			default:
			}
			return nil
		}
		select {
		case endCh <- m:
		default:
		}
		return nil
	})
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		text := workerFailure(args[0], "the download worker")
		select {
		case endCh <- message{kind: "worker-error", v: js.ValueOf(text)}:
		default:
		}
		return nil
	})
	defer onMessage.Release()
	defer onError.Release()
	w := js.Global().Get("Worker").New(fetchWorkerURL)
	defer w.Call("terminate")
	w.Call("addEventListener", "message", onMessage)
	w.Call("addEventListener", "error", onError)
	w.Call("postMessage", map[string]any{"url": url, "cacheName": modelCacheName, "limit": maxModelBytes})

	var head []byte
	var loaded, total int64
	for {
		select {
		case m := <-progressCh:
			heard = true
			loaded, total = int64(m.v.Get("loaded").Float()), int64(m.v.Get("total").Float())
			cached = m.v.Get("cached").Bool()
			progress(head, loaded, total, cached)
		case m := <-endCh:
			switch m.kind {
			case "worker-error":
				if !heard {
					return nil, false, errNoFetchWorker // the script did not load
				}
				return nil, false, errors.New(m.v.String())
			case "error":
				return nil, false, errors.New(m.v.Get("message").String())
			case "head":
				heard = true
				u8 := js.Global().Get("Uint8Array").New(m.v.Get("bytes"))
				head = make([]byte, u8.Get("length").Int())
				js.CopyBytesToGo(head, u8)
				progress(head, loaded, total, cached)
			case "done":
				cached = m.v.Get("cached").Bool()
				buf := m.v.Get("buffer")
				n := buf.Get("byteLength").Int()
				if int64(n) > maxModelBytes {
					return nil, false, fmt.Errorf("%s: larger than the %d-byte limit", url, int64(maxModelBytes))
				}
				data = make([]byte, n)
				u8 := js.Global().Get("Uint8Array")
				for off := 0; off < n; off += copyPiece {
					end := min(n, off+copyPiece)
					js.CopyBytesToGo(data[off:end], u8.New(buf, off, end-off))
					breatheWith(yieldToBrowser)
				}
				// Free the 25 MB now: until the Go GC finalizes buf, the
				// JS buffer stays referenced. Transferring it to a new,
				// empty buffer detaches it and releases its bytes.
				if buf.Get("transfer").Type() == js.TypeFunction {
					buf.Call("transfer", 0)
				}
				return data, cached, nil
			}
		}
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
