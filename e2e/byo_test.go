//go:build !js

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/residual-webgpu/residual/internal/torchsave"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/convert"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// cifarLabels are the 10-class head's names, given as a .txt labels file.
var cifarLabels = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// checkpoint writes a torchvision state dict of arch (num classes) with
// model/golden's weights as a torch.save file, made here rather than
// committed (a resnet18 is 45 MB).
func checkpoint(t *testing.T, name string, classes int, seed uint64) (path string, data []byte) {
	t.Helper()
	a, err := model.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	a.NumClasses = classes
	ts, err := torchsave.ResNet(a, seed)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := torchsave.Write(&b, ts); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), fmt.Sprintf("%s_%dclasses.pth", name, classes))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b.Bytes()
}

// expectedTop5 converts the checkpoint as the page does (the same Go
// code: convert.ReadBytes, Convert, int8 Quantize) and runs the photo on
// the CPU reference, which is tested equal to torchvision.
func expectedTop5(t *testing.T, name string, data []byte, labels []string, photo string) ([]model.Prediction, *weights.Model) {
	t.Helper()
	ck, err := convert.ReadBytes(name, data)
	if err != nil {
		t.Fatal(err)
	}
	f32, _, err := convert.Convert(ck, convert.Options{Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	q, err := weights.Quantize(f32, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(env.repo, "web", "samples", photo))
	if err != nil {
		t.Fatal(err)
	}
	img, err := preprocess.Decode(photo, raw)
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := preprocess.Prepare(img, q.Meta.Preprocess, 224)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cpu.New(q)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(), x, model.RunOptions{TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	return res.Top[0], q
}

// TestYourCheckpoint gives the page a torchvision resnet18 with a 10-class
// head and a labels file through input[name=model]: it is converted in the
// tab (in a worker), becomes the page's model, and a photo shows the
// labels the CPU reference gives, on WebGPU and on the CPU; the inspector
// shows the new stage shapes; a reload lists the converted model without
// converting again, and it can be switched to and removed.
func TestYourCheckpoint(t *testing.T) {
	ckPath, ckData := checkpoint(t, "resnet18", 10, 1)
	labelsPath := filepath.Join(t.TempDir(), "cifar10.txt")
	if err := os.WriteFile(labelsPath, []byte(strings.Join(cifarLabels, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const photo = "chelsea.jpg"
	want, q := expectedTop5(t, filepath.Base(ckPath), ckData, cifarLabels, photo)
	t.Logf("expected top-5 (CPU reference, int8): %v", want)
	st, err := q.Net.Stages(1, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	var wantRows [][2]string
	for _, s := range st {
		wantRows = append(wantRows, [2]string{s.Name, strings.ReplaceAll(fmt.Sprint(s.Shape), " ", ", ")})
	}
	for _, tc := range []struct {
		name   string
		webgpu bool
		engine string // ?engine=: on a software adapter the page would answer on the CPU first
	}{{"webgpu", true, "gpu"}, {"cpu", false, "cpu"}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, tc.webgpu, 8*time.Minute)
			b.navigate("/?engine=" + tc.engine)
			b.waitForModel(3 * time.Minute)
			if tc.webgpu {
				// The built-in model's GPU engine prepares in the background
				// (shaders compile, weights upload): let it finish, so that
				// the page's thread is measured for the conversion alone.
				b.waitFor("the GPU engine", `document.querySelector('#gpu-prep-label')?.dataset.step === 'ready'`, 3*time.Minute)
			}
			// The page's thread during the conversion: it runs in a worker,
			// so no task of the page may take long (checkLongTasks).
			tr := startTaskTrace(b)
			eval[bool](b, `(() => {
				window.byoLong = [];
				new PerformanceObserver(l => { for (const e of l.getEntries()) window.byoLong.push({start: e.startTime, ms: e.duration}); })
					.observe({type: 'longtask'});
				window.byoStart = performance.mark('residual-e2e-convert').startTime;
				new MutationObserver((_, o) => {
					if (document.querySelector('#convert-report, #convert-error')) { window.byoEnd = performance.now(); o.disconnect(); }
				}).observe(document.body, {childList: true, subtree: true});
				return true;
			})()`)
			start := time.Now()
			b.do("give the checkpoint and labels", chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{ckPath, labelsPath}))
			b.waitFor("the conversion", `(() => {
				const e = document.querySelector('#convert-error');
				if (e) throw new Error(e.textContent);
				return !!document.querySelector('#convert-report');
			})()`, 3*time.Minute)
			ms := eval[string](b, `document.querySelector('#report-time').dataset.ms`)
			t.Logf("in-page conversion of resnet18 (10 classes, %.1f MB .pth): %s ms in the worker, %.1f s to the report (load %s)",
				float64(len(ckData))/1e6, ms, time.Since(start).Seconds(), loadAvg())
			long := eval[[]longTask](b, `window.byoLong.filter(t => t.start >= window.byoStart && t.start < window.byoEnd)`)
			from, to := eval[float64](b, `window.byoStart`), eval[float64](b, `window.byoEnd`)
			t.Logf("page thread during the %.0f ms conversion: long tasks %v", to-from, long)
			tasks, err := tr.stop("residual-e2e-convert", from)
			if err != nil {
				t.Fatal(err)
			}
			checkLongTasks(t, long, tasks, from, to)
			if got := eval[string](b, `document.querySelector('#report-arch').textContent`); !strings.HasPrefix(got, "resnet18 ") {
				t.Errorf("report architecture %q, want resnet18", got)
			}
			if got := eval[string](b, `document.querySelector('#report-classes').textContent`); got != "10" {
				t.Errorf("report classes %q, want 10", got)
			}
			// Opened from script: a click could miss while the page moves
			// under it (the new model's panel grows as it loads).
			eval[bool](b, `(document.querySelector('#report-layers-details').open = true)`)
			b.waitFor("the per-layer table", `!!document.querySelector('#report-layers')`, 10*time.Second)
			if n := eval[int](b, `document.querySelectorAll('#report-layers tbody tr').length`); n != 21 {
				t.Errorf("%d layers in the report, want resnet18's 21 (20 convs and fc)", n)
			}
			b.waitFor("the converted model to load", `(() => {
				const l = document.querySelector('#model-progress-label');
				return document.querySelector('#model-file')?.textContent.startsWith('mine/') && l?.dataset.phase === 'ready';
			})()`, 2*time.Minute)
			if tc.webgpu {
				b.shot("byo-1-converted")
			}
			if rows := b.stageShapes(); fmt.Sprint(rows) != fmt.Sprint(wantRows) {
				t.Errorf("inspector rows of the converted model:\n got  %v\n want %v", rows, wantRows)
			}
			if got := eval[string](b, `document.querySelector('#model-title strong')?.textContent || ''`); got != filepath.Base(ckPath) {
				t.Errorf("the model panel names the converted model %q, want its checkpoint %q", got, filepath.Base(ckPath))
			}
			// The converter is kept for offline use beside the app's files.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
				if eval[bool](b, `(async () => {
					for (const u of ['/web/converter.wasm', '/web/convert-worker.js'])
						if (!(await caches.match(u))) return false;
					return true;
				})()`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the converter is not in Cache Storage 30 s after a conversion: converting offline would fail")
				}
			}
			if !b.drop(fileFrom(t, "web/samples/"+photo, photo, "image/jpeg")) {
				t.Fatal("the drop was not taken")
			}
			b.waitForAnswer(photo, 3*time.Minute)
			engine := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`)
			got := b.topN()
			t.Logf("%s page top-5 (engine %q): %v", tc.name, engine, got)
			if tc.webgpu != strings.Contains(strings.ToLower(engine), "gpu") {
				t.Errorf("answered on %q", engine)
			}
			if len(got) != 5 {
				t.Fatalf("%d predictions", len(got))
			}
			for i, p := range want {
				if got[i].Label != p.Label || math.Abs(got[i].P-float64(p.Prob)) > 0.02 {
					t.Errorf("prediction %d: page %q %.4f, reference %q %.4f", i, got[i].Label, got[i].P, p.Label, p.Prob)
				}
			}
			if rows := b.stageShapes(); rows[len(rows)-1][1] != "[1, 10]" {
				t.Errorf("fc row after the run: %v", rows[len(rows)-1])
			}
			b.shot("byo-2-answer-" + tc.name)
			if tc.webgpu {
				b.axe(axeSource(t), "your model, converted and run")
			}

			// A reload lists the converted model; nothing converts again.
			b.do("reload", chromedp.Reload())
			b.waitForModel(3 * time.Minute)
			b.waitFor("the kept model in the list", `document.querySelectorAll('#kept-models li').length === 2`, 30*time.Second)
			if eval[bool](b, `!!document.querySelector('#convert-report, #convert-progress')`) {
				t.Error("the reload converted again")
			}
			b.do("use the kept model", chromedp.Click(chromedp.CSS(`#kept-models li:nth-child(2) .use-model`)))
			b.waitFor("the kept model to load from the cache", `(() => {
				const l = document.querySelector('#model-progress-label');
				return document.querySelector('#model-file')?.textContent.startsWith('mine/') && l?.dataset.phase === 'ready' && l?.dataset.cached === 'yes';
			})()`, 2*time.Minute)
			if tc.webgpu {
				b.shot("byo-3-reloaded")
			}
			b.do("remove it", chromedp.Click(chromedp.CSS(`#kept-models li:nth-child(2) .remove-model`)))
			b.waitFor("the built-in model back and the list empty", `(() => {
				const l = document.querySelector('#model-progress-label');
				return document.querySelectorAll('#kept-models li').length === 1 &&
					!document.querySelector('#model-file')?.textContent.startsWith('mine/') && l?.dataset.phase === 'ready';
			})()`, 3*time.Minute)
		})
	}
}
