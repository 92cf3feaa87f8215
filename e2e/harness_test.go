//go:build !js

package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// modelFile is the default weight file the app loads.
const modelFile = "resnet50-v1-int8.safetensors"

// env is what TestMain sets up once for every test.
var env struct {
	repo     string // repository root
	base     string // the dev server's URL, "http://127.0.0.1:port"
	web      string // the staged web directory the dev server serves
	server   string // the dev server binary (also writes static sites)
	chromium string
	shots    string // screenshot directory
	log      *serverLog
}

// serverLog keeps the dev server's access log lines.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

// count is how many logged requests match re.
func (l *serverLog) count(re *regexp.Regexp) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if re.MatchString(s) {
			n++
		}
	}
	return n
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode (builds the wasm and drives Chromium for minutes)")
		os.Exit(0)
	}
	cleanup, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup failed:", err)
		if cleanup != nil {
			cleanup()
		}
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// setup builds what the tests need and starts the dev server.
func setup() (cleanup func(), err error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	env.repo = filepath.Dir(wd)
	env.chromium = envOr("RESIDUAL_E2E_CHROMIUM", "/usr/lib/chromium/chromium")
	if _, err := os.Stat(env.chromium); err != nil {
		return nil, fmt.Errorf("no Chromium at %s (install it: apt-get install chromium, or `make deps`; or set RESIDUAL_E2E_CHROMIUM): %w", env.chromium, err)
	}
	modelPath := repoPath(envOr("RESIDUAL_E2E_MODEL", filepath.Join("web", "models", modelFile)))
	if _, err := os.Stat(modelPath); err != nil {
		return nil, fmt.Errorf("the model is missing at %s: build it with `make weights` (or set RESIDUAL_E2E_MODEL): %w", modelPath, err)
	}
	env.shots = filepath.Join(env.repo, "test-output", "e2e")
	os.RemoveAll(env.shots) // screenshots of an earlier run would mislead
	if err := os.MkdirAll(env.shots, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "residual-e2e-")
	if err != nil {
		return nil, err
	}
	var stop func()
	cleanup = func() {
		if stop != nil {
			stop()
		}
		os.RemoveAll(tmp)
	}
	web := filepath.Join(tmp, "web")
	env.web = web
	if err := stageWeb(web, modelPath); err != nil {
		return cleanup, err
	}
	if err := buildWasm(filepath.Join(web, "app.wasm")); err != nil {
		return cleanup, err
	}
	// The CPU engine's kernels, built from source as make does.
	if out, err := exec.Command(filepath.Join(env.repo, "tools", "build_kernels.sh"), filepath.Join(web, "kernels.wasm")).CombinedOutput(); err != nil {
		return cleanup, fmt.Errorf("build the kernels (tools/build_kernels.sh; tools/deps.sh installs clang and lld): %v\n%s", err, out)
	}
	if err := buildConverter(filepath.Join(web, "converter.wasm")); err != nil {
		return cleanup, err
	}
	bin := filepath.Join(tmp, "devserver")
	env.server = bin
	if out, err := goCmd(nil, "build", "-o", bin, "./cmd/devserver").CombinedOutput(); err != nil {
		return cleanup, fmt.Errorf("build devserver: %v\n%s", err, out)
	}
	stop, err = startServer(bin, web)
	return cleanup, err
}

// stageWeb copies the app's static files and the model into a fresh web
// directory (the repository's own web/ is left as it is).
func stageWeb(web, modelPath string) error {
	src := filepath.Join(env.repo, "web")
	for _, name := range []string{"app.css", "icon.svg", "icon-192.png", "icon-512.png", "convert-worker.js", "fetch-worker.js"} {
		if err := copyFile(filepath.Join(src, name), filepath.Join(web, name)); err != nil {
			return err
		}
	}
	samples, _ := filepath.Glob(filepath.Join(src, "samples", "*"))
	if len(samples) == 0 {
		return fmt.Errorf("no sample photos in %s/samples", src)
	}
	for _, s := range samples {
		if err := copyFile(s, filepath.Join(web, "samples", filepath.Base(s))); err != nil {
			return err
		}
	}
	dst := filepath.Join(web, "models", modelFile)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(modelPath, dst); err == nil {
		return nil
	}
	return copyFile(modelPath, dst)
}

// buildWasm builds the app (or copies RESIDUAL_E2E_WASM).
func buildWasm(dst string) error {
	if pre := os.Getenv("RESIDUAL_E2E_WASM"); pre != "" {
		if err := copyFile(repoPath(pre), dst); err != nil {
			return fmt.Errorf("RESIDUAL_E2E_WASM: %w", err)
		}
		return nil
	}
	start := time.Now()
	cmd := goCmd([]string{"GOOS=js", "GOARCH=wasm"}, "build", "-trimpath", "-ldflags=-s -w", "-o", dst, "./cmd/wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build wasm: %v\n%s", err, out)
	}
	fmt.Printf("e2e: built the wasm in %.0fs\n", time.Since(start).Seconds())
	return nil
}

