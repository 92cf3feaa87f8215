package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serveLoopback serves s on 127.0.0.1 with the production http.Server
// settings; wrap, when set, changes each accepted connection.
func serveLoopback(t *testing.T, s *server, connState func(net.Conn, http.ConnState), wrap func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(s)
	srv.ConnState = connState
	srv.ErrorLog = logger
	var l net.Listener = ln
	if wrap != nil {
		l = wrapListener{ln, wrap}
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		s.Close()
	})
	return ln.Addr().String()
}

type wrapListener struct {
	net.Listener
	wrap func(net.Conn)
}

func (l wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.wrap(c)
	}
	return c, err
}

// quietLog sends the server's log to a buffer for the test's duration.
func quietLog(t *testing.T) {
	old := logger.Writer()
	logger.SetOutput(io.Discard)
	t.Cleanup(func() { logger.SetOutput(old) })
}

// bigWasm is about n bytes of compressible but not trivial text, like a
// real wasm (which gzips to about a quarter).
func bigWasm(n int) []byte {
	rng := rand.New(rand.NewSource(2))
	var b bytes.Buffer
	b.Grow(n + 64)
	for b.Len() < n {
		fmt.Fprintf(&b, "func%d(local.get %d) i32.add %x; ", rng.Intn(5000), rng.Intn(500), rng.Uint32())
	}
	return b.Bytes()
}

// heapPeak samples the heap in use until stop is called and returns its
// peak above the level at the start (after a GC).
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(quit); <-done; return peak.Load() }
}

// TestRebuiltWasmUnderLoad: 40 clients fetch a 10 MB app.wasm right after
// a rebuild (its .gz stale or missing) or with a fresh .gz. Every client
// is answered in full within 10 s, the file is compressed once at most,
// and the server's heap grows by less than heapBound.
func TestRebuiltWasmUnderLoad(t *testing.T) {
	const (
		clients   = 40
		wasmSize  = 10 << 20
		within    = 10 * time.Second
		heapBound = 64 << 20
	)
	wasm := bigWasm(wasmSize)
	want := sha256.Sum256(wasm)
	var pre bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&pre, gzip.BestSpeed)
	zw.Write(wasm)
	zw.Close()

	for _, tc := range []struct {
		name string
		gz   string // "none", "stale", "fresh"
		runs int    // compressions expected
	}{
		{"no-gz", "none", 1},
		{"stale-gz", "stale", 1},
		{"fresh-gz", "fresh", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			quietLog(t)
			f := newFixture(t)
			wasmPath := filepath.Join(f.web, "app.wasm")
			gzPath := wasmPath + ".gz"
			s, err := newServer(f.web)
			if err != nil {
				t.Fatal(err)
			}
			addr := serveLoopback(t, s, nil, nil)
			// The rebuild, after the server started.
			if err := os.WriteFile(wasmPath, wasm, 0o644); err != nil {
				t.Fatal(err)
			}
			switch tc.gz {
			case "stale":
				os.WriteFile(gzPath, []byte("an older build"), 0o644)
				past := time.Now().Add(-time.Hour)
				os.Chtimes(gzPath, past, past)
			case "fresh":
				os.WriteFile(gzPath, pre.Bytes(), 0o644)
				future := time.Now().Add(time.Minute)
				os.Chtimes(gzPath, future, future)
			}

			stop := heapPeak()
			ctx, cancel := context.WithTimeout(context.Background(), within)
			defer cancel()
			tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: clients}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			start := time.Now()
			errs := make([]error, clients)
			encs := make([]string, clients)
			var wg sync.WaitGroup
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Every eighth client checks the content; the others
					// read it whole (a short body is an error) and spare
					// the shared CPUs the decoding and hashing.
					errs[i], encs[i] = fetchCheck(ctx, client, "http://"+addr+"/web/app.wasm", want, i%8 == 0)
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			peak := stop()
			failed := 0
			for i, err := range errs {
				if err != nil {
					failed++
					if failed <= 3 {
						t.Errorf("client %d: %v", i, err)
					}
				}
			}
			gzipped := 0
			for _, e := range encs {
				if e == "gzip" {
					gzipped++
				}
			}
			t.Logf("%d clients: %d answered in full in %v (%d gzipped), heap peak +%d MB, %d compressions",
				clients, clients-failed, elapsed.Round(time.Millisecond), gzipped, peak>>20, s.static.gz.compressions())
			if failed > 0 || elapsed > within {
				t.Errorf("%d of %d clients not answered in full within %v", failed, clients, within)
			}
			if peak > heapBound {
				t.Errorf("server heap grew by %d MB, bound %d MB", peak>>20, heapBound>>20)
			}
			if runs := s.static.gz.compressions(); runs != tc.runs {
				t.Errorf("%d compressions, want %d", runs, tc.runs)
			}
		})
	}
}

