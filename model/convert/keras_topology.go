package convert

import (
	"encoding/json"
	"fmt"
)

// kerasTopology is what the converter keeps of a Keras functional model's
// layer list: the convs, BatchNorms and the classifier, and enough of the
// rest (paddings, the max pool, the residual adds) to check that the graph
// is the ResNet the weights will be run as.
type kerasTopology struct {
	convs []kerasConv
	bns   []kerasBN
	dense *kerasDense
	pads  map[string]int // ZeroPadding2D layer name → symmetric padding
	pools []kerasPool
	adds  int
	nodes map[string]kerasNode // every layer by name, for the graph check
	input string               // the InputLayer's name
}

// kerasNode is one layer of the graph: its class, whether it is a ReLU, and
// the layers feeding it.
type kerasNode struct {
	class  string
	relu   bool
	inputs []string
}

type kerasConv struct {
	layer   string // Keras name
	prefix  string // torchvision conv prefix
	inbound string // name of the layer feeding it
	filters int
	kernel  int
	stride  int
	padding string // "valid" or "same"
	groups  int
	useBias bool
}

type kerasBN struct {
	layer, prefix string
	eps           float64
	center, scale bool
}

type kerasDense struct {
	layer      string
	units      int
	useBias    bool
	activation string
}

type kerasPool struct {
	layer, inbound string
	size, stride   int
	padding        string
}

// kerasLayerJSON is one entry of model_config.config.layers.
type kerasLayerJSON struct {
	Name         string          `json:"name"`
	ClassName    string          `json:"class_name"`
	Config       json.RawMessage `json:"config"`
	InboundNodes json.RawMessage `json:"inbound_nodes"`
}

// kerasConfig holds the config fields of the layer classes the converter
// reads; each class uses its own subset.
type kerasConfig struct {
	Name         string          `json:"name"`
	Filters      int             `json:"filters"`
	KernelSize   intPair         `json:"kernel_size"`
	Strides      intPair         `json:"strides"`
	PoolSize     intPair         `json:"pool_size"`
	Padding      json.RawMessage `json:"padding"`
	DataFormat   string          `json:"data_format"`
	DilationRate *intPair        `json:"dilation_rate"`
	Groups       int             `json:"groups"`
	UseBias      *bool           `json:"use_bias"`
	Activation   string          `json:"activation"`
	Epsilon      float64         `json:"epsilon"`
	Axis         json.RawMessage `json:"axis"`
	Center       *bool           `json:"center"`
	Scale        *bool           `json:"scale"`
	Units        int             `json:"units"`
	MaxValue     *float64        `json:"max_value"`
	BatchInput   []*int          `json:"batch_input_shape"`
}

// intPair is a Keras size argument: an int or a list of two equal ints.
type intPair int

// UnmarshalJSON accepts n or [n, n]; unequal pairs are refused since every
// ResNet layer is square.
func (p *intPair) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = intPair(n)
		return nil
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want an int or a list of ints, got %s", b)
	}
	if len(l) == 0 || len(l) > 2 || l[0] != l[len(l)-1] {
		return fmt.Errorf("non-square size %v is not supported", l)
	}
	*p = intPair(l[0])
	return nil
}

