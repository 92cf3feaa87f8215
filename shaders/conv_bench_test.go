package shaders

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gogpu/wgpu"
	"github.com/residual-webgpu/residual/model"
)

// convBench holds one conv kernel with its buffers, ready to run repeatedly.
type convBench struct {
	d       *Device
	g       convGeom
	ds      []dispatch
	bufs    []*wgpu.Buffer
	out     *wgpu.Buffer
	staging *wgpu.Buffer
}

func newConvBench(t testing.TB, d *Device, c model.Conv, b, h, w int, tile convTile) *convBench {
	t.Helper()
	r := rand.New(rand.NewSource(2))
	g, err := newConvGeom(c, b, h, w, false, true)
	if err != nil {
		t.Fatal(err)
	}
	wt, bt := randConvWeights(r, c)
	cw, err := packConv(g, tile, wt, bt, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.convKernel(g, tile)
	if err != nil {
		t.Fatal(err)
	}
	cb := &convBench{d: d, g: g}
	mk := func(data []byte, size int) *wgpu.Buffer {
		buf, err := d.newBuffer("bench", uint64(size), storageUsage)
		if err != nil {
			t.Fatal(err)
		}
		cb.bufs = append(cb.bufs, buf)
		if data != nil {
			if err := d.write(buf, 0, data); err != nil {
				t.Fatal(err)
			}
		}
		return buf
	}
	x := randTensor(r, b, c.Cin, h, w)
	xb := mk(f32Bytes(toNHWC(x)), 4*len(x.Data)+slack)
	wb := mk(u32Bytes(cw.words), 4*len(cw.words))
	eb := mk(f32Bytes(append(append([]float32(nil), cw.scale...), cw.bias...)), 8*len(cw.scale))
	cb.out = mk(nil, 4*g.M()*g.Cout+slack)
	pb, err := d.newBuffer("params", paramsBytes, wgpu.BufferUsageUniform|wgpu.BufferUsageCopyDst)
	if err != nil {
		t.Fatal(err)
	}
	cb.bufs = append(cb.bufs, pb)
	if err := d.write(pb, 0, convParams(g, tile)); err != nil {
		t.Fatal(err)
	}
	bg, err := d.bind(k, whole(xb), whole(wb), whole(eb), whole(cb.out), whole(xb), whole(pb))
	if err != nil {
		t.Fatal(err)
	}
	gx, gy := convGrid(g, tile)
	cb.ds = []dispatch{{k: k, bg: bg, x: gx, y: gy, z: 1}}
	cb.staging, err = d.newBuffer("staging", 16, wgpu.BufferUsageMapRead|wgpu.BufferUsageCopyDst)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

// run submits the kernel once and waits for it.
func (cb *convBench) run(t testing.TB) {
	if err := cb.d.submit(cb.ds, cb.out, cb.staging, 16); err != nil {
		t.Fatal(err)
	}
	if _, err := readback(context.Background(), cb.staging, 4); err != nil {
		t.Fatal(err)
	}
}

func (cb *convBench) close() {
	cb.ds[0].bg.Release()
	for _, b := range append(cb.bufs, cb.staging) {
		b.Release()
	}
}

// time returns the best of n runs after a warm-up, and the warm-up's
// time (which includes compiling the pipeline where drivers compile at
// the first dispatch).
func (cb *convBench) time(t testing.TB, n int) (best, cold time.Duration) {
	t0 := time.Now()
	cb.run(t)
	cold = time.Since(t0)
	best = time.Duration(1 << 62)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		cb.run(t)
		best = min(best, time.Since(t0))
	}
	return best, cold
}

var (
	bench3x3 = model.Conv{Name: "bench3x3", Cin: 64, Cout: 64, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}
	bench1x1 = model.Conv{Name: "bench1x1", Cin: 256, Cout: 64, Kernel: 1, Stride: 1, Pad: 0, Groups: 1}
)

func benchmarkConv(b *testing.B, c model.Conv) {
	d := device(b)
	g, _ := newConvGeom(c, 1, 56, 56, false, true)
	cb := newConvBench(b, d, c, 1, 56, 56, chooseTile(g, d.class))
	defer cb.close()
	cb.run(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cb.run(b)
	}
	b.ReportMetric(cb.g.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv3x3 is the 3×3 64→64 conv on 56×56 (ResNet layer1).
func BenchmarkConv3x3(b *testing.B) { benchmarkConv(b, bench3x3) }

// BenchmarkConv1x1 is the 1×1 256→64 conv on 56×56 (ResNet-50 layer1).
func BenchmarkConv1x1(b *testing.B) { benchmarkConv(b, bench1x1) }

// TestConvTiles compares register tiles on the two benchmark convs; it
// only measures, so it runs when RESIDUAL_TILES is set.
func TestConvTiles(t *testing.T) {
	if os.Getenv("RESIDUAL_TILES") == "" {
		t.Skip("set RESIDUAL_TILES=1 to measure tile choices")
	}
	d := device(t)
	tiles := []convTile{{WG: 64, TM: 4, TN: 4}, {WG: 64, TM: 4, TN: 8}, {WG: 64, TM: 8, TN: 8}, {WG: 32, TM: 4, TN: 8}, {WG: 16, TM: 4, TN: 8}, {WG: 8, TM: 4, TN: 8}, {WG: 64, TM: 4, TN: 16}, {WG: 16, TM: 4, TN: 16}, {WG: 16, TM: 2, TN: 16}, {WG: 8, TM: 2, TN: 16}, {WG: 16, TM: 8, TN: 8}}
	if list := os.Getenv("RESIDUAL_TILES"); list != "1" {
		// "WG.TM.TN,..." measures those tiles instead.
		tiles = nil
		for _, s := range strings.Split(list, ",") {
			var tl convTile
			if _, err := fmt.Sscanf(s, "%d.%d.%d", &tl.WG, &tl.TM, &tl.TN); err != nil {
				t.Fatalf("RESIDUAL_TILES %q: %v", s, err)
			}
			tiles = append(tiles, tl)
		}
	}
	for _, cs := range []struct {
		c    model.Conv
		size int
	}{{bench3x3, 56}, {bench1x1, 56}, {model.Conv{Name: "l3", Cin: 256, Cout: 256, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 14},
		{model.Conv{Name: "l4", Cin: 512, Cout: 512, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}, 7},
		{model.Conv{Name: "l4-1x1", Cin: 2048, Cout: 512, Kernel: 1, Stride: 1, Pad: 0, Groups: 1}, 7},
		{model.Conv{Name: "stem", Cin: 3, Cout: 64, Kernel: 7, Stride: 2, Pad: 3, Groups: 1}, 224},
		{model.Conv{Name: "g32", Cin: 128, Cout: 128, Kernel: 3, Stride: 1, Pad: 1, Groups: 32}, 56}} {
		if only := os.Getenv("RESIDUAL_TILE_CONVS"); only != "" && !strings.Contains(","+only+",", ","+c0(cs.c)+",") {
			continue
		}
		c := cs.c
		g, _ := newConvGeom(c, 1, cs.size, cs.size, false, true)
		if c.Groups > 1 || c.Cin < 4 {
			// Cap the tiles as chooseTile would: TN at most the group's channels.
		}
		fmt.Printf("%s chosen %+v\n", c.Name, chooseTile(g, d.class))
		for _, tl := range tiles {
			t0 := time.Now()
			cb := newConvBench(t, d, c, 1, cs.size, cs.size, tl)
			build := time.Since(t0)
			dt, cold := cb.time(t, 3)
			cb.close()
			fmt.Printf("%s tile %+v: %v, %.2f GFLOP/s (build %v, first run %v)\n", c.Name, tl, dt, cb.g.FLOPs()/dt.Seconds()/1e9,
				build.Round(time.Millisecond), cold.Round(time.Millisecond))
		}
	}
}

// c0 names a benchmark conv for RESIDUAL_TILE_CONVS.
func c0(c model.Conv) string { return c.Name }
