// Command classify runs a Residual weight file over images and prints, per
// image, the top-5 classes, then the stage table (output shape,
// parameters, MACs and time of every stage). With -cam DIR it also
// writes, for every image and each of its top-k classes, the class
// activation map over the crop the network saw (model/overlay) as
// DIR/<image>_top<rank>_<class>.png.
//
//	go run ./cmd/classify [-model FILE] [-size 224] [-gpu] [-json] [-cam DIR] IMAGE...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/overlay"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

// DefaultModel is the file `make weights` builds.
const DefaultModel = "web/models/resnet50-v1-int8.safetensors"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "classify:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	modelPath := fs.String("model", DefaultModel, "weight file (.safetensors) to run")
	size := fs.Int("size", 0, "input size in pixels (0: the model's crop, 224 for ImageNet models)")
	useGPU := fs.Bool("gpu", false, "run on the GPU engine (Vulkan) with per-stage GPU times")
	asJSON := fs.Bool("json", false, "print one JSON document instead of text")
	topk := fs.Int("k", 5, "predictions per image")
	camDir := fs.String("cam", "", "write each image's class activation maps (one per top-k class) as PNG overlays into this directory")
	opacity := fs.Float64("cam-opacity", 0.5, "the maps' opacity over the image, 0 to 1")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: classify [flags] IMAGE...\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("no images given")
	}
	m, err := weights.Load(*modelPath)
	if err != nil {
		if os.IsNotExist(err) && *modelPath == DefaultModel {
			return fmt.Errorf("%w (run `make weights` first)", err)
		}
		return err
	}
	var xs []*model.Tensor
	var crops []image.Image
	for _, f := range fs.Args() {
		data, err := readImage(f)
		if err != nil {
			return err
		}
		img, err := preprocess.Decode(filepath.Base(f), data)
		if err != nil {
			return err
		}
		x, crop, err := preprocess.Prepare(img, m.Meta.Preprocess, *size)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		xs = append(xs, x)
		crops = append(crops, crop)
	}
	x, err := preprocess.Batch(xs...)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var e model.Engine
	if *useGPU {
		// Vulkan only: shaders.Open refuses wgpu's software fallback.
		e, err = shaders.OpenEngine(ctx, nil, m)
	} else {
		e, err = cpu.New(m)
	}
	if err != nil {
		return err
	}
	defer e.Close()
	// Pipelines compile on their first dispatch: prepare first, so that
	// the stage times are the network's, not the compiler's.
	if p, ok := e.(model.Preparer); ok {
		if err := p.Prepare(ctx, x.Shape[0], x.Shape[2], x.Shape[3]); err != nil {
			return err
		}
	}
	res, err := e.Run(ctx, x, model.RunOptions{TopK: *topk, Profile: true, CAM: *camDir != ""})
	if err != nil {
		return err
	}
	var cams [][]string
	if *camDir != "" {
		if cams, err = writeCAMs(*camDir, fs.Args(), crops, res, *opacity); err != nil {
			return err
		}
	}
	scheme := string(m.Meta.Scheme)
	if *asJSON {
		return printJSON(stdout, fs.Args(), scheme, res, cams)
	}
	printText(stdout, fs.Args(), scheme, res, cams)
	return nil
}

// writeCAMs writes every image's maps over its crop into dir (made if
// missing) and returns the files, per image in rank order.
func writeCAMs(dir string, files []string, crops []image.Image, res *model.Result, opacity float64) ([][]string, error) {
	if len(res.CAMs) != len(files) {
		return nil, fmt.Errorf("cam: %d images of maps for %d images", len(res.CAMs), len(files))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cam: %w", err)
	}
	out := make([][]string, len(files))
	seen := map[string]int{}
	for i, f := range files {
		stem := safeName(strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)))
		if seen[stem]++; seen[stem] > 1 { // two inputs of the same name
			stem = fmt.Sprintf("%s-%d", stem, seen[stem])
		}
		for r := range res.CAMs[i] {
			img, err := overlay.CAM(crops[i], &res.CAMs[i][r], opacity)
			if err != nil {
				return nil, fmt.Errorf("cam: %s: %w", f, err)
			}
			p := res.Top[i][r]
			label := p.Label
			if label == "" {
				label = fmt.Sprint("class", p.Index)
			}
			path := filepath.Join(dir, fmt.Sprintf("%s_top%d_%s.png", stem, r+1, safeName(label)))
			if err := writePNG(path, img); err != nil {
				return nil, fmt.Errorf("cam: %w", err)
			}
			out[i] = append(out[i], path)
		}
	}
	return out, nil
}

