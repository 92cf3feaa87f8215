//go:build !js

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumFlags are PLATFORM.md's flags for headless Chromium on these
// machines (quiet on the closed network), plus WebGPU on SwiftShader and no
// throttling of a page that computes for minutes in the background.
// spki is the loopback server's public key hash: Chromium trusts that one
// self-signed certificate and no other.
func chromiumFlags(chromium, userDataDir, spki string, webgpu bool) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(userDataDir),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-hang-monitor", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.CombinedOutput(io.Discard),
	}
	if webgpu {
		opts = append(opts, chromedp.Flag("enable-unsafe-webgpu", true))
	}
	return opts
}

// flagStrings lists the command-line flags opts set, for the report.
func flagStrings(webgpu bool) []string {
	fs := []string{"--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
		"--disable-extensions", "--disable-breakpad", "--disable-dev-shm-usage", "--disable-background-timer-throttling",
		"--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows", "--disable-hang-monitor",
		"--hide-scrollbars", "--mute-audio", "--user-data-dir=<fresh temp dir>",
		"--ignore-certificate-errors-spki-list=<the loopback server's self-signed key>"}
	if webgpu {
		fs = append(fs, "--enable-unsafe-webgpu")
	}
	return fs
}

// loadJS calls the page's bench.load() and times it in the page.
const loadJS = `(async () => {
  const t0 = performance.now();
  const r = await window.bench.load();
  const ms = performance.now() - t0;
  return JSON.stringify({ms, readyAt: window.benchReadyAt ?? null, info: (r && r.info) || null,
    hardwareConcurrency: navigator.hardwareConcurrency, crossOriginIsolated: self.crossOriginIsolated === true,
    userAgent: navigator.userAgent, protocol: (performance.getEntriesByType("navigation")[0] || {}).nextHopProtocol || null});
})()`

// runJS calls bench.run() once, timed in the page from the call until the
// result is back in JS, and reduces what it returns to a top-5: either
// the peer's own top5, or the top 5 of its probs (softmax of its logits).
const runJS = `(async () => {
  const t0 = performance.now();
  const r = await window.bench.run();
  const ms = performance.now() - t0;
  let top5 = r && r.top5, sum = null;
  if (!top5) {
    let p = r && (r.probs || r.logits);
    if (!p || p.length < 5) throw new Error("bench.run() returned neither top5 nor probs/logits");
    p = Array.from(p);
    if (!r.probs) { const m = Math.max(...p); p = p.map(v => Math.exp(v - m)); const s = p.reduce((a, b) => a + b, 0); p = p.map(v => v / s); }
    sum = p.reduce((a, b) => a + b, 0);
    top5 = p.map((prob, index) => ({index, prob})).sort((a, b) => b.prob - a.prob).slice(0, 5);
  }
  return JSON.stringify({ms, sum, top5: top5.slice(0, 5).map(x => ({index: x.index, prob: x.prob}))});
})()`

// profileJS calls bench.profile() where the page has it (Residual's
// pages): one more run, timed stage by stage by the engine itself.
const profileJS = `(async () => {
  if (typeof window.bench.profile !== "function") return JSON.stringify(null);
  const r = await window.bench.profile();
  return JSON.stringify((r && r.stages) || null);
})()`

// loadResult is what loadJS returns.
type loadResult struct {
	Ms                  float64         `json:"ms"`
	ReadyAt             *float64        `json:"readyAt"`
	Info                json.RawMessage `json:"info"`
	HardwareConcurrency int             `json:"hardwareConcurrency"`
	CrossOriginIsolated bool            `json:"crossOriginIsolated"`
	UserAgent           string          `json:"userAgent"`
	Protocol            string          `json:"protocol"`
}

// runResult is what runJS returns.
type runResult struct {
	Ms   float64      `json:"ms"`
	Sum  *float64     `json:"sum"`
	Top5 []prediction `json:"top5"`
}

// driver runs peers, one tab each, in one browser.
type driver struct {
	browser     context.Context
	base        string // http://127.0.0.1:port
	meter       *meter
	callTimeout time.Duration
	verbose     bool
}

// consoleLog keeps a peer page's console for the report on failure and
// echoes it when verbose.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (c *consoleLog) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, s)
	if len(c.lines) > 40 {
		c.lines = c.lines[len(c.lines)-40:]
	}
}

func (c *consoleLog) tail(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) > n {
		return append([]string(nil), c.lines[len(c.lines)-n:]...)
	}
	return append([]string(nil), c.lines...)
}

