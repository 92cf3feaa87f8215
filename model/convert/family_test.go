package convert

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/safetensors"
)

// TestReadPTHNotResNet refuses real state dicts of other torchvision
// networks, naming them, before reading their storages.
func TestReadPTHNotResNet(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"mobilenet_v2.pth", "this is not a torchvision ResNet (found a MobileNetV2: features.0.0.weight, features.1.conv.0.0.weight, classifier.1.weight …); Residual runs resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, wide_resnet50_2 and wide_resnet101_2, with any number of classes"},
		{"vgg11.pth", "this is not a torchvision ResNet (found a VGG-11 (vgg11): features.0.weight, classifier.0.weight, classifier.6.weight …)"},
		{"densenet121.pth", "this is not a torchvision ResNet (found a DenseNet: features.conv0.weight, features.norm5.weight, classifier.weight …)"},
	} {
		path := filepath.Join("testdata", "layouts", c.file)
		_, err := Read(path)
		if err == nil || !strings.HasPrefix(err.Error(), "read "+path+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Read(%s) = %v, want %q", c.file, err, c.want)
		}
		if !errors.Is(err, errNotResNet) {
			t.Errorf("Read(%s): not errNotResNet", c.file)
		}
	}
	// The same names in a safetensors file.
	ts := []safetensors.TensorInfo{
		{Name: "features.0.0.weight", DType: safetensors.F32, Shape: []int{1}, Data: make([]byte, 4)},
		{Name: "features.1.conv.0.0.weight", DType: safetensors.F32, Shape: []int{1}, Data: make([]byte, 4)},
		{Name: "classifier.1.weight", DType: safetensors.F32, Shape: []int{1}, Data: make([]byte, 4)},
	}
	if _, err := ParseSafetensors(writeSafetensors(t, nil, ts)); err == nil || !strings.Contains(err.Error(), "found a MobileNetV2") {
		t.Errorf("safetensors MobileNetV2: %v", err)
	}
	// Unknown names are not a ResNet either; -arch would not help.
	_, _, err := Convert(&Checkpoint{Tensors: StateDict{"encoder.weight": {Shape: []int{2}, Data: make([]float32, 2)}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "this is not a torchvision ResNet: it has neither conv1.weight nor layer1.0.conv1.weight (its 1 tensors: encoder.weight)") || strings.Contains(err.Error(), "-arch") {
		t.Errorf("unknown names: %v", err)
	}
}

// keySets is testdata/keysets.json.gz: the full state-dict names and
// shapes of torchvision 0.14's classifiers.
type keySets struct {
	Models []struct {
		Name    string
		Tensors [][2]json.RawMessage
	}
}

// TestFamiliesFullKeySets runs the family detection on the complete key
// sets of real torchvision models: every supported ResNet passes and is
// inferred exactly, every other network is named, also under a
// LightningModule's "model." prefix.
func TestFamiliesFullKeySets(t *testing.T) {
	f, err := os.Open("testdata/keysets.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var ks keySets
	if err := json.Unmarshal(raw, &ks); err != nil {
		t.Fatal(err)
	}
	others := map[string]string{
		"alexnet": "an AlexNet", "vgg11": "a VGG-11 (vgg11)", "vgg11_bn": "a VGG-11 (vgg11_bn)", "vgg13": "a VGG-13 (vgg13)",
		"vgg16": "a VGG-16 (vgg16)", "vgg19_bn": "a VGG-19 (vgg19_bn)",
		"densenet121": "a DenseNet-121 (densenet121)", "densenet121_published_names": "a DenseNet-121 (densenet121)",
		"densenet161": "a DenseNet-161 (densenet161)", "densenet169": "a DenseNet-169 (densenet169)", "densenet201": "a DenseNet-201 (densenet201)",
		"mobilenet_v2": "a MobileNetV2", "mobilenet_v3_small": "a MobileNetV3", "mobilenet_v3_large": "a MobileNetV3",
		"efficientnet_b0": "an EfficientNet", "efficientnet_v2_s": "an EfficientNet", "squeezenet1_0": "a SqueezeNet",
		"squeezenet1_1": "a SqueezeNet", "googlenet": "a GoogLeNet", "inception_v3": "an Inception v3",
		"shufflenet_v2_x1_0": "a ShuffleNetV2", "mnasnet1_0": "an MNASNet", "regnet_x_400mf": "a RegNet",
		"regnet_y_400mf": "a RegNet", "convnext_tiny": "a ConvNeXt", "vit_b_16": "a Vision Transformer",
		"swin_t": "a Swin Transformer", "swin_v2_t": "a Swin Transformer", "maxvit_t": "a MaxViT",
	}
	seen := map[string]bool{}
	for _, m := range ks.Models {
		seen[m.Name] = true
		sd := StateDict{}
		for _, kv := range m.Tensors {
			var name string
			var shape []int
			if err := json.Unmarshal(kv[0], &name); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(kv[1], &shape); err != nil {
				t.Fatal(err)
			}
			sd[name] = &model.Tensor{Shape: shape}
		}
		lightning := StateDict{}
		for k, v := range sd {
			lightning["model."+k] = v
		}
		if want, ok := others[m.Name]; ok {
			for _, s := range []StateDict{sd, lightning} {
				_, err := InferArch(s)
				if !errors.Is(err, errNotResNet) || !strings.Contains(err.Error(), "(found "+want+": ") {
					t.Errorf("%s: %v, want found %s", m.Name, err, want)
				}
			}
			continue
		}
		wantArch, err := model.ByName(m.Name)
		if err != nil {
			t.Errorf("%s: neither a ResNet nor in the test's list", m.Name)
			continue
		}
		got, err := InferArch(sd)
		if err != nil || got != wantArch {
			t.Errorf("%s: inferred %+v, %v", m.Name, got, err)
		}
	}
	for name := range others {
		if !seen[name] {
			t.Errorf("no key set for %s", name)
		}
	}
	for _, name := range model.Names() {
		if !seen[name] {
			t.Errorf("no key set for %s", name)
		}
	}
}
