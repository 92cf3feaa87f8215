//go:build js && wasm

package app

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"syscall/js"
	"time"

	"github.com/residual-webgpu/residual/internal/webio"
)

// yieldToBrowser lets the browser run its event loop (paint, input) for a
// moment in the middle of long work (a CPU run, decoding the weights,
// building the GPU plan): WebAssembly has one thread, and that work would
// otherwise hold it for seconds. It waits for a JavaScript timer rather
// than sleeping: with two busy goroutines (a CPU run while the GPU engine
// prepares), each one's short sleep has expired by the time the other
// pauses, so the Go runtime would switch between them without ever
// returning to the browser; a goroutine waiting for a JavaScript callback
// can only be woken once the browser has run it, after the current task.
var yieldToBrowser = func() { waitTimer(0) }

// pauseFor waits d on a JavaScript timer (platform.yield).
func pauseFor(d time.Duration) { waitTimer(int(d.Milliseconds())) }

// waitTimer blocks the calling goroutine on a JavaScript timer of ms
// milliseconds (see yieldToBrowser for why not time.Sleep).
func waitTimer(ms int) {
	done := make(chan struct{})
	var f js.Func
	f = js.FuncOf(func(js.Value, []js.Value) any {
		f.Release()
		close(done)
		return nil
	})
	js.Global().Call("setTimeout", f, ms)
	<-done
}

// fileHandle is a file the user gave (drop, picker, paste), not yet read.
type fileHandle struct {
	name string
	size int64
	file js.Value // a File or Blob
}

// filesFromList collects the files of a FileList (or an array of Files).
func filesFromList(list js.Value) []fileHandle {
	if !list.Truthy() {
		return nil
	}
	n := list.Get("length").Int()
	hs := make([]fileHandle, 0, n)
	for i := 0; i < n; i++ {
		f := list.Index(i)
		name := f.Get("name")
		h := fileHandle{name: "pasted image", size: int64(f.Get("size").Float()), file: f}
		if name.Type() == js.TypeString && name.String() != "" {
			h.name = name.String()
		}
		hs = append(hs, h)
	}
	return hs
}

// hasFiles reports whether a drag carries files (not text or a link).
func hasFiles(dt js.Value) bool {
	if !dt.Truthy() {
		return false
	}
	types := dt.Get("types")
	for i := 0; i < types.Get("length").Int(); i++ {
		if types.Index(i).String() == "Files" {
			return true
		}
	}
	return false
}

// listenForFiles makes the whole page a drop target and a paste target.
// The handlers run inside JS callbacks: they only call preventDefault
// (which must happen synchronously, so go-app's deferred handlers cannot
// do it), pick the File objects out of the event and hand them on; the
// callbacks must not block. onDrag says when a drag of files enters or
// leaves the window. The returned function removes the listeners.
func listenForFiles(onFiles func([]fileHandle), onDrag func(bool), onEmptyDrop func()) (stop func()) {
	doc := js.Global().Get("document")
	depth := 0 // dragenter/dragleave pair up per element; 0 means outside
	handlers := map[string]js.Func{
		"dragenter": js.FuncOf(func(_ js.Value, args []js.Value) any {
			e := args[0]
			if !hasFiles(e.Get("dataTransfer")) {
				return nil
			}
			e.Call("preventDefault")
			depth++
			if depth == 1 {
				onDrag(true)
			}
			return nil
		}),
		"dragover": js.FuncOf(func(_ js.Value, args []js.Value) any {
			e := args[0]
			if hasFiles(e.Get("dataTransfer")) {
				e.Call("preventDefault")
				e.Get("dataTransfer").Set("dropEffect", "copy")
			}
			return nil
		}),
		"dragleave": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if depth > 0 {
				depth--
				if depth == 0 {
					onDrag(false)
				}
			}
			return nil
		}),
		"drop": js.FuncOf(func(_ js.Value, args []js.Value) any {
			e := args[0]
			e.Call("preventDefault")
			if depth > 0 {
				depth = 0
				onDrag(false)
			}
			files := filesFromList(e.Get("dataTransfer").Get("files"))
			if len(files) == 0 {
				onEmptyDrop()
				return nil
			}
			onFiles(files)
			return nil
		}),
		"paste": js.FuncOf(func(_ js.Value, args []js.Value) any {
			e := args[0]
			cd := e.Get("clipboardData")
			if !cd.Truthy() {
				return nil
			}
			files := filesFromList(cd.Get("files"))
			if len(files) == 0 {
				return nil // plain text pastes go wherever the browser puts them
			}
			e.Call("preventDefault")
			onFiles(files)
			return nil
		}),
	}
	for ev, fn := range handlers {
		doc.Call("addEventListener", ev, fn)
	}
	return func() {
		for ev, fn := range handlers {
			doc.Call("removeEventListener", ev, fn)
			fn.Release()
		}
	}
}

