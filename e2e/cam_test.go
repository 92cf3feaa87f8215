//go:build !js

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWhereItLooked: on WebGPU (SwiftShader; ?engine=gpu, so the maps come
// from the GPU engine's CAM kernel compiled by Tint), a batch of two
// photos gets "Where it looked": for each image its top-5 classes, in the
// order of its predictions, each with its map drawn over the 224×224 crop;
// the opacity slider redraws them; a map clicked is shown large with the
// colour scale. Then the same photo on the CPU engine (?engine=cpu, the
// wasm SIMD kernels) gets its five maps too. Screenshot: test-output/e2e/cam-overlay.png.
func TestWhereItLooked(t *testing.T) {
	b := newBrowser(t, true, 12*time.Minute)
	b.navigate("/?engine=gpu")
	b.waitForModel(loadTimeout)
	if !b.drop(fileFrom(t, "testdata/photos/chelsea.png", "chelsea.png", "image/png"),
		fileFrom(t, "testdata/photos/coffee.png", "coffee.png", "image/png")) {
		t.Error("the page did not cancel the drop's default action")
	}
	b.waitFor("the answer for both photos", `(() => {
		const r = document.querySelector('#results');
		const cards = [...document.querySelectorAll('#predictions .image-card')];
		return !!r && r.getAttribute('aria-busy') === 'false' && cards.length === 2 &&
			cards.every(c => c.querySelectorAll('.pred').length === 5);
	})()`, runTimeout)
	if badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`); engineOf(badge) != "gpu" {
		t.Fatalf("answered on %q, want the GPU engine (?engine=gpu)", badge)
	}
	b.waitFor("the ten maps", `[...document.querySelectorAll('#cams .cam-overlay')].filter(i => i.complete && i.naturalWidth === 224).length === 10`, time.Minute)

	// The maps are labelled as the predictions, in their order.
	preds := eval[[][]string](b, `[...document.querySelectorAll('#predictions .image-card')].map(c =>
		[...c.querySelectorAll('.pred .label')].map(e => e.textContent))`)
	maps := eval[[][]string](b, `[...document.querySelectorAll('#cams .cam-image')].map(c =>
		[...c.querySelectorAll('.cam-thumb .cam-label')].map(e => e.textContent))`)
	if strings.Join(preds[0], "|") != strings.Join(maps[0], "|") || strings.Join(preds[1], "|") != strings.Join(maps[1], "|") {
		t.Errorf("maps %q, predictions %q", maps, preds)
	}
	if preds[0][0] != "Egyptian cat" || preds[1][0] != "espresso" {
		t.Errorf("top-1 %q and %q, want Egyptian cat and espresso", preds[0][0], preds[1][0])
	}

	// The slider redraws every map at the new opacity.
	before := eval[string](b, `document.querySelector('#cam-0-0 img').src`)
	eval[bool](b, `(() => {
		const s = document.querySelector('#cam-opacity');
		s.value = '80';
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`)
	b.waitFor("the maps at 80%", `document.querySelector('.cam-opacity-value')?.textContent === '80%' &&
		!!document.querySelector('#cam-0-0 img') && document.querySelector('#cam-0-0 img').src !== `+jsString(before), time.Minute)

	// A map clicked shows large, with the colour scale.
	b.do("click chelsea's top-1 map", chromedp.Click(chromedp.ID("cam-0-0")))
	b.waitFor("the large map", `(() => {
		const f = document.querySelector('#cam-large-0');
		const img = f?.querySelector('img.cam-overlay');
		return !!img && img.complete && img.getBoundingClientRect().width > 300 && !!f.querySelector('.cam-scale');
	})()`, 30*time.Second)
	if pressed := eval[string](b, `document.querySelector('#cam-0-0').getAttribute('aria-pressed')`); pressed != "true" {
		t.Errorf("the enlarged map's button is aria-pressed=%q", pressed)
	}
	eval[bool](b, `(document.querySelector('#cams').scrollIntoView(), true)`)
	b.shot("cam-overlay")
	b.axe(axeSource(t), "where it looked, a map enlarged")

	// The CPU engine (the wasm SIMD kernels in Chromium: layer4 read out of
	// their memory, then cpu.CAMs) draws the same view.
	b.navigate("/?engine=cpu")
	b.waitForModel(loadTimeout)
	b.drop(fileFrom(t, "testdata/photos/chelsea.png", "chelsea.png", "image/png"))
	b.waitForAnswer("chelsea.png", runTimeout)
	if badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`); badge != "cpu (wasm simd)" {
		t.Fatalf("answered on %q, want the CPU engine's wasm SIMD kernels (?engine=cpu)", badge)
	}
	b.waitFor("chelsea's five maps from the CPU", `[...document.querySelectorAll('#cams .cam-overlay')].filter(i => i.complete && i.naturalWidth === 224).length === 5`, time.Minute)
	if got := eval[string](b, `document.querySelector('#cam-0-0 .cam-label')?.textContent || ''`); got != "Egyptian cat" {
		t.Errorf("the CPU's first map is labelled %q, want Egyptian cat", got)
	}
}
