package app

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// memHolder is a fileHolder over bytes, counting reads and whether it is
// closed.
type memHolder struct {
	data   []byte
	mu     sync.Mutex
	reads  int
	closed bool
}

func (h *memHolder) size() int64 { return int64(len(h.data)) }
func (h *memHolder) read(p []byte, off int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.New("read after close")
	}
	h.reads++
	copy(p, h.data[off:])
	return nil
}
func (h *memHolder) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
}
func (h *memHolder) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// closedSoon waits up to a few seconds (a loaded machine runs timers
// late) for h to be closed.
func (h *memHolder) closedSoon() bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if h.isClosed() {
			return true
		}
	}
	return false
}

// keptRig is a keptFile over a fake file, its reopenings recorded.
type keptRig struct {
	f       *keptFile
	first   *memHolder
	mu      sync.Mutex
	reopens []*memHolder
	next    func() (*memHolder, bool, error) // what the next reopening gives
	logs    []string
}

func newKeptRig(t *testing.T, data []byte, stored bool) *keptRig {
	t.Helper()
	r := &keptRig{first: &memHolder{data: data}}
	r.next = func() (*memHolder, bool, error) { return &memHolder{data: data}, true, nil }
	reopen := func() (fileHolder, bool, error) {
		h, cached, err := r.next()
		if err != nil {
			return nil, false, err
		}
		r.mu.Lock()
		r.reopens = append(r.reopens, h)
		r.mu.Unlock()
		return h, cached, nil
	}
	log := func(s string) {
		r.mu.Lock()
		r.logs = append(r.logs, s)
		r.mu.Unlock()
	}
	r.f = newKeptFile("/w.safetensors", r.first, data[:8], stored, reopen, log)
	r.f.after = 20 * time.Millisecond
	return r
}

func (r *keptRig) reopened() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reopens)
}

// read reads n bytes at off and checks them.
func (r *keptRig) read(t *testing.T, data []byte, off, n int) {
	t.Helper()
	p := make([]byte, n)
	if got, err := r.f.ReadAt(p, int64(off)); err != nil || got != n || !bytes.Equal(p, data[off:off+n]) {
		t.Fatalf("ReadAt(%d, %d) = %d, %v", n, off, got, err)
	}
}

func testFileBytes() []byte {
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return data
}

// TestKeptFileReleasesOnceSettled: the file is kept while the page
// loads, however long the gaps between reads; once settled, idle time
// releases it, and the next read brings it back (once) from Cache
// Storage.
func TestKeptFileReleasesOnceSettled(t *testing.T) {
	data := testFileBytes()
	r := newKeptRig(t, data, true)
	if r.f.Size() != 1000 {
		t.Fatalf("size %d", r.f.Size())
	}
	r.read(t, data, 100, 50)
	time.Sleep(5 * r.f.after)
	if r.first.isClosed() {
		t.Fatal("released before the page settled it")
	}
	r.f.settle()
	r.read(t, data, 200, 10)
	if !r.first.closedSoon() {
		t.Fatal("not released after settling and an idle spell")
	}
	if r.reopened() != 0 {
		t.Fatalf("%d reopenings before any read", r.reopened())
	}
	r.read(t, data, 990, 10)
	r.read(t, data, 0, 8)
	if r.reopened() != 1 {
		t.Errorf("%d reopenings for two reads after the release, want 1", r.reopened())
	}
	// The end of the file: a short read says io.EOF.
	p := make([]byte, 20)
	if n, err := r.f.ReadAt(p, 990); n != 10 || err != io.EOF {
		t.Errorf("a read past the end: %d, %v", n, err)
	}
	if _, err := r.f.ReadAt(p, 1001); err == nil {
		t.Error("a read past the end of the file gave no error")
	}
	if !r.reopens[0].closedSoon() {
		t.Error("the reopened file was not released again")
	}
	var logs string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		r.mu.Lock()
		logs = strings.Join(r.logs, "\n")
		r.mu.Unlock()
		if strings.Count(logs, "released") == 2 {
			break
		}
	}
	if strings.Count(logs, "released") != 2 || !strings.Contains(logs, "read again (1 times)") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestKeptFileKeepsWhatItCannotReadAgain: a file Cache Storage does not
// hold is never released; one found forgotten when it is read again is
// kept from then on.
func TestKeptFileKeepsWhatItCannotReadAgain(t *testing.T) {
	data := testFileBytes()
	r := newKeptRig(t, data, false)
	r.f.settle()
	r.read(t, data, 0, 100)
	time.Sleep(5 * r.f.after)
	if r.first.isClosed() {
		t.Fatal("released a file Cache Storage does not hold")
	}

	r = newKeptRig(t, data, true)
	r.f.settle()
	r.read(t, data, 0, 100)
	if !r.first.closedSoon() {
		t.Fatal("not released")
	}
	// Forgotten meanwhile: the reopening downloads it (not cached).
	r.next = func() (*memHolder, bool, error) { return &memHolder{data: data}, false, nil }
	r.read(t, data, 500, 100)
	time.Sleep(5 * r.f.after)
	if r.reopens[0].isClosed() {
		t.Error("released a file downloaded again after Forget: the next read would download it once more")
	}
}

// TestKeptFileRefusesAnotherFile: a file read again must be the one
// decoded; a reopening that fails says so.
func TestKeptFileRefusesAnotherFile(t *testing.T) {
	data := testFileBytes()
	for _, tc := range []struct {
		name string
		next func() (*memHolder, bool, error)
		want string
	}{
		{"another size", func() (*memHolder, bool, error) { return &memHolder{data: data[:900]}, true, nil }, "changed since the page loaded it (900 bytes, was 1000)"},
		{"another header", func() (*memHolder, bool, error) {
			other := bytes.Clone(data)
			other[3]++
			return &memHolder{data: other}, true, nil
		}, "changed since the page loaded it"},
		{"offline", func() (*memHolder, bool, error) {
			return nil, false, errors.New("the model is not in this browser's cache and the download failed")
		}, "read the weights again: the model is not in this browser's cache"},
	} {
		r := newKeptRig(t, data, true)
		r.f.settle()
		if !r.first.closedSoon() {
			t.Fatalf("%s: not released", tc.name)
		}
		r.next = tc.next
		_, err := r.f.ReadAt(make([]byte, 10), 100)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		for _, h := range r.reopens {
			if !h.isClosed() {
				t.Errorf("%s: a refused reopening was left open", tc.name)
			}
		}
	}
}
