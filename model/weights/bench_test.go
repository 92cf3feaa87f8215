package weights

import (
	"bytes"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// resnet50 returns a random F32 ResNet-50 and its int8 file, for
// benchmarks at real size.
func resnet50(b *testing.B) (*Model, []byte) {
	arch, err := model.ByName("resnet50")
	if err != nil {
		b.Fatal(err)
	}
	f32 := randomModel(b, arch, 1)
	q, err := Quantize(f32, Int8)
	if err != nil {
		b.Fatal(err)
	}
	return f32, encode(b, q)
}

func BenchmarkDecodeResNet50Int8(b *testing.B) {
	_, data := resnet50(b)
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(len(data))/1e6, "file-MB")
	for b.Loop() {
		if _, err := Decode("resnet50", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQuantizeResNet50(b *testing.B) {
	f32, _ := resnet50(b)
	for b.Loop() {
		if _, err := Quantize(f32, Int8); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResNet50F32(b *testing.B) {
	f32, _ := resnet50(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := f32.Encode(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e6, "file-MB")
}