// pickedFiles takes the files chosen in a file input and clears it, so
// choosing the same file again fires another change.
func pickedFiles(inputID string) []fileHandle {
	in := js.Global().Get("document").Call("getElementById", inputID)
	if !in.Truthy() {
		return nil
	}
	files := filesFromList(in.Get("files"))
	if len(files) > 0 {
		// Keep the File objects (they outlive the input's list) before
		// clearing it.
		in.Set("value", "")
	}
	return files
}

// readFile reads one file's bytes. Files over maxFileBytes are refused
// before reading.
func readFile(h fileHandle) ([]byte, error) {
	if h.size > maxFileBytes {
		return nil, fmt.Errorf("%s: file is %s, over the %s limit", h.name, formatBytes(h.size), formatBytes(maxFileBytes))
	}
	data, err := webio.BlobBytes(h.file)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the file: %w", h.name, err)
	}
	return data, nil
}

// fetchBytes downloads a URL (a sample photo) whole.
func fetchBytes(url string) ([]byte, error) {
	return webio.Get(url, maxModelBytes)
}

// openModelCache opens the app's Cache Storage bucket for weights, or
// returns an undefined value where Cache Storage is missing (an insecure
// origin) or refused.
func openModelCache() js.Value {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return js.Undefined()
	}
	c, err := webio.Await(caches.Call("open", modelCacheName))
	if err != nil {
		return js.Undefined()
	}
	return c
}

// loadModelFile returns the weight file at url: from Cache Storage when
// it is there (no network at all), else downloaded and put into the cache
// while it streams in. progress sees the file's first bytes as far as
// they are known (the header, to compile the GPU pipelines meanwhile) and
// the bytes so far (the progress bar). A worker does it (loadInWorker),
// off the page's thread, and the file stays in the worker (keptFile);
// where none starts, the page reads it into the Go heap
// (loadModelBytesHere).
func loadModelFile(url string, progress func(head []byte, loaded, total int64, cached bool)) (modelFile, bool, error) {
	f, cached, err := loadInWorker(url, progress)
	if err == nil {
		return f, cached, nil
	}
	if !errors.Is(err, errNoFetchWorker) {
		return nil, false, err
	}
	js.Global().Get("console").Call("warn", "residual: "+err.Error()+"; the page downloads the weights itself")
	data, cached, err := loadModelBytesHere(url, progress)
	if err != nil {
		return nil, false, err
	}
	return bytes.NewReader(data), cached, nil
}

// loadModelBytesHere is loadModelBytes on the page's thread.
func loadModelBytesHere(url string, progress func(head []byte, loaded, total int64, cached bool)) (data []byte, cached bool, err error) {
	each := func(cached bool) func([]byte, int64) {
		return func(d []byte, t int64) { progress(d, int64(len(d)), t, cached) }
	}
	cache := openModelCache()
	if cache.Truthy() {
		if hit, err := webio.Await(cache.Call("match", url)); err == nil && hit.Truthy() {
			data, err := webio.ReadBody(url, hit, maxModelBytes, each(true))
			if err == nil {
				return data, true, nil
			}
			webio.Await(cache.Call("delete", url)) // unreadable entry: fetch again
		}
	}
	// "no-cache": the browser's HTTP cache may hold the file too, and must
	// ask the server before using it (a cheap 304 when unchanged). So a
	// copy forgotten from Cache Storage is never brought back offline,
	// whatever max-age a static host sends.
	resp, err := webio.Fetch(url, map[string]any{"cache": "no-cache"})
	if err != nil {
		return nil, false, fmt.Errorf("the model is not in this browser's cache and the download failed: %w", err)
	}
	var put js.Value
	if cache.Truthy() {
		// The clone streams into the cache as the original is read; a
		// failed download rejects the put and leaves no partial entry.
		put = cache.Call("put", url, resp.Call("clone"))
	}
	data, err = webio.ReadBody(url, resp, maxModelBytes, each(false))
	if err != nil {
		return nil, false, fmt.Errorf("download %w", err)
	}
	if put.Truthy() {
		if _, err := webio.Await(put); err != nil {
			js.Global().Get("console").Call("warn", "residual: could not cache the model:", err.Error())
		}
	}
	return data, false, nil
}

// forgetModel removes a weight file from Cache Storage.
func forgetModel(url string) error {
	cache := openModelCache()
	if !cache.Truthy() {
		return nil
	}
	if _, err := webio.Await(cache.Call("delete", url)); err != nil {
		return fmt.Errorf("forget %s: %w", url, err)
	}
	return nil
}

