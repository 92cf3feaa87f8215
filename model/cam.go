package model

import "fmt"

// CAM is a class activation map of one image for one class (Zhou et al.,
// "Learning Deep Features for Discriminative Localization", 2016): for a
// ResNet, whose classifier is a global average pool then one fc, it is
// exact. With f the features the pool reads ([C,H,W], layer4's output)
// and w, b the fc's weight row and bias of the class,
//
//	Values[y*W+x] = Σ_c w[c]·f[c,y,x] + b
//
// the logit the class would get if every position looked like this one,
// so that the map's mean is exactly the class's logit (the bias only
// shifts the map: it makes no difference once normalised). Values are raw
// (not normalised): Normalized scales them for display.
type CAM struct {
	Class  int       `json:"class"` // the class index, as Prediction.Index
	W      int       `json:"w"`
	H      int       `json:"h"`
	Values []float32 `json:"values"` // H×W, row-major
}

// Normalized returns the map scaled to [0,1] (its minimum 0, its maximum
// 1; all zero when the map is flat), the form the overlays show.
func (c *CAM) Normalized() []float32 {
	out := make([]float32, len(c.Values))
	if len(c.Values) == 0 {
		return out
	}
	lo, hi := c.Values[0], c.Values[0]
	for _, v := range c.Values {
		lo, hi = min(lo, v), max(hi, v)
	}
	if !(hi > lo) {
		return out
	}
	for i, v := range c.Values {
		out[i] = (v - lo) / (hi - lo)
	}
	return out
}

// Peak is the position of the map's largest value (the first one in row
// order when several tie).
func (c *CAM) Peak() (x, y int) {
	best := 0
	for i, v := range c.Values {
		if v > c.Values[best] {
			best = i
		}
	}
	if c.W < 1 {
		return 0, 0
	}
	return best % c.W, best / c.W
}

// CAMTap is where a Program's class activation maps come from, found from
// its ops alone (not from stage names).
type CAMTap struct {
	// Features is the tensor the global average pool reads: [B,C,H,W].
	Features int
	// FC is the index in Ops of the classifier, whose weight [classes,C]
	// and bias weigh those channels.
	FC int
}

// CAMTap finds the tensor feeding the global average pool that leads
// (through a flatten view) to the classifier producing the Program's
// output, and that classifier. It fails for a network where the output is
// not an fc of pooled features, where a CAM is not exact.
func (p *Program) CAMTap() (CAMTap, error) {
	if p.Output < 0 || p.Output >= len(p.Tensors) {
		return CAMTap{}, fmt.Errorf("cam: program has no output")
	}
	fc := p.Tensors[p.Output].Producer
	if fc < 0 || p.Ops[fc].Kind != OpFC {
		return CAMTap{}, fmt.Errorf("cam: the output is not computed by an fc")
	}
	t := p.Ops[fc].In
	for p.Tensors[t].ViewOf >= 0 {
		t = p.Tensors[t].ViewOf
	}
	pool := p.Tensors[t].Producer
	if pool < 0 || p.Ops[pool].Kind != OpAvgPool {
		return CAMTap{}, fmt.Errorf("cam: %s does not read a global average pool", p.Ops[fc].Name)
	}
	feat := p.Ops[pool].In
	s := p.Tensors[feat].Shape
	if len(s) != 4 || s[1] != p.Ops[fc].FC.In {
		return CAMTap{}, fmt.Errorf("cam: pooled features %v do not match %s's %d inputs", s, p.Ops[fc].Name, p.Ops[fc].FC.In)
	}
	return CAMTap{Features: feat, FC: fc}, nil
}
