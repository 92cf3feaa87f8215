//go:build !js

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumRSS is the resident memory of a Chromium's processes by type:
// the largest renderer (the page's; a blank tab has one too) and the GPU
// process, read from /proc.
type chromiumRSS struct {
	renderer, gpu int64
}

// rss reads the resident memory of b's browser's descendant processes.
func (b *browser) rss() chromiumRSS {
	b.t.Helper()
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		b.t.Skip("no browser process to measure")
	}
	root := c.Browser.Process().Pid
	parent := map[int]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.t.Skipf("no /proc: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so cut at the last ')'.
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
	}
	under := func(pid int) bool {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				return true
			}
		}
		return false
	}
	var r chromiumRSS
	for pid := range parent {
		if !under(pid) {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		kb := statusKB(pid, "VmRSS:")
		switch {
		case strings.Contains(string(cmd), "--type=renderer"):
			r.renderer = max(r.renderer, kb<<10)
		case strings.Contains(string(cmd), "--type=gpu-process"):
			r.gpu = max(r.gpu, kb<<10)
		}
	}
	return r
}

// statusKB reads one "Name: N kB" line of /proc/pid/status.
func statusKB(pid int, name string) int64 {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(l, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// pageMemory is what performance.measureUserAgentSpecificMemory says the
// page holds (JavaScript heaps, wasm memories, DOM), by type.
type pageMemory struct {
	Bytes     int64 `json:"bytes"`
	Breakdown []struct {
		Bytes int64    `json:"bytes"`
		Types []string `json:"types"`
	} `json:"breakdown"`
	Error string `json:"error"`
}

// pageMemory measures the page (it is cross-origin isolated: the dev
// server sends COOP/COEP).
func (b *browser) pageMemory() pageMemory {
	b.t.Helper()
	return eval[pageMemory](b, `(async () => {
		if (!crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return {error: 'not cross-origin isolated'};
		const m = await performance.measureUserAgentSpecificMemory();
		return {bytes: m.bytes, breakdown: m.breakdown.filter(e => e.bytes > 0).map(e => ({bytes: e.bytes, types: e.types}))};
	})()`)
}

// String sums the breakdown by type in MB.
func (m pageMemory) String() string {
	if m.Error != "" {
		return m.Error
	}
	by := map[string]int64{}
	for _, e := range m.Breakdown {
		by[strings.Join(e.Types, "+")] += e.Bytes
	}
	var parts []string
	for k, v := range by {
		if k == "" {
			k = "other"
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", k, float64(v)/(1<<20)))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%.1f MB (%s)", float64(m.Bytes)/(1<<20), strings.Join(parts, ", "))
}

// TestRendererMemory measures the page's renderer after one
// classification of a sample photo, on each engine (?engine=, a fresh
// browser each), against the same browser's renderer on a blank document
// of the site first, and logs it beside the weight file's size. Memory settles after
// the run: it is read after a short idle wait, twice, keeping the smaller
// (a garbage collection may be pending).
func TestRendererMemory(t *testing.T) {
	st, err := os.Stat(filepath.Join(env.web, "models", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	weights := st.Size()
	var report []string
	for _, engine := range []string{"cpu", "gpu"} {
		t.Run(engine, func(t *testing.T) {
			b := newBrowser(t, engine == "gpu", 10*time.Minute)
			// A blank document of the same site: its renderer is the one
			// the app then loads in (about:blank's is another process).
			b.do("open a blank page", chromedp.Navigate(b.base+"/web/icon.svg"))
			time.Sleep(2 * time.Second)
			blank := b.rss()
			b.navigate("/?sample=chelsea.jpg&engine=" + engine)
			b.waitForAnswer("chelsea.jpg", 8*time.Minute)
			if got := b.top1(); !strings.Contains(got, "cat") {
				t.Errorf("top-1 %q, want a cat", got)
			}
			time.Sleep(3 * time.Second)
			after := b.rss()
			time.Sleep(3 * time.Second)
			if again := b.rss(); again.renderer < after.renderer {
				after = again
			}
			mem := b.pageMemory()
			above := after.renderer - blank.renderer
			line := fmt.Sprintf("%s: renderer %d MB after one classification (blank page %d MB, so %d MB above it = %.1f× the %d MB weight file); GPU process %d MB; the page's own memory %s",
				engine, after.renderer>>20, blank.renderer>>20, above>>20, float64(above)/float64(weights), weights>>20, after.gpu>>20, mem)
			t.Log(line)
			report = append(report, line)
		})
	}
	t.Logf("renderer memory (load %s):\n  %s", loadAvg(), strings.Join(report, "\n  "))
}
