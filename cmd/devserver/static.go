package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
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
// ETag makes that a cheap 304). So are weights: the app keeps them in
// Cache Storage itself, and its "Forget the cached copy" must not leave a
// second copy that the HTTP cache would hand back offline for an hour.
// Images may be reused for an hour.
func cacheControl(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".wasm", ".js", ".mjs", ".css", ".json", ".webmanifest", ".html", ".safetensors", ".bin":
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

	gz *gzCache // encodings of files with no fresh name.gz
}

// newStaticFiles opens dir for serving under prefix; a request waits at
// most gzipWait for a compression in flight.
func newStaticFiles(dir, prefix string, gzipWait time.Duration) (*staticFiles, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open web dir: %w", err)
	}
	return &staticFiles{root: root, prefix: prefix, gz: newGzCache(root, gzipWait)}, nil
}

// Close stops compressions in flight, removes their results and releases
// the directory handle.
func (s *staticFiles) Close() error {
	err := s.gz.Close()
	if err2 := s.root.Close(); err == nil {
		err = err2
	}
	return err
}

// ServeHTTP answers GET and HEAD for a file under the prefix; directories,
// hidden files and missing files are 404.
func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := staticName(r.URL.Path, s.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, name)
}

// serveFile sends one file, gzipped when the client accepts it and the type
// is compressible: a fresh precompressed name.gz is preferred, else the
// file's encoding from the cache (compressed once per version). Bodies are
// streamed from open files, never read whole.
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
		if gz := s.gzipped(r, name, fi); gz != nil {
			defer gz.Close()
			h.Set("Content-Encoding", "gzip")
			h.Set("ETag", etag+`-gz"`)
			http.ServeContent(w, r, "", fi.ModTime(), gz)
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

// warm compresses a compressible file now unless a fresh name.gz exists,
// so that its first request finds the encoding ready.
func (s *staticFiles) warm(name string) {
	fi, err := s.root.Stat(name)
	if err != nil || !compressible[strings.ToLower(path.Ext(name))] {
		return
	}
	if gzi, err := s.root.Stat(name + ".gz"); err == nil && gzi.Mode().IsRegular() && !gzi.ModTime().Before(fi.ModTime()) {
		return
	}
	s.gz.warm(name)
}

// gzipped opens the gzip encoding of the file: name.gz when it is a
// regular file not older than the file, else the cache's encoding of this
// version. It returns nil when the file is to be sent as it is.
func (s *staticFiles) gzipped(r *http.Request, name string, fi fs.FileInfo) *os.File {
	if gz, gzi, err := s.open(name + ".gz"); err == nil {
		if !gzi.ModTime().Before(fi.ModTime()) {
			return gz
		}
		gz.Close()
	}
	p, ok := s.gz.get(r.Context(), name, fi)
	if !ok {
		return nil
	}
	gz, err := os.Open(p)
	if err != nil {
		// Replaced by a newer version meanwhile.
		return nil
	}
	return gz
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
