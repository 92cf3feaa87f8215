package torchsave

import (
	"bytes"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/convert"
)

// The written file reads back through the project's own .pth reader, with
// every value and the architecture (resnet18, 10 classes) intact.
func TestWriteReadsBack(t *testing.T) {
	a, _ := model.ByName("resnet18")
	a.NumClasses = 10
	ts, err := ResNet(a, 7)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, ts); err != nil {
		t.Fatal(err)
	}
	ck, err := convert.ReadBytes("r18.pth", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Tensors) != len(ts) {
		t.Fatalf("%d tensors read, %d written", len(ck.Tensors), len(ts))
	}
	for _, w := range ts {
		got := ck.Tensors[w.Name]
		if got == nil || len(got.Data) != len(w.Data) {
			t.Fatalf("%s: missing or wrong size", w.Name)
		}
		for i := range w.Data {
			if got.Data[i] != w.Data[i] {
				t.Fatalf("%s[%d] = %g, wrote %g", w.Name, i, got.Data[i], w.Data[i])
			}
		}
	}
	m, _, err := convert.Convert(ck, convert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Arch.Name != "resnet18" || m.Meta.Arch.NumClasses != 10 {
		t.Fatalf("arch %s with %d classes, want resnet18 with 10", m.Meta.Arch.Name, m.Meta.Arch.NumClasses)
	}
}

func TestWriteRefusesWrongShape(t *testing.T) {
	err := Write(&bytes.Buffer{}, []Tensor{{Name: "x", Shape: []int{2, 2}, Data: []float32{1}}})
	if err == nil {
		t.Fatal("a tensor whose shape does not match its data was written")
	}
}

func TestWriteSafetensorsReadsBack(t *testing.T) {
	a, _ := model.ByName("resnet50")
	a.BaseChannels = 8 // small: the layout, not the size, is under test
	ts, err := ResNet(a, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteSafetensors(&b, ts); err != nil {
		t.Fatal(err)
	}
	ck, err := convert.ReadBytes("x.safetensors", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if ck.Format != convert.Safetensors || len(ck.Tensors) != len(ts) {
		t.Fatalf("format %s, %d tensors of %d", ck.Format, len(ck.Tensors), len(ts))
	}
	for _, w := range ts {
		if got := ck.Tensors[w.Name]; got == nil || got.Data[len(w.Data)-1] != w.Data[len(w.Data)-1] {
			t.Fatalf("%s differs", w.Name)
		}
	}
}
