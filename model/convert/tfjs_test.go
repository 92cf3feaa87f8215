package convert

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// kerasFixture is a synthetic TF.js layers model of a Keras-named ResNet, in
// pieces a test may alter before rendering it: the layer list, the manifest
// entries and the concatenated weight bytes. want is the torchvision state
// dict it must convert to.
type kerasFixture struct {
	layers  []map[string]any
	weights []map[string]any
	data    []byte
	shard   int // shard size in bytes
	want    StateDict
	arch    model.Arch
}

// kerasNames returns the Keras conv and BatchNorm names of a torchvision
// conv in the given scheme ("caffe": res2a_branch2a; "tf": conv2_block1_1_conv).
func kerasNames(scheme string, c model.Conv) (conv, bn string) {
	if c.Name == "conv1" {
		if scheme == "tf" {
			return "conv1_conv", "conv1_bn"
		}
		return "conv1", "bn_conv1"
	}
	var layer, block int
	var rest string
	fmt.Sscanf(c.Name, "layer%d.%d.%s", &layer, &block, &rest)
	idx := map[string]int{"conv1": 1, "conv2": 2, "conv3": 3, "downsample.0": 0}[rest]
	if scheme == "tf" {
		base := fmt.Sprintf("conv%d_block%d_%d_", layer+1, block+1, idx)
		return base + "conv", base + "bn"
	}
	branch := map[int]string{0: "1", 1: "2a", 2: "2b", 3: "2c"}[idx]
	id := fmt.Sprintf("%d%c_branch%s", layer+1, 'a'+block, branch)
	return "res" + id, "bn" + id
}

