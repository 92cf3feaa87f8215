//go:build !js

package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// reportSchema names the layout of the JSON file (see README.md); bump it
// when a field changes meaning.
const reportSchema = "residual-bench-peers/1"

// report is the JSON file one harness run writes.
type report struct {
	Schema   string       `json:"schema"`
	Started  string       `json:"started"` // RFC 3339
	Finished string       `json:"finished"`
	Host     hostInfo     `json:"host"`
	Browser  browserInfo  `json:"browser"`
	Input    inputInfo    `json:"input"`
	Settings settings     `json:"settings"`
	Baseline string       `json:"baseline"` // peer name the ratios divide by
	Expect   int          `json:"expect"`   // class every peer's top-1 must be
	Agree    bool         `json:"agree"`    // every measured peer has top-1 == expect
	Peers    []peerResult `json:"peers"`
}

// hostInfo describes the machine, including how busy it was.
type hostInfo struct {
	CPUs       int        `json:"cpus"`
	LoadStart  [3]float64 `json:"loadavg_start"` // /proc/loadavg 1, 5, 15 min
	LoadEnd    [3]float64 `json:"loadavg_end"`
	GoVersion  string     `json:"go"`
	OS         string     `json:"os"`
	Hostname   string     `json:"hostname,omitempty"`
	CPUModel   string     `json:"cpu_model,omitempty"`
	MemTotalMB int        `json:"mem_total_mb,omitempty"`
}

// browserInfo says which browser ran the pages, how.
type browserInfo struct {
	Path      string   `json:"path"`
	UserAgent string   `json:"user_agent"`
	Flags     []string `json:"flags"`
}

// settings are the harness flags that shape the numbers.
type settings struct {
	Runs     int    `json:"runs"`       // timed warm runs, CPU peers
	GPURuns  int    `json:"gpu_runs"`   // timed warm runs, WebGPU peers
	Warmup   int    `json:"warmup"`     // untimed runs between cold and warm (CPU peers)
	GPUWarm  int    `json:"gpu_warmup"` // same for WebGPU peers
	Isolated bool   `json:"isolated"`   // COOP/COEP sent: wasm threads possible
	Threads  int    `json:"threads"`    // wasm threads asked of ORT/TF.js (0: their default)
	Server   string `json:"server"`     // loopback address the pages came from
}

// prediction is one of a peer's top-5.
type prediction struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
}

// stats summarises timed runs, in milliseconds.
type stats struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	Min    float64 `json:"min_ms"`
	Max    float64 `json:"max_ms"`
	Mean   float64 `json:"mean_ms"`
}

// pageEnv is what the page saw of its environment.
type pageEnv struct {
	HardwareConcurrency int    `json:"hardware_concurrency"`
	CrossOriginIsolated bool   `json:"cross_origin_isolated"`
	Protocol            string `json:"protocol"` // the page's nextHopProtocol: "h2" expected
	UserAgent           string `json:"-"`
}

