package convert

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/safetensors"
)

// TestReadPTHLayouts reads real training checkpoints as the scripts people
// use save them (model/convert/testdata/gen.py): each gives exactly the
// micro ResNet's state dict (golden.Fill's values), wrappers and prefixes
// gone, and converts with the architecture inferred.
func TestReadPTHLayouts(t *testing.T) {
	net, err := microArch.Net()
	if err != nil {
		t.Fatal(err)
	}
	want := golden.Fill(net, 1)
	for _, c := range []struct{ file, arch string }{
		{"imagenet_example.pth", "micro_basic_10"}, // {epoch, arch, state_dict: module.…, best_acc1: tensor, optimizer, scheduler}
		{"tutorial.pth", ""},                       // {epoch, model_state_dict: _orig_mod.…, optimizer_state_dict, loss: tensor}
		{"references.pth", ""},                     // {model, optimizer, lr_scheduler, epoch, args: argparse.Namespace}
		{"cifar_net.pth", ""},                      // {net: module._orig_mod.…, acc, epoch}
		{"lightning.pth", ""},                      // {…, state_dict: model.…, hyper_parameters, …}
		{"deflated.pth", ""},                       // a bare state dict re-zipped with ZIP_DEFLATED
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "layouts", c.file)
			ck, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if ck.ArchName != c.arch {
				t.Errorf("ArchName %q, want %q", ck.ArchName, c.arch)
			}
			if len(ck.Tensors) != len(want) || len(ck.Skipped) != 12 {
				t.Errorf("%d tensors and %d skipped, want %d and 12", len(ck.Tensors), len(ck.Skipped), len(want))
			}
			for name, w := range want {
				got := ck.Tensors[name]
				if got == nil {
					t.Errorf("no %s", name)
					continue
				}
				if !slices.Equal(got.Data, w) {
					t.Errorf("%s differs from golden.Fill", name)
				}
			}
			m, _, err := Convert(ck, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Meta.Arch != microArch {
				t.Errorf("arch %+v, want %+v", m.Meta.Arch, microArch)
			}
		})
	}
}

// TestNamePrefix strips what DataParallel, DDP, torch.compile and a
// LightningModule put before every name, and nothing else.
func TestNamePrefix(t *testing.T) {
	resnet := []string{"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "fc.weight"}
	with := func(p string, names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = p + n
		}
		return out
	}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{resnet, ""},
		{with("module.", resnet), "module."},
		{with("_orig_mod.", resnet), "_orig_mod."},
		{with("module._orig_mod.", resnet), "module._orig_mod."},
		{with("_orig_mod.module.", resnet), "_orig_mod.module."},
		{with("model.", resnet), "model."},
		{with("model.module.", resnet), ""}, // a component is stripped only right above conv1.weight
		{with("module.model.", resnet), "module.model."},
		{append(with("module.", resnet), "other.weight"), ""},
		{with("features.", []string{"0.weight", "1.weight"}), ""}, // no conv1.weight under it
		{[]string{"module.conv1.weight", "module.fc.weight", "module"}, ""},
		{nil, ""},
		{with(strings.Repeat("module.", 1000), resnet), strings.Repeat("module.", 4)}, // bounded work on hostile names
	} {
		if got := namePrefix(c.names); got != c.want {
			t.Errorf("namePrefix(%v) = %q, want %q", c.names, got, c.want)
		}
	}
}

// TestSafetensorsPrefixes strips the same wrapper prefixes from a
// safetensors state dict as from a .pth.
func TestSafetensorsPrefixes(t *testing.T) {
	ck, err := ReadPTH(filepath.Join("testdata", "layouts", "deflated.pth"))
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"_orig_mod.", "module._orig_mod.", "model."} {
		var ts []safetensors.TensorInfo
		for _, name := range ck.Tensors.Names() {
			tt := ck.Tensors[name]
			ts = append(ts, safetensors.TensorInfo{Name: prefix + name, DType: safetensors.F32, Shape: tt.Shape, Data: f32Bytes(tt.Data)})
		}
		got, err := ParseSafetensors(writeSafetensors(t, nil, ts))
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		if !slices.Equal(got.Tensors.Names(), ck.Tensors.Names()) {
			t.Errorf("%s: names %v", prefix, got.Tensors.Names())
		}
	}
}
