//go:build !js

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/chromedp"
)

// collectGarbage has the page's JS heap collected (the DevTools
// protocol's HeapProfiler.collectGarbage) and lets the memory settle.
func (b *browser) collectGarbage() {
	b.t.Helper()
	b.do("collect garbage", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, heapprofiler.CollectGarbage, cdp.Empty{})
		return err
	}))
	time.Sleep(time.Second)
}

// chromiumRSS is the resident memory of a Chromium's processes by type:
// the largest renderer (the page's; a blank tab has one too) and the GPU
// process, read from /proc.
type chromiumRSS struct {
	renderer, gpu int64
	// rendererPrivate is the renderer's anonymous and shared-memory pages
	// (RssAnon + RssShmem): what the page allocated, without the
	// browser's own code and data files, which every renderer maps and
	// pages in as a page uses more of the browser.
	rendererPrivate int64
	rendererPID     int
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
			if kb<<10 > r.renderer {
				r.renderer, r.rendererPID = kb<<10, pid
				r.rendererPrivate = (statusKB(pid, "RssAnon:") + statusKB(pid, "RssShmem:")) << 10
			}
		case strings.Contains(string(cmd), "--type=gpu-process"):
			r.gpu = max(r.gpu, kb<<10)
		}
	}
	return r
}

// largestMappings lists pid's n largest memory mappings by resident size
// (from /proc/pid/smaps): where a renderer's memory is, for the log.
func largestMappings(pid, n int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return err.Error()
	}
	type mapping struct {
		head      string
		size, rss int64
	}
	var maps []mapping
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			maps = append(maps, mapping{head: l})
		case len(maps) > 0 && len(f) >= 2 && (f[0] == "Size:" || f[0] == "Rss:"):
			v, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "Size:" {
				maps[len(maps)-1].size = v
			} else {
				maps[len(maps)-1].rss = v
			}
		}
	}
	sort.Slice(maps, func(i, j int) bool { return maps[i].rss > maps[j].rss })
	var out []string
	for i := 0; i < n && i < len(maps); i++ {
		m := maps[i]
		f := strings.Fields(m.head)
		name := "[anon]"
		if len(f) >= 6 {
			name = strings.Join(f[5:], " ")
		}
		out = append(out, fmt.Sprintf("%6d kB resident of %9d kB %s %s", m.rss, m.size, f[1], name))
	}
	return strings.Join(out, "\n    ")
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

// TestRendererMemory measures the page's renderer after one
// classification of a sample photo, on each engine (?engine=, a fresh
// browser each), against the same browser's renderer on a blank document
// of the site first, and logs it beside the weight file's size. So that
// the app's own share shows apart from the model's, each engine also
// loads the app with a weight file that does not exist (its code, the
// Go runtime, the page) in a browser of its own. Memory settles after
// the run, and is read three times: just after it (the smaller of two
// reads 3 s apart), at rest (restWait later, once the browser's own idle
// collection has run: V8 collects an idle page's garbage, the uploads'
// and the download's arrays, some 20-30 s after it goes quiet), and
// after a forced garbage collection of the page's JS heap (what the page
// holds live). The blank page is read after a collection too. Each
// figure is the renderer's RSS, and its private part (anonymous and
// shared-memory pages: RSS less the browser's own code and data files,
// which every renderer maps and pages in as a page uses more of it).
func TestRendererMemory(t *testing.T) {
	st, err := os.Stat(filepath.Join(env.web, "models", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	weights := st.Size()
	const restWait = 40 * time.Second
	// aboveBlank opens a blank document of the site in a fresh browser
	// (its renderer is the one the app then loads in: about:blank's is
	// another process), then path, waits with ready, and returns the
	// renderer's growth: just after, at rest (when rest) and after a
	// forced garbage collection; and the GPU process.
	type growth struct {
		just, rest, live chromiumRSS // over the blank page's
		gpu              int64
		b                *browser
	}
	less := func(a, b chromiumRSS) chromiumRSS {
		return chromiumRSS{renderer: a.renderer - b.renderer, rendererPrivate: a.rendererPrivate - b.rendererPrivate}
	}
	aboveBlank := func(t *testing.T, engine, path string, rest bool, ready func(b *browser)) growth {
		b := newBrowser(t, engine == "gpu", 10*time.Minute)
		b.do("open a blank page", chromedp.Navigate(b.base+"/web/icon.svg"))
		time.Sleep(2 * time.Second)
		b.collectGarbage()
		blank := b.rss()
		b.navigate(path)
		ready(b)
		done := time.Now()
		time.Sleep(3 * time.Second)
		just := b.rss()
		time.Sleep(3 * time.Second)
		if again := b.rss(); again.renderer < just.renderer {
			just = again
		}
		g := growth{just: less(just, blank), gpu: just.gpu, b: b}
		g.rest = g.just
		if rest {
			time.Sleep(time.Until(done.Add(restWait)))
			g.rest = less(b.rss(), blank)
		}
		// What the page holds, without the garbage its JS heap has not
		// collected yet: what performance.measureUserAgentSpecificMemory
		// reports, which collects first too.
		b.collectGarbage()
		live := b.rss()
		g.live = less(live, blank)
		t.Logf("%s %s: renderer RSS (private) over the blank page's %d MB (%d MB): %d MB (%d) just after, %d MB (%d) at rest, %d MB (%d) after a forced garbage collection",
			engine, path, blank.renderer>>20, blank.rendererPrivate>>20, g.just.renderer>>20, g.just.rendererPrivate>>20,
			g.rest.renderer>>20, g.rest.rendererPrivate>>20, g.live.renderer>>20, g.live.rendererPrivate>>20)
		t.Logf("%s %s: renderer's largest mappings:\n    %s", engine, path, largestMappings(live.rendererPID, 12))
		return g
	}
	var report []string
	for _, engine := range []string{"cpu", "gpu"} {
		t.Run(engine, func(t *testing.T) {
			app := aboveBlank(t, engine, "/?model=absent.safetensors&engine="+engine, false, func(b *browser) {
				b.waitFor("the missing model's error", `document.querySelector('#model-progress-label')?.dataset.phase === 'failed'`, loadTimeout)
			})
			run := aboveBlank(t, engine, "/?sample=chelsea.jpg&engine="+engine, true, func(b *browser) {
				b.waitForAnswer("chelsea.jpg", 8*time.Minute)
				if got := b.top1(); !strings.Contains(got, "cat") {
					t.Errorf("top-1 %q, want a cat", got)
				}
			})
			// The weights are held once, where they run: the page let
			// the downloaded file go once the engine was built.
			if len(run.b.consoleMatching(weightsReleased)) == 0 {
				t.Errorf("the page kept the weight file after the engine was built (no %q in the console)", weightsReleased)
			}
			ratio := func(r chromiumRSS) string {
				return fmt.Sprintf("%d MB = %.1f× (private %d MB = %.1f×)", r.renderer>>20, float64(r.renderer)/float64(weights), r.rendererPrivate>>20, float64(r.rendererPrivate)/float64(weights))
			}
			line := fmt.Sprintf("%s: after one classification the renderer grew, over a blank page, by %s at rest, %s just after, %s after a forced garbage collection, for a %d MB weight file; the app alone (no model) %s after a collection; GPU process %d MB",
				engine, ratio(run.rest), ratio(run.just), ratio(run.live), weights>>20, ratio(app.live), run.gpu>>20)
			t.Log(line)
			report = append(report, line)
		})
	}
	t.Logf("renderer memory (load %s):\n  %s", loadAvg(), strings.Join(report, "\n  "))
}
