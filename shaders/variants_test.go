package shaders

import (
	"strings"
	"testing"
	"text/template/parse"

	"github.com/gogpu/gputypes"
	"github.com/residual-webgpu/residual/model"
)

// TestKernelVariantsCompile compiles every shape of generated WGSL the
// engine can emit (vec4 and scalar input and output, residual, ReLU, every
// the device's chosen tile and a small odd one, 1×1, 3×3 and 7×7 kernels;
// both pooling entry points on vec4 and scalar channels; fc on vec4 and
// scalar features; conv and fc on int8 and f32 weights) into a pipeline on
// the device.
func TestKernelVariantsCompile(t *testing.T) {
	d := device(t)
	n := 0
	for _, c := range []model.Conv{
		{Name: "v-vec", Cin: 8, Cout: 8, Kernel: 3, Stride: 1, Pad: 1, Groups: 1},
		{Name: "v-scalar", Cin: 6, Cout: 6, Kernel: 3, Stride: 2, Pad: 1, Groups: 2},
		{Name: "v-stem", Cin: 3, Cout: 8, Kernel: 7, Stride: 2, Pad: 3, Groups: 1},
		{Name: "v-1x1", Cin: 16, Cout: 12, Kernel: 1, Stride: 2, Pad: 0, Groups: 1},
	} {
		for _, res := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				for _, f32 := range []bool{false, true} {
					g, err := newConvGeom(c, 2, 9, 9, res, relu)
					if err != nil {
						t.Fatal(err)
					}
					g.F32 = f32
					// Other classes' tiles are checked by TestConvMatchesReference.
					for _, tl := range []convTile{chooseTile(g, d.class), {WG: 8, TM: 2, TN: 4}} {
						if _, err := d.convKernel(g, tl); err != nil {
							t.Fatalf("%s res=%v relu=%v f32=%v tile %+v: %v", c.Name, res, relu, f32, tl, err)
						}
						n++
					}
				}
			}
		}
	}
	for _, ch := range []int{8, 5} {
		p := poolGeom{B: 2, H: 9, W: 7, C: ch}
		if _, _, _, err := d.maxPoolKernel(p); err != nil {
			t.Fatalf("maxpool C=%d: %v", ch, err)
		}
		if _, _, _, err := d.avgPoolKernel(p); err != nil {
			t.Fatalf("avgpool C=%d: %v", ch, err)
		}
		for _, f32 := range []bool{false, true} {
			f := fcGeom{B: 5, In: ch * 4, Out: 10, F32: f32}
			if ch%4 != 0 {
				f.In = ch
			}
			src, err := genFC(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.kernel("fc", src, []bool{false, false, false, true}); err != nil {
				t.Fatalf("fc %+v: %v", f, err)
			}
			n++
		}
		n += 2
	}
	t.Logf("%d pipelines compiled", n)
}

func TestCheckLimits(t *testing.T) {
	l := gputypes.DefaultLimits()
	if err := checkLimits(l); err != nil {
		t.Fatalf("WebGPU default limits rejected: %v", err)
	}
	l.MaxStorageBuffersPerShaderStage = 4
	if err := checkLimits(l); err == nil {
		t.Fatal("4 storage buffers per stage accepted; the residual conv binds 5")
	}
}

