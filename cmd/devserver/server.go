package main

import (
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/app"
)

// The app's static assets, relative to the web directory.
const (
	wasmFile = "app.wasm"
	// kernelsFile is the wasm SIMD kernel module, the CPU engine's.
	kernelsFile = "kernels.wasm"
	styleFile   = "app.css"
	// fetchWorker downloads the weight file off the page's thread.
	fetchWorker = "fetch-worker.js"
	iconSVG     = "icon.svg"
	icon192     = "icon-192.png"
	icon512     = "icon-512.png"
	samplesGl   = "samples/*"
	// The checkpoint converter: its Web Worker and wasm (cmd/converter).
	convertWorker = "convert-worker.js"
	converterWasm = "converter.wasm"
)

// server is the dev server: go-app's page and generated scripts, the files
// of the web directory under /web/, and the middleware around both.
type server struct {
	static  *staticFiles
	app     *goapp.Handler
	handler http.Handler
	version string
}

// webResolver maps go-app's "/web/…" resource paths to the same URLs. It is
// deliberately not an http.Handler, so go-app never serves files itself
// (its file server lists directories).
type webResolver struct{}

// Resolve returns the URL of a resource path.
func (webResolver) Resolve(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	if p == "web" || p == "/web" || strings.HasPrefix(p, "web/") || strings.HasPrefix(p, "/web/") {
		return "/" + strings.Trim(p, "/")
	}
	return p
}

// options are the server's tunables; tests shorten them.
type options struct {
	// stallTimeout drops a client that reads nothing of a response for
	// that long (progressDeadlines).
	stallTimeout time.Duration
	// gzipWait is the longest a request waits for the compression of the
	// file it asked for (gzCache).
	gzipWait time.Duration
}

// option changes the defaults of newServer.
type option func(*options)

// withStallTimeout sets how long a client may stall a response.
func withStallTimeout(d time.Duration) option { return func(o *options) { o.stallTimeout = d } }

// withGzipWait sets how long a request waits for a compression in flight.
func withGzipWait(d time.Duration) option { return func(o *options) { o.gzipWait = d } }

// newServer builds the server for a web directory.
func newServer(webDir string, opts ...option) (*server, error) {
	o := options{stallTimeout: defaultStallTimeout, gzipWait: defaultGzipWait}
	for _, opt := range opts {
		opt(&o)
	}
	static, err := newStaticFiles(webDir, "/web/", o.gzipWait)
	if err != nil {
		return nil, err
	}
	samples, _ := fs.Glob(static.root.FS(), samplesGl)
	sort.Strings(samples)
	precached := append([]string{wasmFile, kernelsFile, fetchWorker, styleFile, iconSVG, icon192, icon512}, samples...)
	for _, name := range precached {
		if _, err := static.root.Stat(name); err != nil {
			// The page still works; the worker's precache (all or nothing)
			// will fail, so say so now rather than leave the cache empty.
			logf("warning: %s/%s missing (%v): offline use will not work until it exists", webDir, name, err)
		}
	}
	version, err := buildVersion(static.root, precached)
	if err != nil {
		static.Close()
		return nil, err
	}
	worker, err := serviceWorkerTemplate()
	if err != nil {
		static.Close()
		return nil, err
	}
	var wasmLen string
	if fi, err := static.root.Stat(wasmFile); err == nil {
		// The true size: app.js shows load progress against it, and the
		// Content-Length of a gzipped wasm would be the compressed one.
		wasmLen = strconv.FormatInt(fi.Size(), 10)
	}
	cacheable := []string{"/web/" + kernelsFile, "/web/" + fetchWorker}
	for _, s := range samples {
		cacheable = append(cacheable, "/web/"+s)
	}
	app.Register()
	h := &goapp.Handler{
		Name:        "Residual",
		ShortName:   "Residual",
		Title:       "Residual — ResNet in your browser",
		Description: "ResNet image classification running in the browser on WebGPU (or the CPU), written in Go: top-5 predictions and a stage-by-stage inspector.",
		Author:      "Residual",
		Keywords:    []string{"ResNet", "WebGPU", "WebAssembly", "Go", "image classification"},
		Icon: goapp.Icon{
			Default:  "/web/" + icon192,
			Large:    "/web/" + icon512,
			Maskable: "/web/" + icon512,
			SVG:      "/web/" + iconSVG,
		},
		BackgroundColor:       "#0f172a",
		ThemeColor:            "#0f172a",
		LoadingLabel:          "Loading Residual… {progress}%",
		Lang:                  "en",
		Styles:                []string{"/web/" + styleFile},
		CacheableResources:    cacheable,
		Version:               version,
		WasmContentLength:     wasmLen,
		Resources:             webResolver{},
		ServiceWorkerTemplate: worker,
	}
	s := &server{static: static, app: h, version: version}
	s.handler = progressDeadlines(o.stallTimeout, accessLog(securityHeaders(rejectBadPaths(http.HandlerFunc(s.route)))))
	return s, nil
}

// ServeHTTP serves one request.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close releases the web directory.
func (s *server) Close() error { return s.static.Close() }

// route sends a checked request to the static files or to go-app.
func (s *server) route(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/web/"):
		s.static.ServeHTTP(w, r)
	case p == "/web", p == "/app.wasm", p == "/goapp.wasm", p == "/sitemap.xml", p == "/ads.txt":
		// go-app would serve these through its own file server or fetch
		// them from the request's Host header: neither is wanted here.
		http.NotFound(w, r)
	case p == "/robots.txt":
		s.static.serveFile(w, r, "robots.txt")
	case strings.HasPrefix(p, "/"+s.version+"/"):
		// go-app strips a version prefix and would serve /web/ through it.
		http.NotFound(w, r)
	default:
		gzipResponses(s.app).ServeHTTP(w, r)
	}
}

// String describes the server for the start-up log line.
func (s *server) String() string { return fmt.Sprintf("version %s", s.version) }
