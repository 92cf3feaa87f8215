package main

import (
	"compress/gzip"
	"net/http"
	"strings"
	"sync"
)

// gzipTypes are the Content-Type prefixes gzipResponses compresses.
var gzipTypes = []string{
	"text/", "application/javascript", "application/json", "application/manifest+json",
	"application/wasm", "image/svg+xml",
}

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return zw
}}

// gzipResponses compresses what next writes when the client accepts gzip
// and the response is a compressible 200 that is not already encoded. It
// wraps go-app's handler, whose generated scripts, manifest and page are
// sent uncompressed otherwise.
func gzipResponses(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if r.Method == http.MethodHead || r.Header.Get("Range") != "" || !acceptsGzip(r) {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

// gzipWriter decides at WriteHeader whether to compress the body.
type gzipWriter struct {
	http.ResponseWriter
	zw          *gzip.Writer
	wroteHeader bool
}

// WriteHeader starts the gzip stream when the response qualifies.
func (g *gzipWriter) WriteHeader(code int) {
	if g.wroteHeader {
		return
	}
	g.wroteHeader = true
	h := g.Header()
	if code == http.StatusOK && h.Get("Content-Encoding") == "" && compressibleType(h.Get("Content-Type")) {
		h.Del("Content-Length")
		h.Set("Content-Encoding", "gzip")
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(g.ResponseWriter)
		g.zw = zw
	}
	g.ResponseWriter.WriteHeader(code)
}

// Write sends body bytes, compressed when WriteHeader decided so.
func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

// close flushes the gzip stream, if any, and returns its writer to the pool.
func (g *gzipWriter) close() {
	if g.zw != nil {
		g.zw.Close()
		gzipPool.Put(g.zw)
		g.zw = nil
	}
}

// compressibleType reports whether a Content-Type is worth gzipping.
func compressibleType(ct string) bool {
	ct = strings.ToLower(ct)
	for _, p := range gzipTypes {
		if strings.HasPrefix(ct, p) {
			return true
		}
	}
	return false
}
