package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// tinyModel is a small real network (ResNet-18 layout, 4 base channels,
// 10 classes) with generated weights: enough to run the app's pipeline
// end to end on the real CPU engine in milliseconds.
func tinyModel(t *testing.T) *weights.Model {
	t.Helper()
	a, err := model.ByName("resnet18")
	if err != nil {
		t.Fatal(err)
	}
	a.BaseChannels, a.NumClasses = 4, 10
	net, err := a.Net()
	if err != nil {
		t.Fatal(err)
	}
	folded, err := weights.FoldBN(net, golden.Fill(net, 7), 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]string, a.NumClasses)
	for i := range labels {
		labels[i] = fmt.Sprintf("label %d", i)
	}
	m, err := weights.New(weights.Metadata{
		Arch: a, Preprocess: weights.TorchvisionPreprocess, Scheme: weights.F32, Labels: labels,
	}, folded)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pngHeader is the start of a PNG that claims w×h pixels: enough for a
// decoder to refuse it by size before reading pixels.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

// photo encodes a w×h gradient as PNG or JPEG.
func photo(t *testing.T, w, h int, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&b, img, nil)
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