// safeName keeps letters, digits, '-' and '.' of s for a file name and
// turns every other run of characters into one '_'.
func safeName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.' {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	name := strings.Trim(b.String(), "_.")
	if name == "" {
		return "image"
	}
	return name
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// jsonDoc is the -json output: one document per run.
type jsonDoc struct {
	Engine string      `json:"engine"`
	Scheme string      `json:"scheme"` // the weights as they ran: "int8" or "f32"
	Images []jsonImage `json:"images"`
	Stages []jsonStage `json:"stages"`
}

type jsonImage struct {
	File string             `json:"file"`
	Top5 []model.Prediction `json:"top5"`
	CAMs []string           `json:"cams,omitempty"` // -cam: the overlay files, in Top5's order
}

type jsonStage struct {
	Name   string  `json:"name"`
	Shape  []int   `json:"shape"`
	Params int64   `json:"params"`
	MACs   int64   `json:"macs"`
	Ms     float64 `json:"ms"`
}

func printJSON(w io.Writer, files []string, scheme string, res *model.Result, cams [][]string) error {
	doc := jsonDoc{Engine: res.Engine, Scheme: scheme}
	for i, f := range files {
		img := jsonImage{File: f, Top5: res.Top[i]}
		if cams != nil {
			img.CAMs = cams[i]
		}
		doc.Images = append(doc.Images, img)
	}
	for _, s := range res.Stages {
		doc.Stages = append(doc.Stages, jsonStage{s.Name, s.Shape, s.Params, s.MACs, s.Ms})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func printText(w io.Writer, files []string, scheme string, res *model.Result, cams [][]string) {
	for i, f := range files {
		fmt.Fprintf(w, "%s\n", f)
		for r, p := range res.Top[i] {
			fmt.Fprintf(w, "  %6.2f%%  %s (%d)", 100*p.Prob, p.Label, p.Index)
			if cams != nil {
				fmt.Fprintf(w, "  map: %s", cams[i][r])
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\nengine: %s, %s weights\n", res.Engine, scheme)
	fmt.Fprintf(w, "%-14s %-22s %12s %16s %10s\n", "stage", "output shape", "params", "MACs", "ms")
	var total float64
	row := func(indent, name string, s model.StageResult) {
		fmt.Fprintf(w, "%-14s %-22s %12d %16d %10.2f\n", indent+name, shape(s.Shape), s.Params, s.MACs, s.Ms)
	}
	for _, s := range res.Stages {
		row("", s.Name, s)
		total += s.Ms
		for _, b := range s.Blocks {
			row("  ", b.Name, b)
		}
	}
	p, m := int64(0), int64(0)
	for _, s := range res.Stages {
		p += s.Params
		m += s.MACs
	}
	fmt.Fprintf(w, "%-14s %-22s %12d %16d %10.2f\n", "total", "", p, m, total)
}

func shape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// readImage reads an image file: a regular file (a FIFO would block) of at
// most preprocess.MaxFileBytes.
func readImage(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%v)", path, st.Mode().Type())
	}
	if st.Size() > preprocess.MaxFileBytes {
		return nil, fmt.Errorf("%s: %d MB, over the %d MB limit for an image", path, st.Size()>>20, preprocess.MaxFileBytes>>20)
	}
	return os.ReadFile(path)
}
