//go:build !js

package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// A visitor's first minute: on a phone (390×844, touch) the page says
// what it does, offers the camera, scrolls a sample's answer into view,
// explains the answer, shows the inspector as cards with nothing wider
// than the screen, and shows one input at a time (an error after an
// answer replaces it; the Paste button's refusal is advice). axe-core
// finds no serious or critical accessibility problems, on the phone and
// on a desktop. CPU only: the layout is the point, not the engine.
func TestFirstMinutePhone(t *testing.T) {
	axe := axeSource(t)
	b := newBrowser(t, false, 12*time.Minute)
	b.phone()
	// A person who says no to the clipboard prompt (headless has none).
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-read"}, Setting: cdpbrowser.PermissionSettingDenied, Origin: b.base,
	}); err != nil {
		t.Fatalf("deny clipboard reads: %v", err)
	}
	b.open(loadTimeout)

	// What the app does, and the phone's own ways in.
	if !b.visible(".banner .tagline") {
		t.Error("the tagline is hidden on a phone: nothing says what the app does")
	}
	if !b.visible(`label[for="camera-input"]`) || eval[string](b, `document.querySelector('#camera-input').getAttribute('capture') || ''`) != "environment" {
		t.Error(`no visible "Take a photo" input with capture=environment on a touch screen`)
	}
	if hint := eval[string](b, `document.querySelector('#drop-hint').innerText`); strings.Contains(hint, "Ctrl+V") || strings.Contains(strings.ToLower(hint), "drop") {
		t.Errorf("the phone's hint speaks of dropping or Ctrl+V: %q", hint)
	}
	b.noOverflow("phone, ready")
	b.axe(axe, "phone, ready")
	b.viewportShot("firstminute-phone-1-ready")

	// A sample: its top-5 comes into view by itself.
	b.do("tap the cat sample", chromedp.Click(chromedp.ID("sample-chelsea")))
	b.waitForAnswer("chelsea.jpg", runTimeout)
	b.waitFor("the top-5 in view", `(() => { const r = document.querySelector('#predictions .image-card .top5').getBoundingClientRect();
		return r.top >= 0 && r.bottom <= window.innerHeight; })()`, 15*time.Second)
	if got := b.top1(); got != "Egyptian cat" {
		t.Errorf("chelsea top-1 %q", got)
	}
	b.viewportShot("firstminute-phone-2-sample-top5")
	knows := eval[string](b, `document.querySelector('#model-knows')?.textContent || ''`)
	if !strings.Contains(knows, "1000 classes of ImageNet") || !strings.Contains(knows, "unsure") ||
		eval[string](b, `document.querySelector('#model-knows a')?.getAttribute('href') || ''`) != "#class-list" {
		t.Errorf("the line under the top-5: %q", knows)
	}
	b.do("follow the link to the class list", chromedp.Click(chromedp.CSS(`#model-knows a`)))
	b.waitFor("the class list open", `document.querySelector('#class-list')?.open === true`, 10*time.Second)
	b.waitFor("the class list's 1000 classes", `document.querySelectorAll('#class-list li').length === 1000`, 10*time.Second)
	b.noOverflow("phone, answer and class list")

	// The inspector: cards, a layer's blocks too, nothing sideways.
	b.do("open layer2's blocks", chromedp.Click(chromedp.CSS(`tbody[data-stage="layer2"] details summary`)))
	eval[bool](b, `(document.querySelector('#inspector').scrollIntoView(), true)`)
	if d := eval[string](b, `getComputedStyle(document.querySelector('#stages tr.stage-row')).display`); d != "grid" {
		t.Errorf("the inspector's rows are %q on a phone, want cards (grid)", d)
	}
	if w := eval[[]int](b, `(() => { const s = document.querySelector('.table-scroll'); return [s.scrollWidth, s.clientWidth]; })()`); w[0] > w[1] {
		t.Errorf("the inspector scrolls sideways: %d px of content in %d", w[0], w[1])
	}
	b.noOverflow("phone, inspector")
	for _, w := range []int64{360, 430} {
		b.do(fmt.Sprintf("%d px wide", w), chromedp.EmulateViewport(w, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
		b.noOverflow(fmt.Sprintf("phone %d px, inspector", w))
	}
	b.phone()
	b.axe(axe, "phone, answer, class list and inspector open")
	b.viewportShot("firstminute-phone-3-inspector")
	eval[bool](b, `(document.querySelector('tbody[data-stage="layer2"]').scrollIntoView(), true)`)
	b.viewportShot("firstminute-phone-3-layer2-blocks")

	// An error after an answer: the answer goes, the error stays alone.
	eval[bool](b, `(window.scrollTo(0, 0), true)`)
	b.drop(fileSpec{Name: "notes.txt", Type: "text/plain", B64: "VGhpcyBpcyBub3QgYW4gaW1hZ2Uu"})
	b.waitFor("the error", `[...document.querySelectorAll('#messages li')].some(li => li.textContent.includes('notes.txt'))`, time.Minute)
	if n := eval[int](b, `document.querySelectorAll('#predictions .image-card').length + document.querySelectorAll('#run-again').length`); n != 0 {
		t.Error("the previous image's answer (or its Run again) is still shown beside the new input's error")
	}
	if eval[bool](b, `document.querySelector('#stages').dataset.measured === 'yes'`) {
		t.Error("the inspector still shows the previous image's measurements")
	}
	b.viewportShot("firstminute-phone-4-error")

	// A 1×1 picture is classified with a note.
	b.drop(fileSpec{Name: "dot.png", Type: "image/png", B64: onePixelPNG(t)})
	b.waitForAnswer("dot.png", runTimeout)
	b.waitFor("the tiny picture's answer in view", `(() => { const r = document.querySelector('#predictions .image-card').getBoundingClientRect();
		return r.top >= 0 && r.bottom <= window.innerHeight; })()`, 15*time.Second)
	if n := eval[int](b, `document.querySelectorAll('#messages li').length`); n != 0 {
		t.Error("the error of the input before outlived it")
	}
	if note := eval[string](b, `document.querySelector('#predictions .image-card .tiny')?.textContent || ''`); !strings.Contains(note, "only 1×1 pixels") {
		t.Errorf("1×1 picture: note %q", note)
	}
	b.viewportShot("firstminute-phone-5-tiny")

	// The Paste button without permission: advice, not an exception.
	b.do("press Paste", chromedp.Click(chromedp.ID("paste-button")))
	b.waitFor("the paste refusal", `document.querySelectorAll('#messages li').length > 0`, 30*time.Second)
	msg := eval[string](b, `[...document.querySelectorAll('#messages li')].map(li => li.textContent).join(' | ')`)
	if !strings.Contains(msg, "press Ctrl+V (⌘V) instead") || strings.Contains(msg, "NotAllowedError") || strings.Contains(msg, "Failed to execute") {
		t.Errorf("the Paste button's refusal reads %q", msg)
	}
	b.noOverflow("phone, messages")

	// The same page on a desktop.
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 900))
	if b.visible(`label[for="camera-input"]`) {
		t.Error(`"Take a photo" shown with a mouse`)
	}
	b.noOverflow("desktop")
	b.axe(axe, "desktop")
	b.shot("firstminute-desktop")
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatalf("dark mode: %v", err)
	}
	b.axe(axe, "desktop, dark")
	b.do("tablet viewport", chromedp.EmulateViewport(768, 1024, chromedp.EmulateMobile, chromedp.EmulateTouch))
	b.noOverflow("tablet 768 px, dark")
	b.axe(axe, "tablet, dark")
	eval[bool](b, `(document.querySelector('#inspector').scrollIntoView(), true)`)
	b.viewportShot("firstminute-tablet-dark-inspector")
	if v := b.consoleMatching(cspViolation); len(v) > 0 {
		t.Errorf("content blocked by the CSP: %q", v)
	}
}

