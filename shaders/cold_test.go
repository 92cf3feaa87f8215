package shaders

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model"
)

// TestColdBreakdown (RESIDUAL_COLD=1) times a ResNet-50 plan's build and
// each slot's first and second submission, to see where a cold run's time
// goes. In Chromium on SwiftShader it showed the pipelines compile when
// created (the plan build), not at first dispatch: 7.6 s of build for
// three 16×16 conv pipelines, then a first run no slower than the second.
// createComputePipelineAsync did not help there: three pipelines took
// 6.4 s together against 2.2 + 2.2 + 2.9 s one by one.
func TestColdBreakdown(t *testing.T) {
	if os.Getenv("RESIDUAL_COLD") == "" {
		t.Skip("set RESIDUAL_COLD=1")
	}
	d := device(t)
	a, _ := model.ByName("resnet50")
	m := randModel(t, a, 1)
	t0 := time.Now()
	p, err := newPlan(d, m, 1, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	t.Logf("newPlan %v", time.Since(t0))
	t0 = time.Now()
	p2, err := newPlan(d, m, 1, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	p2.close()
	t.Logf("newPlan again (pipelines cached) %v", time.Since(t0))
	ctx := context.Background()
	seen := map[*kernel]bool{}
	for pass := 0; pass < 2; pass++ {
		total := time.Duration(0)
		for _, s := range p.slots {
			if len(s.steps) == 0 {
				continue
			}
			var sg segment
			var labels []string
			for _, st := range s.steps {
				sg.ds = append(sg.ds, dispatch{k: st.k, bg: st.bg, x: st.x, y: st.y, z: 1})
				if !seen[st.k] {
					seen[st.k] = true
					labels = append(labels, st.k.label)
				}
			}
			sg.copies = append(sg.copies, copyOp{src: p.act(s.out), dst: p.probe, size: 16})
			t1 := time.Now()
			if err := d.submitSegments([]segment{sg}); err != nil {
				t.Fatal(err)
			}
			if _, err := readback(ctx, p.probe, 4); err != nil {
				t.Fatal(err)
			}
			el := time.Since(t1)
			total += el
			t.Logf("pass %d %-8s b%-2d %8.1f ms  new: %s", pass, p.prog.Stages[s.at.Stage].Name, s.at.Block, float64(el.Microseconds())/1e3, strings.Join(labels, "; "))
		}
		t.Logf("pass %d total %v", pass, total)
	}
}

// TestTileSweep (RESIDUAL_SWEEP="16x16,16x8,...") builds ResNet-50 at 224
// with each tile and reports the plan build (compile) and warm run times.
// On SwiftShader the arithmetic's form did not matter: dot(), an fma()
// chain or plain multiply-adds, even skipping the int8 decode, all ran
// 1.6–1.8 s; only the tile's loads per multiply-add moved the time.
func TestTileSweep(t *testing.T) {
	list := os.Getenv("RESIDUAL_SWEEP")
	if list == "" {
		t.Skip("set RESIDUAL_SWEEP")
	}
	d := device(t)
	a, _ := model.ByName("resnet50")
	m := randModel(t, a, 1)
	x := randTensor(rand.New(rand.NewSource(1)), 1, 3, 224, 224)
	for _, s := range strings.Split(list, ",") {
		var tl convTile
		tl.WG = 4
		tl.Shuffle = strings.HasSuffix(s, "s")
		tl.LanesN = tl.Shuffle || strings.HasSuffix(s, "n")
		fmt.Sscanf(strings.TrimRight(s, "ns"), "%dx%d", &tl.TM, &tl.TN)
		tileOverride = tl
		t0 := time.Now()
		p, err := newPlan(d, m, 1, 224, 224)
		tileOverride = convTile{}
		if err != nil {
			t.Fatal(err)
		}
		build := time.Since(t0)
		var runs []time.Duration
		for i := 0; i < 6; i++ {
			t1 := time.Now()
			if _, err := p.run(context.Background(), input{x: x}, model.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, time.Since(t1))
		}
		res, err := p.run(context.Background(), input{x: x}, model.RunOptions{Profile: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []model.RunOptions{{Inspect: true}, {Inspect: true, Profile: true}, {}} {
			t1 := time.Now()
			if _, err := p.run(context.Background(), input{x: x}, o); err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v: %v", o, time.Since(t1))
		}
		var stages []string
		for _, st := range res.Stages {
			if st.Ms > 1 {
				stages = append(stages, fmt.Sprintf("%s %.0f", st.Name, st.Ms))
			}
		}
		p.close()
		sorted := append([]time.Duration(nil), runs...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		t.Logf("tile %s: build %v, warm median %v of %v; profiled ms: %s", s, build.Round(time.Millisecond),
			sorted[len(sorted)/2].Round(time.Millisecond), runs, strings.Join(stages, ", "))
	}
}

// TestStemForms (RESIDUAL_STEM=1) times the stem as the engine runs it (a
// 7×7/2 conv of 4 channels, 3 and a zero) against the same work laid out
// space-to-depth (a 4×4/1 conv of 16 channels on 2×2 blocks). In
// Chromium on SwiftShader, with upload and readback: 122–143 ms against
// 97–127 ms, too little (~2% of ResNet-50) for a second input layout.
func TestStemForms(t *testing.T) {
	if os.Getenv("RESIDUAL_STEM") == "" {
		t.Skip("set RESIDUAL_STEM=1")
	}
	d := device(t)
	r := rand.New(rand.NewSource(1))
	for _, f := range []struct {
		c    model.Conv
		size int
	}{
		{model.Conv{Name: "stem", Cin: 4, Cout: 64, Kernel: 7, Stride: 2, Pad: 3, Groups: 1}, 224},
		{model.Conv{Name: "s2d", Cin: 16, Cout: 64, Kernel: 4, Stride: 1, Pad: 2, Groups: 1}, 112},
		{model.Conv{Name: "stem", Cin: 4, Cout: 64, Kernel: 7, Stride: 2, Pad: 3, Groups: 1}, 224},
		{model.Conv{Name: "s2d", Cin: 16, Cout: 64, Kernel: 4, Stride: 1, Pad: 2, Groups: 1}, 112},
	} {
		x := randTensor(r, 1, f.c.Cin, f.size, f.size)
		w, b := randConvWeights(r, f.c)
		var ts []time.Duration
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			if _, err := d.conv2D(context.Background(), x, w, b, f.c, nil, true, nil); err != nil {
				t.Fatal(err)
			}
			ts = append(ts, time.Since(t0))
		}
		t.Logf("%s: %v", f.c.Name, ts)
	}
}
