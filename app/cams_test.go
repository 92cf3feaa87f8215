package app

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"os"
	"strings"
	"testing"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/overlay"
)

// camFixture is a batch of two 32×32 crops with two ranked maps each.
func camFixture() (batch, *model.Result) {
	b := batch{Names: []string{"a.png", "b.png"}, Size: 32}
	res := &model.Result{}
	for i := range 2 {
		b.Crops = append(b.Crops, image.NewRGBA(image.Rect(0, 0, 32, 32)))
		res.Top = append(res.Top, []model.Prediction{{Index: 3, Label: "cat", Prob: 0.75}, {Index: 9, Prob: 0.125}})
		res.CAMs = append(res.CAMs, []model.CAM{
			{Class: 3, W: 2, H: 2, Values: []float32{0, 1, 2, float32(i)}},
			{Class: 9, W: 2, H: 2, Values: []float32{3, 2, 1, 0}},
		})
	}
	return b, res
}

func TestCAMImages(t *testing.T) {
	b, res := camFixture()
	imgs := camImages(b, res)
	if len(imgs) != 2 || len(imgs[1].Classes) != 2 || imgs[1].Name != "b.png" || imgs[1].Crop != b.Crops[1] {
		t.Fatalf("cam images %+v", imgs)
	}
	if c := imgs[0].Classes; c[0].Label != "cat" || c[0].Percent != formatPercent(0.75) || c[1].Label != "class 9" || c[1].Map.Class != 9 {
		t.Errorf("classes %+v", c)
	}
	res.CAMs = nil
	if camImages(b, res) != nil {
		t.Error("maps made up for a result without any")
	}
	urls := camOverlays(imgs, 0.5, nil)
	if len(urls) != 2 || len(urls[0]) != 2 {
		t.Fatalf("%d images of overlays", len(urls))
	}
	for _, row := range urls {
		for _, u := range row {
			data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(u, "data:image/png;base64,"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil || img.Bounds().Dx() != 32 || img.Bounds().Dy() != 32 {
				t.Fatalf("overlay: %v, %v", err, img.Bounds())
			}
		}
	}
}

// TestRenderCAMView: the section, its slider and legend, one button per
// map, overlays once drawn, and a map shown large.
func TestRenderCAMView(t *testing.T) {
	if html := render(t, &CAMView{}); strings.Contains(html, "Where it looked") {
		t.Error("the section shows before an answer")
	}
	b, res := camFixture()
	v := &CAMView{Images: camImages(b, res), Size: 32}
	// go-app calls OnMount only in the browser: draw as it would.
	v.urls, v.drawn = camOverlays(v.Images, 0.5, nil), v.Images
	e := goapp.NewTestEngine()
	if err := e.Load(v); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	html := goapp.HTMLString(v)
	wantAll(t, html, "Where it looked", `id="cam-opacity"`, `class="cam-scale"`, "weakest", "strongest",
		`id="cam-1-1"`, "Where the model saw cat in b.png", "50%")
	if n := strings.Count(html, `class="cam-thumb"`); n != 4 {
		t.Errorf("%d map buttons, want 4", n)
	}
	if len(v.urls) != 2 || v.url(1, 1) == "" || strings.Count(html, `class="cam-overlay"`) != 4 {
		t.Fatalf("overlays not drawn: %d", len(v.urls))
	}
	big := &CAMView{Images: v.Images, Size: 32, urls: v.urls, drawn: v.drawn, hasBig: true, large: [2]int{1, 0}}
	html = render(t, big)
	wantAll(t, html, `id="cam-large-1"`, "rank 1 of b.png", `width="448"`)
}

// TestCAMScaleInCSS: the legend's gradient in app.css is the overlays'
// colour scale.
func TestCAMScaleInCSS(t *testing.T) {
	css, err := os.ReadFile("../web/app.css")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(css), "background: "+overlay.CSSGradient(9)+";") {
		t.Errorf("web/app.css's .cam-scale is not overlay.CSSGradient(9) = %s", overlay.CSSGradient(9))
	}
}
