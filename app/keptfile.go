package app

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// releaseAfter is how long the weight file outlives its last read once
// the page has settled it and Cache Storage holds a copy: engines read
// every weight while they build (the GPU engine again for each new input
// size), then nothing until the next size.
const releaseAfter = 2 * time.Second

// fileHolder holds a whole weight file somewhere outside the Go heap (in
// the browser, the fetch worker that downloaded it) and copies ranges of
// it out.
type fileHolder interface {
	size() int64
	read(p []byte, off int64) error
	close() // frees the file
}

// reopenFunc brings the file back into a new holder: from Cache Storage,
// else the network without storing it (the visitor may have asked to
// forget it). cached says it came from Cache Storage.
type reopenFunc func() (h fileHolder, cached bool, err error)

// keptFile is the downloaded weight file, read a range at a time by the
// decoder and the engines (a modelFile). Once the page has settled it
// (its first engine is built) and no read has come for releaseAfter, a
// file that Cache Storage holds is released (its holder closed); the next
// read reopens it and checks it is the same file. So a page that has
// built its engines holds the weights only where they run: packed in the
// kernels' memory, or on the GPU.
type keptFile struct {
	url    string
	total  int64
	head   []byte // the first bytes, up to the header's end: a file read again must start with them
	reopen reopenFunc
	after  time.Duration
	log    func(string) // says when the file is released and read again (the browser's console)

	mu      sync.Mutex
	stored  bool       // Cache Storage holds the file: it may be released
	settled bool       // the first engine is built: idle time may release the file
	h       fileHolder // nil while released
	idle    *time.Timer
	reads   int // times the file was reopened
}

// newKeptFile wraps a file h holds; stored says Cache Storage has a copy.
func newKeptFile(url string, h fileHolder, head []byte, stored bool, reopen reopenFunc, log func(string)) *keptFile {
	return &keptFile{url: url, total: h.size(), head: head, stored: stored, h: h, reopen: reopen, after: releaseAfter, log: log}
}

// Size is the file's length in bytes.
func (f *keptFile) Size() int64 { return f.total }

// settle says the page's first engine is built (or its model is no
// longer used): from now on idle time releases the file. Until then the
// gaps between reads can be long (shader compilation on a software
// adapter takes seconds) and a release would only mean reading the file
// again.
func (f *keptFile) settle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.settled {
		f.settled = true
		f.touch()
	}
}

// ReadAt copies len(p) bytes at off into p, reopening the file first
// when it was released.
func (f *keptFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > f.total {
		return 0, fmt.Errorf("%s: read at %d, outside its %d bytes", f.url, off, f.total)
	}
	n := int(min(int64(len(p)), f.total-off))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.h == nil {
		if err := f.bringBack(); err != nil {
			return 0, err
		}
	}
	if err := f.h.read(p[:n], off); err != nil {
		return 0, fmt.Errorf("%s: read %d bytes at %d: %w", f.url, n, off, err)
	}
	f.touch()
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// bringBack reopens the file and checks that it is the one decoded
// (locked).
func (f *keptFile) bringBack() error {
	h, cached, err := f.reopen()
	if err != nil {
		return fmt.Errorf("read the weights again: %w", err)
	}
	head := make([]byte, min(int64(len(f.head)), h.size()))
	if err := h.read(head, 0); err != nil {
		h.close()
		return fmt.Errorf("read the weights again: %w", err)
	}
	if h.size() != f.total || !bytes.Equal(head, f.head) {
		h.close()
		return fmt.Errorf("read the weights again: %s changed since the page loaded it (%d bytes, was %d): reload the page", f.url, h.size(), f.total)
	}
	f.h = h
	f.reads++
	if !cached {
		// Forgotten from Cache Storage meanwhile and downloaded again
		// (not stored): keep it from now on.
		f.stored = false
	}
	f.say(fmt.Sprintf("residual: weights: %s read again (%d times)", f.url, f.reads))
	return nil
}

// touch restarts the release timer (locked).
func (f *keptFile) touch() {
	if !f.stored || !f.settled {
		return // nowhere to read it again from, or still loading: keep it
	}
	if f.idle != nil {
		f.idle.Stop()
	}
	f.idle = time.AfterFunc(f.after, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.stored && f.h != nil {
			f.h.close()
			f.h = nil
			f.say(fmt.Sprintf("residual: weights: %s released (%d bytes; Cache Storage keeps it)", f.url, f.total))
		}
	})
}

// say logs a line when there is a log.
func (f *keptFile) say(s string) {
	if f.log != nil {
		f.log(s)
	}
}
