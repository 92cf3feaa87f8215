package model

import "testing"

// TestCAMTap: the features are layer4's output (the avgpool's input),
// found through the flatten view, for every architecture.
func TestCAMTap(t *testing.T) {
	for _, name := range []string{"resnet18", "resnet50", "resnext50_32x4d"} {
		a, err := ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := a.Net()
		if err != nil {
			t.Fatal(err)
		}
		p, err := n.Program(2, 224, 224)
		if err != nil {
			t.Fatal(err)
		}
		tap, err := p.CAMTap()
		if err != nil {
			t.Fatal(err)
		}
		layer4 := -1
		for _, s := range p.Stages {
			if s.Name == "layer4" {
				layer4 = s.Out
			}
		}
		if tap.Features != layer4 || p.Ops[tap.FC].Kind != OpFC {
			t.Errorf("%s: tap %+v, want features %d (layer4) and the fc", name, tap, layer4)
		}
		if s := p.Tensors[tap.Features].Shape; s[2] != 7 || s[3] != 7 || s[1] != p.Ops[tap.FC].FC.In {
			t.Errorf("%s: features %v", name, s)
		}
	}
}

func TestCAMNormalizedAndPeak(t *testing.T) {
	c := CAM{W: 3, H: 2, Values: []float32{-1, 0, 3, 1, 2, 3}}
	n := c.Normalized()
	want := []float32{0, 0.25, 1, 0.5, 0.75, 1}
	for i := range want {
		if n[i] != want[i] {
			t.Fatalf("normalized %v, want %v", n, want)
		}
	}
	if x, y := c.Peak(); x != 2 || y != 0 {
		t.Errorf("peak (%d,%d), want (2,0)", x, y)
	}
	flat := CAM{W: 2, H: 1, Values: []float32{4, 4}}
	if n := flat.Normalized(); n[0] != 0 || n[1] != 0 {
		t.Errorf("flat map normalized to %v", n)
	}
}