// newKerasFixture lays out arch as the Keras ResNet builders do, with
// random weights, conv biases and the given BatchNorm epsilon.
func newKerasFixture(t testing.TB, arch model.Arch, scheme string, eps float64) *kerasFixture {
	t.Helper()
	arch.ConvBias = true
	net, err := arch.Net()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(lo, hi float32, shape ...int) *model.Tensor {
		tt := model.NewTensor(shape...)
		for i := range tt.Data {
			tt.Data[i] = lo + (hi-lo)*rng.Float32()
		}
		return tt
	}
	fx := &kerasFixture{shard: 1000, want: StateDict{}, arch: arch}
	type kw struct {
		name string
		t    *model.Tensor
	}
	var ws []kw
	layer := func(class, name, inbound string, cfg map[string]any) {
		cfg["name"] = name
		l := map[string]any{"name": name, "class_name": class, "config": cfg, "inbound_nodes": []any{}}
		if inbound != "" {
			l["inbound_nodes"] = []any{[]any{[]any{inbound, 0, 0, map[string]any{}}}}
		}
		fx.layers = append(fx.layers, l)
	}
	// conv adds a conv with its BatchNorm (and ReLU when relu) after prev and
	// returns the name of the last layer added.
	conv := func(c model.Conv, prev string, relu bool) string {
		kn, bn := kerasNames(scheme, c)
		padding := "valid"
		if c.Pad > 0 {
			if c.Stride == 1 && c.Kernel == 2*c.Pad+1 {
				padding = "same"
			} else {
				layer("ZeroPadding2D", kn+"_pad", prev, map[string]any{"padding": [][]int{{c.Pad, c.Pad}, {c.Pad, c.Pad}}, "data_format": "channels_last"})
				prev = kn + "_pad"
			}
		}
		layer("Conv2D", kn, prev, map[string]any{"filters": c.Cout, "kernel_size": []int{c.Kernel, c.Kernel},
			"strides": []int{c.Stride, c.Stride}, "padding": padding, "data_format": "channels_last",
			"dilation_rate": []int{1, 1}, "activation": "linear", "use_bias": true})
		layer("BatchNormalization", bn, kn, map[string]any{"axis": []int{3}, "epsilon": eps, "center": true, "scale": true, "momentum": 0.99})
		w := random(-1, 1, c.WeightShape()...)
		fx.want[c.Name+".weight"] = w
		hwio := model.NewTensor(c.Kernel, c.Kernel, c.Cin/c.Groups, c.Cout)
		for o := 0; o < c.Cout; o++ {
			for i := 0; i < c.Cin/c.Groups; i++ {
				for y := 0; y < c.Kernel; y++ {
					for x := 0; x < c.Kernel; x++ {
						hwio.Data[((y*c.Kernel+x)*(c.Cin/c.Groups)+i)*c.Cout+o] = w.Data[((o*(c.Cin/c.Groups)+i)*c.Kernel+y)*c.Kernel+x]
					}
				}
			}
		}
		ws = append(ws, kw{kn + "/kernel", hwio})
		for _, p := range []struct {
			keras, torch string
			lo, hi       float32
			owner        string
		}{{"bias", "bias", -0.1, 0.1, c.Name}, {"gamma", "weight", 0.5, 1.5, c.BN}, {"beta", "bias", -0.1, 0.1, c.BN},
			{"moving_mean", "running_mean", -0.1, 0.1, c.BN}, {"moving_variance", "running_var", 0.5, 1.5, c.BN}} {
			v := random(p.lo, p.hi, c.Cout)
			fx.want[p.owner+"."+p.torch] = v
			owner := bn
			if p.keras == "bias" {
				owner = kn
			}
			ws = append(ws, kw{owner + "/" + p.keras, v})
		}
		if relu {
			layer("Activation", kn+"_relu", bn, map[string]any{"activation": "relu"})
			return kn + "_relu"
		}
		return bn
	}
	layer("InputLayer", "input_1", "", map[string]any{"batch_input_shape": []any{nil, 224, 224, 3}, "dtype": "float32"})
	prev := conv(net.Stem, "input_1", true)
	layer("ZeroPadding2D", "pool1_pad", prev, map[string]any{"padding": [][]int{{1, 1}, {1, 1}}})
	layer("MaxPooling2D", "max_pooling2d", "pool1_pad", map[string]any{"pool_size": []int{3, 3}, "strides": []int{2, 2}, "padding": "valid", "data_format": "channels_last"})
	prev = "max_pooling2d"
	adds := 0
	for _, l := range net.Layers {
		for _, b := range l.Blocks {
			in, x := prev, prev
			for i, c := range b.Convs {
				x = conv(c, x, i < len(b.Convs)-1)
			}
			short := in
			if b.Downsample != nil {
				short = conv(*b.Downsample, in, false)
			}
			name := fmt.Sprintf("add_%d", adds)
			adds++
			fx.layers = append(fx.layers, map[string]any{"name": name, "class_name": "Add", "config": map[string]any{"name": name},
				"inbound_nodes": []any{[]any{[]any{x, 0, 0, map[string]any{}}, []any{short, 0, 0, map[string]any{}}}}})
			layer("Activation", name+"_relu", name, map[string]any{"activation": "relu"})
			prev = name + "_relu"
		}
	}
	layer("GlobalAveragePooling2D", "avg_pool", prev, map[string]any{"data_format": "channels_last"})
	fcName := "fc1000"
	if scheme == "tf" {
		fcName = "predictions"
	}
	layer("Dense", fcName, "avg_pool", map[string]any{"units": net.FC.Out, "activation": "softmax", "use_bias": true})
	fc := random(-1, 1, net.FC.Out, net.FC.In)
	fx.want["fc.weight"] = fc
	kt := model.NewTensor(net.FC.In, net.FC.Out)
	for o := 0; o < net.FC.Out; o++ {
		for i := 0; i < net.FC.In; i++ {
			kt.Data[i*net.FC.Out+o] = fc.Data[o*net.FC.In+i]
		}
	}
	ws = append(ws, kw{fcName + "/kernel", kt})
	fcb := random(-1, 1, net.FC.Out)
	fx.want["fc.bias"] = fcb
	ws = append(ws, kw{fcName + "/bias", fcb})

	sort.Slice(ws, func(i, j int) bool { return ws[i].name < ws[j].name })
	for _, w := range ws {
		fx.weights = append(fx.weights, map[string]any{"name": w.name, "shape": w.t.Shape, "dtype": "float32"})
		fx.data = append(fx.data, f32Bytes(w.t.Data)...)
	}
	return fx
}

// shardPaths names the shards the data splits into.
func (fx *kerasFixture) shardPaths() []string {
	n := (len(fx.data) + fx.shard - 1) / fx.shard
	var p []string
	for i := 1; i <= n; i++ {
		p = append(p, fmt.Sprintf("group1-shard%dof%d.bin", i, n))
	}
	return p
}

