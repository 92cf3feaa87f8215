//go:build !js

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// exSet chooses a value in one of the explorer's controls as a person
// would (the change event go-app listens to).
func (b *browser) exSet(id, value string) {
	b.t.Helper()
	eval[bool](b, `(() => { const e = document.getElementById(`+jsString(id)+`);
		if (!e) throw new Error('no #' + `+jsString(id)+`);
		e.value = `+jsString(value)+`; e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
}

// exRow is one line of the explorer's table: per architecture, the shape
// cell's text (or "" where it has no such row), and whether the line is
// highlighted.
type exRow struct {
	Shapes  []string `json:"shapes"`
	Differs bool     `json:"differs"`
	Missing int      `json:"missing"`
	Times   []string `json:"times"`
}

func (b *browser) exRow(name string) exRow {
	b.t.Helper()
	return eval[exRow](b, `(() => { const tr = document.querySelector('#ex-table tr[data-row="' + `+jsString(name)+` + '"]');
		if (!tr) throw new Error('no row ' + `+jsString(name)+`);
		return {shapes: [...tr.querySelectorAll('td.shape')].map(td => td.textContent),
			differs: tr.dataset.differs === 'yes' && tr.classList.contains('differs'),
			missing: tr.querySelectorAll('td.missing').length,
			times: [...tr.querySelectorAll('td.time')].map(td => td.textContent)}; })()`)
}

// The architecture explorer, opened from the classifier's page: ResNet-18
// beside ResNet-50 shows the seed's shapes, highlights the rows where
// they differ (channels in layer1…4, ResNet-50's extra blocks) and not
// the stem, draws both blocks (the stride on the 3×3 of the bottleneck,
// the downsample branches), passes axe; then ResNet-18 alone at 64×64
// runs with random weights on the page's engine and every stage gets a
// time; wide_resnet101_2 asks before running. Screenshots:
// test-output/e2e/explorer-*.png.
func TestExplorer(t *testing.T) {
	axe := axeSource(t)
	b := newBrowser(t, true, 12*time.Minute)
	b.open(loadTimeout)
	if eval[bool](b, `!!document.querySelector('#ex-table')`) {
		t.Fatal("the explorer is drawn before it is opened")
	}
	b.do("open the explorer", chromedp.Click(chromedp.ID("explorer-toggle")))
	b.waitFor("the explorer's table", `!!document.querySelector('#ex-table tr[data-row="layer4"]')`, time.Minute)
	if got := eval[string](b, `document.querySelector('#explorer-toggle').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("the open explorer's button says aria-expanded=%q", got)
	}
	b.exSet("ex-arch-0", "resnet18")
	b.do("compare", chromedp.Click(chromedp.ID("ex-compare")))
	b.waitFor("the second architecture's choice", `!!document.querySelector('#ex-arch-1')`, 30*time.Second)
	b.exSet("ex-arch-1", "resnet50")
	b.waitFor("resnet18 beside resnet50", `document.querySelector('#ex-caption')?.textContent.startsWith('resnet18 beside resnet50 v1.5')`, 30*time.Second)

	for _, c := range []struct {
		row     string
		shapes  []string
		differs bool
	}{
		{"input", []string{"[1, 3, 224, 224]", "[1, 3, 224, 224]"}, false},
		{"conv1", []string{"[1, 64, 112, 112]", "[1, 64, 112, 112]"}, false},
		{"maxpool", []string{"[1, 64, 56, 56]", "[1, 64, 56, 56]"}, false},
		{"layer1", []string{"[1, 64, 56, 56]", "[1, 256, 56, 56]"}, true},
		{"layer2", []string{"[1, 128, 28, 28]", "[1, 512, 28, 28]"}, true},
		{"layer3", []string{"[1, 256, 14, 14]", "[1, 1024, 14, 14]"}, true},
		{"layer4", []string{"[1, 512, 7, 7]", "[1, 2048, 7, 7]"}, true},
		{"avgpool", []string{"[1, 512, 1, 1]", "[1, 2048, 1, 1]"}, true},
		{"fc", []string{"[1, 1000]", "[1, 1000]"}, true}, // 512 vs 2048 inputs: parameters differ
	} {
		r := b.exRow(c.row)
		if strings.Join(r.Shapes, "|") != strings.Join(c.shapes, "|") || r.Differs != c.differs {
			t.Errorf("%s: shapes %q differs %v, want %q %v", c.row, r.Shapes, r.Differs, c.shapes, c.differs)
		}
	}
	if r := b.exRow("layer1.2"); !r.Differs || r.Missing != 5 || len(r.Shapes) != 1 || r.Shapes[0] != "[1, 256, 56, 56]" {
		t.Errorf("layer1.2 (resnet50 only): %+v", r)
	}
	// Highlighted rows look highlighted; the others do not.
	bg := eval[[]string](b, `['layer1', 'conv1'].map(n => getComputedStyle(document.querySelector('#ex-table tr[data-row="' + n + '"]')).backgroundColor)`)
	if bg[0] == bg[1] {
		t.Errorf("a differing row's background %s is a plain row's", bg[0])
	}
	// The drawings: SVG in its namespace, laid out; ResNet-18's strided
	// box is its first 3×3, ResNet-50's (v1.5) its 3×3; both stages'
	// first blocks have a downsample branch.
	type drawing struct {
		NS      string  `json:"ns"`
		Width   float64 `json:"width"`
		Strided string  `json:"strided"`
		Down    int     `json:"down"`
	}
	ds := eval[[]drawing](b, `[...document.querySelectorAll('.ex-diagram')].map(f => { const s = f.querySelector('svg'); const r = f.querySelector('rect.bd-strided');
		return {ns: s.namespaceURI, width: s.getBBox().width, strided: r ? r.nextElementSibling.textContent : '', down: f.querySelectorAll('rect.bd-down').length}; })`)
	if len(ds) != 2 {
		t.Fatalf("%d drawings, want 2", len(ds))
	}
	for i, want := range []string{"3×3 conv, 64 → 128", "3×3 conv, 128 → 128"} {
		if d := ds[i]; d.NS != "http://www.w3.org/2000/svg" || d.Width < 200 || d.Strided != want || d.Down != 1 {
			t.Errorf("drawing %d: %+v, want the stride on %q", i, d, want)
		}
	}
	b.axe(axe, "explorer, resnet18 beside resnet50")
	b.shot("explorer-1-compare")

	// A short run: ResNet-18 alone, 64×64, random weights.
	b.do("stop comparing", chromedp.Click(chromedp.ID("ex-compare")))
	b.exSet("ex-size", "64")
	b.waitFor("the 64×64 plan", `document.querySelector('#ex-caption')?.textContent === 'resnet18: batch of 1 at 64×64, 1000 classes.'`, 30*time.Second)
	start := time.Now()
	b.do("run with random weights", chromedp.Click(chromedp.ID("ex-run-button")))
	b.waitFor("the random-weight run", `(() => { const e = document.querySelector('#ex-run-error'); if (e) throw new Error(e.textContent);
		return document.querySelector('#ex-status')?.textContent.startsWith('Ran resnet18'); })()`, runTimeout)
	t.Logf("random-weight run: %s (%.1f s with the weights and the engine)", eval[string](b, `document.querySelector('#ex-status').textContent`), time.Since(start).Seconds())
	for _, row := range []string{"conv1", "layer1", "layer2.0", "layer4", "fc"} {
		if r := b.exRow(row); len(r.Times) != 1 || r.Times[0] == "–" || !strings.HasSuffix(r.Times[0], " ms") {
			t.Errorf("%s: time %q after the run", row, r.Times)
		}
	}
	engine := eval[string](b, `document.querySelector('#ex-table .ex-engine')?.textContent || ''`)
	badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`)
	if !strings.HasPrefix(engine, "on ") || engineOf(strings.TrimPrefix(engine, "on ")) != engineOf(badge) {
		t.Errorf("ran %q; the page's engine is %q", engine, badge)
	}
	if cs := b.consoleMatching(cspViolation); len(cs) > 0 {
		t.Errorf("CSP violations: %q", cs)
	}
	b.axe(axe, "explorer after a run")
	b.shot("explorer-2-run")

	// The largest one asks before it generates 127 MB of weights.
	b.exSet("ex-arch-0", "wide_resnet101_2")
	b.waitFor("the warning of a heavy run", `!!document.querySelector('#ex-heavy')`, 30*time.Second)
	if heavy := eval[string](b, `document.querySelector('#ex-heavy').textContent`); !strings.Contains(heavy, "MB of random int8 weights") {
		t.Errorf("heavy notice %q", heavy)
	}
	if !eval[bool](b, `document.querySelector('#ex-run-button').disabled`) {
		t.Error("wide_resnet101_2 can be run without confirming")
	}
	b.do("confirm", chromedp.Click(chromedp.ID("ex-confirm")))
	b.waitFor("the run button after confirming", `!document.querySelector('#ex-run-button').disabled`, 30*time.Second)
}