// peerResult is one peer's measurements.
type peerResult struct {
	Name      string          `json:"name"`
	Title     string          `json:"title"`
	Page      string          `json:"page"`
	GPU       bool            `json:"webgpu"`
	OK        bool            `json:"ok"`
	Error     string          `json:"error,omitempty"`
	Console   []string        `json:"console,omitempty"` // last page console lines, on failure
	Info      json.RawMessage `json:"info,omitempty"`    // what bench.load() reported (runtime, version, backend, threads, adapter)
	Env       *pageEnv        `json:"env,omitempty"`
	PageMs    float64         `json:"page_ms"`    // navigation start → window.bench defined (runtime scripts parsed)
	LoadMs    float64         `json:"load_ms"`    // bench.load(): runtime wasm, model fetch and session/engine creation
	ColdMs    float64         `json:"cold_ms"`    // first bench.run(): includes shader/pipeline creation and weight upload
	WarmupMs  []float64       `json:"warmup_ms"`  // untimed-for-stats runs after the cold one
	Runs      int             `json:"runs"`       // timed warm runs asked for
	WarmMs    []float64       `json:"warm_ms"`    // every timed warm run
	Warm      stats           `json:"warm"`       // summary of warm_ms
	LoadBytes int64           `json:"load_bytes"` // bytes sent up to the end of bench.load()
	Bytes     int64           `json:"bytes"`      // bytes sent for the peer in all (page, runtime code, wasm, model)
	GzipBytes int64           `json:"gzip_bytes"` // the same files' gzip -6 size: what a compressing server would send
	Files     []fileUse       `json:"files"`
	Top5      []prediction    `json:"top5"`
	ProbSum   *float64        `json:"prob_sum,omitempty"` // sum of the returned probabilities, when the peer returned them all
	Top1OK    bool            `json:"top1_ok"`
	Stages    []stageTime     `json:"stages,omitempty"` // a profiled run after the timed ones, where the page offers one
	// Ratios to the baseline peer of the same run (>1: slower than ours).
	RatioWarm  *float64 `json:"ratio_warm,omitempty"`  // warm median / baseline warm median
	RatioCold  *float64 `json:"ratio_cold,omitempty"`  // cold / baseline cold
	RatioFirst *float64 `json:"ratio_first,omitempty"` // (page+load+cold) / baseline's: time to the first answer
}

// stageTime is one stage of a profiled run: where the time goes.
type stageTime struct {
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
	MACs float64 `json:"macs"`
}

// summarize gives median, min, max and mean of ms.
func summarize(ms []float64) stats {
	if len(ms) == 0 {
		return stats{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	return stats{N: len(s), Median: med, Min: s[0], Max: s[len(s)-1], Mean: sum / float64(len(s))}
}

// firstMs is the time from navigation to the first answer.
func (r *peerResult) firstMs() float64 { return r.PageMs + r.LoadMs + r.ColdMs }

// finish labels predictions, checks top-1 against expect and fills the
// ratios to the baseline; it reports whether every measured peer agrees.
func (rep *report) finish(labels map[int]string) bool {
	agree := true
	var base *peerResult
	for i := range rep.Peers {
		p := &rep.Peers[i]
		for j := range p.Top5 {
			p.Top5[j].Label = labels[p.Top5[j].Index]
		}
		p.Top1OK = len(p.Top5) > 0 && p.Top5[0].Index == rep.Expect
		if len(p.Top5) > 0 && !p.Top1OK {
			agree = false
		}
		if p.Name == rep.Baseline && p.OK {
			base = p
		}
	}
	if base != nil {
		for i := range rep.Peers {
			p := &rep.Peers[i]
			if p.Warm.N > 0 && base.Warm.Median > 0 {
				p.RatioWarm = ptr(p.Warm.Median / base.Warm.Median)
			}
			if p.ColdMs > 0 && base.ColdMs > 0 {
				p.RatioCold = ptr(p.ColdMs / base.ColdMs)
			}
			if p.ColdMs > 0 && base.firstMs() > 0 {
				p.RatioFirst = ptr(p.firstMs() / base.firstMs())
			}
		}
	}
	rep.Agree = agree
	return agree
}

func ptr[T any](v T) *T { return &v }

// gzipSizes fills every peer's GzipBytes: the gzip size of each file it
// downloaded, computed once per file after all measurements so that the
// compression does not load the machine while a peer runs.
func (rep *report) gzipSizes() error {
	cache := map[string]int64{}
	for i := range rep.Peers {
		p := &rep.Peers[i]
		p.GzipBytes = 0
		for _, f := range p.Files {
			n, ok := cache[f.fsPath]
			if !ok {
				var err error
				if n, err = gzipSize(f.fsPath); err != nil {
					return fmt.Errorf("peer %s: %w", p.Name, err)
				}
				cache[f.fsPath] = n
			}
			p.GzipBytes += n * int64(max(f.Requests, 1))
		}
	}
	return nil
}

// gzipSize is the size of path compressed with gzip's default level.
func gzipSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("gzip size: %w", err)
	}
	defer f.Close()
	var c byteCounter
	zw := gzip.NewWriter(&c)
	if _, err := io.Copy(zw, f); err != nil {
		return 0, fmt.Errorf("gzip size %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("gzip size %s: %w", path, err)
	}
	return c.n, nil
}

// byteCounter is an io.Writer that only counts.
type byteCounter struct{ n int64 }

func (c *byteCounter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }

// mb formats a byte count in MB (10^6).
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// ms formats milliseconds compactly: "35.8 s" above 10 s.
func ms(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.1f ms", v)
	}
}