// fetchCheck gets url accepting gzip and reads the body whole; with check,
// it also makes sure the decoded body hashes to want. It returns the
// content encoding.
func fetchCheck(ctx context.Context, c *http.Client, url string, want [32]byte, check bool) (error, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err, ""
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		return err, ""
	}
	defer resp.Body.Close()
	enc := resp.Header.Get("Content-Encoding")
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode), enc
	}
	if !check {
		_, err := io.Copy(io.Discard, resp.Body)
		return err, enc
	}
	var body io.Reader = resp.Body
	if enc == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return err, enc
		}
		body = zr
	}
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return err, enc
	}
	if [32]byte(h.Sum(nil)) != want {
		return fmt.Errorf("body differs (encoding %q)", enc), enc
	}
	return nil, enc
}

// TestStalledClientsReleased: 300 clients ask for the model and never
// read; the server drops each within its stall timeout (plus scheduling
// slack), while one client reading at about 200 KB/s for several times
// that timeout gets the whole file.
func TestStalledClientsReleased(t *testing.T) {
	const (
		stalled   = 300
		stall     = time.Second
		slack     = 2 * time.Second
		rate      = 200 << 10 // bytes per second
		modelSize = 1 << 20   // 5 s at rate
	)
	quietLog(t)
	f := newFixture(t)
	model := make([]byte, modelSize)
	rand.New(rand.NewSource(3)).Read(model)
	if err := os.WriteFile(filepath.Join(f.web, "models", "m.safetensors"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := newServer(f.web, withStallTimeout(stall))
	if err != nil {
		t.Fatal(err)
	}
	// When each connection began its first request and when it closed.
	var (
		mu       sync.Mutex
		activeAt = map[string]time.Time{}
		closedAt = map[string]time.Time{}
	)
	connState := func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		key := c.RemoteAddr().String()
		switch st {
		case http.StateActive:
			if _, ok := activeAt[key]; !ok {
				activeAt[key] = time.Now()
			}
		case http.StateClosed, http.StateHijacked:
			closedAt[key] = time.Now()
		}
	}
	// Small socket buffers, so that a client that does not read blocks
	// the server's writes after a few tens of KB rather than a few MB
	// (and 300 of them do not pin a GB of kernel memory).
	addr := serveLoopback(t, s, connState, func(c net.Conn) {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetWriteBuffer(16 << 10)
		}
	})
	request := "GET /web/models/m.safetensors HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	dial := func(rcvbuf int) net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if rcvbuf > 0 {
			c.(*net.TCPConn).SetReadBuffer(rcvbuf)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// The slow but steady download.
	type result struct {
		body []byte
		err  error
		took time.Duration
	}
	slow := make(chan result, 1)
	sc := dial(0)
	go func() {
		start := time.Now()
		sc.SetDeadline(start.Add(30 * time.Second))
		if _, err := io.WriteString(sc, request); err != nil {
			slow <- result{err: err}
			return
		}
		resp, err := http.ReadResponse(bufio.NewReaderSize(&throttled{r: sc, rate: rate, start: start}, 4096), nil)
		if err != nil {
			slow <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		slow <- result{body: body, err: err, took: time.Since(start)}
	}()

	for range stalled {
		c := dial(8 << 10)
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the server has begun answering all of them, then until
	// the last one has had its stall timeout and the slack.
	deadline := time.Now().Add(10 * time.Second)
	var last time.Time
	for {
		mu.Lock()
		n := len(activeAt)
		for _, at := range activeAt {
			if at.After(last) {
				last = at
			}
		}
		mu.Unlock()
		if n >= stalled+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests begun after 10 s", n, stalled+1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Until(last.Add(stall + slack)))
	mu.Lock()
	held, worst := 0, time.Duration(0)
	for key, at := range activeAt {
		if key == sc.LocalAddr().String() {
			continue
		}
		closed, ok := closedAt[key]
		if !ok {
			held++
			continue
		}
		worst = max(worst, closed.Sub(at))
	}
	mu.Unlock()
	t.Logf("%d stalled clients: %d connections still held %v after the last request began; the others released at most %v after their request began (stall timeout %v)",
		stalled, held, stall+slack, worst.Round(time.Millisecond), stall)
	if held > 0 || worst > stall+slack {
		t.Errorf("%d stalled connections still held, slowest release %v: want all released within %v (stall timeout %v)", held, worst.Round(time.Millisecond), stall+slack, stall)
	}
	r := <-slow
	if r.err != nil {
		t.Fatalf("throttled download: %v", r.err)
	}
	if !bytes.Equal(r.body, model) {
		t.Fatalf("throttled download: %d bytes, differs from the model", len(r.body))
	}
	t.Logf("throttled download of %d KB took %v", modelSize>>10, r.took.Round(time.Millisecond))
	if r.took < 3*stall {
		t.Errorf("throttled download took %v: not slow enough to test the stall timeout", r.took)
	}
}

// throttled reads at most rate bytes per second on average.
type throttled struct {
	r     io.Reader
	rate  int
	start time.Time
	n     int
}

func (t *throttled) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	if ahead := time.Duration(t.n)*time.Second/time.Duration(t.rate) - time.Since(t.start); ahead > 0 {
		time.Sleep(ahead)
	}
	n, err := t.r.Read(p)
	t.n += n
	return n, err
}

// TestGzipCacheFollowsChanges: a new version of a file is compressed
// again, once, and the previous encoding's file is removed.
func TestGzipCacheFollowsChanges(t *testing.T) {
	f := newFixture(t)
	ts, s, _ := f.start(t)
	for i, content := range [][]byte{f.wasm, bigWasm(200_000), bigWasm(200_000)} {
		if i > 0 {
			os.WriteFile(filepath.Join(f.web, "app.wasm"), content, 0o644)
			// A distinct modification time even on coarse clocks.
			mt := time.Now().Add(time.Duration(i) * time.Minute)
			os.Chtimes(filepath.Join(f.web, "app.wasm"), mt, mt)
		}
		for range 2 {
			resp, body := get(t, ts.URL+"/web/app.wasm", "Accept-Encoding: gzip")
			if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, body), content) {
				t.Fatalf("version %d: wrong body (encoding %q)", i, resp.Header.Get("Content-Encoding"))
			}
		}
		if got := s.static.gz.compressions(); got != i+1 {
			t.Errorf("version %d: %d compressions, want %d", i, got, i+1)
		}
		if files, _ := os.ReadDir(s.static.gz.dir); len(files) != 1 {
			t.Errorf("version %d: %d files in the gzip cache, want 1", i, len(files))
		}
	}
}

func TestExposureWarning(t *testing.T) {
	for addr, warn := range map[string]bool{
		"127.0.0.1:8000": false,
		"[::1]:8000":     false,
		"0.0.0.0:8000":   true,
		"[::]:8000":      true,
		"192.0.2.7:8000": true,
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := exposureWarning(a) != ""; got != warn {
			t.Errorf("%s: warning %v, want %v", addr, got, warn)
		}
	}
}
