package model

import (
	"fmt"
	"testing"
)

func mustNet(t *testing.T, name string) Net {
	t.Helper()
	a, err := ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := a.Net()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The shape tables of the reference tutorial, at [1,3,224,224].
var referenceTables = map[string][]string{
	"resnet18": {
		"input [1 3 224 224]", "conv1 [1 64 112 112]", "maxpool [1 64 56 56]",
		"layer1 [1 64 56 56]", "layer2 [1 128 28 28]", "layer3 [1 256 14 14]", "layer4 [1 512 7 7]",
		"avgpool [1 512 1 1]", "flatten [1 512]", "fc [1 1000]",
	},
	"resnet50": {
		"input [1 3 224 224]", "conv1 [1 64 112 112]", "maxpool [1 64 56 56]",
		"layer1 [1 256 56 56]", "layer2 [1 512 28 28]", "layer3 [1 1024 14 14]", "layer4 [1 2048 7 7]",
		"avgpool [1 2048 1 1]", "flatten [1 2048]", "fc [1 1000]",
	},
}

func TestReferenceShapeTables(t *testing.T) {
	for name, want := range referenceTables {
		st, err := mustNet(t, name).Stages(1, 224, 224)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range st {
			if s.Kind == KindBNReLU { // the tutorial's table folds bn1+relu into conv1's row
				continue
			}
			got = append(got, fmt.Sprintf("%s %v", s.Name, s.Shape))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got  %v\n want %v", name, got, want)
		}
	}
}

// torchvision's totals: sum(p.numel() for p in model.parameters()) and the
// conv+linear MACs of its documented GFLOPS figures.
func TestTotals(t *testing.T) {
	for _, c := range []struct {
		name   string
		params int64
		gmac   string
	}{
		{"resnet18", 11689512, "1.814"},
		{"resnet34", 21797672, "3.664"},
		{"resnet50", 25557032, "4.089"},
		{"resnet101", 44549160, "7.801"},
		{"resnet152", 60192808, "11.514"},
		{"resnext50_32x4d", 25028904, "4.230"},
		{"resnext101_32x8d", 88791336, "16.414"},
		{"wide_resnet50_2", 68883240, "11.398"},
		{"wide_resnet101_2", 126886696, "22.753"},
	} {
		st, err := mustNet(t, c.name).Stages(1, 224, 224)
		if err != nil {
			t.Fatal(err)
		}
		p, m := Totals(st)
		if p != c.params || fmt.Sprintf("%.3f", float64(m)/1e9) != c.gmac {
			t.Errorf("%s: params %d MACs %.3fG, want %d and %sG", c.name, p, float64(m)/1e9, c.params, c.gmac)
		}
	}
}

func TestBatchAndSize(t *testing.T) {
	st, err := mustNet(t, "resnet50").Stages(3, 320, 320)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(st[7].Shape); st[7].Name != "layer4" || got != "[3 2048 10 10]" {
		t.Errorf("layer4 at 320, batch 3: %s %s", st[7].Name, got)
	}
	if _, err := mustNet(t, "resnet18").Stages(1, 0, 10); err == nil {
		t.Error("zero-size input accepted")
	}
}

func TestVariantStride(t *testing.T) {
	a, _ := ByName("resnet50")
	a.Variant = V1
	n, err := a.Net()
	if err != nil {
		t.Fatal(err)
	}
	b := n.Layers[1].Blocks[0]
	if b.Convs[0].Stride != 2 || b.Convs[1].Stride != 1 || b.Downsample.Stride != 2 {
		t.Errorf("v1 strides: %d %d %d", b.Convs[0].Stride, b.Convs[1].Stride, b.Downsample.Stride)
	}
	n15 := mustNet(t, "resnet50")
	b = n15.Layers[1].Blocks[0]
	if b.Convs[0].Stride != 1 || b.Convs[1].Stride != 2 {
		t.Errorf("v1.5 strides: %d %d", b.Convs[0].Stride, b.Convs[1].Stride)
	}
}
