//go:build !js

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/binary"
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
)

// hostilePTH is a torch.save zip whose pickle claims a 1 TiB bytes object
// (BINBYTES8): gopickle would allocate it whole (the reliability issue's
// out-of-memory case).
func hostilePTH(t *testing.T) []byte {
	t.Helper()
	pkl := []byte("\x80\x04\x8e")
	pkl = binary.LittleEndian.AppendUint64(pkl, 1<<40)
	pkl = append(pkl, "xx."...)
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range []struct {
		name string
		data []byte
	}{{"archive/data.pkl", pkl}, {"archive/version", []byte("3\n")}} {
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(e.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHostileCheckpoint drops a hostile checkpoint on the page under an
// image's name: it is told from images by its content, refused with a
// message, and the tab keeps working (a photo dropped next is answered by
// the built-in model).
func TestHostileCheckpoint(t *testing.T) {
	b := newBrowser(t, false, 4*time.Minute)
	b.open(3 * time.Minute)
	if !b.drop(fileSpec{Name: "holiday.jpg", Type: "image/jpeg", B64: base64.StdEncoding.EncodeToString(hostilePTH(t))}) {
		t.Fatal("the drop was not taken")
	}
	b.waitFor("the refusal", `!!document.querySelector('#convert-error')`, time.Minute)
	msg := eval[string](b, `document.querySelector('#convert-error').textContent`)
	t.Logf("the page says: %s", msg)
	if !strings.Contains(msg, "holiday.jpg") {
		t.Errorf("the message does not name the file: %q", msg)
	}
	if eval[bool](b, `document.querySelectorAll('#predictions .image-card').length > 0`) {
		t.Error("the checkpoint was taken for an image")
	}
	b.shot("byo-4-hostile")
	const photo = "coffee.jpg"
	b.drop(fileFrom(t, "web/samples/"+photo, photo, "image/jpeg"))
	b.waitForAnswer(photo, 2*time.Minute)
	if top := b.top1(); top != "espresso" {
		t.Errorf("after the hostile file, %s is %q", photo, top)
	}
	if f := eval[string](b, `document.querySelector('#model-file').textContent`); f != modelFile {
		t.Errorf("the page's model is %q", f)
	}
}

// TestYourResNeXtAndResNet50 gives the page a resnext50_32x4d as a
// .safetensors state dict with ImageNet's 1000 classes and no labels file
// (ImageNet's names are used), on WebGPU and on the CPU engine: the
// labels and probabilities of the CPU reference, and the inspector's
// shapes. Then a
// torchvision resnet50 .pth is converted, for the conversion's time.
func TestYourResNeXtAndResNet50(t *testing.T) {
	a, _ := model.ByName("resnext50_32x4d")
	ts, err := torchsave.ResNet(a, 5)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := torchsave.WriteSafetensors(&buf, ts); err != nil {
		t.Fatal(err)
	}
	ts = nil
	dir := t.TempDir()
	stPath := filepath.Join(dir, "resnext50_32x4d.safetensors")
	if err := os.WriteFile(stPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const photo = "moped.jpg"
	want, q := expectedTop5(t, filepath.Base(stPath), buf.Bytes(), convert.ImageNetLabels(), photo)
	t.Logf("expected top-5 (CPU reference, int8): %v", want)
	stSize := buf.Len()
	buf = bytes.Buffer{}

	st, err := q.Net.Stages(1, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	var wantRows [][2]string
	for _, s := range st {
		wantRows = append(wantRows, [2]string{s.Name, strings.ReplaceAll(fmt.Sprint(s.Shape), " ", ", ")})
	}
	// On each engine in a browser of its own (a new profile: it converts
	// again). The CPU browser then converts the resnet50.
	var b *browser
	for _, engine := range []string{"gpu", "cpu"} {
		b = newBrowser(t, engine == "gpu", 10*time.Minute)
		b.navigate("/?engine=" + engine)
		b.waitForModel(3 * time.Minute)
		start := time.Now()
		b.do("give the safetensors file", chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{stPath}))
		waitConverted(b, "resnext50_32x4d", 1000, 4*time.Minute)
		t.Logf("%s: in-page conversion of resnext50_32x4d (%.1f MB .safetensors): %s ms in the worker, %.1f s to the model being ready (load %s)",
			engine, float64(stSize)/1e6, eval[string](b, `document.querySelector('#report-time').dataset.ms`), time.Since(start).Seconds(), loadAvg())
		if rows := b.stageShapes(); fmt.Sprint(rows) != fmt.Sprint(wantRows) {
			t.Errorf("%s: inspector rows:\n got  %v\n want %v", engine, rows, wantRows)
		}
		b.drop(fileFrom(t, "web/samples/"+photo, photo, "image/jpeg"))
		b.waitForAnswer(photo, 4*time.Minute)
		got := b.topN()
		badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`)
		t.Logf("%s: page top-5 (engine %q): %v", engine, badge, got)
		if (engine == "gpu") != strings.Contains(strings.ToLower(badge), "gpu") {
			t.Errorf("asked for %s, answered on %q", engine, badge)
		}
		for i, p := range want {
			if i >= len(got) || got[i].Label != p.Label || math.Abs(got[i].P-float64(p.Prob)) > 0.02 {
				t.Errorf("%s: prediction %d: page %v, reference %q %.4f", engine, i, got, p.Label, p.Prob)
				break
			}
		}
		b.shot("byo-5-resnext50-" + engine)
		if engine == "gpu" {
			b.do("leave the page", chromedp.Navigate("about:blank")) // its background work would load the CPU run
		}
	}

	// ResNet-50 as torchvision saves it: the conversion's time.
	a, _ = model.ByName("resnet50")
	ts, err = torchsave.ResNet(a, 6)
	if err != nil {
		t.Fatal(err)
	}
	if err := torchsave.Write(&buf, ts); err != nil {
		t.Fatal(err)
	}
	ts = nil
	pthPath := filepath.Join(dir, "resnet50.pth")
	if err := os.WriteFile(pthPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	b.do("give the resnet50 checkpoint", chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{pthPath}))
	waitConverted(b, "resnet50", 1000, 4*time.Minute)
	t.Logf("in-page conversion of resnet50 (%.1f MB .pth): %s ms in the worker, %.1f s to the model being ready (load %s)",
		float64(buf.Len())/1e6, eval[string](b, `document.querySelector('#report-time').dataset.ms`), time.Since(start).Seconds(), loadAvg())
	// The panel lists the kept models again once the new one is stored.
	b.waitFor("three models listed (the built-in one and the two converted)", `document.querySelectorAll('#kept-models li').length === 3`, 30*time.Second)
}

// waitConverted waits for a conversion's report of arch with classes and
// for the page to have loaded the result.
func waitConverted(b *browser, arch string, classes int, timeout time.Duration) {
	b.t.Helper()
	b.waitFor("the conversion of "+arch, `(() => {
		const e = document.querySelector('#convert-error');
		if (e) throw new Error(e.textContent);
		const r = document.querySelector('#report-arch');
		const l = document.querySelector('#model-progress-label');
		return !!r && r.textContent.startsWith(`+jsString(arch+" ")+`) &&
			document.querySelector('#report-classes').textContent === `+jsString(fmt.Sprint(classes))+` &&
			document.querySelector('#model-file')?.textContent.startsWith('mine/') && l?.dataset.phase === 'ready';
	})()`, timeout)
}

// TestYourLargestCheckpoint converts the largest torchvision ResNet,
// wide_resnet101_2 (0.5 GB as a float32 .pth), in the page: the worker's
// heap holds the file, the state dict and the folded model at once. It
// takes minutes and gigabytes, so it runs only with RESIDUAL_E2E_BIG=1.
func TestYourLargestCheckpoint(t *testing.T) {
	if os.Getenv("RESIDUAL_E2E_BIG") == "" {
		t.Skip("set RESIDUAL_E2E_BIG=1 to convert wide_resnet101_2 in the page")
	}
	a, _ := model.ByName("wide_resnet101_2")
	ts, err := torchsave.ResNet(a, 8)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wide_resnet101_2.pth")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := torchsave.Write(f, ts); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ts = nil
	st, _ := os.Stat(path)
	b := newBrowser(t, false, 10*time.Minute)
	b.navigate("/?engine=cpu")
	b.waitForModel(3 * time.Minute)
	start := time.Now()
	b.do("give the checkpoint", chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{path}))
	waitConverted(b, "wide_resnet101_2", 1000, 8*time.Minute)
	t.Logf("in-page conversion of wide_resnet101_2 (%.1f MB .pth): %s ms in the worker, %.1f s to the model being ready (load %s)",
		float64(st.Size())/1e6, eval[string](b, `document.querySelector('#report-time').dataset.ms`), time.Since(start).Seconds(), loadAvg())
}