// parseKerasTopology reads modelTopology: either {"model_config": {…}} as
// tfjs-converter writes it, or the model config itself.
func parseKerasTopology(raw json.RawMessage) (*kerasTopology, error) {
	var wrap struct {
		ModelConfig json.RawMessage `json:"model_config"`
	}
	if err := json.Unmarshal(raw, &wrap); err != nil {
		return nil, fmt.Errorf("modelTopology: %w", err)
	}
	if len(wrap.ModelConfig) > 0 {
		raw = wrap.ModelConfig
	}
	var mc struct {
		ClassName string          `json:"class_name"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &mc); err != nil {
		return nil, fmt.Errorf("model_config: %w", err)
	}
	if mc.ClassName != "Model" && mc.ClassName != "Functional" {
		return nil, fmt.Errorf("model_config: class %q is not a Keras functional model (a Keras ResNet is a Model)", mc.ClassName)
	}
	var cfg struct {
		Layers []kerasLayerJSON `json:"layers"`
	}
	if err := json.Unmarshal(mc.Config, &cfg); err != nil {
		return nil, fmt.Errorf("model_config.config: %w", err)
	}
	if len(cfg.Layers) == 0 {
		return nil, fmt.Errorf("model_config: no layers")
	}
	t := &kerasTopology{pads: map[string]int{}, nodes: map[string]kerasNode{}}
	for _, l := range cfg.Layers {
		if err := t.add(l); err != nil {
			return nil, err
		}
	}
	if t.dense == nil {
		return nil, fmt.Errorf("model_config: no Dense classifier layer")
	}
	return t, nil
}

// add records one layer, refusing layer kinds and settings a ResNet does not
// have.
func (t *kerasTopology) add(l kerasLayerJSON) error {
	var c kerasConfig
	if err := json.Unmarshal(l.Config, &c); err != nil {
		return fmt.Errorf("layer %s (%s): config: %w", l.Name, l.ClassName, err)
	}
	name := l.Name
	if name == "" {
		name = c.Name
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("layer %s (%s): %s", name, l.ClassName, fmt.Sprintf(format, a...))
	}
	if _, dup := t.nodes[name]; dup || name == "" {
		return fail("layer name empty or used twice")
	}
	inputs := inboundNames(l.InboundNodes)
	t.nodes[name] = kerasNode{class: l.ClassName, inputs: inputs,
		relu: (l.ClassName == "Activation" && c.Activation == "relu") || l.ClassName == "ReLU"}
	first := ""
	if len(inputs) > 0 {
		first = inputs[0]
	}
	if c.DataFormat != "" && c.DataFormat != "channels_last" {
		return fail("data_format %q is not supported (want channels_last)", c.DataFormat)
	}
	switch l.ClassName {
	case "InputLayer":
		if t.input != "" {
			return fail("a second input")
		}
		t.input = name
		if len(c.BatchInput) == 4 && (c.BatchInput[3] == nil || *c.BatchInput[3] != 3) {
			return fail("input must have 3 channels last")
		}
	case "ZeroPadding2D":
		p, err := symmetricPadding(c.Padding)
		if err != nil {
			return fail("%v", err)
		}
		t.pads[name] = p
	case "Conv2D":
		prefix, _, isBN, ok, err := kerasLayer(name)
		if err != nil {
			return err
		}
		if !ok || isBN {
			return fail("name is not a conv of the Keras ResNet naming (conv1, res2a_branch2a, conv2_block1_1_conv, …)")
		}
		if c.DilationRate != nil && *c.DilationRate != 1 {
			return fail("dilation %d is not supported", *c.DilationRate)
		}
		if c.Activation != "" && c.Activation != "linear" {
			return fail("activation %q inside the conv is not supported (ResNet convs are linear)", c.Activation)
		}
		var pad string
		if err := json.Unmarshal(c.Padding, &pad); err != nil || (pad != "valid" && pad != "same") {
			return fail("padding %s is not \"valid\" or \"same\"", c.Padding)
		}
		groups := c.Groups
		if groups == 0 {
			groups = 1
		}
		t.convs = append(t.convs, kerasConv{layer: name, prefix: prefix, inbound: first,
			filters: c.Filters, kernel: int(c.KernelSize), stride: int(c.Strides), padding: pad, groups: groups,
			useBias: c.UseBias == nil || *c.UseBias})
	case "BatchNormalization":
		_, prefix, isBN, ok, err := kerasLayer(name)
		if err != nil {
			return err
		}
		if !ok || !isBN {
			return fail("name is not a BatchNorm of the Keras ResNet naming (bn_conv1, bn2a_branch2a, conv2_block1_1_bn, …)")
		}
		if !lastAxis(c.Axis) {
			return fail("axis %s is not the channel axis (3 or -1)", c.Axis)
		}
		if c.Epsilon <= 0 {
			return fail("epsilon %g must be positive", c.Epsilon)
		}
		t.bns = append(t.bns, kerasBN{layer: name, prefix: prefix, eps: c.Epsilon,
			center: c.Center == nil || *c.Center, scale: c.Scale == nil || *c.Scale})
	case "Dense":
		if t.dense != nil {
			return fail("a second Dense layer (after %s): only a single fc classifier is supported", t.dense.layer)
		}
		switch c.Activation {
		case "", "linear", "softmax":
		default:
			return fail("activation %q is not supported (want softmax or linear)", c.Activation)
		}
		t.dense = &kerasDense{layer: name, units: c.Units, useBias: c.UseBias == nil || *c.UseBias, activation: c.Activation}
	case "Activation":
		if c.Activation != "relu" {
			return fail("activation %q is not supported (ResNet uses relu)", c.Activation)
		}
	case "ReLU":
		if c.MaxValue != nil {
			return fail("capped ReLU is not supported")
		}
	case "MaxPooling2D":
		var pad string
		_ = json.Unmarshal(c.Padding, &pad)
		t.pools = append(t.pools, kerasPool{layer: name, inbound: first,
			size: int(c.PoolSize), stride: int(c.Strides), padding: pad})
	case "Add":
		t.adds++
	case "GlobalAveragePooling2D", "AveragePooling2D", "Flatten", "Dropout":
		// The head: average pool (global, or 7×7 at 224×224 in old Keras) then fc.
	default:
		return fail("layer class %s is not part of a ResNet", l.ClassName)
	}
	return nil
}

// symmetricPadding reads a ZeroPadding2D padding (n, [n, n] or [[n, n], [n, n]])
// and returns n; asymmetric paddings are refused.
func symmetricPadding(raw json.RawMessage) (int, error) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, nil
	}
	var pair []int
	if json.Unmarshal(raw, &pair) == nil && len(pair) == 2 && pair[0] == pair[1] {
		return pair[0], nil
	}
	var quad [][]int
	if json.Unmarshal(raw, &quad) == nil && len(quad) == 2 && len(quad[0]) == 2 && len(quad[1]) == 2 &&
		quad[0][0] == quad[0][1] && quad[0][0] == quad[1][0] && quad[0][0] == quad[1][1] {
		return quad[0][0], nil
	}
	return 0, fmt.Errorf("padding %s is not symmetric", raw)
}

// lastAxis reports whether a BatchNorm axis is the channel axis of NHWC.
func lastAxis(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true // Keras' default is -1
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n == 3 || n == -1
	}
	var l []int
	return json.Unmarshal(raw, &l) == nil && len(l) == 1 && (l[0] == 3 || l[0] == -1)
}

// inboundNames returns the names of the layers feeding a layer through its
// first inbound node, in order: Keras 2 writes [[["name", 0, 0, {}], …]],
// Keras 3 nests "keras_history": ["name", 0, 0] inside each argument.
func inboundNames(raw json.RawMessage) []string {
	var nodes []any
	if json.Unmarshal(raw, &nodes) != nil || len(nodes) == 0 {
		return nil
	}
	var names []string
	if list, ok := nodes[0].([]any); ok {
		for _, in := range list {
			if ref, ok := in.([]any); ok && len(ref) > 0 {
				if s, ok := ref[0].(string); ok {
					names = append(names, s)
				}
			}
		}
		return names
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if h, ok := x["keras_history"].([]any); ok && len(h) > 0 {
				if s, ok := h[0].(string); ok {
					names = append(names, s)
				}
				return
			}
			for _, k := range sortedKeys(x) {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(nodes[0])
	return names
}

// effectivePad is a conv's or pool's symmetric spatial padding: a
// ZeroPadding2D feeding it plus its own "same" padding, which TensorFlow
// makes asymmetric for strided kernels larger than 1 (refused here: PyTorch
// has no such padding).
func (t *kerasTopology) effectivePad(layer, inbound, padding string, kernel, stride int) (int, error) {
	p := t.pads[inbound]
	switch padding {
	case "", "valid":
	case "same":
		if kernel%2 == 0 || (stride > 1 && kernel > 1) {
			return 0, fmt.Errorf("layer %s: TensorFlow \"same\" padding with kernel %d and stride %d is asymmetric; not supported", layer, kernel, stride)
		}
		p += (kernel - 1) / 2
	default:
		return 0, fmt.Errorf("layer %s: padding %q is not supported", layer, padding)
	}
	return p, nil
}