// files renders model.json and the shards.
func (fx *kerasFixture) files(t testing.TB) map[string][]byte {
	t.Helper()
	m := map[string]any{
		"format": "layers-model", "generatedBy": "keras test", "convertedBy": "TensorFlow.js Converter test",
		"modelTopology": map[string]any{"keras_version": "2.2.4", "backend": "tensorflow",
			"model_config": map[string]any{"class_name": "Model", "config": map[string]any{"name": "resnet", "layers": fx.layers}}},
		"weightsManifest": []any{map[string]any{"paths": fx.shardPaths(), "weights": fx.weights}},
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"model.json": js}
	for i, p := range fx.shardPaths() {
		files[p] = fx.data[i*fx.shard : min((i+1)*fx.shard, len(fx.data))]
	}
	return files
}

// parse runs the in-memory reader on the rendered files.
func (fx *kerasFixture) parse(t *testing.T, files map[string][]byte) (*Checkpoint, error) {
	t.Helper()
	return parseTFJS(files["model.json"], memShards(files))
}

// memShards is a shardSource of files in memory.
type memShards map[string][]byte

func (m memShards) size(rel string) (int64, error) {
	b, ok := m[rel]
	if !ok {
		return 0, fmt.Errorf("no file %s", rel)
	}
	return int64(len(b)), nil
}

func (m memShards) read(rel string, n int64) ([]byte, error) {
	b := m[rel]
	if int64(len(b)) != n {
		return nil, fmt.Errorf("%s has %d bytes, not %d", rel, len(b), n)
	}
	return b, nil
}

