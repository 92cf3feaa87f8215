package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// A static site is the app as plain files, for any static file host
// (GitHub Pages with a custom domain, Netlify, S3, nginx, `python3 -m
// http.server`): go-app's generated page, scripts, manifest and service
// worker (with the same cache patch as the dev server, so the model cache
// survives the worker's activation), plus the web directory's files under
// web/. It must be served at the root of its origin (https://example.org/,
// not https://example.org/residual/): every URL the page, the worker and
// the manifest use is absolute ("/app.js", "/web/app.wasm"), the worker's
// scope is "/", and go-app's path-prefix mode works online only (an
// offline reload fails: the worker's scope is "/x/" while it precached
// "/x"). A host that puts sites under a path (GitHub Pages project sites)
// needs a custom domain or a user/organization site.
//
// The host should send the .wasm with Content-Type application/wasm
// (most do; browsers refuse streaming compilation otherwise) and may
// gzip or brotli it; web/app.wasm.gz is included for hosts that serve
// precompressed files. The dev server's security headers (CSP and the
// rest, headers.go) are the host's to set. Its caching headers need not
// match the dev server's: the app fetches the weights with
// cache: "no-cache", so a host's max-age cannot keep a forgotten copy
// alive in the HTTP cache.

// siteMarkers are files every generated site has and other directories
// rarely do together: a directory holding both may be replaced.
var siteMarkers = []string{"index.html", "app-worker.js"}

// writeStaticSite generates the static site for webDir into dir. dir must
// be missing, empty, or an earlier output of this command (it is then
// emptied first); anything else is refused, so a mistyped -static never
// deletes someone's files. It returns the files written under web/.
func writeStaticSite(webDir, dir string) ([]string, error) {
	root, err := os.OpenRoot(webDir)
	if err != nil {
		return nil, fmt.Errorf("static site: open web dir: %w", err)
	}
	defer root.Close()
	files, err := siteFiles(root)
	if err != nil {
		return nil, fmt.Errorf("static site: %s: %w", webDir, err)
	}
	if err := prepareSiteDir(dir); err != nil {
		return nil, fmt.Errorf("static site: %w", err)
	}
	s, err := newServer(webDir)
	if err != nil {
		return nil, fmt.Errorf("static site: %w", err)
	}
	defer s.Close()
	if err := goapp.GenerateStaticWebsite(dir, s.app); err != nil {
		return nil, fmt.Errorf("static site: generate pages into %s: %w", dir, err)
	}
	for _, name := range files {
		if err := copyFromRoot(root, name, filepath.Join(dir, "web", filepath.FromSlash(name))); err != nil {
			return nil, fmt.Errorf("static site: copy %s: %w", name, err)
		}
	}
	if err := checkSite(dir); err != nil {
		return nil, fmt.Errorf("static site: %w", err)
	}
	return files, nil
}

// siteFiles lists what goes under web/: the wasm (and a fresh gzip of
// it), the styles, the icons, the sample photos and the weight files. The
// wasm and at least one weight file are required; so are the files the
// service worker precaches, since one missing URL leaves its cache empty.
func siteFiles(root *os.Root) ([]string, error) {
	required := []string{wasmFile, kernelsFile, fetchWorker, styleFile, iconSVG, icon192, icon512}
	for _, name := range required {
		if err := regularFile(root, name); err != nil {
			hint := ""
			if name == wasmFile || name == kernelsFile {
				hint = " (build it: make wasm)"
			}
			return nil, fmt.Errorf("%s missing%s: %w", name, hint, err)
		}
	}
	files := append([]string(nil), required...)
	if gz, err := root.Stat(wasmFile + ".gz"); err == nil && gz.Mode().IsRegular() {
		if w, err := root.Stat(wasmFile); err == nil && !gz.ModTime().Before(w.ModTime()) {
			files = append(files, wasmFile+".gz")
		}
	}
	// The checkpoint converter (a worker and its wasm), when built.
	for _, name := range []string{convertWorker, converterWasm, converterWasm + ".gz"} {
		if regularFile(root, name) == nil {
			files = append(files, name)
		}
	}
	samples, _ := fs.Glob(root.FS(), samplesGl)
	models, _ := fs.Glob(root.FS(), "models/*.safetensors")
	n := 0
	for _, list := range [][]string{samples, models} {
		sort.Strings(list)
		for _, name := range list {
			if strings.HasPrefix(path.Base(name), ".") || regularFile(root, name) != nil {
				continue // hidden files and links are never published
			}
			files = append(files, name)
			if strings.HasPrefix(name, "models/") {
				n++
			}
		}
	}
	if n == 0 {
		return nil, errors.New("no weight file in models/ (build one: make weights)")
	}
	return files, nil
}

// regularFile reports an error unless name is a regular file inside root
// (os.Root refuses links that leave it; Lstat refuses links at all).
func regularFile(root *os.Root, name string) error {
	fi, err := root.Lstat(name)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	return nil
}

// prepareSiteDir makes dir an empty directory, refusing to empty one that
// is not an earlier static site.
func prepareSiteDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("output directory: %w", err)
	case len(entries) == 0:
		return nil
	}
	for _, m := range siteMarkers {
		if _, err := os.Stat(filepath.Join(dir, m)); err != nil {
			return fmt.Errorf("output directory %s is not empty and not an earlier static site (no %s): refusing to replace it", dir, m)
		}
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("empty %s: %w", dir, err)
		}
	}
	return nil
}

// copyFromRoot copies one file out of root.
func copyFromRoot(root *os.Root, name, dst string) error {
	in, err := root.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkSite makes sure go-app wrote real pages: GenerateStaticWebsite
// writes whatever the handler answered, error pages included.
func checkSite(dir string) error {
	for name, want := range map[string]string{
		"index.html":    `src="/app.js"`,
		"app.js":        `/web/app.wasm`,
		"app-worker.js": workerCacheCleanupOurs,
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("generated %s lacks %q", name, want)
		}
	}
	return nil
}
