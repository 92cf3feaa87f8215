package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// resourcesToCache reads the precache list out of a generated worker.
var resourcesToCache = regexp.MustCompile(`const resourcesToCache = (\[.*?\]);`)

func TestStaticSite(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.web, "app.wasm.gz"), []byte("gz"), 0o644); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	files, err := writeStaticSite(f.web, dist)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app.wasm", "kernels.wasm", "fetch-worker.js", "app.css", "icon.svg", "icon-192.png", "icon-512.png", "app.wasm.gz", "samples/cat.jpg", "models/m.safetensors"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Errorf("published %q, want %q", files, want)
	}
	for _, name := range []string{"index.html", "app.js", "wasm_exec.js", "app-worker.js", "manifest.webmanifest", "app.css"} {
		if fi, err := os.Stat(filepath.Join(dist, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range want {
		src, _ := os.ReadFile(filepath.Join(f.web, name))
		got, err := os.ReadFile(filepath.Join(dist, "web", name))
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("web/%s not copied as is (%v)", name, err)
		}
	}
	// Nothing hidden, linked or outside the web directory is published.
	filepath.Walk(dist, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(fi.Name(), ".") || fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("published %s", p)
		}
		if b, _ := os.ReadFile(p); fi.Mode().IsRegular() && bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret", p)
		}
		return nil
	})

	// The worker is patched like the dev server's, and precaches every
	// published asset but the weights (the page caches those itself).
	worker, _ := os.ReadFile(filepath.Join(dist, "app-worker.js"))
	if !bytes.Contains(worker, []byte(workerCacheCleanupOurs)) || bytes.Contains(worker, []byte(workerCacheCleanup)) {
		t.Error("app-worker.js lacks the model-cache patch")
	}
	m := resourcesToCache.FindSubmatch(worker)
	if m == nil {
		t.Fatal("no precache list in app-worker.js")
	}
	var cached []string
	if err := json.Unmarshal(m[1], &cached); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"/", "/app.js", "/wasm_exec.js", "/web/app.wasm", "/web/fetch-worker.js", "/web/app.css", "/web/icon-192.png", "/web/samples/cat.jpg"} {
		if !contains(cached, u) {
			t.Errorf("worker does not precache %s: %q", u, cached)
		}
	}
	for _, u := range cached {
		if strings.Contains(u, "models/") || remoteURL.MatchString(u) {
			t.Errorf("worker precaches %s", u)
		}
	}

	// Served by a plain file server at the root, every URL the page uses
	// resolves, with the types browsers need.
	srv := httptest.NewServer(http.FileServer(http.Dir(dist)))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/?sample=cat.jpg")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`src="/app.js"`)) || !bytes.Contains(body, []byte(`href="/web/app.css"`)) {
		t.Errorf("index: %d %.200s", resp.StatusCode, body)
	}
	for u, typ := range map[string]string{
		"/app.js":                   "javascript",
		"/app-worker.js":            "javascript",
		"/web/app.wasm":             "application/wasm",
		"/web/models/m.safetensors": "",
		"/manifest.webmanifest":     "",
		"/web/samples/cat.jpg":      "image/jpeg",
		"/web/icon.svg":             "image/svg+xml",
		"/wasm_exec.js":             "javascript",
		"/app.css":                  "text/css",
		"/web/app.css":              "text/css",
		"/web/icon-512.png":         "image/png",
		"/web/app.wasm.gz":          "",
	} {
		resp, _ := get(t, srv.URL+u)
		switch {
		case resp.StatusCode != 200:
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		case !strings.Contains(resp.Header.Get("Content-Type"), typ):
			t.Errorf("GET %s: Content-Type %q, want %q", u, resp.Header.Get("Content-Type"), typ)
		}
	}
}

func TestStaticSiteReplacesOnlyItsOwnOutput(t *testing.T) {
	f := newFixture(t)
	dist := filepath.Join(t.TempDir(), "dist")
	if _, err := writeStaticSite(f.web, dist); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dist, "web", "models", "old.safetensors")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeStaticSite(f.web, dist); err != nil {
		t.Fatalf("regenerating over an earlier site: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a file of the earlier site survived regeneration")
	}

	other := t.TempDir()
	mine := filepath.Join(other, "thesis.tex")
	if err := os.WriteFile(mine, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeStaticSite(f.web, other); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("writing into a foreign directory: %v", err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "precious" {
		t.Error("a foreign file was touched")
	}
}

func TestStaticSiteNeedsWasmAndWeights(t *testing.T) {
	for _, missing := range []string{"app.wasm", "models/m.safetensors", "icon-192.png"} {
		f := newFixture(t)
		if err := os.Remove(filepath.Join(f.web, missing)); err != nil {
			t.Fatal(err)
		}
		if _, err := writeStaticSite(f.web, filepath.Join(t.TempDir(), "dist")); err == nil {
			t.Errorf("without %s: no error", missing)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
