package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// remoteURL matches a URL on another host.
var remoteURL = regexp.MustCompile(`https?://[A-Za-z0-9]`)

// secret is the content of a file just outside the web directory: no
// request may ever return it.
const secret = "TOP-SECRET-OUTSIDE-WEB-ROOT"

// fixture is a web directory laid out like the real one, with traps.
type fixture struct {
	dir, web string
	wasm     []byte
	model    []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	f := &fixture{dir: dir, web: web}
	rng := rand.New(rand.NewSource(1))
	// Compressible but not trivial, like real wasm.
	var b bytes.Buffer
	for b.Len() < 300_000 {
		fmt.Fprintf(&b, "func%d(local.get %d) i32.add; ", rng.Intn(500), rng.Intn(50))
	}
	f.wasm = b.Bytes()
	f.model = make([]byte, 100_000)
	rng.Read(f.model)
	files := map[string][]byte{
		"app.wasm":                f.wasm,
		"kernels.wasm":            []byte("\x00asm\x01\x00\x00\x00"),
		"fetch-worker.js":         []byte("self.onmessage = () => {};\n"),
		"app.css":                 []byte("body { color: red }\n"),
		"icon.svg":                []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`),
		"icon-192.png":            []byte("\x89PNG\r\n\x1a\nfake"),
		"icon-512.png":            []byte("\x89PNG\r\n\x1a\nfake"),
		"samples/cat.jpg":         []byte("\xff\xd8\xfffakejpeg"),
		"models/m.safetensors":    f.model,
		".hidden":                 []byte(secret),
		"models/.git/config":      []byte(secret),
		"../secret.txt":           []byte(secret),
		"../web-sibling/leak.txt": []byte(secret),
	}
	for name, data := range files {
		p := filepath.Join(web, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Symlinks out of the root: absolute and relative.
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(web, "abs-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.txt", filepath.Join(web, "rel-link")); err != nil {
		t.Fatal(err)
	}
	return f
}

// start serves the fixture and captures the access log.
func (f *fixture) start(t *testing.T) (*httptest.Server, *server, *bytes.Buffer) {
	t.Helper()
	var logBuf bytes.Buffer
	old := logger.Writer()
	logger.SetOutput(&logBuf)
	t.Cleanup(func() { logger.SetOutput(old) })
	s, err := newServer(f.web)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts, s, &logBuf
}

// rawGet sends a request line exactly as given (clients would clean it)
// and returns the response with its body read.
func rawGet(t *testing.T, addr, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", target, addr)
	for _, h := range headers {
		fmt.Fprintf(c, "%s\r\n", h)
	}
	fmt.Fprint(c, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// get fetches a URL with optional request headers ("Name: value").
func get(t *testing.T, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	// A transport that leaves Accept-Encoding alone and never decodes.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	f := newFixture(t)
	ts, _, _ := f.start(t)
	for _, p := range []string{"/", "/web/app.css", "/web/models/m.safetensors", "/web/nope", "/app.js", "/app-worker.js", "/nope"} {
		resp, _ := get(t, ts.URL+p)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "'wasm-unsafe-eval'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "'unsafe-eval'") || strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP too permissive: %q", p, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", p, h.Get("X-Content-Type-Options"))
		}
		if h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: no Referrer-Policy", p)
		}
		// Cross-origin isolated: the CPU engine's workers share memory.
		if h.Get("Cross-Origin-Opener-Policy") != "same-origin" || h.Get("Cross-Origin-Embedder-Policy") != "require-corp" {
			t.Errorf("%s: COOP %q, COEP %q: not cross-origin isolated", p, h.Get("Cross-Origin-Opener-Policy"), h.Get("Cross-Origin-Embedder-Policy"))
		}
	}
}

func TestPageRendersApp(t *testing.T) {
	f := newFixture(t)
	ts, s, _ := f.start(t)
	resp, body := get(t, ts.URL+"/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	page := string(body)
	for _, want := range []string{"<title>Residual", `href="/web/app.css"`, `id="dropzone"`, `id="file-input"`, `/web/icon.svg`, `src="/app.js"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// go-app's default icon lives on the internet: one such URL empties the
	// service worker's cache, and the CSP would block it anyway.
	for _, p := range []string{"/", "/manifest.webmanifest", "/app-worker.js", "/app.js"} {
		_, b := get(t, ts.URL+p)
		// go-app writes empty Open Graph URLs ("https://"): not fetched.
		if remoteURL.Match(b) {
			t.Errorf("%s refers to a remote URL", p)
		}
	}
	_, worker := get(t, ts.URL+"/app-worker.js")
	w := string(worker)
	if !strings.Contains(w, workerCacheCleanupOurs) || strings.Contains(w, workerCacheCleanup) {
		t.Error("service worker still deletes caches that are not its own (the model cache)")
	}
	if !strings.Contains(w, s.version) || !strings.Contains(w, "/web/samples/cat.jpg") || !strings.Contains(w, "/web/icon-192.png") {
		t.Errorf("service worker lacks the version or precached files:\n%s", w[:min(len(w), 600)])
	}
	_, appJS := get(t, ts.URL+"/app.js")
	if !strings.Contains(string(appJS), fmt.Sprintf(`"%d"`, len(f.wasm))) {
		t.Error("app.js does not carry the wasm's uncompressed length (gzipped progress would pass 100%)")
	}
}

func TestVersionIsContentHash(t *testing.T) {
	f := newFixture(t)
	a, err := newServer(f.web)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := newServer(f.web)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.version != b.version || len(a.version) < 12 {
		t.Fatalf("versions differ across restarts: %q %q", a.version, b.version)
	}
	if err := os.WriteFile(filepath.Join(f.web, "app.wasm"), []byte("new build"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := newServer(f.web)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.version == a.version {
		t.Fatal("version unchanged after the wasm changed")
	}
}

func TestGzipStatic(t *testing.T) {
	f := newFixture(t)
	ts, _, _ := f.start(t)
	resp, body := get(t, ts.URL+"/web/app.wasm", "Accept-Encoding: gzip, br")
	if resp.Header.Get("Content-Type") != "application/wasm" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("not gzipped: %v", resp.Header)
	}
	if got := gunzip(t, body); !bytes.Equal(got, f.wasm) {
		t.Fatal("gunzipped wasm differs")
	}
	if len(body) >= len(f.wasm)/2 {
		t.Errorf("gzip barely shrank: %d of %d", len(body), len(f.wasm))
	}
	if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
		t.Errorf("wasm caching headers: %q %q", resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"))
	}
	// Revalidation is a 304.
	r304, _ := get(t, ts.URL+"/web/app.wasm", "Accept-Encoding: gzip", "If-None-Match: "+resp.Header.Get("ETag"))
	if r304.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", r304.StatusCode)
	}
	// No gzip for clients that refuse it.
	for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
		resp, body := get(t, ts.URL+"/web/app.wasm", "Accept-Encoding: "+ae)
		if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, f.wasm) {
			t.Errorf("Accept-Encoding %q: encoding %q, %d bytes", ae, resp.Header.Get("Content-Encoding"), len(body))
		}
	}
	// go-app's generated files are compressed too.
	resp, body = get(t, ts.URL+"/app.js", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(string(gunzip(t, body)), "goappInitWebAssembly") {
		t.Errorf("app.js not gzipped: %v", resp.Header)
	}
	// Images and weights are not.
	resp, _ = get(t, ts.URL+"/web/models/m.safetensors", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("weights gzipped")
	}
}

