//go:build !js

package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want stats
	}{
		{[]float64{5, 1, 3}, stats{N: 3, Median: 3, Min: 1, Max: 5, Mean: 3}},
		{[]float64{4, 1, 3, 2}, stats{N: 4, Median: 2.5, Min: 1, Max: 4, Mean: 2.5}},
		{[]float64{7}, stats{N: 1, Median: 7, Min: 7, Max: 7, Mean: 7}},
		{nil, stats{}},
	} {
		in := append([]float64(nil), tc.in...)
		if got := summarize(tc.in); got != tc.want {
			t.Errorf("summarize(%v) = %+v, want %+v", in, got, tc.want)
		}
		for i := range in { // the caller's slice keeps its order
			if tc.in[i] != in[i] {
				t.Fatalf("summarize reordered its input: %v", tc.in)
			}
		}
	}
}

func TestSelectPeers(t *testing.T) {
	all, err := selectPeers("all")
	if err != nil || len(all) != len(allPeers) {
		t.Fatalf("all: %d peers, %v", len(all), err)
	}
	got, err := selectPeers("tfjs-wasm, residual-webgpu")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "residual-webgpu" || got[1].Name != "tfjs-wasm" {
		t.Errorf("subset = %v, want residual-webgpu then tfjs-wasm (allPeers order)", got)
	}
	if _, err := selectPeers("ort-webgl"); err == nil || !strings.Contains(err.Error(), "ort-webgl") {
		t.Errorf("unknown peer: err = %v", err)
	}
	if allPeers[0].Name != baselineName {
		t.Errorf("the baseline %s must run first, so its numbers exist when a slow peer fails", baselineName)
	}
}

func TestParsePeerRuns(t *testing.T) {
	m, err := parsePeerRuns("residual-webgpu=10, ort-webgpu=2")
	if err != nil || m["residual-webgpu"] != 10 || m["ort-webgpu"] != 2 || len(m) != 2 {
		t.Errorf("parsePeerRuns = %v, %v", m, err)
	}
	for _, bad := range []string{"ort-webgpu", "ort-webgpu=0", "nope=3", "ort-wasm=x"} {
		if _, err := parsePeerRuns(bad); err == nil {
			t.Errorf("parsePeerRuns(%q) accepted", bad)
		}
	}
}

// testServer serves a temp tree: /web (metered) and /harness (not).
func testServer(t *testing.T) (*server, *meter, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"web/index.html":      "<p>hi</p>",
		"web/lib/x.mjs":       "export const x = 1;",
		"web/big.bin":         strings.Repeat("a", 5000),
		"harness/input.bin":   strings.Repeat("b", 1234),
		"secret/password.txt": "nope",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &meter{}
	s, err := newServer([]mount{
		{Prefix: "/", Dir: filepath.Join(dir, "web"), Metered: true},
		{Prefix: "/harness/", Dir: filepath.Join(dir, "harness")},
		{Prefix: "/one.txt", File: filepath.Join(dir, "secret", "password.txt"), Metered: true},
	}, m, true)
	if err != nil {
		t.Fatal(err)
	}
	return s, m, dir
}

func get(t *testing.T, s *server, method, url string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(method, url, nil))
	return w
}

func TestServerMetersPeers(t *testing.T) {
	s, m, dir := testServer(t)
	m.start("a")
	if w := get(t, s, "GET", "/big.bin"); w.Code != 200 || w.Body.Len() != 5000 {
		t.Fatalf("/big.bin: %d, %d bytes", w.Code, w.Body.Len())
	}
	get(t, s, "GET", "/big.bin")
	if w := get(t, s, "GET", "/harness/input.bin"); w.Code != 200 || w.Body.Len() != 1234 {
		t.Fatalf("/harness/input.bin: %d, %d bytes", w.Code, w.Body.Len())
	}
	m.start("b")
	w := get(t, s, "GET", "/lib/x.mjs")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("x.mjs Content-Type %q, want text/javascript (module scripts need it)", ct)
	}
	if w := get(t, s, "GET", "/"); w.Code != 200 || w.Body.String() != "<p>hi</p>" {
		t.Errorf("/: %d %q, want index.html", w.Code, w.Body.String())
	}
	if w := get(t, s, "GET", "/one.txt"); w.Body.String() != "nope" {
		t.Errorf("single-file mount: %q", w.Body.String())
	}

	total, files := m.usage("a")
	if total != 10000 || len(files) != 1 || files[0].URL != "/big.bin" || files[0].Requests != 2 {
		t.Errorf("peer a: %d bytes, files %+v; want 10000 bytes of /big.bin in 2 requests (harness files not counted)", total, files)
	}
	if files[0].fsPath != filepath.Join(dir, "web", "big.bin") {
		t.Errorf("fsPath %q", files[0].fsPath)
	}
	total, files = m.usage("b")
	want := int64(len("export const x = 1;") + len("<p>hi</p>") + len("nope"))
	if total != want || len(files) != 3 {
		t.Errorf("peer b: %d bytes in %d files, want %d in 3", total, len(files), want)
	}
}