// buildConverter builds the checkpoint converter's wasm, or copies the one
// beside RESIDUAL_E2E_WASM (make wasm builds both).
func buildConverter(dst string) error {
	if pre := os.Getenv("RESIDUAL_E2E_WASM"); pre != "" {
		if src := filepath.Join(filepath.Dir(repoPath(pre)), "converter.wasm"); copyFile(src, dst) == nil {
			return nil
		}
	}
	cmd := goCmd([]string{"GOOS=js", "GOARCH=wasm"}, "build", "-trimpath", "-ldflags=-s -w", "-o", dst, "./cmd/converter")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the converter's wasm: %v\n%s", err, out)
	}
	return nil
}

// goCmd is a go command run at the repository root.
func goCmd(extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = env.repo
	cmd.Env = append(os.Environ(), extraEnv...)
	return cmd
}

// startServer runs the dev server on a free port and waits for its URL.
func startServer(bin, web string) (stop func(), err error) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-web", web)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start devserver: %w", err)
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	}
	env.log = &serverLog{}
	urls := make(chan string, 1)
	re := regexp.MustCompile(`dev server on (http://127\.0\.0\.1:\d+)/`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			env.log.add(line)
			if os.Getenv("RESIDUAL_E2E_SERVER_LOG") != "" {
				fmt.Println("server:", line)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case env.base = <-urls:
		return stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return nil, errors.New("the dev server did not report its address within 30 s")
	}
}

// serve runs h on a loopback port until the test ends and returns its
// URL, "http://127.0.0.1:port".
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// repoPath resolves a path given relative to the repository root.
func repoPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(env.repo, p)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// browser is one headless Chromium with its own profile, and what the
// test watched it do.
type browser struct {
	ctx      context.Context
	t        *testing.T
	base     string // the site's URL; the dev server's unless a test changes it
	mu       sync.Mutex
	requests []string // URLs the page asked the network for
	console  []string // console messages and exceptions
}

// newBrowser starts Chromium with the flags these machines need; webgpu
// adds --enable-unsafe-webgpu (SwiftShader's adapter is blocklisted
// otherwise, which is how the CPU fallback is tested).
func newBrowser(t *testing.T, webgpu bool, timeout time.Duration) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(env.chromium),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1700),
	}
	if webgpu {
		opts = append(opts, chromedp.Flag("enable-unsafe-webgpu", true))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &browser{ctx: ctx, t: t, base: env.base}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprint(m))
			b.mu.Unlock()
		}
	}()
	return b
}

// requestsFor counts the page's network requests whose URL contains s.
func (b *browser) requestsFor(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, u := range b.requests {
		if strings.Contains(u, s) {
			n++
		}
	}
	return n
}

// consoleMatching returns console lines matching re.
func (b *browser) consoleMatching(re *regexp.Regexp) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, s := range b.console {
		if re.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

// do runs actions or fails the test, with what the page shows.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// eval evaluates a JS expression (promises awaited) into T.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluate "+js, err)
	}
	return v
}

// waitFor polls a JS condition until it holds.
func (b *browser) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(250*time.Millisecond)))
	if err != nil {
		b.fail("wait for "+what, err)
	}
}