// Weights are revalidated on every use (no-cache, with an ETag: a cheap
// 304), so that forgetting the app's cached copy leaves none in the HTTP
// cache to be used offline; sample photos may be kept for an hour.
func TestModelCaching(t *testing.T) {
	f := newFixture(t)
	ts, _, _ := f.start(t)
	resp, body := get(t, ts.URL+"/web/models/m.safetensors")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, f.model) {
		t.Fatalf("model: %d, %d bytes", resp.StatusCode, len(body))
	}
	etag := resp.Header.Get("ETag")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" || etag == "" {
		t.Errorf("model caching headers: Cache-Control %q, ETag %q; want no-cache and an ETag", cc, etag)
	}
	r304, body := get(t, ts.URL+"/web/models/m.safetensors", "If-None-Match: "+etag)
	if r304.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("model revalidation: %d with %d bytes, want 304 and no body", r304.StatusCode, len(body))
	}
	if resp, _ := get(t, ts.URL+"/web/samples/cat.jpg"); resp.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("sample photo Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

func TestPrecompressedPreferred(t *testing.T) {
	f := newFixture(t)
	var pre bytes.Buffer
	zw := gzip.NewWriter(&pre)
	zw.Write(f.wasm)
	zw.Close()
	gz := filepath.Join(f.web, "app.wasm.gz")
	if err := os.WriteFile(gz, pre.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(gz, future, future)
	ts, _, _ := f.start(t)
	_, body := get(t, ts.URL+"/web/app.wasm", "Accept-Encoding: gzip")
	if !bytes.Equal(body, pre.Bytes()) {
		t.Fatal("the precompressed file was not served as is")
	}
	// A .gz older than its file is stale: compress the file instead.
	past := time.Now().Add(-time.Hour)
	os.Chtimes(gz, past, past)
	os.WriteFile(gz, []byte("stale"), 0o644)
	os.Chtimes(gz, past, past)
	_, body = get(t, ts.URL+"/web/app.wasm", "Accept-Encoding: gzip")
	if !bytes.Equal(gunzip(t, body), f.wasm) {
		t.Fatal("a stale .gz was served")
	}
}

func TestRangeRequests(t *testing.T) {
	f := newFixture(t)
	ts, _, _ := f.start(t)
	resp, body := get(t, ts.URL+"/web/models/m.safetensors", "Range: bytes=1000-1099", "Accept-Encoding: gzip")
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes 1000-1099/%d", len(f.model)) {
		t.Errorf("Content-Range %q", cr)
	}
	if !bytes.Equal(body, f.model[1000:1100]) {
		t.Error("range body differs")
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges %q", resp.Header.Get("Accept-Ranges"))
	}
	resp, body = get(t, ts.URL+"/web/models/m.safetensors")
	if resp.StatusCode != 200 || !bytes.Equal(body, f.model) || resp.Header.Get("Content-Length") != fmt.Sprint(len(f.model)) {
		t.Errorf("full model: %d, %d bytes, Content-Length %s", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
	if resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("model Content-Type %q", resp.Header.Get("Content-Type"))
	}
	resp, _ = get(t, ts.URL+"/web/models/m.safetensors", "Range: bytes=999999999-")
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("unsatisfiable range: %d", resp.StatusCode)
	}
}

func TestNoDirectoryListings(t *testing.T) {
	f := newFixture(t)
	ts, _, _ := f.start(t)
	for _, p := range []string{"/web/", "/web", "/web/models/", "/web/models", "/web/samples/", "/web/samples"} {
		resp, body := get(t, ts.URL+p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
		if strings.Contains(string(body), "m.safetensors") || strings.Contains(string(body), "cat.jpg") {
			t.Errorf("%s lists the directory: %q", p, body)
		}
	}
}

func TestTraversalRefused(t *testing.T) {
	f := newFixture(t)
	ts, _, _ := f.start(t)
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, target := range []string{
		"/web/../secret.txt",
		"/web/../../etc/passwd",
		"/../etc/passwd",
		"/web/%2e%2e/secret.txt",
		"/web/%2E%2E/secret.txt",
		"/web/..%2fsecret.txt",
		"/web/%2e%2e%2fsecret.txt",
		"/web/..%2Fweb-sibling%2Fleak.txt",
		"/web/..\\secret.txt",
		"/web/..%5csecret.txt",
		"/web/%5c..%5csecret.txt",
		"/web/app.css%00.png",
		"/web/models/../../secret.txt",
		"/web/./app.css",
		"/web//etc/passwd",
		"/web/abs-link",
		"/web/rel-link",
		"/web/.hidden",
		"/web/models/.git/config",
		"/web/%2ehidden",
		"/web/%252e%252e/secret.txt",
		"http://" + addr + "/web/../secret.txt",
		"/etc/passwd",
	} {
		resp, body := rawGet(t, addr, target)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%q: status %d, want 400 or 404", target, resp.StatusCode)
		}
		if strings.Contains(body, secret) || strings.Contains(body, "root:") {
			t.Errorf("%q leaked a file", target)
		}
	}
	// The plain file is still served.
	resp, body := rawGet(t, addr, "/web/app.css")
	if resp.StatusCode != 200 || !strings.Contains(body, "color: red") {
		t.Errorf("/web/app.css: %d", resp.StatusCode)
	}
}

func TestMethodsAndGoAppLeftovers(t *testing.T) {
	f := newFixture(t)
	ts, _, _ := f.start(t)
	resp, err := http.Post(ts.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", resp.StatusCode)
	}
	// go-app would fetch these from the Host header or serve the wasm
	// through its own file server.
	for _, p := range []string{"/robots.txt", "/sitemap.xml", "/ads.txt", "/app.wasm", "/goapp.wasm"} {
		resp, _ := get(t, ts.URL+p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestAccessLog(t *testing.T) {
	f := newFixture(t)
	ts, _, logBuf := f.start(t)
	get(t, ts.URL+"/web/app.css")
	rawGet(t, strings.TrimPrefix(ts.URL, "http://"), "/web/x%0aFORGED%20200")
	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d:\n%s", len(lines), logBuf.String())
	}
	if !strings.Contains(lines[0], `GET "/web/app.css" 200 20B`) {
		t.Errorf("log line %q", lines[0])
	}
	if !strings.Contains(strings.ToUpper(lines[1]), `%0AFORGED`) || !strings.Contains(lines[1], " 400 ") && !strings.Contains(lines[1], " 404 ") {
		t.Errorf("log line %q", lines[1])
	}
}

func TestCheckPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"/":                 true,
		"/web/app.wasm":     true,
		"/web/samples/":     true,
		"/web/a..b.txt":     true,
		"/web/../x":         false,
		"/web/./x":          false,
		"/web//x":           false,
		"/web/a\\b":         false,
		"/web/%2e%2e/x":     false,
		"/web/a%2fb":        false,
		"/web/a%00":         false,
		"/web/a%5cb":        false,
		"/web/tab%09x":      false,
		"/web/..":           false,
		"/web/%252e%252e/x": true, // a literal "%2e%2e" name: harmless, and 404 later
	} {
		r := httptest.NewRequest(http.MethodGet, "http://x"+strings.ReplaceAll(p, "\\", "%5c"), nil)
		if strings.Contains(p, "\\") {
			r.URL.Path = p
			r.URL.RawPath = ""
		}
		if got := checkPath(r) == nil; got != ok {
			t.Errorf("checkPath(%q) ok=%v, want %v", p, got, ok)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"":                    false,
		"gzip":                true,
		"GZIP":                true,
		"br, gzip;q=0.5":      true,
		"gzip;q=0":            false,
		"gzip; q=0.000":       false,
		"*":                   true,
		"*;q=0":               false,
		"identity":            false,
		"deflate, br":         false,
		"gzip;q=0, *":         false,
		"x-gzip":              false,
		"br;q=1, gzip;q=0.01": true,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", ae)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
}