// "Forget the cached copy" forgets: an offline reload before it loads
// the weights from Cache Storage; after it, the same offline reload finds
// no copy anywhere (not in Cache Storage, not in the HTTP cache) and says
// the model is missing; back online it downloads again.
func TestForgetOffline(t *testing.T) {
	px := newSwitchProxy(t, env.base)
	b := newBrowser(t, false, 10*time.Minute)
	b.base = px.url
	b.open(loadTimeout)
	if !eval[bool](b, `Promise.race([navigator.serviceWorker.ready.then(r => !!r.active),
		new Promise(resolve => setTimeout(() => resolve(false), 60000))])`) {
		t.Fatal("no active service worker within a minute: an offline reload cannot work")
	}

	px.offline.Store(true)
	b.do("reload offline", chromedp.Reload())
	b.waitForModel(loadTimeout)
	if cached := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); cached != "yes" {
		t.Fatalf("offline reload before Forget: model cached=%q", cached)
	}

	b.do("forget", chromedp.Click(chromedp.ID("forget-model")))
	b.waitFor("the forgotten label", `(document.querySelector('#model-progress-label')?.textContent || '').startsWith('Not cached any more')`, 30*time.Second)
	if n := eval[int](b, `caches.open('residual-models-v1').then(c => c.keys()).then(k => k.length)`); n != 0 {
		t.Errorf("%d entries left in the model cache after Forget", n)
	}
	b.shot("firstminute-forget-1-forgotten")

	b.do("reload offline after Forget", chromedp.Reload())
	b.waitFor("the model load to fail", `document.querySelector('#model-progress-label')?.dataset.phase === 'failed' ||
		document.querySelector('#model-progress-label')?.dataset.phase === 'ready'`, loadTimeout)
	label := eval[string](b, `document.querySelector('#model-progress-label').textContent`)
	phase := eval[string](b, `document.querySelector('#model-progress-label').dataset.phase`)
	errText := eval[string](b, `document.querySelector('#model-error')?.textContent || ''`)
	b.shot("firstminute-forget-2-offline")
	if phase != "failed" || strings.Contains(label, "Downloaded") || !strings.Contains(errText, "not in this browser's cache") {
		t.Fatalf("offline after Forget: phase %q, label %q, error %q; want the model missing", phase, label, errText)
	}

	px.offline.Store(false)
	before := px.modelGets.Load()
	b.do("reload online", chromedp.Reload())
	b.waitForModel(loadTimeout)
	if cached := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); cached != "no" || px.modelGets.Load() == before {
		t.Errorf("online after Forget: cached=%q, %d requests for the model", cached, px.modelGets.Load()-before)
	}
}

