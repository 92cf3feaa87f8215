//go:build !js

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A drop of 40 photos is classified in one go: one batch of 40 (the
// engine splits it into sub-batches that fit its memory), 40 cards with a
// top-5 each, in the order dropped, and the same photo gets the same
// answer wherever it sits in the batch. On the CPU (no WebGPU) at 160×160
// to keep the run near a minute on these machines.
func TestBatchOf40(t *testing.T) {
	const n = 40
	b := newBrowser(t, false, 15*time.Minute)
	b.open(loadTimeout)
	b.waitFor("the CPU notice", `!!document.querySelector('#cpu-notice')`, time.Minute)
	b.do("choose 160", chromedp.Click(chromedp.ID("size-160")))
	b.waitFor("the 160 plan", `document.querySelector('tbody[data-stage="input"] td.shape')?.textContent === '[1, 3, 160, 160]'`, 30*time.Second)

	// The small JPEGs of testdata/photos and web/samples, repeated.
	var photos []string
	for _, dir := range []string{"testdata/photos", "web/samples"} {
		ps, _ := filepath.Glob(filepath.Join(env.repo, dir, "*.jpg"))
		for _, p := range ps {
			rel, _ := filepath.Rel(env.repo, p)
			photos = append(photos, rel)
		}
	}
	if len(photos) < 2 {
		t.Fatalf("photos: %q", photos)
	}
	var files []fileSpec
	source := map[string]string{} // dropped name → photo
	var names []string
	for i := range n {
		p := photos[i%len(photos)]
		name := fmt.Sprintf("%02d-%s", i+1, filepath.Base(p))
		files = append(files, fileFrom(t, p, name, "image/jpeg"))
		source[name] = p
		names = append(names, name)
	}
	start := time.Now()
	if !b.drop(files...) {
		t.Error("the page did not cancel the drop's default action")
	}
	b.waitFor("the batch of 40", fmt.Sprintf(`(() => {
		const r = document.querySelector('#results');
		const cards = [...document.querySelectorAll('#predictions .image-card')];
		return !!r && r.getAttribute('aria-busy') === 'false' && cards.length === %d &&
			cards.every(c => c.querySelectorAll('.pred').length === 5) &&
			document.querySelector('#stages')?.dataset.measured === 'yes';
	})()`, n), runTimeout)
	elapsed := time.Since(start)

	cards := eval[[][]string](b, `[...document.querySelectorAll('#predictions .image-card')].map(c =>
		[c.querySelector('figcaption').textContent, c.querySelector('.pred .label').textContent])`)
	if len(cards) != n {
		t.Fatalf("%d cards", len(cards))
	}
	top1 := map[string]string{} // photo → its first answer
	for i, c := range cards {
		if c[0] != names[i] {
			t.Errorf("card %d is %q, want %q (the order dropped)", i+1, c[0], names[i])
		}
		if c[1] == "" {
			t.Errorf("card %s has no label", c[0])
		}
		p := source[c[0]]
		if prev, ok := top1[p]; ok && prev != c[1] {
			t.Errorf("%s: top-1 %q, but another copy of %s got %q", c[0], c[1], p, prev)
		}
		top1[p] = c[1]
	}
	if got := eval[string](b, `document.querySelector('#status')?.textContent || ''`); !strings.Contains(got, "Done: 40 images classified on cpu") {
		t.Errorf("status %q", got)
	}
	if msgs := eval[[]string](b, `[...document.querySelectorAll('#messages li')].map(li => li.textContent)`); len(msgs) != 0 {
		t.Errorf("messages %q", msgs)
	}
	if got := b.stageShapes(); got[0][1] != "[40, 3, 160, 160]" || got[len(got)-1][1] != "[40, 1000]" {
		t.Errorf("inspector: %v … %v", got[0], got[len(got)-1])
	}
	if badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`); engineOf(badge) != "cpu" {
		t.Errorf("engine badge %q", badge)
	}
	t.Logf("40 images at 160×160 on the CPU: %.1f s from the drop (%s); load average %s; top-1 per photo %v",
		elapsed.Seconds(), eval[string](b, `document.querySelector('#latency')?.textContent || ''`), loadAvg(), top1)
	b.shot("batch-40")
}
