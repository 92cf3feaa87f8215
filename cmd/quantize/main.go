// Command quantize converts a trained ResNet checkpoint into Residual's
// weight file: it reads a PyTorch .pth (torch.save zip), a safetensors state
// dict, a TF.js layers model (model.json + shards) of a Keras ResNet, or the
// npm tarball holding one; works out the architecture; folds BatchNorm into
// the convolutions; quantizes; prints a per-layer report; and writes the
// file atomically (a failed run leaves no output file).
//
// Usage:
//
//	go run ./cmd/quantize [flags] INPUT
//
// The metadata's source_sha256 is the sha256 of the input file; for a TF.js
// model.json it is that of model.json followed by its weight shards,
// concatenated in manifest order (labels.json excluded); for an npm tarball
// it is the tarball's.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/convert"
	"github.com/residual-webgpu/residual/model/weights"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, returning its exit status: 0 on success, 1 when
// the conversion fails, 2 on bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scheme := fs.String("scheme", string(weights.Int8), "weight storage: int8 (per-output-channel symmetric) or f32")
	arch := fs.String("arch", "", "architecture the tensors must match ("+strings.Join(model.Names(), ", ")+"); default: inferred from the tensor shapes")
	variant := fs.String("variant", "", "stride placement: v1 (stride on the bottleneck's first 1×1) or v1.5 (torchvision's); default: the source's, else v1.5")
	numClasses := fs.Int("num-classes", 0, "expected number of classes (default: the classifier's)")
	labelsFile := fs.String("labels", "", "class names: one per line, a JSON array, or a JSON {\"0\": name} object (default: the source's, else ImageNet's for 1000 classes)")
	bnEps := fs.Float64("bn-eps", 0, "BatchNorm epsilon (default: the source's, else 1e-5)")
	pre := fs.String("preprocess", "", "input preprocessing: torchvision or caffe (default: caffe for Keras ports, else torchvision)")
	source := fs.String("source", "", "description of the source for the metadata (default: derived from INPUT)")
	out := fs.String("o", "", "output file (default: ARCH-VARIANT-SCHEME.safetensors)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: quantize [flags] INPUT\n\nINPUT is a .pth (torch.save zip), a .safetensors state dict, a TF.js model.json or an npm .tgz holding one.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	s := weights.Scheme(*scheme)
	if err := s.Validate(); err != nil {
		fmt.Fprintf(stderr, "quantize: -scheme: %v\n", err)
		return 2
	}
	opt := convert.Options{Arch: *arch, NumClasses: *numClasses, BNEps: *bnEps, Source: *source}
	switch *variant {
	case "":
	case string(model.V1), string(model.V15):
		opt.Variant = model.Variant(*variant)
	default:
		fmt.Fprintf(stderr, "quantize: -variant %q: want v1 or v1.5\n", *variant)
		return 2
	}
	switch *pre {
	case "":
	case "torchvision":
		opt.Preprocess = &weights.TorchvisionPreprocess
	case "caffe":
		opt.Preprocess = &weights.CaffePreprocess
	default:
		fmt.Fprintf(stderr, "quantize: -preprocess %q: want torchvision or caffe\n", *pre)
		return 2
	}
	if *labelsFile != "" {
		l, err := convert.ReadLabels(*labelsFile)
		if err != nil {
			fmt.Fprintf(stderr, "quantize: %v\n", err)
			return 1
		}
		opt.Labels = l
	}
	if err := quantize(fs.Arg(0), *out, s, opt, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "quantize: %v\n", err)
		return 1
	}
	return 0
}

// quantize converts input and writes the result, printing the report.
func quantize(input, out string, s weights.Scheme, opt convert.Options, stdout, stderr io.Writer) error {
	start := time.Now()
	ck, err := convert.Read(input)
	if err != nil {
		return err
	}
	f32, notes, err := convert.Convert(ck, opt)
	if err != nil {
		return fmt.Errorf("convert %s: %w", input, err)
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	q, err := weights.Quantize(f32, s)
	if err != nil {
		return err
	}
	rep, err := weights.Report(f32, q)
	if err != nil {
		return err
	}
	if out == "" {
		a := q.Meta.Arch
		out = fmt.Sprintf("%s-%s-%s.safetensors", a.Name, a.Variant, s)
	}
	if err := q.Save(out); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	printReport(stdout, ck, q, rep, out, st.Size(), time.Since(start))
	return nil
}

// printReport writes the per-layer table and the totals.
func printReport(w io.Writer, ck *convert.Checkpoint, q *weights.Model, rep []weights.LayerReport, out string, size int64, took time.Duration) {
	m := q.Meta
	fmt.Fprintf(w, "source:     %s\n", m.Source)
	fmt.Fprintf(w, "sha256:     %s\n", m.SourceSHA256)
	fmt.Fprintf(w, "arch:       %s (%s, layers %v, groups %d, width/group %d, base %d, %s, %d classes, conv bias %v)\n",
		m.Arch.Name, m.Arch.Block, m.Arch.Layers, m.Arch.Groups, m.Arch.WidthPerGroup, m.Arch.BaseChannels, m.Arch.Variant, m.Arch.NumClasses, m.Arch.ConvBias)
	fmt.Fprintf(w, "preprocess: %s, ×%g, mean %v, std %v, resize %d, crop %d\n",
		m.Preprocess.ChannelOrder, m.Preprocess.InputScale, m.Preprocess.Mean, m.Preprocess.Std, m.Preprocess.Resize, m.Preprocess.Crop)
	if len(ck.Skipped) > 0 {
		fmt.Fprintf(w, "skipped:    %d non-float entries (num_batches_tracked)\n", len(ck.Skipped))
	}
	fmt.Fprintf(w, "\n%-28s %10s %11s %12s %12s\n", "layer", "params", "bytes", "max|err|", "mean|err|")
	var params, bytes, f32Bytes int
	maxErr, sumErr := 0.0, 0.0
	for _, r := range rep {
		fmt.Fprintf(w, "%-28s %10d %11d %12.3e %12.3e\n", r.Name, r.Params, r.Bytes, r.MaxAbsErr, r.MeanAbsErr)
		params += r.Params
		bytes += r.Bytes
		f32Bytes += 4 * r.Params
		if r.MaxAbsErr > maxErr {
			maxErr = r.MaxAbsErr
		}
		wt, _ := q.Weight(r.Name)
		sumErr += r.MeanAbsErr * float64(wt.Len())
	}
	weightsN := params
	for _, r := range rep {
		_, b := q.Weight(r.Name)
		weightsN -= b.Len()
	}
	mean := 0.0
	if weightsN > 0 {
		mean = sumErr / float64(weightsN)
	}
	fmt.Fprintf(w, "%-28s %10d %11d %12.3e %12.3e\n", "total", params, bytes, maxErr, mean)
	fmt.Fprintf(w, "\nscheme %s: %d layers, %d parameters, %.2f MB of tensors (%.2f MB as f32, %.1f%%)\n",
		m.Scheme, len(rep), params, float64(bytes)/1e6, float64(f32Bytes)/1e6, 100*float64(bytes)/float64(f32Bytes))
	fmt.Fprintf(w, "wrote %s: %d bytes (%.2f MB) in %.1fs\n", out, size, float64(size)/1e6, took.Seconds())
}
