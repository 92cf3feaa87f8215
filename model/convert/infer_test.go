package convert

import (
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// shapesOnly builds a state dict with net's tensor shapes and no data
// (InferArch reads shapes only).
func shapesOnly(net model.Net) StateDict {
	sd := StateDict{}
	for _, ts := range net.StateDictTensors() {
		sd[ts.Name] = &model.Tensor{Shape: ts.Shape}
	}
	return sd
}

// TestInferArchKnown infers every torchvision architecture from its state
// dict's shapes alone, with and without conv biases and custom heads.
func TestInferArchKnown(t *testing.T) {
	for _, name := range model.Names() {
		want, err := model.ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, variant := range []struct {
			classes int
			bias    bool
		}{{1000, false}, {10, true}} {
			want.NumClasses, want.ConvBias = variant.classes, variant.bias
			net, err := want.Net()
			if err != nil {
				t.Fatal(err)
			}
			got, err := InferArch(shapesOnly(net))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got != want {
				t.Errorf("%s: inferred %+v, want %+v", name, got, want)
			}
		}
	}
}

// TestInferArchTiny infers small custom networks and names them by structure.
func TestInferArchTiny(t *testing.T) {
	for _, c := range []struct {
		arch model.Arch
		name string
	}{
		{model.Arch{Block: model.Basic, Layers: [4]int{1, 1, 1, 1}, Groups: 1, WidthPerGroup: 64, NumClasses: 10, Variant: model.V15, BaseChannels: 4}, "resnet_basic_1-1-1-1_base4"},
		{model.Arch{Block: model.Bottleneck, Layers: [4]int{1, 2, 1, 1}, Groups: 2, WidthPerGroup: 32, NumClasses: 7, Variant: model.V15, BaseChannels: 8}, "resnet_bottleneck_1-2-1-1_2x32_base8"},
		{model.Arch{Block: model.Basic, Layers: [4]int{2, 2, 2, 2}, Groups: 1, WidthPerGroup: 64, NumClasses: 5, Variant: model.V15, BaseChannels: 16}, "resnet18_base16"},
	} {
		net, err := c.arch.Net()
		if err != nil {
			t.Fatal(err)
		}
		got, err := InferArch(shapesOnly(net))
		if err != nil {
			t.Fatal(err)
		}
		want := c.arch
		want.Name = c.name
		if got != want {
			t.Errorf("inferred %+v, want %+v", got, want)
		}
	}
}

// TestInferArchErrors: no stem, no classifier, an empty layer.
func TestInferArchErrors(t *testing.T) {
	a, _ := model.ByName("resnet18")
	net, _ := a.Net()
	for _, drop := range []string{"conv1.weight", "fc.weight", "layer3.0.conv1.weight"} {
		sd := shapesOnly(net)
		delete(sd, drop)
		if _, err := InferArch(sd); err == nil || !strings.Contains(err.Error(), drop) {
			t.Errorf("without %s: %v", drop, err)
		}
	}
}

// TestCheckStateDict lists every missing, unexpected and misshapen tensor.
func TestCheckStateDict(t *testing.T) {
	a, _ := model.ByName("resnet18")
	a.BaseChannels = 4
	net, _ := a.Net()
	full := func() StateDict {
		sd := StateDict{}
		for _, ts := range net.StateDictTensors() {
			sd[ts.Name] = model.NewTensor(ts.Shape...)
		}
		return sd
	}
	got, err := CheckStateDict(net, full())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(net.StateDictTensors()) {
		t.Errorf("%d tensors, want %d", len(got), len(net.StateDictTensors()))
	}
	sd := full()
	delete(sd, "layer2.1.bn2.running_var")
	sd["layer5.0.conv1.weight"] = model.NewTensor(1)
	sd["fc.weight"] = model.NewTensor(1000, 33)
	sd["conv1.weight"] = &model.Tensor{Shape: sd["conv1.weight"].Shape, Data: make([]float32, 3)}
	_, err = CheckStateDict(net, sd)
	if err == nil {
		t.Fatal("bad state dict accepted")
	}
	for _, want := range []string{"1 missing tensors: layer2.1.bn2.running_var", "1 unexpected tensors: layer5.0.conv1.weight", "fc.weight is [1000 33], want [1000 32]", "conv1.weight"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
