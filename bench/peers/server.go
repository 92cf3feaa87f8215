//go:build !js

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// mount serves the files of Dir (or the one file File) under Prefix.
// Metered mounts count toward the current peer's downloaded bytes; the
// harness's own files (the shared input, labels) do not.
type mount struct {
	Prefix  string
	Dir     string
	File    string
	Metered bool
}

// fileUse is one served file of a peer: how many bytes went out and where
// it lives, for the gzip estimate made after the measurements.
type fileUse struct {
	URL      string `json:"url"`
	Bytes    int64  `json:"bytes"`
	Requests int    `json:"requests"`
	fsPath   string
}

// meter counts what the server sends, per peer. The harness names the
// peer being measured before navigating to it; requests in between
// (none are expected) go to "".
type meter struct {
	mu    sync.Mutex
	peer  string
	files map[string]map[string]*fileUse // peer → URL path → use
}

// start makes later requests count toward peer.
func (m *meter) start(peer string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.peer = peer
	if m.files == nil {
		m.files = map[string]map[string]*fileUse{}
	}
	if m.files[peer] == nil {
		m.files[peer] = map[string]*fileUse{}
	}
}

// add records n bytes of urlPath (file fsPath) sent for the current peer.
func (m *meter) add(urlPath, fsPath string, n int64, newRequest bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string]map[string]*fileUse{}
	}
	fs := m.files[m.peer]
	if fs == nil {
		fs = map[string]*fileUse{}
		m.files[m.peer] = fs
	}
	u := fs[urlPath]
	if u == nil {
		u = &fileUse{URL: urlPath, fsPath: fsPath}
		fs[urlPath] = u
	}
	u.Bytes += n
	if newRequest {
		u.Requests++
	}
}

// usage is what peer has downloaded so far: total bytes and the files,
// largest first.
func (m *meter) usage(peer string) (int64, []fileUse) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var total int64
	var out []fileUse
	for _, u := range m.files[peer] {
		total += u.Bytes
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].URL < out[j].URL
	})
	return total, out
}

// countingWriter counts the body bytes a handler writes.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// server is the loopback static file server the peers' pages load from.
// It speaks HTTPS with HTTP/2, as a real CDN would: over HTTP/1.1 Chromium
// opens at most 6 connections to a host, and TF.js, which awaits every
// weight shard's headers before reading any body, deadlocks on its 25
// shards there.
type server struct {
	mounts  []mount
	meter   *meter
	isolate bool // send COOP/COEP so pages are cross-origin isolated (wasm threads may be used)
	http    *http.Server
	addr    string
	spki    string // base64 sha256 of the certificate's public key, for --ignore-certificate-errors-spki-list
}

// newServer checks the mounts exist and sorts them longest prefix first.
func newServer(mounts []mount, m *meter, isolate bool) (*server, error) {
	for _, mt := range mounts {
		p := mt.Dir
		if mt.File != "" {
			p = mt.File
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("server: mount %s: %w", mt.Prefix, err)
		}
	}
	ms := append([]mount(nil), mounts...)
	sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].Prefix) > len(ms[j].Prefix) })
	return &server{mounts: ms, meter: m, isolate: isolate}, nil
}

// start listens on a free 127.0.0.1 port and serves HTTPS (HTTP/2) in the
// background with a fresh self-signed certificate.
func (s *server) start() error {
	cert, spki, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	s.addr, s.spki = ln.Addr().String(), spki
	s.http = &http.Server{Handler: s, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go s.http.ServeTLS(ln, "", "") //nolint:errcheck // returns ErrServerClosed on close
	return nil
}

// selfSigned makes a certificate for 127.0.0.1, valid for a day, and the
// base64 sha256 of its public key (what Chromium's SPKI allow-list takes).
func selfSigned() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("server: key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "bench-peers loopback"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("server: certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("server: certificate: %w", err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, base64.StdEncoding.EncodeToString(sum[:]), nil
}

// close stops the server.
func (s *server) close() {
	if s.http != nil {
		s.http.Close()
	}
}

// resolve maps a URL path to a file, or "" when nothing is mounted there.
func (s *server) resolve(urlPath string) (string, mount) {
	clean := path.Clean("/" + urlPath)
	for _, mt := range s.mounts {
		if mt.File != "" {
			if clean == mt.Prefix {
				return mt.File, mt
			}
			continue
		}
		pre := strings.TrimSuffix(mt.Prefix, "/") + "/"
		if clean+"/" == pre {
			return mt.Dir, mt
		}
		if rest, ok := strings.CutPrefix(clean, pre); ok {
			return filepath.Join(mt.Dir, filepath.FromSlash(rest)), mt
		}
	}
	return "", mount{}
}

// ServeHTTP serves GET/HEAD of mounted files with no caching, so each
// peer downloads what it uses even when another peer fetched it before.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	fsPath, mt := s.resolve(r.URL.Path)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if s.isolate {
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Embedder-Policy", "require-corp")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
	}
	if fsPath == "" {
		http.NotFound(w, r)
		return
	}
	if st, err := os.Stat(fsPath); err == nil && st.IsDir() {
		fsPath = filepath.Join(fsPath, "index.html") // no listings
	}
	f, err := os.Open(fsPath)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(fsPath, ".mjs"), strings.HasSuffix(fsPath, ".js"):
		h.Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(fsPath, ".wasm"):
		h.Set("Content-Type", "application/wasm")
	}
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, "", st.ModTime(), f)
	if mt.Metered {
		s.meter.add(path.Clean(r.URL.Path), fsPath, cw.n, true)
	}
}