// writeDir writes the files into dir.
func writeDir(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tinyArch(block model.BlockKind, layers [4]int, variant model.Variant) model.Arch {
	return model.Arch{Name: "tiny", Block: block, Layers: layers, Groups: 1, WidthPerGroup: 64, NumClasses: 10, Variant: variant, BaseChannels: 4}
}

// TestTFJSSynthetic converts Keras-named tiny ResNets in both naming
// schemes and stride variants and checks every tensor, the architecture
// (variant read from the strides), the epsilon from the config and the
// preprocessing.
func TestTFJSSynthetic(t *testing.T) {
	for _, c := range []struct {
		name   string
		arch   model.Arch
		scheme string
	}{
		{"bottleneck-v1-caffe", tinyArch(model.Bottleneck, [4]int{2, 1, 3, 1}, model.V1), "caffe"},
		{"bottleneck-v1.5-tf", tinyArch(model.Bottleneck, [4]int{1, 2, 1, 1}, model.V15), "tf"},
		{"basic-caffe", tinyArch(model.Basic, [4]int{1, 1, 2, 1}, model.V15), "caffe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fx := newKerasFixture(t, c.arch, c.scheme, 2e-3)
			ck, err := fx.parse(t, fx.files(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(fx.shardPaths()) < 3 {
				t.Fatalf("only %d shards: the test should span several", len(fx.shardPaths()))
			}
			if ck.Format != TFJS || ck.BNEps != 2e-3 || *ck.Preprocess != weights.CaffePreprocess {
				t.Errorf("format %s eps %g preprocess %+v", ck.Format, ck.BNEps, ck.Preprocess)
			}
			got := *ck.Arch
			got.Name = "tiny"
			if got != fx.arch {
				t.Errorf("arch %+v, want %+v", got, fx.arch)
			}
			if !slices.Equal(ck.Tensors.Names(), fx.want.Names()) {
				t.Fatalf("names %v, want %v", ck.Tensors.Names(), fx.want.Names())
			}
			for name, want := range fx.want {
				g := ck.Tensors[name]
				if !slices.Equal(g.Shape, want.Shape) || !slices.Equal(g.Data, want.Data) {
					t.Errorf("%s: shape %v, want %v; values equal %v", name, g.Shape, want.Shape, slices.Equal(g.Data, want.Data))
				}
			}
			m, _, err := Convert(ck, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Meta.Arch.Variant != c.arch.Variant || !m.Meta.Arch.ConvBias {
				t.Errorf("converted arch %+v", m.Meta.Arch)
			}
		})
	}
}

// TestReadTFJSDir reads the synthetic model from disk with labels in
// ../assets (the npm package's layout), hashes model.json and the shards in
// manifest order, and reads the same model from an npm-style tarball.
func TestReadTFJSDir(t *testing.T) {
	fx := newKerasFixture(t, tinyArch(model.Bottleneck, [4]int{1, 1, 1, 1}, model.V1), "caffe", 1e-3)
	files := fx.files(t)
	root := t.TempDir()
	dir := filepath.Join(root, "package", "Tiny")
	writeDir(t, dir, files)
	labels := map[string]string{}
	for i := range 10 {
		labels[fmt.Sprint(i)] = fmt.Sprintf("class_%d_name", i)
	}
	lj, _ := json.Marshal(labels)
	writeDir(t, filepath.Join(root, "package", "assets"), map[string][]byte{"labels.json": lj})

	ck, err := Read(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Labels[3] != "class 3 name" || len(ck.Labels) != 10 {
		t.Errorf("labels %q", ck.Labels)
	}
	h := sha256.New()
	h.Write(files["model.json"])
	for _, p := range fx.shardPaths() {
		h.Write(files[p])
	}
	want := hex.EncodeToString(h.Sum(nil))
	m, _, err := Convert(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.SourceSHA256 != want {
		t.Errorf("sha256 %s, want %s (model.json + shards)", m.Meta.SourceSHA256, want)
	}
	if !strings.Contains(m.Meta.Source, "Tiny/model.json") || !strings.Contains(m.Meta.Source, "keras test") {
		t.Errorf("source %q", m.Meta.Source)
	}
	if m.Meta.Labels[9] != "class 9 name" {
		t.Errorf("meta labels %q", m.Meta.Labels)
	}

	// The same package as a tarball.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	add("package/package.json", []byte(`{"name":"tiny"}`))
	for name, b := range files {
		add("package/Tiny/"+name, b)
	}
	add("package/assets/labels.json", lj)
	tw.Close()
	gz.Close()
	tgz := filepath.Join(root, "tiny-1.0.0.tgz")
	if err := os.WriteFile(tgz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ck2, err := Read(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ck2.Files, []string{tgz}) || !slices.Equal(ck2.Labels, ck.Labels) || !strings.Contains(ck2.Source, "tiny-1.0.0.tgz") {
		t.Errorf("tarball: files %v labels %q source %q", ck2.Files, ck2.Labels, ck2.Source)
	}
	for name, want := range ck.Tensors {
		if !slices.Equal(ck2.Tensors[name].Data, want.Data) {
			t.Errorf("tarball %s differs", name)
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	if got, _ := HashFiles(ck2.Files); got != hex.EncodeToString(sum[:]) {
		t.Errorf("tarball sha256 %s", got)
	}
}

// TestTFJSErrors checks that damaged or unsupported TF.js models fail with
// an error that names the problem.
func TestTFJSErrors(t *testing.T) {
	arch := tinyArch(model.Bottleneck, [4]int{1, 1, 1, 1}, model.V1)
	layerNamed := func(fx *kerasFixture, name string) map[string]any {
		for _, l := range fx.layers {
			if l["name"] == name {
				return l
			}
		}
		t.Fatalf("no layer %s", name)
		return nil
	}
	cases := []struct {
		name  string
		alter func(fx *kerasFixture, files map[string][]byte)
		want  string
	}{
		{"truncated middle shard", func(fx *kerasFixture, f map[string][]byte) {
			p := fx.shardPaths()[1]
			f[p] = f[p][:500]
		}, "shard group1-shard2of"},
		{"truncated last shard", func(fx *kerasFixture, f map[string][]byte) {
			p := fx.shardPaths()[len(fx.shardPaths())-1]
			f[p] = f[p][:len(f[p])-4]
		}, "shard group1-shard" + fmt.Sprint(len(newKerasFixture(t, arch, "caffe", 1e-3).shardPaths()))},
		{"missing shard", func(fx *kerasFixture, f map[string][]byte) { delete(f, fx.shardPaths()[0]) }, "shard group1-shard1of"},
		{"bad json", func(fx *kerasFixture, f map[string][]byte) { f["model.json"] = f["model.json"][:100] }, "model.json"},
		{"graph model", func(fx *kerasFixture, f map[string][]byte) {
			f["model.json"] = bytes.Replace(f["model.json"], []byte(`"layers-model"`), []byte(`"graph-model"`), 1)
		}, "graph-model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newKerasFixture(t, arch, "caffe", 1e-3)
			files := fx.files(t)
			c.alter(fx, files)
			_, err := fx.parse(t, files)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
			t.Log(err)
		})
	}

	// Alterations of the structure, rendered afterwards.
	structural := []struct {
		name  string
		alter func(fx *kerasFixture)
		want  string
	}{
		{"missing weight", func(fx *kerasFixture) {
			// Drop bn2a_branch2b/gamma from the manifest and its bytes.
			off := 0
			for i, w := range fx.weights {
				n := 4
				for _, d := range w["shape"].([]int) {
					n *= d
				}
				if w["name"] == "bn2a_branch2b/gamma" {
					fx.data = append(fx.data[:off:off], fx.data[off+n:]...)
					fx.weights = append(fx.weights[:i:i], fx.weights[i+1:]...)
					return
				}
				off += n
			}
		}, "missing weight bn2a_branch2b/gamma"},
		{"extra weight", func(fx *kerasFixture) {
			fx.weights = append(fx.weights, map[string]any{"name": "stray/kernel", "shape": []int{2}, "dtype": "float32"})
			fx.data = append(fx.data, make([]byte, 8)...)
		}, "stray/kernel"},
		{"unknown layer", func(fx *kerasFixture) {
			layerNamed(fx, "add_0")["class_name"] = "Multiply"
		}, "Multiply"},
		{"renamed conv", func(fx *kerasFixture) {
			layerNamed(fx, "res2a_branch2b")["name"] = "my_conv"
		}, "my_conv"},
		{"stride moved", func(fx *kerasFixture) {
			layerNamed(fx, "res3a_branch1")["config"].(map[string]any)["strides"] = []int{1, 1}
		}, "res3a_branch1"},
		{"both strides", func(fx *kerasFixture) {
			layerNamed(fx, "res3a_branch2b")["config"].(map[string]any)["strides"] = []int{2, 2}
		}, "stride"},
		{"different eps", func(fx *kerasFixture) {
			layerNamed(fx, "bn4a_branch2c")["config"].(map[string]any)["epsilon"] = 1e-5
		}, "bn4a_branch2c: BatchNorm epsilon"},
		{"no stem padding", func(fx *kerasFixture) {
			layerNamed(fx, "conv1")["inbound_nodes"] = []any{[]any{[]any{"input_1", 0, 0, map[string]any{}}}}
		}, "layer conv1: kernel 7 stride 2 padding 0"},
		{"pool padding same", func(fx *kerasFixture) {
			layerNamed(fx, "max_pooling2d")["config"].(map[string]any)["padding"] = "same"
		}, "max_pooling2d"},
		{"missing add", func(fx *kerasFixture) {
			layerNamed(fx, "add_1")["class_name"] = "Activation"
			layerNamed(fx, "add_1")["config"] = map[string]any{"activation": "relu"}
		}, "Add layers"},
		{"relu skipped", func(fx *kerasFixture) {
			layerNamed(fx, "res3a_branch2b")["inbound_nodes"] = []any{[]any{[]any{"bn3a_branch2a", 0, 0, map[string]any{}}}}
		}, "layer res3a_branch2b takes [bn3a_branch2a], but the ResNet feeds it [res3a_branch2a_relu]"},
		{"shortcut rewired", func(fx *kerasFixture) {
			layerNamed(fx, "add_1")["inbound_nodes"] = []any{[]any{[]any{"bn3a_branch2c", 0, 0, map[string]any{}}, []any{"max_pooling2d", 0, 0, map[string]any{}}}}
		}, "block layer2.0: no Add of"},
		{"channels first", func(fx *kerasFixture) {
			layerNamed(fx, "res2a_branch2a")["config"].(map[string]any)["data_format"] = "channels_first"
		}, "channels_first"},
	}
	for _, c := range structural {
		t.Run(c.name, func(t *testing.T) {
			fx := newKerasFixture(t, arch, "caffe", 1e-3)
			c.alter(fx)
			_, err := fx.parse(t, fx.files(t))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

// TestKerasLayerNames maps both Keras naming schemes, including the Caffe
// ResNet-101/152 "b<n>" blocks.
func TestKerasLayerNames(t *testing.T) {
	for _, c := range []struct {
		keras, conv, bn string
		isBN            bool
	}{
		{"conv1", "conv1", "bn1", false},
		{"bn_conv1", "conv1", "bn1", true},
		{"res2a_branch2a", "layer1.0.conv1", "layer1.0.bn1", false},
		{"bn4f_branch2c", "layer3.5.conv3", "layer3.5.bn3", true},
		{"res5a_branch1", "layer4.0.downsample.0", "layer4.0.downsample.1", false},
		{"bn3a_branch1", "layer2.0.downsample.0", "layer2.0.downsample.1", true},
		{"res4b22_branch2b", "layer3.22.conv2", "layer3.22.bn2", false},
		{"conv1_conv", "conv1", "bn1", false},
		{"conv3_block4_3_conv", "layer2.3.conv3", "layer2.3.bn3", false},
		{"conv5_block1_0_bn", "layer4.0.downsample.0", "layer4.0.downsample.1", true},
	} {
		conv, bn, isBN, ok, err := kerasLayer(c.keras)
		if err != nil || !ok || conv != c.conv || bn != c.bn || isBN != c.isBN {
			t.Errorf("kerasLayer(%s) = %s %s %v %v %v", c.keras, conv, bn, isBN, ok, err)
		}
	}
	for _, name := range []string{"fc1000", "res6a_branch2a", "res2a_branch3", "conv2_block1_preact_bn", "res4c1_branch2a"} {
		_, _, _, ok, err := kerasLayer(name)
		if ok && err == nil {
			t.Errorf("kerasLayer(%s) accepted", name)
		}
	}
}

// TestDecodeTFJSQuantized undoes TF.js uint8/uint16/float16 weight
// quantization.
func TestDecodeTFJSQuantized(t *testing.T) {
	q := func(dtype string, scale, min float64) tfjsWeight {
		w := tfjsWeight{Name: "w", Shape: []int{3}, DType: "float32"}
		w.Quantization = &struct {
			DType string  `json:"dtype"`
			Scale float64 `json:"scale"`
			Min   float64 `json:"min"`
		}{dtype, scale, min}
		return w
	}
	for _, c := range []struct {
		w    tfjsWeight
		b    []byte
		want []float32
	}{
		{q("uint8", 0.5, -1), []byte{0, 2, 255}, []float32{-1, 0, 126.5}},
		{q("uint16", 0.25, 1), []byte{0, 0, 4, 0, 0, 1}, []float32{1, 2, 65}},
		{q("float16", 0, 0), []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38}, []float32{1, -2, 0.5}},
	} {
		n, err := tfjsWeightBytes(c.w)
		if err != nil || n != int64(len(c.b)) {
			t.Errorf("%s: %d bytes, %v", c.w.Quantization.DType, n, err)
			continue
		}
		got, err := decodeTFJSWeight(c.w, c.b)
		if err != nil || !slices.Equal(got.Data, c.want) {
			t.Errorf("%s: %v, %v, want %v", c.w.Quantization.DType, got, err, c.want)
		}
	}
	if _, err := decodeTFJSWeight(tfjsWeight{Name: "i", Shape: []int{1}, DType: "int32"}, make([]byte, 4)); err == nil {
		t.Error("int32 weight accepted")
	}
}

// TestTFJSNeverPanics removes each layer in turn and gives each weight a
// degenerate shape: every variant must be an error, never a panic.
func TestTFJSNeverPanics(t *testing.T) {
	arch := tinyArch(model.Bottleneck, [4]int{1, 1, 1, 1}, model.V1)
	base := newKerasFixture(t, arch, "caffe", 1e-3)
	try := func(what string, fx *kerasFixture) {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic %v", what, r)
			}
		}()
		if _, err := fx.parse(t, fx.files(t)); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	for i := range base.layers {
		fx := *base
		fx.layers = slices.Delete(slices.Clone(base.layers), i, i+1)
		try(fmt.Sprintf("without layer %v", base.layers[i]["name"]), &fx)
	}
	for i := range base.weights {
		for _, shape := range [][]int{{}, {0}, {1, 1, 1, 1, 1}} {
			fx := *base
			fx.weights = slices.Clone(base.weights)
			w := map[string]any{}
			for k, v := range base.weights[i] {
				w[k] = v
			}
			w["shape"] = shape
			fx.weights[i] = w
			try(fmt.Sprintf("%v with shape %v", w["name"], shape), &fx)
		}
	}
}