// phone makes the page a 390×844 touch screen.
func (b *browser) phone() {
	b.t.Helper()
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
}

// visible reports whether the element is rendered with a size, inside the
// window's width.
func (b *browser) visible(sel string) bool {
	b.t.Helper()
	return eval[bool](b, `(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false;
		const r = e.getBoundingClientRect(), s = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && r.right <= window.innerWidth; })()`)
}

// noOverflow fails the test where any element is wider inside than its
// box (scrollWidth > clientWidth) and so scrolls or spills sideways;
// boxes that clip on purpose (overflow hidden or clip: visually hidden
// text) are skipped.
func (b *browser) noOverflow(when string) {
	b.t.Helper()
	wide := eval[[]string](b, `(() => {
		const out = [];
		const d = document.documentElement;
		if (d.scrollWidth > d.clientWidth) out.push('html ' + d.scrollWidth + '>' + d.clientWidth);
		for (const e of document.body.querySelectorAll('*')) {
			if (e.clientWidth === 0) continue;
			const ox = getComputedStyle(e).overflowX;
			if (ox === 'hidden' || ox === 'clip') continue;
			if (e.scrollWidth > e.clientWidth) {
				out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
					' ' + e.scrollWidth + '>' + e.clientWidth);
			}
		}
		return out;
	})()`)
	if len(wide) > 0 {
		b.t.Errorf("%s: wider than their boxes: %s", when, strings.Join(wide, "; "))
	}
}

// viewportShot saves what the window shows (not the whole page) under
// test-output/e2e/.
func (b *browser) viewportShot(name string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(env.shots, name+".png"), shot, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axe runs axe-core on the page as it is and fails the test on serious
// or critical violations (minor and moderate ones are logged).
func (b *browser) axe(src, when string) {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === 'object'`) {
		// Evaluated through DevTools, so the page's CSP does not apply.
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](src+"\n;true")); err != nil {
			b.fail("inject axe-core", err)
		}
	}
	vs := eval[[]axeViolation](b, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>
		({id: v.id, impact: v.impact || '', help: v.help, targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`)
	for _, v := range vs {
		msg := fmt.Sprintf("%s: axe %s (%s): %s at %s", when, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Error(msg)
		} else {
			b.t.Log(msg)
		}
	}
}

// axeSource returns axe-core's script, installing it (tools/deps.sh axe:
// npm, into .cache/axe-core) when it is missing; RESIDUAL_E2E_AXE names
// another axe.min.js.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		p := os.Getenv("RESIDUAL_E2E_AXE")
		if p == "" {
			p = filepath.Join(env.repo, ".cache", "axe-core", "node_modules", "axe-core", "axe.min.js")
			if _, err := os.Stat(p); err != nil {
				cmd := exec.Command(filepath.Join(env.repo, "tools", "deps.sh"), "axe")
				cmd.Dir = env.repo
				if out, err := cmd.CombinedOutput(); err != nil {
					axeErr = fmt.Errorf("install axe-core (tools/deps.sh axe): %v\n%s", err, out)
					return
				}
			}
		}
		b, err := os.ReadFile(repoPath(p))
		if err != nil {
			axeErr = fmt.Errorf("axe-core: %w", err)
			return
		}
		axeJS = string(b)
	})
	if axeErr != nil {
		t.Fatal(axeErr)
	}
	return axeJS
}

var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

// onePixelPNG is a 1×1 PNG, base64.
func onePixelPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{200, 120, 40, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// switchProxy passes requests to the dev server until it is switched
// offline; then it drops every connection without an answer, as a
// network that is gone does. Its own origin gives the test a fresh
// service worker and caches.
type switchProxy struct {
	url       string
	offline   atomic.Bool
	modelGets atomic.Int32
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.url = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.offline.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if strings.HasPrefix(r.URL.Path, "/web/models/") {
			p.modelGets.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	return p
}
