package shaders

import (
	"strings"
	"testing"
	"text/template"

	"github.com/residual-webgpu/residual/model/weights"
)

// TestTemplatesRunAsTextTemplate renders every kernel variant with
// tmpl.go's executor and with Go's text/template (which the app cannot
// link: see tmpl.go) and wants the same WGSL.
func TestTemplatesRunAsTextTemplate(t *testing.T) {
	std := func(file string, data any) string {
		t.Helper()
		tt, err := template.New(file).Option("missingkey=error").ParseFS(wgslFiles, commonWGSL, file)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := tt.Execute(&b, data); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	check := func(what, file, got string, data any) {
		t.Helper()
		if want := std(file, data); got != want {
			t.Fatalf("%s: executors differ\n--- ours\n%s\n--- text/template\n%s", what, got, want)
		}
	}
	n := 0
	for _, tc := range convCases {
		for _, f32 := range []bool{false, true} {
			g := testGeom(tc.c, tc.b, tc.h, tc.w)
			g.F32, g.Residual, g.ReLU = f32, tc.res, tc.relu
			tiles := append(testTiles(&Device{}, g), convTile{WG: 4, TM: 8, TN: 8, Window: true, LanesN: true, Shuffle: true})
			for _, tl := range tiles {
				if tl.Shuffle && !tl.canShuffle(g) {
					continue
				}
				tl.TN = max(4, tl.TN)
				src, err := genConv(g, tl)
				if err != nil {
					t.Fatal(err)
				}
				// genConv's data, rebuilt for text/template.
				check(convKind(g, tl), "conv.wgsl", src, convSrcOf(g, tl))
				n++
			}
		}
	}
	for _, f := range []fcGeom{{B: 1, In: 2048, Out: 1000}, {B: 3, In: 37, Out: 10, F32: true}} {
		src, err := genFC(f)
		if err != nil {
			t.Fatal(err)
		}
		check("fc", "fc.wgsl", src, fcSrcOf(f))
		n++
	}
	for _, c := range []int{64, 3} {
		p := poolGeom{B: 2, H: 9, W: 7, C: c}
		ho, wo := p.outSize()
		gx, _ := grid(p.B*ho*wo*p.units(), poolWG)
		data := poolSrc{B: p.B, H: p.H, W: p.W, CU: p.units(), HO: ho, WO: wo, NX: int(gx), WG: poolWG, Vec: p.C%4 == 0}
		src, err := render("pool.wgsl", data)
		if err != nil {
			t.Fatal(err)
		}
		check("pool", "pool.wgsl", src, data)
		n++
	}
	src, _, _, err := genNormalize(weights.TorchvisionPreprocess, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := channelShifts(weights.TorchvisionPreprocess)
	gx, _ := grid(1000, normWG)
	check("normalize", "normalize.wgsl", src, normSrc{N: 1000, NX: int(gx), WG: normWG, Shift: sh})
	t.Logf("%d kernels rendered alike", n+1)
}
