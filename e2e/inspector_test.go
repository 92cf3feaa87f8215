//go:build !js

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestInspectorLarge: on WebGPU (SwiftShader; ?engine=gpu, so the maps
// come from heatmap.wgsl compiled by Tint), a batch of two photos fills
// the stage inspector; layer3's heatmap clicked opens its large view: the
// stage's name and shape, the mean map with a colour scale whose ends are
// numbers, the strongest channel's map ("channel k of 1024"), and a map
// for each of the two images, image 2's unlike image 1's. Escape closes
// it and gives the focus back; on a 390 px phone the open view does not
// spill sideways. Screenshot: test-output/e2e/inspector-large.png.
//
// The same on the CPU engine (the wasm SIMD kernels), whose maps come
// from model.TensorHeatmaps: inspector-large-cpu.png.
func TestInspectorLarge(t *testing.T) {
	for _, engine := range []string{"gpu", "cpu"} {
		t.Run(engine, func(t *testing.T) { inspectLarge(t, engine) })
	}
}

// inspectLarge is TestInspectorLarge on one engine (?engine=).
func inspectLarge(t *testing.T, engine string) {
	b := newBrowser(t, engine == "gpu", 12*time.Minute)
	b.navigate("/?engine=" + engine)
	b.waitForModel(loadTimeout)
	b.drop(fileFrom(t, "testdata/photos/chelsea.png", "chelsea.png", "image/png"),
		fileFrom(t, "testdata/photos/coffee.png", "coffee.png", "image/png"))
	b.waitFor("the answer for both photos", `(() => {
		const r = document.querySelector('#results');
		return !!r && r.getAttribute('aria-busy') === 'false' &&
			document.querySelectorAll('#predictions .image-card').length === 2 &&
			document.querySelector('#stages')?.dataset.measured === 'yes';
	})()`, runTimeout)
	if badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`); engineOf(badge) != engine {
		t.Fatalf("answered on %q, want the %s engine (?engine=%s)", badge, engine, engine)
	}
	if c := eval[string](b, `document.querySelector('#stages-caption').textContent`); strings.Contains(c, "first image") {
		t.Errorf("caption %q still says the heatmaps are the first image's", c)
	}
	// Block rows say their path: layer3.0 has the downsample branch.
	if p := eval[string](b, `document.querySelector('[data-block="layer3.0"] .c-path')?.textContent || ''`); !strings.Contains(p, "downsample") || !strings.HasSuffix(p, "add → ReLU") {
		t.Errorf("layer3.0's path %q", p)
	}

	b.do("open layer3's heatmap", chromedp.Click(chromedp.CSS(`#heat-btn-layer3`)))
	b.waitFor("the large view", `(() => {
		const f = document.querySelector('#heat-large');
		return !!f && [...f.querySelectorAll('img.heat-big')].every(i => i.complete && i.naturalWidth > 0) &&
			f.querySelectorAll('img.heat-big').length === 2;
	})()`, 30*time.Second)
	type view struct {
		Head, Channel, Lo, Hi, ChLo, ChHi, Focus string
		Picks                                    []string
		Width                                    float64
	}
	v := eval[view](b, `(() => {
		const f = document.querySelector('#heat-large');
		const t = s => f.querySelector(s)?.textContent || '';
		return {Head: t('h3'), Channel: t('.heat-channel .heat-title'),
			Lo: t('.heat-mean .heat-lo'), Hi: t('.heat-mean .heat-hi'), ChLo: t('.heat-channel .heat-lo'), ChHi: t('.heat-channel .heat-hi'),
			Focus: document.activeElement?.id || '', Width: f.querySelector('.heat-mean img').getBoundingClientRect().width,
			Picks: [...f.querySelectorAll('.heat-pick img')].map(i => i.src)};
	})()`)
	t.Logf("large view: %+v (picks: %d)", v.Head, len(v.Picks))
	if !strings.Contains(v.Head, "layer3") || !strings.Contains(v.Head, "[2, 1024, 14, 14]") {
		t.Errorf("heading %q, want layer3 and its shape", v.Head)
	}
	if !strings.Contains(v.Channel, "of 1024") || !strings.HasPrefix(v.Channel, "channel ") {
		t.Errorf("channel title %q", v.Channel)
	}
	for _, n := range []string{v.Lo, v.Hi, v.ChLo, v.ChHi} {
		if n == "" || strings.Trim(n, "-0123456789.e+") != "" {
			t.Errorf("colour scale ends %q %q, channel %q %q: want numbers", v.Lo, v.Hi, v.ChLo, v.ChHi)
			break
		}
	}
	if v.Lo == v.Hi {
		t.Errorf("the scale is flat: %s … %s", v.Lo, v.Hi)
	}
	if v.Width < 200 {
		t.Errorf("the large map is %g px wide", v.Width)
	}
	if v.Focus != "heat-large" {
		t.Errorf("focus on %q, want the large view", v.Focus)
	}
	if len(v.Picks) != 2 || v.Picks[0] == v.Picks[1] {
		t.Fatalf("image maps %d, the same for both: %v", len(v.Picks), len(v.Picks) == 2 && v.Picks[0] == v.Picks[1])
	}
	// The second image's maps replace the first's.
	before := eval[string](b, `document.querySelector('#heat-large .heat-mean img').src`)
	b.do("pick image 2", chromedp.Click(chromedp.CSS(`#heat-large .heat-pick[data-image="1"]`)))
	b.waitFor("image 2's map", `(() => { const f = document.querySelector('#heat-large');
		return f.querySelector('.heat-mean img').src !== `+jsString(before)+` && f.querySelector('h3').textContent.includes('coffee.png'); })()`, 10*time.Second)
	eval[bool](b, `(document.querySelector('#heat-large').scrollIntoView(), true)`)
	if engine == "gpu" {
		b.shot("inspector-large")
	} else {
		b.shot("inspector-large-" + engine)
	}
	b.axe(axeSource(t), "the inspector's large view")

	// Escape closes it and refocuses the heatmap that opened it.
	b.do("press Escape", chromedp.KeyEvent("\x1b"))
	b.waitFor("the view closed", `!document.querySelector('#heat-large') && document.activeElement?.id === 'heat-btn-layer3'`, 10*time.Second)

	// On a phone, the open view fits.
	b.phone()
	b.do("open layer1's heatmap", chromedp.Click(chromedp.CSS(`#heat-btn-layer1`)))
	b.waitFor("the large view on a phone", `!!document.querySelector('#heat-large img.heat-big')`, 10*time.Second)
	b.noOverflow("the large view on a phone")
}