// probeWebGPU asks the browser for a WebGPU adapter and reads its
// description (gogpu/wgpu's browser backend reports a fixed name).
func probeWebGPU() gpuInfo {
	gpu := js.Global().Get("navigator").Get("gpu")
	if !gpu.Truthy() {
		return gpuInfo{Problem: "this browser has no WebGPU (navigator.gpu is missing)"}
	}
	ad, err := webio.Await(gpu.Call("requestAdapter"))
	if err != nil {
		return gpuInfo{Problem: "requestAdapter failed: " + err.Error()}
	}
	if !ad.Truthy() {
		return gpuInfo{Problem: "no WebGPU adapter (the GPU is blocklisted or absent)"}
	}
	info := ad.Get("info")
	if !info.Truthy() && ad.Get("requestAdapterInfo").Type() == js.TypeFunction {
		info, _ = webio.Await(ad.Call("requestAdapterInfo"))
	}
	str := func(v js.Value, k string) string {
		if !v.Truthy() {
			return ""
		}
		if s := v.Get(k); s.Type() == js.TypeString {
			return s.String()
		}
		return ""
	}
	g := gpuInfo{
		Available:    true,
		Vendor:       str(info, "vendor"),
		Architecture: str(info, "architecture"),
		Device:       str(info, "device"),
		Description:  str(info, "description"),
	}
	if f := ad.Get("isFallbackAdapter"); f.Type() == js.TypeBoolean {
		g.Fallback = f.Bool()
	} else if info.Truthy() && info.Get("isFallbackAdapter").Type() == js.TypeBoolean {
		g.Fallback = info.Get("isFallbackAdapter").Bool()
	}
	return g
}

// clipboardImages reads images from the clipboard through the async
// Clipboard API (the Paste button; Ctrl+V goes through the paste event).
func clipboardImages() ([]fileHandle, error) {
	cb := js.Global().Get("navigator").Get("clipboard")
	if !cb.Truthy() || cb.Get("read").Type() != js.TypeFunction {
		return nil, &pasteError{problem: clipboardUnsupported}
	}
	items, err := webio.Await(cb.Call("read"))
	if err != nil {
		return nil, &pasteError{problem: clipboardRefused, cause: err}
	}
	var hs []fileHandle
	for i := 0; i < items.Get("length").Int(); i++ {
		item := items.Index(i)
		types := item.Get("types")
		for j := 0; j < types.Get("length").Int(); j++ {
			t := types.Index(j).String()
			if len(t) < 6 || t[:6] != "image/" {
				continue
			}
			blob, err := webio.Await(item.Call("getType", t))
			if err != nil {
				return nil, &pasteError{problem: clipboardRefused, cause: err}
			}
			hs = append(hs, fileHandle{name: "clipboard image " + strconv.Itoa(len(hs)+1), size: int64(blob.Get("size").Float()), file: blob})
			break
		}
	}
	if len(hs) == 0 {
		return nil, &pasteError{problem: clipboardEmpty}
	}
	return hs, nil
}

// markTiming records a named moment for tests and people (performance
// marks show in the browser's performance panel).
func markTiming(name string) float64 {
	perf := js.Global().Get("performance")
	perf.Call("mark", name)
	return perf.Call("now").Float()
}

// queryParam returns one parameter of the page's URL.
func queryParam(k string) string {
	v := js.Global().Get("URLSearchParams").New(js.Global().Get("location").Get("search")).Call("get", k)
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

// revealAnswer scrolls the answer into view when it is not all on
// screen (on a phone it lands below the fold): the results from their
// heading down to the first image's top-5 when that fits the window, else
// that image's card alone. It is a no-op when the card is already visible.
func revealAnswer() {
	doc, win := js.Global().Get("document"), js.Global()
	section := doc.Call("getElementById", "results")
	card := doc.Call("querySelector", "#predictions > li")
	if !section.Truthy() || !card.Truthy() {
		return
	}
	top := section.Call("getBoundingClientRect").Get("top").Float()
	cr := card.Call("getBoundingClientRect")
	cardTop, cardBottom := cr.Get("top").Float(), cr.Get("bottom").Float()
	h := win.Get("innerHeight").Float()
	if cardTop >= 0 && cardBottom <= h {
		return
	}
	const margin = 8
	target := top - margin
	if cardBottom-top+2*margin > h {
		target = cardTop - margin
	}
	behavior := "smooth"
	if win.Call("matchMedia", "(prefers-reduced-motion: reduce)").Get("matches").Bool() {
		behavior = "auto"
	}
	win.Call("scrollTo", map[string]any{"top": win.Get("scrollY").Float() + target, "behavior": behavior})
}

// revealElement scrolls an element into view when it is not on screen.
func revealElement(id string) {
	el := js.Global().Get("document").Call("getElementById", id)
	if el.Truthy() {
		el.Call("scrollIntoView", map[string]any{"block": "nearest"})
	}
}

// focusElement moves the keyboard focus to an element, when there is one.
func focusElement(id string) {
	if el := js.Global().Get("document").Call("getElementById", id); el.Truthy() {
		el.Call("focus")
	}
}

// openDetails opens a <details> element (a link to the class list).
func openDetails(id string) {
	if el := js.Global().Get("document").Call("getElementById", id); el.Truthy() {
		el.Set("open", true)
	}
}
