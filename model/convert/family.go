package convert

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/residual-webgpu/residual/model"
)

// errNotResNet starts the error for a state dict of another network; -arch
// cannot help with it.
var errNotResNet = errors.New("this is not a torchvision ResNet")

// family is a network family other than torchvision's ResNet, told by
// tensor names its state dicts always hold (torchvision's module paths,
// which the weights of every training script that builds these models
// share). refine, when set, names the member (a VGG-11, a DenseNet-121).
type family struct {
	name   string
	keys   []string
	refine func(shapes map[string][]int) string
}

// families are the state dicts people are likely to hand a ResNet
// converter by mistake: torchvision's other classifiers, timm's
// non-torchvision naming, and Hugging Face's ResNet.
var families = []family{
	{"a MobileNetV2", []string{"features.0.0.weight", "features.1.conv.0.0.weight", "classifier.1.weight"}, nil},
	{"a MobileNetV3", []string{"features.0.0.weight", "features.1.block.0.0.weight", "classifier.3.weight"}, nil},
	{"an EfficientNet", []string{"features.0.0.weight", "features.1.0.block.0.0.weight", "classifier.1.weight"}, nil},
	{"a ConvNeXt", []string{"features.0.0.weight", "features.1.0.block.0.weight", "classifier.2.weight"}, nil},
	{"a Swin Transformer", []string{"features.0.0.weight", "features.1.0.attn.qkv.weight", "head.weight"}, nil},
	{"a VGG", []string{"features.0.weight", "classifier.0.weight", "classifier.6.weight"}, vggName},
	{"an AlexNet", []string{"features.0.weight", "classifier.1.weight", "classifier.6.weight"}, nil},
	{"a SqueezeNet", []string{"features.0.weight", "features.3.squeeze.weight", "classifier.1.weight"}, nil},
	{"a DenseNet", []string{"features.conv0.weight", "features.norm5.weight", "classifier.weight"}, denseNetName},
	{"a GoogLeNet", []string{"conv1.conv.weight", "inception3a.branch1.conv.weight", "fc.weight"}, nil},
	{"an Inception v3", []string{"Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.conv.weight", "fc.weight"}, nil},
	{"a ShuffleNetV2", []string{"conv1.0.weight", "stage2.0.branch2.0.weight", "fc.weight"}, nil},
	{"an MNASNet", []string{"layers.0.weight", "layers.3.weight", "classifier.1.weight"}, nil},
	{"a RegNet", []string{"stem.0.weight", "trunk_output.block1.block1-0.f.a.0.weight", "fc.weight"}, nil},
	{"a MaxViT", []string{"stem.0.0.weight", "blocks.0.layers.0.layers.MBconv.layers.conv_a.0.weight", "classifier.5.weight"}, nil},
	{"a Vision Transformer", []string{"conv_proj.weight", "encoder.ln.weight", "heads.head.weight"}, nil},
	{"a timm Vision Transformer", []string{"patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "head.weight"}, nil},
	{"a timm EfficientNet or MobileNet", []string{"conv_stem.weight", "blocks.0.0.conv_dw.weight", "classifier.weight"}, nil},
	// timm's resnet*d/resnet*c replace the 7×7 stem by three 3×3 convs.
	{"a ResNet with a deep stem (timm's resnet*c or resnet*d)", []string{"conv1.0.weight", "conv1.3.weight", "layer1.0.conv1.weight"}, nil},
	{"a Hugging Face transformers ResNet (its tensor names are not torchvision's)", []string{"resnet.embedder.embedder.convolution.weight", "classifier.1.weight"}, nil},
}

// checkResNet refuses a state dict (tensor names and shapes) that is
// recognisably another network than a torchvision ResNet, naming what it
// is and the tensors that say so, before any of its data is read. A state
// dict with conv1.weight and layer1.0.conv1.weight, or one it does not
// recognise, passes: InferArch and CheckStateDict judge it in detail.
// Names may all carry one extra first component (a LightningModule's
// "model." attribute): families are recognised under it too.
func checkResNet(shapes map[string][]int) error {
	tries := []string{""}
	if p := commonFirstComponent(shapes); p != "" {
		tries = append(tries, p)
	}
	for _, p := range tries {
		if _, ok := shapes[p+"conv1.weight"]; ok {
			if _, ok := shapes[p+"layer1.0.conv1.weight"]; ok {
				return nil
			}
		}
		for _, f := range families {
			if !hasAll(shapes, p, f.keys) {
				continue
			}
			name := f.name
			if f.refine != nil {
				inner := shapes
				if p != "" {
					inner = map[string][]int{}
					for k, s := range shapes {
						inner[strings.TrimPrefix(k, p)] = s
					}
				}
				if r := f.refine(inner); r != "" {
					name = r
				}
			}
			keys := make([]string, len(f.keys))
			for i, k := range f.keys {
				keys[i] = p + k
			}
			return fmt.Errorf("%w (found %s: %s …); Residual runs %s, with any number of classes", errNotResNet, name, strings.Join(keys, ", "), supportedArchs())
		}
	}
	return nil
}

// noResNetKeys is the error for a state dict that has neither a ResNet's
// stem nor its first block, and that checkResNet does not recognise.
func noResNetKeys(names []string) error {
	sort.Strings(names)
	return fmt.Errorf("%w: it has neither conv1.weight nor layer1.0.conv1.weight (its %d tensors: %s); Residual runs %s, with any number of classes", errNotResNet, len(names), abbrev(names), supportedArchs())
}

// supportedArchs lists model.Names() for messages in the order people
// think of them, numbers compared as numbers: "resnet18, resnet34, …
// and wide_resnet101_2".
func supportedArchs() string {
	n := model.Names()
	sort.SliceStable(n, func(i, j int) bool { return naturalLess(n[i], n[j]) })
	return strings.Join(n[:len(n)-1], ", ") + " and " + n[len(n)-1]
}

// naturalLess compares strings with runs of digits compared as numbers
// (resnet34 before resnet101).
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			x, _ := strconv.Atoi(a[:da])
			y, _ := strconv.Atoi(b[:db])
			if x != y {
				return x < y
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

// digitRun is the length of the run of ASCII digits s starts with.
func digitRun(s string) int {
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// hasAll reports whether every key, under prefix, is in shapes.
func hasAll(shapes map[string][]int, prefix string, keys []string) bool {
	for _, k := range keys {
		if _, ok := shapes[prefix+k]; !ok {
			return false
		}
	}
	return true
}

// commonFirstComponent returns "x." when every name starts with the same
// component x followed by a dot, else "".
func commonFirstComponent(shapes map[string][]int) string {
	prefix := ""
	for k := range shapes {
		i := strings.IndexByte(k, '.')
		if i <= 0 {
			return ""
		}
		switch {
		case prefix == "":
			prefix = k[:i+1]
		case k[:i+1] != prefix:
			return ""
		}
	}
	return prefix
}

// vggName names a VGG by its conv count (features.N.weight of rank 4) and
// batch norm (features.N.running_var): torchvision's vgg11 … vgg19_bn.
func vggName(shapes map[string][]int) string {
	convs, bn := 0, false
	for k, s := range shapes {
		rest, ok := strings.CutPrefix(k, "features.")
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		if _, err := strconv.Atoi(idx); err != nil || !ok {
			continue
		}
		switch {
		case field == "weight" && len(s) == 4:
			convs++
		case field == "running_var":
			bn = true
		}
	}
	depth := map[int]int{8: 11, 10: 13, 13: 16, 16: 19}[convs]
	if depth == 0 {
		return ""
	}
	name := fmt.Sprintf("a VGG-%d (vgg%d", depth, depth)
	if bn {
		name += "_bn"
	}
	return name + ")"
}

// denseNetName names a DenseNet by its dense layers per block (torchvision
// names them features.denseblockB.denselayerL…, also in the older
// "conv.1" spelling of its published weights): densenet121 … densenet201.
func denseNetName(shapes map[string][]int) string {
	layers := map[int]map[int]bool{}
	for k := range shapes {
		rest, ok := strings.CutPrefix(k, "features.denseblock")
		if !ok {
			continue
		}
		b, rest, _ := strings.Cut(rest, ".denselayer")
		l, _, _ := strings.Cut(rest, ".")
		bi, err1 := strconv.Atoi(b)
		li, err2 := strconv.Atoi(l)
		if err1 != nil || err2 != nil {
			continue
		}
		if layers[bi] == nil {
			layers[bi] = map[int]bool{}
		}
		layers[bi][li] = true
	}
	var blocks []int
	for b := range layers {
		blocks = append(blocks, b)
	}
	sort.Ints(blocks)
	var counts []string
	for _, b := range blocks {
		counts = append(counts, strconv.Itoa(len(layers[b])))
	}
	name := map[string]string{"6,12,24,16": "121", "6,12,32,32": "169", "6,12,48,32": "201", "6,12,36,24": "161"}[strings.Join(counts, ",")]
	if name == "" {
		return ""
	}
	return fmt.Sprintf("a DenseNet-%s (densenet%s)", name, name)
}
