package convert

import (
	"fmt"
	"slices"

	"github.com/residual-webgpu/residual/model"
)

// checkLayout sets arch's variant from where the first strided block puts
// its stride, then checks the Keras graph against arch's layout: every conv's
// kernel, stride, padding and groups, the max pool and the residual adds.
func (t *kerasTopology) checkLayout(arch *model.Arch) error {
	byPrefix := map[string]kerasConv{}
	for _, c := range t.convs {
		byPrefix[c.prefix] = c
	}
	if arch.Block == model.Bottleneck {
		c1, c2 := byPrefix["layer2.0.conv1"], byPrefix["layer2.0.conv2"]
		switch {
		case c1.stride == 2 && c2.stride == 1:
			arch.Variant = model.V1
		case c1.stride == 1 && c2.stride == 2:
			arch.Variant = model.V15
		default:
			return fmt.Errorf("layer %s/%s: strides %d and %d: the first block of stage 3 must stride 2 once", c1.layer, c2.layer, c1.stride, c2.stride)
		}
	}
	net, err := arch.Net()
	if err != nil {
		return err
	}
	for _, want := range net.Convs() {
		c, ok := byPrefix[want.Name]
		if !ok {
			return fmt.Errorf("model_config: no Keras layer for %s", want.Name)
		}
		pad, err := t.effectivePad(c.layer, c.inbound, c.padding, c.kernel, c.stride)
		if err != nil {
			return err
		}
		if c.kernel != want.Kernel || c.stride != want.Stride || pad != want.Pad || c.groups != want.Groups {
			return fmt.Errorf("layer %s: kernel %d stride %d padding %d groups %d, but %s of %s %s has kernel %d stride %d padding %d groups %d",
				c.layer, c.kernel, c.stride, pad, c.groups, want.Name, arch.Name, arch.Variant, want.Kernel, want.Stride, want.Pad, want.Groups)
		}
	}
	if len(t.pools) != 1 {
		return fmt.Errorf("model_config: %d MaxPooling2D layers, want the stem's one", len(t.pools))
	}
	p := t.pools[0]
	pad, err := t.effectivePad(p.layer, p.inbound, p.padding, p.size, p.stride)
	if err != nil {
		return err
	}
	if p.size != model.PoolKernel || p.stride != model.PoolStride || pad != model.PoolPad {
		return fmt.Errorf("layer %s: max pool %d stride %d padding %d, want %d stride %d padding %d",
			p.layer, p.size, p.stride, pad, model.PoolKernel, model.PoolStride, model.PoolPad)
	}
	blocks := 0
	for _, n := range arch.Layers {
		blocks += n
	}
	if t.adds != blocks {
		return fmt.Errorf("model_config: %d Add layers for %d residual blocks", t.adds, blocks)
	}
	return t.checkGraph(net)
}

// checkGraph follows the Keras graph along the layout net describes and
// checks that every layer is fed as the forward pass will run it: the stem
// conv from the input, each BatchNorm from its conv, a ReLU after every BN
// but a block's last, each block's convs and shortcut from the block's
// input, an Add of branch and shortcut followed by a ReLU, then pooling and
// the classifier. Names alone could hide a missing activation or a rewired
// shortcut; this cannot.
func (t *kerasTopology) checkGraph(net model.Net) error {
	// through resolves a layer to the layer really producing its values,
	// looking through padding and dropout.
	through := func(name string) string {
		for range len(t.nodes) {
			n, ok := t.nodes[name]
			if !ok || (n.class != "ZeroPadding2D" && n.class != "Dropout") || len(n.inputs) != 1 {
				break
			}
			name = n.inputs[0]
		}
		return name
	}
	inputs := func(name string) []string {
		var in []string
		for _, s := range t.nodes[name].inputs {
			in = append(in, through(s))
		}
		return in
	}
	reluAfter := map[string]string{} // producer → the ReLU taking it
	addOf := map[[2]string]string{}  // sorted input pair → the Add taking it
	poolAfter := map[string]string{} // producer → the average pool taking it
	for _, name := range sortedKeys(t.nodes) {
		n, in := t.nodes[name], inputs(name)
		switch {
		case n.relu && len(in) == 1:
			reluAfter[in[0]] = name
		case n.class == "Add" && len(in) == 2:
			p := [2]string{in[0], in[1]}
			if p[0] > p[1] {
				p[0], p[1] = p[1], p[0]
			}
			addOf[p] = name
		case (n.class == "GlobalAveragePooling2D" || n.class == "AveragePooling2D") && len(in) == 1:
			poolAfter[in[0]] = name
		}
	}
	expect := func(layer string, want ...string) error {
		if got := inputs(layer); !slices.Equal(got, want) {
			return fmt.Errorf("model_config: layer %s takes %v, but the ResNet feeds it %v", layer, got, want)
		}
		return nil
	}
	relu := func(after string) (string, error) {
		r, ok := reluAfter[after]
		if !ok {
			return "", fmt.Errorf("model_config: no ReLU after layer %s", after)
		}
		return r, nil
	}
	convs := map[string]string{}
	for _, c := range t.convs {
		convs[c.prefix] = c.layer
	}
	bns := map[string]string{}
	for _, b := range t.bns {
		bns[b.prefix] = b.layer
	}
	// convBN checks a conv fed by in and its BatchNorm, returning the BN.
	convBN := func(c model.Conv, in string) (string, error) {
		kc, kb := convs[c.Name], bns[c.BN]
		if kc == "" || kb == "" {
			return "", fmt.Errorf("model_config: no Keras conv or BatchNorm for %s", c.Name)
		}
		if err := expect(kc, in); err != nil {
			return "", err
		}
		return kb, expect(kb, kc)
	}

	if t.input == "" {
		return fmt.Errorf("model_config: no InputLayer")
	}
	prog, err := net.Layout()
	if err != nil {
		return err
	}
	// name is the Keras layer holding each program tensor's values.
	name := make([]string, len(prog.Tensors))
	name[prog.Input] = t.input
	for _, op := range prog.Ops {
		in, out := name[op.In], ""
		var err error
		switch op.Kind {
		case model.OpConv:
			if out, err = convBN(op.Conv, in); err != nil {
				return err
			}
			if op.Residual >= 0 {
				p := [2]string{out, name[op.Residual]}
				if p[0] > p[1] {
					p[0], p[1] = p[1], p[0]
				}
				add, ok := addOf[p]
				if !ok {
					return fmt.Errorf("model_config: block %s: no Add of %s and %s", prog.Stages[op.Stage].Blocks[op.Block].Name, out, name[op.Residual])
				}
				out = add
			}
			if op.ReLU {
				out, err = relu(out)
			}
		case model.OpReLU:
			out, err = relu(in)
		case model.OpMaxPool:
			out = t.pools[0].layer
			err = expect(out, in)
		case model.OpAvgPool:
			var ok bool
			if out, ok = poolAfter[in]; !ok {
				err = fmt.Errorf("model_config: no average pooling after layer %s", in)
			}
		case model.OpFlatten:
			out = in // Keras may flatten or not: the classifier looks through it
		case model.OpFC:
			head := inputs(t.dense.layer)
			for len(head) == 1 && t.nodes[head[0]].class == "Flatten" {
				head = inputs(head[0])
			}
			if !slices.Equal(head, []string{in}) {
				err = fmt.Errorf("model_config: classifier %s takes %v, want the average pool %s", t.dense.layer, head, in)
			}
			out = t.dense.layer
		default:
			err = fmt.Errorf("model_config: no Keras check for op kind %q", op.Kind)
		}
		if err != nil {
			return err
		}
		name[op.Out] = out
	}
	return nil
}
