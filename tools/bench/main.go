// Command bench measures Residual's engines beside PyTorch in one run and
// prints a table of latencies and ratios. `make bench` runs it.
//
//	go run ./tools/bench [-runs 5] [-arch resnet18,resnet50] [-batch 1,8] [-gpu] [-torch /usr/bin/python3]
//
// Weights are generated (model/golden) and quantized to int8: latency
// does not depend on their values. Every figure is the median of -runs
// warm runs after one cold run; cold is the first run including set-up
// (pipeline creation and weight upload on the GPU).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

// timing is one engine's figures for one (arch, batch).
type timing struct {
	Engine  string    `json:"engine"`
	Arch    string    `json:"arch"`
	Batch   int       `json:"batch"`
	ColdMs  float64   `json:"cold_ms"`
	WarmMs  float64   `json:"warm_ms"` // median
	MinMs   float64   `json:"min_ms"`
	MaxMs   float64   `json:"max_ms"`
	GFLOPs  float64   `json:"gflop_per_s"` // 2·MACs / warm
	Layers  []layerGF `json:"layers,omitempty"`
	Comment string    `json:"comment,omitempty"`
}

// layerGF is the achieved rate of one conv stage (from profiled stage times).
type layerGF struct {
	Name   string  `json:"name"`
	Ms     float64 `json:"ms"`
	GFLOPs float64 `json:"gflop_per_s"`
}

func main() {
	runs := flag.Int("runs", 5, "warm runs per measurement (median reported)")
	archs := flag.String("arch", "resnet18,resnet50", "architectures")
	batches := flag.String("batch", "1", "batch sizes")
	size := flag.Int("size", 224, "input size")
	gpu := flag.Bool("gpu", false, "also measure the GPU engine natively (Vulkan)")
	cpuEng := flag.Bool("cpu", true, "measure the CPU reference")
	torch := flag.String("torch", "/usr/bin/python3", "python with torch for the PyTorch column ('' to skip)")
	jsonOut := flag.String("json", "", "also write the figures to this JSON file")
	flag.Parse()

	var all []timing
	for _, name := range strings.Split(*archs, ",") {
		arch, err := model.ByName(name)
		check(err)
		m, err := golden.Model(arch, 1, 1e-5, weights.Int8)
		check(err)
		for _, bs := range strings.Split(*batches, ",") {
			b, err := strconv.Atoi(bs)
			check(err)
			x := golden.Input([]int{b, 3, *size, *size}, 1)
			var ts []timing
			if *cpuEng {
				c, err := cpu.New(m)
				check(err)
				ts = append(ts, measure(c, name, x, *runs))
			}
			if *gpu {
				g, err := shaders.OpenEngine(context.Background(), nil, m)
				if err != nil {
					fmt.Fprintln(os.Stderr, "bench: gpu:", err)
				} else {
					ts = append(ts, measure(g, name, x, *runs))
				}
			}
			if *torch != "" {
				ts = append(ts, torchTiming(*torch, name, b, *size, *runs))
			}
			all = append(all, ts...)
			print(ts)
		}
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(all, "", "  ")
		check(os.WriteFile(*jsonOut, data, 0o644))
	}
}

// measure times whole inferences of an engine (the first one cold), then
// runs once more with per-stage timings (which can slow a run down, so it
// is not a timed one).
func measure(e model.Engine, arch string, x *model.Tensor, runs int) timing {
	defer e.Close()
	ctx := context.Background()
	t := timing{Engine: "residual-" + e.Name(), Arch: arch, Batch: x.Shape[0]}
	start := time.Now()
	res, err := e.Run(ctx, x, model.RunOptions{})
	check(err)
	t.ColdMs = ms(time.Since(start))
	var warm []float64
	for range runs {
		start := time.Now()
		_, err = e.Run(ctx, x, model.RunOptions{})
		check(err)
		warm = append(warm, ms(time.Since(start)))
	}
	slices.Sort(warm)
	t.WarmMs, t.MinMs, t.MaxMs = warm[len(warm)/2], warm[0], warm[len(warm)-1]
	_, macs := model.Totals(stagesOf(res))
	t.GFLOPs = 2 * float64(macs) / t.WarmMs / 1e6
	last, err := e.Run(ctx, x, model.RunOptions{Profile: true})
	check(err)
	for _, s := range last.Stages {
		for _, b := range append([]model.StageResult{s}, s.Blocks...) {
			if b.MACs > 0 && b.Ms > 0 && (b.Kind == model.KindConv || b.Kind == model.KindBlock) {
				t.Layers = append(t.Layers, layerGF{b.Name, b.Ms, 2 * float64(b.MACs) / b.Ms / 1e6})
			}
		}
	}
	return t
}

func stagesOf(r *model.Result) []model.Stage {
	var s []model.Stage
	for _, st := range r.Stages {
		s = append(s, st.Stage)
	}
	return s
}

// torchTiming runs tools/bench_torch.py for one architecture and batch.
func torchTiming(python, arch string, b, size, runs int) timing {
	dev := os.Getenv("TORCH_DEVICE")
	if dev == "" {
		dev = "cpu"
	}
	t := timing{Engine: "pytorch-" + dev, Arch: arch, Batch: b}
	cmd := exec.Command(python, "tools/bench_torch.py", fmt.Sprint(runs), fmt.Sprint(size), fmt.Sprint(b), arch)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Comment = "not run: " + err.Error()
		return t
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Comment = "bad output: " + err.Error()
		return t
	}
	t.WarmMs, _ = r[arch].(float64)
	t.Comment = fmt.Sprintf("torch %v, %v threads", r["torch"], r["threads"])
	if g, ok := r["gpu"].(string); ok {
		t.Comment = fmt.Sprintf("torch %v on %s", r["torch"], g)
	}
	return t
}

func print(ts []timing) {
	if len(ts) == 0 {
		return
	}
	base := ts[0].WarmMs
	fmt.Printf("\n%s batch %d (GOMAXPROCS %d)\n", ts[0].Arch, ts[0].Batch, runtime.GOMAXPROCS(0))
	fmt.Printf("  %-34s %10s %10s %10s %10s %9s %12s\n", "engine", "cold ms", "warm ms", "min", "max", "GFLOP/s", "vs "+ts[0].Engine)
	for _, t := range ts {
		fmt.Printf("  %-34s %10.1f %10.1f %10.1f %10.1f %9.2f %11.2fx  %s\n", t.Engine, t.ColdMs, t.WarmMs, t.MinMs, t.MaxMs, t.GFLOPs, t.WarmMs/base, t.Comment)
	}
	for _, t := range ts {
		if len(t.Layers) == 0 || !strings.Contains(t.Engine, "webgpu") {
			continue
		}
		fmt.Printf("  per-stage GFLOP/s, %s:\n", t.Engine)
		for _, l := range t.Layers {
			fmt.Printf("    %-12s %8.2f ms %8.2f GFLOP/s\n", l.Name, l.Ms, l.GFLOPs)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
