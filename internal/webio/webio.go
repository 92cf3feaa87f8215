//go:build js && wasm

// Package webio is the browser plumbing the wasm programs share: waiting
// on JavaScript promises from Go, and downloading a file chunk by chunk
// with a look at each prefix (the app's progress bar; the GPU engine
// compiles its pipelines once a weight file's header is in).
package webio

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"syscall/js"
)

// Await blocks its goroutine until the promise p settles and returns its
// value, or the rejection as an error. A value that is not a promise is
// returned as it is. It must never run inside a JS callback (a js.FuncOf
// handler): the promise could not settle and the program would deadlock.
func Await(p js.Value) (js.Value, error) {
	if p.Type() != js.TypeObject || p.Get("then").Type() != js.TypeFunction {
		return p, nil
	}
	type outcome struct {
		v   js.Value
		err error
	}
	ch := make(chan outcome, 1)
	first := func(args []js.Value) js.Value {
		if len(args) > 0 {
			return args[0]
		}
		return js.Undefined()
	}
	resolve := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- outcome{v: first(args)}
		return nil
	})
	reject := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- outcome{err: Error(first(args))}
		return nil
	})
	defer resolve.Release()
	defer reject.Release()
	p.Call("then", resolve, reject)
	o := <-ch
	return o.v, o.err
}

// Error turns a JavaScript exception or rejection reason into a Go error:
// "Name: message" for an Error object (just the message for a plain
// Error), the text of a string.
func Error(v js.Value) error {
	if v.Type() == js.TypeObject {
		name, msg := v.Get("name"), v.Get("message")
		if msg.Type() == js.TypeString {
			if name.Type() == js.TypeString && name.String() != "" && name.String() != "Error" {
				return fmt.Errorf("%s: %s", name.String(), msg.String())
			}
			return errors.New(msg.String())
		}
	}
	if v.Type() == js.TypeString {
		return errors.New(v.String())
	}
	return fmt.Errorf("javascript error: %s", js.Global().Get("String").Invoke(v).String())
}

// Fetch GETs url with the page's fetch and returns the Response when its
// status is 200. init, when given, is fetch's options object (e.g.
// {"cache": "no-cache"}).
func Fetch(url string, init ...map[string]any) (js.Value, error) {
	args := []any{url}
	if len(init) > 0 {
		args = append(args, init[0])
	}
	resp, err := Await(js.Global().Call("fetch", args...))
	if err != nil {
		return js.Value{}, fmt.Errorf("fetch %s: %w", url, err)
	}
	if status := resp.Get("status").Int(); status != 200 {
		return js.Value{}, fmt.Errorf("fetch %s: HTTP %d %s", url, status, resp.Get("statusText").String())
	}
	return resp, nil
}

// ReadBody reads a Response's body chunk by chunk through its
// ReadableStream reader, refusing more than limit bytes. After every
// chunk (and once before the first) it calls each, when not nil, with the
// bytes so far and the Content-Length (0 when the server did not say).
func ReadBody(url string, resp js.Value, limit int64, each func(data []byte, total int64)) ([]byte, error) {
	var total int64
	if cl := resp.Get("headers").Call("get", "Content-Length"); cl.Type() == js.TypeString {
		total, _ = strconv.ParseInt(cl.String(), 10, 64)
	}
	if total < 0 || total > limit {
		return nil, fmt.Errorf("%s: Content-Length %d out of range (limit %d bytes)", url, total, limit)
	}
	body := resp.Get("body")
	if !body.Truthy() {
		return nil, fmt.Errorf("%s: response has no body", url)
	}
	reader := body.Call("getReader")
	data := make([]byte, 0, total)
	if each != nil {
		each(data, total)
	}
	for {
		r, err := Await(reader.Call("read"))
		if err != nil {
			return nil, fmt.Errorf("%s: download interrupted after %d bytes: %w", url, len(data), err)
		}
		if r.Get("done").Bool() {
			break
		}
		chunk := r.Get("value")
		n := chunk.Get("length").Int()
		if int64(len(data)+n) > limit {
			reader.Call("cancel")
			return nil, fmt.Errorf("%s: larger than the %d-byte limit", url, limit)
		}
		start := len(data)
		data = slices.Grow(data, n)[:start+n]
		js.CopyBytesToGo(data[start:], chunk)
		if each != nil {
			each(data, total)
		}
	}
	if total > 0 && int64(len(data)) != total {
		return nil, fmt.Errorf("%s: got %d bytes, Content-Length said %d", url, len(data), total)
	}
	return data, nil
}

// Get downloads url whole (Fetch, then ReadBody with no progress),
// refusing more than limit bytes.
func Get(url string, limit int64) ([]byte, error) {
	resp, err := Fetch(url)
	if err != nil {
		return nil, err
	}
	return ReadBody(url, resp, limit, nil)
}

// BlobBytes reads a Blob (a File, or a slice of one) whole.
func BlobBytes(b js.Value) ([]byte, error) {
	buf, err := Await(b.Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	u8 := js.Global().Get("Uint8Array").New(buf)
	data := make([]byte, u8.Get("length").Int())
	js.CopyBytesToGo(data, u8)
	return data, nil
}
