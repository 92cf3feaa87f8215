package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"testing"

	"github.com/residual-webgpu/residual/model/weights"
)

// A 12-megapixel camera-sized JPEG (4:2:0, as Go's encoder writes).
func bigJPEG(b *testing.B) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, synthetic(4000, 3000), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkDecode12MP(b *testing.B) {
	data := bigJPEG(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode("big.jpg", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrepare12MP(b *testing.B) {
	img, err := Decode("big.jpg", bigJPEG(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Prepare(img, weights.TorchvisionPreprocess, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreparePhoto(b *testing.B) {
	img := decodeBench(b, "../../testdata/photos/chelsea.png")
	for b.Loop() {
		if _, _, err := Prepare(img, weights.TorchvisionPreprocess, 160); err != nil {
			b.Fatal(err)
		}
	}
}

func decodeBench(b *testing.B, path string) image.Image {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Decode(path, data)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