// measure runs one peer: navigate, load, a cold run, warmup runs and warm
// timed runs. It fills what it measured even when a later step fails.
func (d *driver) measure(p peer, warmup, runs int) (res peerResult) {
	res = peerResult{Name: p.Name, Title: p.Title, Page: p.Page, GPU: p.GPU, Runs: runs}
	fail := func(step string, err error, cl *consoleLog) peerResult {
		res.Error = fmt.Sprintf("%s: %v", step, err)
		res.Bytes, res.Files = d.meter.usage(p.Name)
		if cl != nil {
			res.Console = cl.tail(12)
		}
		return res
	}
	tab, cancel := chromedp.NewContext(d.browser)
	defer cancel()
	cl := &consoleLog{}
	msgs := chromedp.Console(tab) // opens the tab and subscribes before the page loads
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			line := fmt.Sprintf("%s: %s", m.Type, m.Text)
			cl.add(line)
			if d.verbose || m.IsException() || m.Type == chromedp.ConsoleError {
				log.Printf("[%s] %s", p.Name, line)
			}
		}
	}()

	d.meter.start(p.Name)
	ctx, stop := context.WithTimeout(tab, d.callTimeout)
	err := chromedp.Do(ctx, chromedp.Navigate(d.base+p.Page))
	stop()
	if err != nil {
		return fail("navigate", err, cl)
	}
	ctx, stop = context.WithTimeout(tab, d.callTimeout)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool]("window.bench !== undefined || window.benchError !== undefined",
		chromedp.WithPollingTimeout(d.callTimeout)))
	stop()
	if err != nil {
		return fail("wait for window.bench", err, cl)
	}
	if msg, _ := d.eval(tab, "String(window.benchError ?? '')"); msg != `""` && msg != "" {
		return fail("page", errors.New(strings.Trim(msg, `"`)), cl)
	}

	log.Printf("[%s] load", p.Name)
	out, err := d.eval(tab, loadJS)
	if err != nil {
		return fail("bench.load()", err, cl)
	}
	var lr loadResult
	if err := json.Unmarshal([]byte(out), &lr); err != nil {
		return fail("bench.load() result", err, cl)
	}
	res.LoadMs = lr.Ms
	if lr.ReadyAt != nil {
		res.PageMs = *lr.ReadyAt
	}
	res.Info = lr.Info
	res.Env = &pageEnv{HardwareConcurrency: lr.HardwareConcurrency, CrossOriginIsolated: lr.CrossOriginIsolated, UserAgent: lr.UserAgent, Protocol: lr.Protocol}
	res.LoadBytes, _ = d.meter.usage(p.Name)
	log.Printf("[%s] loaded in %.0f ms (%s), info %s", p.Name, lr.Ms, mb(res.LoadBytes), string(lr.Info))

	run := func(what string) (runResult, error) {
		out, err := d.eval(tab, runJS)
		if err != nil {
			return runResult{}, fmt.Errorf("%s: %w", what, err)
		}
		var rr runResult
		if err := json.Unmarshal([]byte(out), &rr); err != nil {
			return runResult{}, fmt.Errorf("%s: result: %w", what, err)
		}
		if len(rr.Top5) == 0 {
			return runResult{}, fmt.Errorf("%s: no predictions", what)
		}
		return rr, nil
	}
	rr, err := run("cold run")
	if err != nil {
		return fail("bench.run()", err, cl)
	}
	res.ColdMs, res.Top5, res.ProbSum = rr.Ms, rr.Top5, rr.Sum
	log.Printf("[%s] cold run %.0f ms, top-1 %d (%.3f)", p.Name, rr.Ms, rr.Top5[0].Index, rr.Top5[0].Prob)
	for i := range warmup {
		rr, err := run(fmt.Sprintf("warm-up run %d", i+1))
		if err != nil {
			return fail("bench.run()", err, cl)
		}
		res.WarmupMs = append(res.WarmupMs, rr.Ms)
		log.Printf("[%s] warm-up %d/%d: %.0f ms", p.Name, i+1, warmup, rr.Ms)
	}
	for i := range runs {
		rr, err := run(fmt.Sprintf("warm run %d", i+1))
		if err != nil {
			res.Warm = summarize(res.WarmMs)
			return fail("bench.run()", err, cl)
		}
		if rr.Top5[0].Index != res.Top5[0].Index {
			res.Warm = summarize(res.WarmMs)
			return fail("bench.run()", fmt.Errorf("warm run %d: top-1 %d, cold run gave %d", i+1, rr.Top5[0].Index, res.Top5[0].Index), cl)
		}
		res.WarmMs = append(res.WarmMs, rr.Ms)
		log.Printf("[%s] warm %d/%d: %.0f ms", p.Name, i+1, runs, rr.Ms)
	}
	res.Warm = summarize(res.WarmMs)
	res.Bytes, res.Files = d.meter.usage(p.Name)
	if out, err := d.eval(tab, profileJS); err != nil {
		return fail("bench.profile()", err, cl)
	} else if err := json.Unmarshal([]byte(out), &res.Stages); err != nil {
		return fail("bench.profile() result", err, cl)
	}
	res.OK = true
	return res
}

// eval evaluates js (awaiting a promise) in the tab within the call
// timeout and returns its string result.
func (d *driver) eval(tab context.Context, js string) (string, error) {
	ctx, stop := context.WithTimeout(tab, d.callTimeout)
	defer stop()
	return chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
}

// startBrowser launches Chromium with a fresh profile; the returned stop
// func ends it and removes the profile.
func startBrowser(chromium, spki string, webgpu bool) (context.Context, func(), error) {
	if _, err := os.Stat(chromium); err != nil {
		return nil, nil, fmt.Errorf("chromium: %w", err)
	}
	dir, err := os.MkdirTemp("", "bench-peers-chromium-")
	if err != nil {
		return nil, nil, fmt.Errorf("chromium profile: %w", err)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromiumFlags(chromium, dir, spki, webgpu)...)
	bctx, cancelB := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start %s: %w", chromium, err)
	}
	return bctx, func() {
		cancelB()
		cancelA()
		os.RemoveAll(dir)
	}, nil
}
