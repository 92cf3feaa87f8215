package shaders

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// convCases are awkward shapes: odd sizes, channels that are not multiples
// of 4, strides, the 7×7/2 stem, 1×1/2 projections, groups, batch 3.
var convCases = []struct {
	c         model.Conv
	b, h, w   int
	res, relu bool
}{
	{model.Conv{Name: "stem", Cin: 3, Cout: 8, Kernel: 7, Stride: 2, Pad: 3, Groups: 1}, 2, 17, 15, false, true},
	{model.Conv{Name: "3x3", Cin: 8, Cout: 16, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 1, 9, 7, false, true},
	{model.Conv{Name: "3x3odd", Cin: 5, Cout: 7, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 3, 5, 6, true, true},
	{model.Conv{Name: "3x3s2", Cin: 12, Cout: 20, Kernel: 3, Stride: 2, Pad: 1, Groups: 1}, 3, 11, 9, false, false},
	{model.Conv{Name: "1x1", Cin: 16, Cout: 12, Kernel: 1, Stride: 1, Pad: 0, Groups: 1}, 2, 7, 7, true, true},
	{model.Conv{Name: "1x1s2", Cin: 6, Cout: 10, Kernel: 1, Stride: 2, Pad: 0, Groups: 1}, 3, 9, 8, false, false},
	{model.Conv{Name: "grouped", Cin: 16, Cout: 16, Kernel: 3, Stride: 1, Pad: 1, Groups: 2}, 2, 6, 5, false, true},
	{model.Conv{Name: "groupedodd", Cin: 12, Cout: 6, Kernel: 3, Stride: 2, Pad: 1, Groups: 3}, 3, 7, 7, false, true},
	{model.Conv{Name: "resnext", Cin: 32, Cout: 32, Kernel: 3, Stride: 1, Pad: 1, Groups: 8}, 1, 5, 5, false, true},
	// Four channel tiles of 16 a group: shuffled tiles stay within a group.
	{model.Conv{Name: "groupedwide", Cin: 32, Cout: 128, Kernel: 3, Stride: 1, Pad: 1, Groups: 2}, 1, 5, 6, true, true},
	{model.Conv{Name: "wide", Cin: 64, Cout: 72, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 1, 4, 3, true, true},
}

func TestConvMatchesReference(t *testing.T) { checkConvCases(t, 1, "", randConvWeights) }

// checkConvCases runs every conv case with weights from makeWeights, with
// the chosen tile and every test tile, against cpu.Conv2D on the same
// weights.
func checkConvCases(t *testing.T, seed int64, prefix string, makeWeights func(*rand.Rand, model.Conv) (w, b *weights.Tensor)) {
	d := device(t)
	r := rand.New(rand.NewSource(seed))
	for _, tc := range convCases {
		name := prefix + convName(tc.c, tc.b, tc.h, tc.w)
		x := randTensor(r, tc.b, tc.c.Cin, tc.h, tc.w)
		w, b := makeWeights(r, tc.c)
		var res *model.Tensor
		if tc.res {
			res = randTensor(r, tc.b, tc.c.Cout, tc.c.OutSize(tc.h), tc.c.OutSize(tc.w))
		}
		want, err := cpu.Conv2D(x, w, b, tc.c, res, tc.relu)
		if err != nil {
			t.Fatalf("%s: cpu reference: %v", name, err)
		}
		got, err := d.Conv2D(context.Background(), x, w, b, tc.c, res, tc.relu)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		compare(t, name, got, want, 1e-5)
		for _, tl := range testTiles(d, testGeom(tc.c, tc.b, tc.h, tc.w)) {
			got, err := d.conv2D(context.Background(), x, w, b, tc.c, res, tc.relu, &tl)
			if err != nil {
				t.Fatalf("%s tile %+v: %v", name, tl, err)
			}
			compare(t, fmt.Sprintf("%s tile %+v", name, tl), got, want, 1e-5)
		}
	}
}

// testTiles are the tiles every conv test runs besides the chosen one:
// every tile shape must give the same answer, so each adapter class's,
// odd ones, the largest, and where the device has subgroups of 4 (the
// browser's SwiftShader) shuffled ones.
func testTiles(d *Device, g convGeom) []convTile {
	tiles := []convTile{{WG: 8, TM: 1, TN: 4}, {WG: 16, TM: 3, TN: 16}, {WG: 4, TM: 3, TN: 8, Window: true, LanesN: true},
		{WG: 2, TM: 5, TN: 4, LanesN: true}, {WG: 64, TM: 8, TN: 8},
		chooseTile(g, classSwiftShader), chooseTile(g, classGPU), chooseTile(g, classLavapipe)}
	for _, tl := range []convTile{{WG: 4, TM: 8, TN: 8, Window: true, LanesN: true, Shuffle: true},
		{WG: 4, TM: 4, TN: 4, LanesN: true, Shuffle: true}} {
		if d.sub4 && tl.canShuffle(g) {
			tiles = append(tiles, tl)
		}
	}
	return tiles
}

// testGeom is the geometry of a test conv (valid by construction).
func testGeom(c model.Conv, b, h, w int) convGeom {
	geom, err := newConvGeom(c, b, h, w, false, false)
	if err != nil {
		panic(err)
	}
	return geom
}
