package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// DefaultBNEps is torchvision's BatchNorm epsilon, used when neither the
// source nor Options give one.
const DefaultBNEps = 1e-5

// Options are what the user says about a checkpoint; zero values defer to
// the checkpoint, then to torchvision's defaults.
type Options struct {
	// Arch is a torchvision architecture name (model.Names()) the tensors
	// must match; "" infers it from their shapes (or takes the source's).
	Arch string
	// Variant is the stride placement; "" takes the source's (TF.js
	// topologies say) or V15. A TF.js source whose strides say otherwise is
	// an error.
	Variant model.Variant
	// NumClasses, when non-zero, must equal the classifier's output count.
	NumClasses int
	// Labels are the class names; nil takes the source's, else ImageNet's
	// for 1000 classes, else "class 0", "class 1", ….
	Labels []string
	// BNEps is the BatchNorm epsilon; 0 takes the source's, else DefaultBNEps.
	BNEps float64
	// Preprocess overrides the preprocessing; nil takes the source's (Caffe
	// for the Keras ports), else torchvision's.
	Preprocess *weights.Preprocess
	// Source overrides the metadata's human description of the source.
	Source string
}

// Convert resolves the architecture, epsilon, preprocessing and labels of a
// checkpoint, checks its tensors against the layout (every missing,
// unexpected or misshapen tensor is reported), folds BatchNorm into the
// convs, hashes the source files, and returns the F32 weight model. notes
// says what was decided that the user may want to know (generated labels,
// an overridden epsilon).
func Convert(ck *Checkpoint, opt Options) (m *weights.Model, notes []string, err error) {
	arch, err := resolveArch(ck, opt)
	if err != nil {
		return nil, nil, err
	}
	net, err := arch.Net()
	if err != nil {
		return nil, nil, err
	}
	sd, err := CheckStateDict(net, ck.Tensors)
	if err != nil {
		if inf, ierr := InferArch(ck.Tensors); ierr == nil && inf.Name != arch.Name {
			err = fmt.Errorf("%w (the tensors look like %s)", err, inf.Name)
		}
		return nil, nil, err
	}

	eps := DefaultBNEps
	switch {
	case opt.BNEps > 0:
		eps = opt.BNEps
		if ck.BNEps > 0 && ck.BNEps != opt.BNEps {
			notes = append(notes, fmt.Sprintf("BatchNorm epsilon %g overrides the source's %g", opt.BNEps, ck.BNEps))
		}
	case opt.BNEps < 0:
		return nil, nil, fmt.Errorf("BatchNorm epsilon %g must be positive", opt.BNEps)
	case ck.BNEps > 0:
		eps = ck.BNEps
	}

	pre := weights.TorchvisionPreprocess
	if opt.Preprocess != nil {
		pre = *opt.Preprocess
	} else if ck.Preprocess != nil {
		pre = *ck.Preprocess
	}

	labels := opt.Labels
	if labels == nil {
		labels = ck.Labels
	}
	if labels == nil {
		if arch.NumClasses == 1000 {
			labels = ImageNetLabels()
			notes = append(notes, "labels: ImageNet's 1000 classes in torchvision order")
		} else {
			labels = make([]string, arch.NumClasses)
			for i := range labels {
				labels[i] = fmt.Sprintf("class %d", i)
			}
			notes = append(notes, fmt.Sprintf("labels: none given for %d classes, named \"class 0\" … \"class %d\" (use -labels)", arch.NumClasses, arch.NumClasses-1))
		}
	}
	if len(labels) != arch.NumClasses {
		return nil, nil, fmt.Errorf("%d labels for the classifier's %d classes", len(labels), arch.NumClasses)
	}

	folded, err := weights.FoldBN(net, sd, eps)
	if err != nil {
		return nil, nil, err
	}
	source := ck.Source
	if opt.Source != "" {
		source = opt.Source
	}
	sum, err := HashFiles(ck.Files)
	if err != nil {
		return nil, nil, err
	}
	meta := weights.Metadata{FormatVersion: weights.FormatVersion, Arch: arch, Preprocess: pre, Scheme: weights.F32,
		Labels: labels, Source: source, SourceSHA256: sum}
	m, err = weights.New(meta, folded)
	if err != nil {
		return nil, nil, err
	}
	return m, notes, nil
}

// resolveArch picks the architecture: the source's own (TF.js), a name
// (Options.Arch, else the checkpoint's ArchName) completed with the
// checkpoint's classes and conv biases, or the one inferred from shapes;
// then applies the variant and checks the class count.
func resolveArch(ck *Checkpoint, opt Options) (model.Arch, error) {
	var a model.Arch
	name := opt.Arch
	switch {
	case ck.Arch != nil:
		a = *ck.Arch
		if name != "" {
			k, err := model.ByName(name)
			if err != nil {
				return a, err
			}
			if k.Block != a.Block || k.Layers != a.Layers || k.Groups != a.Groups || k.WidthPerGroup != a.WidthPerGroup || k.BaseChannels != a.BaseChannels {
				return a, fmt.Errorf("the source is a %s, not a %s", a.Name, name)
			}
			a.Name = name
		}
		if opt.Variant != "" && opt.Variant != a.Variant && a.Block == model.Bottleneck {
			return a, fmt.Errorf("the source's strides make it %s, not %s", a.Variant, opt.Variant)
		}
	default:
		if name == "" && ck.ArchName != "" {
			if _, err := model.ByName(ck.ArchName); err == nil {
				name = ck.ArchName
			}
		}
		if name == "" {
			inf, err := InferArch(ck.Tensors)
			if errors.Is(err, errNotResNet) {
				return a, err
			}
			if err != nil {
				return a, fmt.Errorf("%w (give -arch)", err)
			}
			a = inf
		} else {
			k, err := model.ByName(name)
			if err != nil {
				return a, err
			}
			a = k
			if fc := ck.Tensors["fc.weight"]; fc != nil && len(fc.Shape) == 2 {
				a.NumClasses = fc.Shape[0]
			}
			_, a.ConvBias = ck.Tensors["conv1.bias"]
		}
		if opt.Variant != "" {
			a.Variant = opt.Variant
		}
	}
	if opt.NumClasses != 0 && opt.NumClasses != a.NumClasses {
		return a, fmt.Errorf("the classifier has %d classes, not %d", a.NumClasses, opt.NumClasses)
	}
	if err := a.Validate(); err != nil {
		return a, err
	}
	return a, nil
}

// HashFiles returns the hex sha256 of the files' bytes concatenated in
// order ("" for no files): the source_sha256 of a converted model.
func HashFiles(files []string) (string, error) {
	if len(files) == 0 {
		return "", nil
	}
	h := sha256.New()
	for _, p := range files {
		f, _, err := openRegular(nil, p)
		if err != nil {
			return "", fmt.Errorf("hash source %s: %w", p, err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("hash source %s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
