package main

import (
	"bufio"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPath sends request targets through the server's path handling: the
// request line parser, checkPath, the mapping of a /web/ path to a file
// name (staticName) and the whole handler over a web directory with a
// secret beside it and links out of it. No name may leave the web
// directory or name a hidden file, no response may carry the secret, and
// nothing may panic.
func FuzzPath(f *testing.F) {
	for _, seed := range []string{"/web/app.wasm", "/web/../secret.txt", "/web/%2e%2e/secret.txt", "/"} {
		f.Add(seed)
	}
	old := logger.Writer()
	logger.SetOutput(io.Discard)
	f.Cleanup(func() { logger.SetOutput(old) })
	fx := newFixture(f)
	s, err := newServer(fx.web)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")))
		if err != nil {
			return // net/http refuses it before any handler
		}
		if name, ok := staticName(req.URL.Path, "/web/"); ok {
			if !fs.ValidPath(name) || !filepath.IsLocal(filepath.FromSlash(name)) || hasHiddenSegment(name) || strings.ContainsAny(name, "\\\x00") {
				t.Fatalf("%q maps to %q, outside the web directory or hidden", target, name)
			}
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		body := rec.Body.String()
		if strings.Contains(body, secret) {
			t.Fatalf("%q: the secret outside the web directory was served (%d)", target, rec.Code)
		}
		if rec.Code >= 500 {
			t.Fatalf("%q: status %d", target, rec.Code)
		}
		if rec.Code == http.StatusOK && strings.HasPrefix(req.URL.Path, "/web/") {
			name, ok := staticName(req.URL.Path, "/web/")
			if !ok || checkPath(req) != nil {
				t.Fatalf("%q: 200 for a path the server refuses", target)
			}
			if strings.HasPrefix(name, "models/.") || name == ".hidden" {
				t.Fatalf("%q: hidden file served", target)
			}
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Fatalf("%q: no CSP", target)
		}
	})
}
