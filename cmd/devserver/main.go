// Command devserver serves the Residual browser app: go-app's page,
// scripts and service worker, and the files of the web directory (the
// wasm, styles, icons, sample photos and model weights) under /web/, with
// compression, caching and security headers.
//
//	devserver -addr 127.0.0.1:8000 -web ./web
//
// A compressible file with no fresh precompressed name.gz (the wasm right
// after a rebuild) is compressed once per version, into a temporary file
// that requests then stream (gzcache.go). A client that takes in nothing
// of a response for -stall-timeout (30 s) is dropped, however long a
// download that keeps moving takes (deadline.go). The server warns when
// -addr is not a loopback address.
//
// With -static it serves nothing: it writes the same app as a static site
// for any file host, to be served at the root of an origin (staticsite.go
// says why not under a path), and exits:
//
//	devserver -web ./web -static dist
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "address to listen on (host:port)")
	web := flag.String("web", "./web", "directory served under /web/")
	static := flag.String("static", "", "write the app as a static site into this directory and exit (serve it at the root of an origin)")
	stall := flag.Duration("stall-timeout", defaultStallTimeout, "drop a client that reads nothing of a response for this long")
	flag.Parse()
	if *static != "" {
		files, err := writeStaticSite(*web, *static)
		if err != nil {
			fmt.Fprintln(os.Stderr, "devserver:", err)
			os.Exit(1)
		}
		fmt.Printf("static site in %s (%d files under web/); serve it at the root of an origin, e.g. python3 -m http.server -d %s\n", *static, len(files), *static)
		return
	}
	if err := run(*addr, *web, withStallTimeout(*stall)); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

// newHTTPServer is the http.Server around the handler. There is no
// WriteTimeout: a response may take as long as the client keeps reading
// it (progressDeadlines drops one that stops).
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// exposureWarning returns a warning when the server listens on an address
// other machines can reach (a non-loopback or unspecified address), or ""
// on loopback only.
func exposureWarning(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("warning: listening on %s, which is not a loopback address: other machines may reach this development server (use -addr 127.0.0.1:PORT to keep it local)", a)
}

// run serves until SIGINT or SIGTERM, then shuts down gracefully.
func run(addr, web string, opts ...option) error {
	s, err := newServer(web, opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	// The first page load after a rebuild finds the wasm's gzip ready.
	s.static.warm(wasmFile)
	srv := newHTTPServer(s)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The bound address, so that -addr 127.0.0.1:0 (tests) can find it.
	logf("Residual dev server on http://%s/ (web dir %s, %s)", ln.Addr(), web, s)
	if w := exposureWarning(ln.Addr()); w != "" {
		logf("%s", w)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
