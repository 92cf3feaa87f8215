package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// maxGzipSize is the largest file the server compresses itself; larger
// compressible files (none in the app) are sent as they are.
const maxGzipSize = 256 << 20

// defaultGzipWait is how long a request waits for a compression in flight
// before it is sent the file as it is.
const defaultGzipWait = 5 * time.Second

// gzCache holds the gzip encoding of files of the web directory that have
// no fresh precompressed name.gz beside them (the wasm right after a
// rebuild, before `gzip -k` ran or when it did not). Each version of a
// file (its size and modification time) is compressed once, by one
// goroutine, streaming from the file into a file of a private temporary
// directory; requests are then served from that file like from a
// precompressed one, so memory does not grow with the number of requests
// or the size of the file.
//
// Requests arriving while the compression runs wait for it (a parked
// goroutine: no memory, no CPU) up to a bound, then get the identity
// encoding: waiting gives every client the encoding it asked for and one
// ETag per encoding, and the bound keeps a slow compression (a large file
// on a busy machine) from ever holding a response back for long.
type gzCache struct {
	root *os.Root
	dir  string        // private temporary directory for the encodings, made by the first compression
	wait time.Duration // longest wait for a compression in flight

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{} // one compression at a time, whatever the file

	mu      sync.Mutex
	entries map[string]*gzEntry
	runs    int // compressions started (tests)
}

// gzEntry is the gzip encoding of one version of a file.
type gzEntry struct {
	size    int64
	modTime time.Time
	done    chan struct{} // closed when the compression ended
	path    string        // the encoding, once done; "" if none (failed, not worth it)
}

// newGzCache makes an empty cache for the files under root.
func newGzCache(root *os.Root, wait time.Duration) *gzCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &gzCache{
		root: root, wait: wait, ctx: ctx, cancel: cancel,
		sem: make(chan struct{}, 1), entries: map[string]*gzEntry{},
	}
}

// Close stops the compressions in flight and removes the encodings.
// Responses still being sent from them keep their open files.
func (c *gzCache) Close() error {
	c.cancel()
	c.wg.Wait()
	if c.dir == "" {
		return nil
	}
	return os.RemoveAll(c.dir)
}

// entry returns the entry for this version of the file, starting its
// compression when there is none.
func (c *gzCache) entry(name string, fi fs.FileInfo) *gzEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[name]; ok && e.size == fi.Size() && e.modTime.Equal(fi.ModTime()) {
		return e
	}
	if old, ok := c.entries[name]; ok {
		// A finished one is removed now (responses reading it keep their
		// descriptors); a running one removes its output when it finds
		// that it is no longer the current entry.
		if old.path != "" {
			os.Remove(old.path)
		}
	}
	e := &gzEntry{size: fi.Size(), modTime: fi.ModTime(), done: make(chan struct{})}
	c.entries[name] = e
	c.runs++
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		path := c.compress(name, e)
		c.mu.Lock()
		if c.entries[name] == e {
			e.path = path
		} else if path != "" {
			os.Remove(path)
		}
		close(e.done)
		c.mu.Unlock()
	}()
	return e
}

// warm starts compressing a file now, so that its first request finds the
// encoding ready.
func (c *gzCache) warm(name string) {
	if fi, err := c.root.Stat(name); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxGzipSize {
		c.entry(name, fi)
	}
}

// get returns the path of the gzip encoding of this version of the file,
// waiting for its compression up to the cache's bound or until ctx ends;
// ok is false when the file should be sent as it is.
func (c *gzCache) get(ctx context.Context, name string, fi fs.FileInfo) (path string, ok bool) {
	if fi.Size() > maxGzipSize {
		return "", false
	}
	e := c.entry(name, fi)
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C:
		return "", false
	case <-ctx.Done():
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.path, e.path != ""
}

// compress writes the gzip encoding of one version of a file into the
// cache directory and returns its path, or "" when the file changed, the
// encoding is no smaller, or anything failed.
func (c *gzCache) compress(name string, e *gzEntry) string {
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-c.ctx.Done():
		return ""
	}
	same := func(fi fs.FileInfo) bool { return fi.Size() == e.size && fi.ModTime().Equal(e.modTime) }
	f, err := c.root.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !same(fi) {
		return ""
	}
	if c.dir == "" { // under sem, like every compression
		c.dir, err = os.MkdirTemp("", "residual-devserver-gz-")
		if err != nil {
			logf("gzip cache: %v", err)
			c.dir = ""
			return ""
		}
	}
	out, err := os.CreateTemp(c.dir, "gz-*")
	if err != nil {
		logf("gzip %s: %v", name, err)
		return ""
	}
	keep := false
	defer func() {
		if !keep {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	bw := bufio.NewWriterSize(out, 64<<10)
	// The default level: within a few percent of the best on wasm, in
	// about a third of the time, and this runs while clients wait.
	// `make wasm` writes the -9 name.gz that is preferred anyway.
	zw, _ := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if _, err := io.Copy(zw, ctxReader{c.ctx, f}); err != nil {
		if c.ctx.Err() == nil {
			logf("gzip %s: %v", name, err)
		}
		return ""
	}
	if err := zw.Close(); err != nil {
		logf("gzip %s: %v", name, err)
		return ""
	}
	if err := bw.Flush(); err != nil {
		logf("gzip %s: %v", name, err)
		return ""
	}
	// The file may have been rewritten while it was read.
	if fi, err := c.root.Stat(name); err != nil || !same(fi) {
		return ""
	}
	if fi, err := out.Stat(); err != nil || fi.Size() >= e.size {
		return ""
	}
	if err := out.Close(); err != nil {
		return ""
	}
	keep = true
	return out.Name()
}

// compressions returns how many compressions were started.
func (c *gzCache) compressions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}

// ctxReader stops reading when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