// fail stops the test with the page's status, problems and console tail,
// and a screenshot of the moment.
func (b *browser) fail(what string, err error) {
	b.t.Helper()
	state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify({
		status: document.querySelector('#status')?.textContent,
		model: document.querySelector('#model-progress-label')?.textContent,
		modelError: document.querySelector('#model-error')?.textContent,
		problems: [...document.querySelectorAll('#messages li')].map(e => e.textContent),
		loader: document.querySelector('#app-wasm-loader-label')?.textContent,
	})`))
	b.shot("failure-" + sanitize(b.t.Name()))
	b.mu.Lock()
	tail := b.console[max(0, len(b.console)-15):]
	b.mu.Unlock()
	b.t.Fatalf("%s: %v\npage: %s\nconsole tail:\n  %s", what, err, state, strings.Join(tail, "\n  "))
}

// shot saves a full-page screenshot under test-output/e2e/.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(env.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// open loads the app and waits until the model is ready.
func (b *browser) open(timeout time.Duration) {
	b.t.Helper()
	b.do("open the app", chromedp.Navigate(b.base+"/"))
	b.waitForModel(timeout)
}

// navigate loads a page of the site (path and query) without waiting.
func (b *browser) navigate(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// firstTop5 is the page's own page load → first top-5 time, in ms since
// navigation started (a performance mark the app sets).
func (b *browser) firstTop5() float64 {
	b.t.Helper()
	return eval[float64](b, `+document.querySelector('#results').getAttribute('data-first-top5-ms')`)
}

// loadAvg is the machine's 1, 5 and 15 minute load averages, logged beside
// timings (these machines are shared).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// waitForModel waits until the model panel says ready.
func (b *browser) waitForModel(timeout time.Duration) {
	b.t.Helper()
	b.waitFor("the model to load",
		`(() => { const l = document.querySelector('#model-progress-label');
			if (l && l.dataset.phase === 'failed') throw new Error(document.querySelector('#model-error')?.textContent);
			return !!l && l.dataset.phase === 'ready'; })()`, timeout)
}

// fileSpec is one file to drop.
type fileSpec struct {
	Name string `json:"name"`
	Type string `json:"type"`
	B64  string `json:"b64"`
}

// drop dispatches a real drop of files onto the page, as a person dragging
// them from a file manager would, and reports whether the page stopped
// the browser's default action (opening the file).
func (b *browser) drop(files ...fileSpec) bool {
	b.t.Helper()
	specs, _ := json.Marshal(files)
	return eval[bool](b, `(() => {
		const dt = new DataTransfer();
		for (const s of `+string(specs)+`) {
			const bin = Uint8Array.from(atob(s.b64), c => c.charCodeAt(0));
			dt.items.add(new File([bin], s.name, {type: s.type}));
		}
		const target = document.querySelector('#predictions') || document.querySelector('#inspector') || document.body;
		const opts = {bubbles: true, cancelable: true, dataTransfer: dt};
		target.dispatchEvent(new DragEvent('dragenter', opts));
		target.dispatchEvent(new DragEvent('dragover', opts));
		const drop = new DragEvent('drop', opts);
		target.dispatchEvent(drop);
		return drop.defaultPrevented;
	})()`)
}

// paste dispatches a paste of files (as Ctrl+V of copied images does) and
// reports whether the page took it over from the browser.
func (b *browser) paste(files ...fileSpec) bool {
	b.t.Helper()
	specs, _ := json.Marshal(files)
	return eval[bool](b, `(() => {
		const dt = new DataTransfer();
		for (const s of `+string(specs)+`) {
			const bin = Uint8Array.from(atob(s.b64), c => c.charCodeAt(0));
			dt.items.add(new File([bin], s.name, {type: s.type}));
		}
		const ev = new ClipboardEvent('paste', {bubbles: true, cancelable: true, clipboardData: dt});
		document.body.dispatchEvent(ev);
		return ev.defaultPrevented;
	})()`)
}

// fileFrom reads a repository file as a drop spec.
func fileFrom(t *testing.T, rel, name, typ string) fileSpec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.repo, rel))
	if err != nil {
		t.Fatal(err)
	}
	return fileSpec{Name: name, Type: typ, B64: base64.StdEncoding.EncodeToString(data)}
}

// waitForAnswer waits until the first image card is name's, with its top-5,
// and the run is over.
func (b *browser) waitForAnswer(name string, timeout time.Duration) {
	b.t.Helper()
	b.waitFor("the top-5 of "+name, `(() => {
		const r = document.querySelector('#results');
		const card = document.querySelector('#predictions .image-card');
		return !!r && r.getAttribute('aria-busy') === 'false' && !!card &&
			card.querySelector('figcaption')?.textContent === `+jsString(name)+` &&
			card.querySelectorAll('.pred').length === 5;
	})()`, timeout)
}

// top1 is the first image's best label.
func (b *browser) top1() string {
	return eval[string](b, `document.querySelector('#predictions .image-card .pred .label')?.textContent || ''`)
}

// pred is one class of an answer as the page shows it.
type pred struct {
	Label string
	P     float64
}

// topN is the first image's top-5 with probabilities read back from the
// meters.
func (b *browser) topN() []pred {
	return eval[[]pred](b, `[...document.querySelectorAll('#predictions .image-card:first-child .pred')].map(li =>
		({Label: li.querySelector('.label').textContent, P: li.querySelector('meter').value}))`)
}

// stageShapes is the inspector's top-level rows: name → shape text.
func (b *browser) stageShapes() [][2]string {
	return eval[[][2]string](b, `[...document.querySelectorAll('#stages tbody.stage')].map(tb =>
		[tb.dataset.stage, tb.querySelector('td.shape').textContent])`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func sanitize(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(s, "_")
}
