package app

import (
	"image"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// BenchmarkCAMOverlay is one 224×224 overlay drawn and encoded for the page.
func BenchmarkCAMOverlay(b *testing.B) {
	crop := image.NewRGBA(image.Rect(0, 0, 224, 224))
	for i := range crop.Pix {
		crop.Pix[i] = uint8(i * 7)
	}
	m := model.CAM{W: 7, H: 7, Values: make([]float32, 49)}
	for i := range m.Values {
		m.Values[i] = float32(i % 11)
	}
	imgs := []camImage{{Name: "x", Crop: crop, Classes: []camClass{{Map: m}}}}
	for b.Loop() {
		camOverlays(imgs, 0.5, nil)
	}
}
