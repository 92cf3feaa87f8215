package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// contentTypes are the types of the files the app serves. Anything else is
// sent as application/octet-stream: with nosniff, a browser never guesses.
var contentTypes = map[string]string{
	".wasm":        "application/wasm",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".html":        "text/html; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".webp":        "image/webp",
	".gif":         "image/gif",
	".ico":         "image/x-icon",
	".safetensors": "application/octet-stream",
	".bin":         "application/octet-stream",
}

// compressible lists the extensions worth gzipping: text and wasm. Images
// and int8 weights barely shrink, and weights must keep byte ranges and a
// true Content-Length for the app's download progress.
var compressible = map[string]bool{
	".wasm": true, ".js": true, ".mjs": true, ".css": true, ".json": true,
	".webmanifest": true, ".html": true, ".txt": true, ".svg": true,
}

// contentType returns the Content-Type for a file name.
func contentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

// cacheControl says how long browsers may keep a static file. Code and
// styles are revalidated on every load (their names carry no hash; the
// ETag makes that a cheap 304); images and weights may be reused for an
// hour (the app also keeps weights in Cache Storage itself).
func cacheControl(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".wasm", ".js", ".mjs", ".css", ".json", ".webmanifest", ".html":
		return "no-cache"
	default:
		return "public, max-age=3600"
	}
}

// staticFiles serves the files under one directory at a URL prefix, with
// no directory listings, no hidden files and no way out of the directory
// (os.Root refuses escaping paths and symlinks).
type staticFiles struct {
	root   *os.Root
	prefix string // e.g. "/web/"

	mu   sync.Mutex
	gzip map[string]gzEntry // on-the-fly gzip results by file name
}

// gzEntry is a cached gzip encoding of one version of a file.
type gzEntry struct {
	size    int64
	modTime time.Time
	data    []byte
}

// newStaticFiles opens dir for serving under prefix.
func newStaticFiles(dir, prefix string) (*staticFiles, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open web dir: %w", err)
	}
	return &staticFiles{root: root, prefix: prefix, gzip: map[string]gzEntry{}}, nil
}

// Close releases the directory handle.
func (s *staticFiles) Close() error { return s.root.Close() }

// ServeHTTP answers GET and HEAD for a file under the prefix; directories,
// hidden files and missing files are 404.
func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok || name == "" || strings.HasSuffix(name, "/") || hasHiddenSegment(name) {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, name)
}

// hasHiddenSegment reports whether any segment of a slash path starts with
// a dot (.git, .env, editor backups): never served.
func hasHiddenSegment(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// serveFile sends one file, gzipped when the client accepts it and the type
// is compressible: a fresh precompressed name.gz is preferred, else the file
// is compressed once and kept in memory.
func (s *staticFiles) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, fi, err := s.open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logf("static %q: %v", name, err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()

	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("Cache-Control", cacheControl(name))
	ext := strings.ToLower(path.Ext(name))
	if compressible[ext] {
		h.Add("Vary", "Accept-Encoding")
	}
	etag := fmt.Sprintf(`"%x-%x`, fi.Size(), fi.ModTime().UnixNano())
	if compressible[ext] && acceptsGzip(r) {
		if body, ok := s.gzipped(name, f, fi); ok {
			h.Set("Content-Encoding", "gzip")
			h.Set("ETag", etag+`-gz"`)
			http.ServeContent(w, r, "", fi.ModTime(), body)
			return
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			http.Error(w, "500 internal error", http.StatusInternalServerError)
			return
		}
	}
	h.Set("ETag", etag+`"`)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// open opens a regular file under the root; anything else is ErrNotExist.
func (s *staticFiles) open(name string) (*os.File, fs.FileInfo, error) {
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, fi, nil
}

// gzipped returns the gzip encoding of the file: name.gz when it exists and
// is not older than the file, else a cached on-the-fly encoding.
func (s *staticFiles) gzipped(name string, f *os.File, fi fs.FileInfo) (io.ReadSeeker, bool) {
	if gz, gzi, err := s.open(name + ".gz"); err == nil {
		if !gzi.ModTime().Before(fi.ModTime()) {
			// Read it whole: the file is closed when this returns, and
			// precompressed assets are a few MB at most.
			data, err := io.ReadAll(gz)
			gz.Close()
			if err == nil {
				return bytes.NewReader(data), true
			}
		} else {
			gz.Close()
		}
	}
	s.mu.Lock()
	e, ok := s.gzip[name]
	s.mu.Unlock()
	if ok && e.size == fi.Size() && e.modTime.Equal(fi.ModTime()) {
		return bytes.NewReader(e.data), true
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := io.Copy(zw, f); err != nil {
		return nil, false
	}
	if err := zw.Close(); err != nil {
		return nil, false
	}
	s.mu.Lock()
	s.gzip[name] = gzEntry{size: fi.Size(), modTime: fi.ModTime(), data: buf.Bytes()}
	s.mu.Unlock()
	return bytes.NewReader(buf.Bytes()), true
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (named, or through "*", with a non-zero quality).
func acceptsGzip(r *http.Request) bool {
	star := false
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		fields := strings.Split(part, ";")
		coding := strings.ToLower(strings.TrimSpace(fields[0]))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, p := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if coding == "gzip" {
			return q > 0
		}
		star = q > 0
	}
	return star
}