func TestRenderChecksPlaceholders(t *testing.T) {
	full := poolSrc{B: 1, H: 1, W: 1, CU: 1, HO: 1, WO: 1, NX: 1, WG: 64}
	if _, err := render("pool.wgsl", full); err != nil {
		t.Fatalf("complete values rejected: %v", err)
	}
	// A value the template names but the data lacks.
	missing := struct {
		B, H, W, CU, WO, NX, WG int
		Vec                     bool
	}{1, 1, 1, 1, 1, 1, 64, false}
	if _, err := render("pool.wgsl", missing); err == nil || !strings.Contains(err.Error(), "HO") {
		t.Fatalf("missing HO: got %v", err)
	}
	// A value the template does not use.
	extra := struct {
		poolSrc
		Extra int
	}{full, 1}
	if _, err := render("pool.wgsl", extra); err == nil || !strings.Contains(err.Error(), "Extra") {
		t.Fatalf("unused Extra: got %v", err)
	}
	// Fields of the structs a template ranges over count too.
	if got := unusedFields(mustTemplate(t, "conv.wgsl"), struct{ Pixels []struct{ I, Spare int } }{}); len(got) != 1 || got[0] != "Pixels.Spare" {
		t.Fatalf("unused nested field: got %v", got)
	}
	if _, err := render("nope.wgsl", nil); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := render(commonWGSL, nil); err == nil {
		t.Fatal("the snippets file rendered as a kernel")
	}
}

func mustTemplate(t *testing.T, file string) map[string]*parse.Tree {
	t.Helper()
	ts, err := templates()
	if err != nil {
		t.Fatal(err)
	}
	return ts[file]
}

// TestChooseTileFillsLanes checks that small images do not leave most of
// a workgroup idle and that tiles fit narrow groups.
func TestChooseTileFillsLanes(t *testing.T) {
	for _, size := range []int{56, 14, 7, 1} {
		g, err := newConvGeom(model.Conv{Name: "c", Cin: 64, Cout: 64, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 1, size, size, false, true)
		if err != nil {
			t.Fatal(err)
		}
		tl := chooseTile(g, classLavapipe)
		lanes := (g.M() + tl.TM - 1) / tl.TM
		if tl.WG%8 != 0 || (lanes >= 8 && tl.WG > lanes+7) {
			t.Errorf("%dx%d: tile %+v for %d busy lanes", size, size, tl, lanes)
		}
	}
	// SwiftShader: never worse than the fixed 16-pixel tile by its own
	// estimate, and layers of half a tile or less get smaller tiles.
	for _, size := range []int{1, 2, 3, 4, 5, 7, 8, 9, 14, 28, 56} {
		g, _ := newConvGeom(model.Conv{Name: "c", Cin: 64, Cout: 64, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 1, size, size, false, true)
		tl := chooseTile(g, classSwiftShader)
		if tl.TM != 4 && tl.TM != 8 && tl.TM != 16 || swiftShaderCost(g.M(), tl.TM) > swiftShaderCost(g.M(), 16) {
			t.Errorf("swiftshader %dx%d: tile %+v", size, size, tl)
		}
		if g.M() <= 8 && tl.TM == 16 {
			t.Errorf("swiftshader %dx%d (%d pixels): 16-pixel tile", size, size, g.M())
		}
	}
	g, _ := newConvGeom(model.Conv{Name: "c", Cin: 128, Cout: 128, Kernel: 3, Stride: 1, Pad: 1, Groups: 32}, 1, 8, 8, false, true)
	for _, c := range []adapterClass{classLavapipe, classSwiftShader, classGPU} {
		if tl := chooseTile(g, c); tl.TN != 4 {
			t.Errorf("%s: groups of 4 channels got TN %d", c, tl.TN)
		}
	}
}

// TestSwiftShaderShuffles checks, in Chromium, that SwiftShader's device
// got the subgroups feature (asked for behind wgpu's back) and that its
// conv tiles use it: losing either would silently cost ~10%.
func TestSwiftShaderShuffles(t *testing.T) {
	d := device(t)
	if d.class != classSwiftShader {
		t.Skipf("adapter %s is not SwiftShader", d.Name())
	}
	if !d.sub4 {
		t.Fatal("SwiftShader device without subgroups of 4: the subgroups feature was not granted")
	}
	g := testGeom(model.Conv{Name: "c", Cin: 64, Cout: 64, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 1, 56, 56)
	if tl := d.tile(g); !tl.Shuffle {
		t.Fatalf("SwiftShader tile %+v is not shuffled", tl)
	}
}
