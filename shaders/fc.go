package shaders

import (
	"fmt"
	"strings"

	"github.com/residual-webgpu/residual/model/weights"
)

// fcGeom is a linear layer over a batch: x [B][In] → y [B][Out].
type fcGeom struct{ B, In, Out int }

const (
	fcWG = 64
	fcTB = 4 // batch rows per invocation
)

func (f fcGeom) k4() int   { return (f.In + 3) / 4 }
func (f fcGeom) np() int   { return (f.Out + 3) / 4 * 4 }
func (f fcGeom) vec() bool { return f.In%4 == 0 }

// packFC lays a linear layer's int8 weights out as [K4][NP] words, with NP
// scales then NP biases for the epilogue.
func packFC(f fcGeom, w, b *weights.Tensor) (words []uint32, ep []float32, err error) {
	if w == nil || b == nil {
		return nil, nil, fmt.Errorf("missing weight or bias")
	}
	if !sameShape(w.Shape, []int{f.Out, f.In}) {
		return nil, nil, fmt.Errorf("weight %s shape %v, want [%d %d]", w.Name, w.Shape, f.Out, f.In)
	}
	bias := b.Float()
	if len(bias) != f.Out {
		return nil, nil, fmt.Errorf("bias %s has %d values, want %d", b.Name, len(bias), f.Out)
	}
	q, scale, err := int8Of(w, f.Out)
	if err != nil {
		return nil, nil, err
	}
	np, k4 := f.np(), f.k4()
	words = make([]uint32, k4*np)
	ep = make([]float32, 2*np)
	for o := 0; o < f.Out; o++ {
		ep[o], ep[np+o] = scale[o], bias[o]
		for k := 0; k < f.In; k++ {
			words[(k/4)*np+o] |= uint32(uint8(q[o*f.In+k])) << (8 * (k % 4))
		}
	}
	return words, ep, nil
}

// genFC writes the fc kernel.
func genFC(f fcGeom) (string, error) {
	if f.B < 1 || f.In < 1 || f.Out < 1 {
		return "", fmt.Errorf("fc: bad shape %+v", f)
	}
	xt, xk := "f32", f.In
	if f.vec() {
		xt, xk = "vec4<f32>", f.In/4
	}
	var rows, acc, mac, epi strings.Builder
	for r := 0; r < fcTB; r++ {
		fmt.Fprintf(&rows, "    let xr%d = min(b0 + %du, B - 1u) * XK;\n", r, r)
		fmt.Fprintf(&acc, "    var a%d = vec4<f32>(0.0);\n", r)
		if f.vec() {
			fmt.Fprintf(&mac, "        let x%d = x[xr%d + k];\n", r, r)
		} else {
			fmt.Fprintf(&mac, "        let e%d = xr%d + 4u * k;\n", r, r)
			fmt.Fprintf(&mac, "        let x%d = vec4<f32>(x[e%d], x[e%d + 1u], x[e%d + 2u], x[e%d + 3u]);\n", r, r, r, r, r)
		}
		fmt.Fprintf(&mac, "        a%d += vec4<f32>(dot(x%d, w0), dot(x%d, w1), dot(x%d, w2), dot(x%d, w3));\n", r, r, r, r, r)
		fmt.Fprintf(&epi, "    if (b0 + %du < B) {\n        let z%d = a%d * sc + bi;\n", r, r, r)
		for c := 0; c < 4; c++ {
			fmt.Fprintf(&epi, "        if (o4 * 4u + %du < N) {\n            y[(b0 + %du) * N + o4 * 4u + %du] = z%d.%c;\n        }\n", c, r, c, r, "xyzw"[c])
		}
		fmt.Fprintf(&epi, "    }\n")
	}
	return render("fc.wgsl", map[string]string{"K4": u(f.k4()), "XK": u(xk), "N": u(f.Out), "NP4": u(f.np() / 4),
		"B": u(f.B), "TB": u(fcTB), "BOFF4": u(f.np() / 4),
		"XT": xt, "WG": fmt.Sprint(fcWG), "ROWS": rows.String(), "ACC": acc.String(), "MAC": mac.String(), "EPILOGUE": epi.String()})
}

// fcGrid is the dispatch size of the fc kernel.
func fcGrid(f fcGeom) (x, y uint32) {
	return uint32((f.np()/4 + fcWG - 1) / fcWG), uint32((f.B + fcTB - 1) / fcTB)
}