func TestServerRefusesAndIsolates(t *testing.T) {
	s, _, _ := testServer(t)
	for _, u := range []string{"/../secret/password.txt", "/%2e%2e/secret/password.txt", "/harness/../../secret/password.txt", "/missing", "/lib"} {
		if w := get(t, s, "GET", u); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", u, w.Code, w.Body.String())
		}
	}
	if w := get(t, s, "POST", "/big.bin"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
	w := get(t, s, "GET", "/big.bin")
	for k, v := range map[string]string{
		"Cache-Control":                "no-store",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Embedder-Policy": "require-corp",
	} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// TestServerSpeaksHTTP2 checks the TLS server negotiates HTTP/2 (TF.js
// deadlocks on HTTP/1.1's 6 connections) and that the SPKI hash given to
// Chromium is that of the certificate it serves.
func TestServerSpeaksHTTP2(t *testing.T) {
	s, _, _ := testServer(t)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	defer s.close()
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // self-signed; checked by SPKI below
		ForceAttemptHTTP2: true,
	}}
	resp, err := c.Get("https://" + s.addr + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || len(body) != 5000 {
		t.Errorf("got %s with %d bytes, want HTTP/2 with 5000", resp.Proto, len(body))
	}
	sum := sha256.Sum256(resp.TLS.PeerCertificates[0].RawSubjectPublicKeyInfo)
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != s.spki {
		t.Errorf("served key %s, SPKI for Chromium %s", got, s.spki)
	}
	if !strings.HasPrefix(s.addr, "127.0.0.1:") {
		t.Errorf("listening on %s, want loopback", s.addr)
	}
}

func TestWriteInputs(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 300, 260))
	for y := range 260 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(dir, "p.png")
	if err := os.WriteFile(photo, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := writeInputs(photo, dir)
	if err != nil {
		t.Fatal(err)
	}
	nchw := readF32(t, filepath.Join(dir, inputNCHW))
	nhwc := readF32(t, filepath.Join(dir, inputNHWC))
	const hw = 224 * 224
	if len(nchw) != 3*hw || len(nhwc) != 3*hw {
		t.Fatalf("sizes %d, %d, want %d", len(nchw), len(nhwc), 3*hw)
	}
	for c := range 3 {
		for i := range hw {
			if nhwc[i*3+c] != nchw[c*hw+i] {
				t.Fatalf("channel %d pixel %d: NHWC %v, NCHW %v", c, i, nhwc[i*3+c], nchw[c*hw+i])
			}
		}
	}
	// The same numbers as Residual's own preprocessing with Caffe settings.
	want, _, err := preprocess.Prepare(img, weights.CaffePreprocess, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range want.Data {
		if nchw[i] != v {
			t.Fatalf("value %d: %v, Prepare gives %v", i, nchw[i], v)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, inputNCHW))
	sum := sha256.Sum256(raw)
	if info.SHA256NCHW != hex.EncodeToString(sum[:]) || info.Photo != "p.png" {
		t.Errorf("info %+v", info)
	}
}

// TestWriteInputsCaffe checks the Caffe convention on a flat colour: BGR
// order, 0–255 scale, mean subtracted, nothing else.
func TestWriteInputsCaffe(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 256, 320))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []byte{10, 20, 30, 255}) // R, G, B, A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(dir, "flat.png")
	if err := os.WriteFile(photo, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeInputs(photo, dir); err != nil {
		t.Fatal(err)
	}
	nchw := readF32(t, filepath.Join(dir, inputNCHW))
	want := [3]float32{30 - 103.939, 20 - 116.779, 10 - 123.68}
	for c := range 3 {
		for i := range 224 * 224 {
			if d := nchw[c*224*224+i] - want[c]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("channel %d value %d = %v, want %v", c, i, nchw[c*224*224+i], want[c])
			}
		}
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func TestReportFinish(t *testing.T) {
	top := func(i int) []prediction { return []prediction{{Index: i, Prob: 0.7}, {Index: 282, Prob: 0.2}} }
	rep := &report{Baseline: "residual-webgpu", Expect: 285, Peers: []peerResult{
		{Name: "residual-webgpu", OK: true, PageMs: 100, LoadMs: 400, ColdMs: 1000, Warm: stats{N: 3, Median: 200}, Top5: top(285)},
		{Name: "ort-wasm", OK: true, PageMs: 200, LoadMs: 800, ColdMs: 3000, Warm: stats{N: 3, Median: 500}, Top5: top(285)},
		{Name: "tfjs-wasm", Error: "boom"},
	}}
	labels := map[int]string{285: "Egyptian_cat", 282: "tiger_cat"}
	if !rep.finish(labels) {
		t.Fatal("finish: peers that all say 285 disagree")
	}
	o := rep.Peers[1]
	// first = page+load+cold: 4000 ms against 1500 ms.
	if *o.RatioWarm != 2.5 || *o.RatioCold != 3 || math.Abs(*o.RatioFirst-4000.0/1500) > 1e-12 {
		t.Errorf("ratios warm %v cold %v first %v, want 2.5 3 2.667", *o.RatioWarm, *o.RatioCold, *o.RatioFirst)
	}
	if o.Top5[0].Label != "Egyptian_cat" || o.Top5[1].Label != "tiger_cat" || !o.Top1OK {
		t.Errorf("labels %+v, top1ok %v", o.Top5, o.Top1OK)
	}
	if rep.Peers[2].RatioWarm != nil || rep.Peers[2].Top1OK {
		t.Errorf("a failed peer got a ratio or a top-1")
	}
	rep.Peers[1].Top5 = top(282)
	if rep.finish(labels) || rep.Agree {
		t.Error("finish: a peer answering 282 must make the run disagree")
	}
	var out bytes.Buffer
	rep.printTable(&out)
	if !strings.Contains(out.String(), "WRONG") || !strings.Contains(out.String(), "failed: boom") {
		t.Errorf("table does not flag the wrong top-1 and the failure:\n%s", out.String())
	}
}

func TestGzipSize(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "z")
	if err := os.WriteFile(p, bytes.Repeat([]byte("residual "), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := gzipSize(p)
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 || n > 2000 {
		t.Errorf("gzip of 90000 repetitive bytes is %d bytes", n)
	}
	if _, err := gzipSize(filepath.Join(dir, "missing")); err == nil {
		t.Error("gzipSize of a missing file: no error")
	}
}