// ratio formats a ratio to the baseline.
func ratio(r *float64) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f×", *r)
}

// printTable writes the human-readable summary.
func (rep *report) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nResNet-50 on %s, %s; load average %.2f %.2f %.2f at start, %.2f %.2f %.2f at end (%d CPUs)\n",
		rep.Input.Photo, rep.Browser.UserAgent, rep.Host.LoadStart[0], rep.Host.LoadStart[1], rep.Host.LoadStart[2],
		rep.Host.LoadEnd[0], rep.Host.LoadEnd[1], rep.Host.LoadEnd[2], rep.Host.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "peer\tpage+load\tcold\tcold÷warm\twarm median\tmin–max (n)\tdownload (gzip)\ttop-1\t× ours warm\t× ours cold\t× ours first")
	for _, p := range rep.Peers {
		if !p.OK && p.Warm.N == 0 {
			reason := p.Error
			if len(reason) > 100 {
				reason = reason[:100] + "…"
			}
			fmt.Fprintf(tw, "%s\tfailed: %s\t\t\t\t\t\t\t\t\t\n", p.Title, strings.ReplaceAll(reason, "\t", " "))
			continue
		}
		top := "–"
		if len(p.Top5) > 0 {
			top = fmt.Sprintf("%s %.3f", p.Top5[0].Label, p.Top5[0].Prob)
			if !p.Top1OK {
				top += " (WRONG)"
			}
		}
		coldWarm := "–"
		if p.Warm.Median > 0 {
			coldWarm = fmt.Sprintf("%.2f", p.ColdMs/p.Warm.Median)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s–%s (%d)\t%s (%s)\t%s\t%s\t%s\t%s\n", p.Title,
			ms(p.PageMs+p.LoadMs), ms(p.ColdMs), coldWarm, ms(p.Warm.Median), ms(p.Warm.Min), ms(p.Warm.Max), p.Warm.N,
			mb(p.Bytes), mb(p.GzipBytes), top, ratio(p.RatioWarm), ratio(p.RatioCold), ratio(p.RatioFirst))
	}
	tw.Flush()
	if !hasOK(rep.Peers, rep.Baseline) {
		fmt.Fprintf(w, "(no ratios: the baseline %s did not run)\n", rep.Baseline)
	}
	for _, p := range rep.Peers {
		if len(p.Stages) > 0 {
			printStages(w, p)
		}
	}
}

// printStages writes where a peer's profiled run spent its time.
func printStages(w io.Writer, p peerResult) {
	var total float64
	for _, s := range p.Stages {
		total += s.Ms
	}
	fmt.Fprintf(w, "\n%s, one profiled run (%s in its stages):\n", p.Title, ms(total))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tms\tshare\tGMAC\tGFLOP/s\t")
	for _, s := range p.Stages {
		rate, share := "–", "–"
		if s.Ms > 0 && s.MACs > 0 {
			rate = fmt.Sprintf("%.2f", 2*s.MACs/s.Ms/1e6)
		}
		if total > 0 {
			share = fmt.Sprintf("%.0f%%", 100*s.Ms/total)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%.3f\t%s\t\n", s.Name, s.Ms, share, s.MACs/1e9, rate)
	}
	tw.Flush()
}

// hasOK says whether the named peer ran successfully.
func hasOK(ps []peerResult, name string) bool {
	for _, p := range ps {
		if p.Name == name && p.OK {
			return true
		}
	}
	return false
}
