//go:build js && wasm

package app

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"syscall/js"
	"time"
)

// releaseAfter is how long the weight file outlives its last read once
// the page has settled it and Cache Storage holds a copy: engines read
// every weight while they build (the GPU engine again for each new input
// size), then nothing until the next size.
const releaseAfter = 2 * time.Second

// jsFile is the downloaded weight file, kept by the fetch worker that
// downloaded it, outside the Go heap and the page's own JS heap. Engines
// copy one tensor at a time out of it (ReadAt). Once the page has settled
// it (its first engine is built) and no read has come for releaseAfter,
// a file that is in Cache Storage ends its worker, which frees it at
// once; the next read starts a worker that brings the file back from
// Cache Storage (or, forgotten meanwhile, from the network). So a page
// that has built its engines holds the weights only where they run:
// packed in the kernels' memory, or on the GPU.
type jsFile struct {
	url    string
	size   int64
	head   []byte // the first bytes, up to the header's end: a file read again must start with them
	stored bool   // Cache Storage holds the file: the worker may go

	mu      sync.Mutex
	settled bool        // the first engine is built: idle time may end the worker
	fw      *fileWorker // nil while released
	idle    *time.Timer
	reads   int // times the file was brought back
}

// newJSFile wraps a file its worker holds.
func newJSFile(url string, fw *fileWorker, head []byte, stored bool) *jsFile {
	return &jsFile{url: url, size: fw.size, head: head, stored: stored, fw: fw}
}

// Size is the file's length in bytes.
func (f *jsFile) Size() int64 { return f.size }

// settle says the page's first engine is built (or its model is no
// longer used): from now on idle time ends the worker. Until then the
// gaps between reads can be long (shader compilation on a software
// adapter takes seconds) and a release would only mean reading the file
// again.
func (f *jsFile) settle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.settled {
		f.settled = true
		f.touch()
	}
}

// ReadAt copies len(p) bytes at off into p, bringing the file back first
// when it was released.
func (f *jsFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > f.size {
		return 0, fmt.Errorf("%s: read at %d, outside its %d bytes", f.url, off, f.size)
	}
	n := int(min(int64(len(p)), f.size-off))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fw == nil {
		if err := f.reload(); err != nil {
			return 0, err
		}
	}
	if err := f.fw.read(p[:n], off); err != nil {
		return 0, fmt.Errorf("%s: read %d bytes at %d: %w", f.url, n, off, err)
	}
	f.touch()
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// reload brings the file back from Cache Storage (or the network, not
// storing it: the visitor may have asked to forget it) and checks that it
// is the file decoded (locked).
func (f *jsFile) reload() error {
	fw, cached, _, err := startFileWorker(f.url, false, nil)
	if err != nil {
		return fmt.Errorf("read the weights again: %w", err)
	}
	head := make([]byte, min(int64(len(f.head)), fw.size))
	if err := fw.read(head, 0); err != nil {
		fw.close()
		return fmt.Errorf("read the weights again: %w", err)
	}
	if fw.size != f.size || !bytes.Equal(head, f.head) {
		fw.close()
		return fmt.Errorf("read the weights again: %s changed since the page loaded it (%d bytes, was %d): reload the page", f.url, fw.size, f.size)
	}
	f.fw = fw
	f.reads++
	if !cached {
		// Forgotten from Cache Storage meanwhile and downloaded again:
		// keep it from now on.
		f.stored = false
	}
	js.Global().Get("console").Call("debug", fmt.Sprintf("residual: weights: %s read again (%d times)", f.url, f.reads))
	return nil
}

// touch restarts the release timer (locked).
func (f *jsFile) touch() {
	if !f.stored || !f.settled {
		return // nowhere to read it again from, or still loading: keep it
	}
	if f.idle != nil {
		f.idle.Stop()
	}
	f.idle = time.AfterFunc(releaseAfter, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.stored && f.fw != nil {
			f.fw.close()
			f.fw = nil
			js.Global().Get("console").Call("debug", fmt.Sprintf("residual: weights: %s released (%d bytes; Cache Storage keeps it)", f.url, f.size))
		}
	})
}
