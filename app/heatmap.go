package app

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"sync"

	"github.com/residual-webgpu/residual/model"
)

// viridis is a five-stop approximation of the viridis colour map: dark
// purple for low activations to yellow for high ones, readable in grey.
var viridis = [5][3]float32{
	{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37},
}

// heatColor maps v in [0,1] (clamped) to a viridis colour.
func heatColor(v float32) color.RGBA {
	if !(v >= 0) { // also catches NaN
		v = 0
	}
	if v > 1 {
		v = 1
	}
	x := v * float32(len(viridis)-1)
	i := int(x)
	if i >= len(viridis)-1 {
		i = len(viridis) - 2
	}
	t := x - float32(i)
	a, b := viridis[i], viridis[i+1]
	mix := func(k int) uint8 { return uint8(a[k] + (b[k]-a[k])*t + 0.5) }
	return color.RGBA{mix(0), mix(1), mix(2), 255}
}

// heatmapImage paints a heatmap at its own resolution; nil for an empty or
// inconsistent one.
func heatmapImage(h *model.Heatmap) *image.RGBA {
	if h == nil || h.W < 1 || h.H < 1 || len(h.Values) < h.W*h.H {
		return nil
	}
	img := image.NewRGBA(image.Rect(0, 0, h.W, h.H))
	for y := 0; y < h.H; y++ {
		for x := 0; x < h.W; x++ {
			img.SetRGBA(x, y, heatColor(h.Values[y*h.W+x]))
		}
	}
	return img
}

// pngEncoder encodes every heatmap with one set of buffers: a PNG
// encoder's zlib writer alone is over 1 MB, and one classification draws
// dozens of maps (a browser's Go heap keeps its peak for good).
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

// pngBuffers is a png.EncoderBufferPool that keeps one encoder's buffers
// (encodes run one at a time; a second one meanwhile makes its own).
type pngBuffers struct {
	mu  sync.Mutex
	buf *png.EncoderBuffer
}

// Get hands out the kept buffers, or none (the encoder then makes them).
func (p *pngBuffers) Get() *png.EncoderBuffer {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf
	p.buf = nil
	return b
}

// Put keeps an encoder's buffers for the next encode.
func (p *pngBuffers) Put(b *png.EncoderBuffer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = b
}

// pngDataURL encodes an image as a data: URL for an <img> (the page's CSP
// allows data: images, and no canvas is needed).
func pngDataURL(img image.Image) string {
	if img == nil {
		return ""
	}
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, img); err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// heatmapDataURL is the heatmap as a PNG data URL, or "" when there is none.
func heatmapDataURL(h *model.Heatmap) string {
	img := heatmapImage(h)
	if img == nil {
		return ""
	}
	return pngDataURL(img)
}
