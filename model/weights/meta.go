package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/residual-webgpu/residual/model"
)

// The __metadata__ keys of a weight file. Every value is a string; arch,
// preprocess and labels hold JSON.
const (
	keyFormatVersion = "format_version"
	keyArch          = "arch"
	keyPreprocess    = "preprocess"
	keyScheme        = "scheme"
	keyLabels        = "labels"
	keySource        = "source"
	keySourceSHA256  = "source_sha256"
)

// maxImageSide bounds Preprocess sizes, as model.Net.Stages bounds inputs.
const maxImageSide = 1 << 15

// Validate reports whether the scheme is one this package reads and writes.
func (s Scheme) Validate() error {
	switch s {
	case F32, Int8:
		return nil
	case Int4:
		return fmt.Errorf("scheme %s is not supported yet (supported: %s, %s)", s, F32, Int8)
	}
	return fmt.Errorf("unknown scheme %q (supported: %s, %s)", s, F32, Int8)
}

// Validate reports whether the preprocessing is usable: positive crop,
// resize at least the crop, RGB or BGR, finite values, positive input scale
// and non-zero std.
func (p Preprocess) Validate() error {
	if p.Crop < 1 || p.Crop > maxImageSide {
		return fmt.Errorf("preprocess: crop %d out of range [1,%d]", p.Crop, maxImageSide)
	}
	if p.Resize < p.Crop || p.Resize > maxImageSide {
		return fmt.Errorf("preprocess: resize %d must be in [crop %d, %d]", p.Resize, p.Crop, maxImageSide)
	}
	if p.ChannelOrder != "RGB" && p.ChannelOrder != "BGR" {
		return fmt.Errorf("preprocess: channel_order %q, want RGB or BGR", p.ChannelOrder)
	}
	if !finite(p.InputScale) || p.InputScale <= 0 {
		return fmt.Errorf("preprocess: input_scale %v must be positive and finite", p.InputScale)
	}
	for c := range 3 {
		if !finite(p.Mean[c]) {
			return fmt.Errorf("preprocess: mean[%d] = %v is not finite", c, p.Mean[c])
		}
		if !finite(p.Std[c]) || p.Std[c] == 0 {
			return fmt.Errorf("preprocess: std[%d] = %v must be finite and non-zero", c, p.Std[c])
		}
	}
	return nil
}

// Validate reports whether the metadata describes a model this package can
// hold: supported format version and scheme, a valid architecture, sane
// preprocessing, and either no labels or one per class.
func (m Metadata) Validate() error {
	_, err := m.net()
	return err
}

// net validates the metadata and returns the network its arch implies.
func (m Metadata) net() (model.Net, error) {
	if m.FormatVersion != FormatVersion {
		return model.Net{}, fmt.Errorf("format_version %d is not supported (this reader supports %d)", m.FormatVersion, FormatVersion)
	}
	if err := m.Scheme.Validate(); err != nil {
		return model.Net{}, err
	}
	net, err := m.Arch.Net()
	if err != nil {
		return model.Net{}, err
	}
	if err := m.Preprocess.Validate(); err != nil {
		return model.Net{}, err
	}
	if len(m.Labels) != 0 && len(m.Labels) != m.Arch.NumClasses {
		return model.Net{}, fmt.Errorf("labels: %d labels for %d classes (want %d or none)", len(m.Labels), m.Arch.NumClasses, m.Arch.NumClasses)
	}
	return net, nil
}

// encode turns the metadata into the file's string map.
func (m Metadata) encode() (map[string]string, error) {
	js := func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	arch, err := js(m.Arch)
	if err != nil {
		return nil, fmt.Errorf("metadata arch: %w", err)
	}
	pre, err := js(m.Preprocess)
	if err != nil {
		return nil, fmt.Errorf("metadata preprocess: %w", err)
	}
	labels := m.Labels
	if labels == nil {
		labels = []string{}
	}
	lab, err := js(labels)
	if err != nil {
		return nil, fmt.Errorf("metadata labels: %w", err)
	}
	return map[string]string{
		keyFormatVersion: strconv.Itoa(m.FormatVersion),
		keyArch:          arch,
		keyPreprocess:    pre,
		keyScheme:        string(m.Scheme),
		keyLabels:        lab,
		keySource:        m.Source,
		keySourceSHA256:  m.SourceSHA256,
	}, nil
}

// decodeMetadata reads a file's string map. format_version, arch,
// preprocess and scheme are required; labels, source and source_sha256 are
// optional; other keys are ignored. It checks syntax only: Metadata.net
// checks meaning.
func decodeMetadata(kv map[string]string) (Metadata, error) {
	var m Metadata
	get := func(key string) (string, error) {
		v, ok := kv[key]
		if !ok {
			return "", fmt.Errorf("metadata: missing %s", key)
		}
		return v, nil
	}
	v, err := get(keyFormatVersion)
	if err != nil {
		return m, err
	}
	if m.FormatVersion, err = strconv.Atoi(v); err != nil {
		return m, fmt.Errorf("metadata %s: %q is not an integer", keyFormatVersion, v)
	}
	if m.FormatVersion != FormatVersion {
		// Checked first so a newer file says so instead of failing later on
		// whatever changed.
		return m, fmt.Errorf("format_version %d is not supported (this reader supports %d)", m.FormatVersion, FormatVersion)
	}
	for _, f := range []struct {
		key string
		dst any
	}{{keyArch, &m.Arch}, {keyPreprocess, &m.Preprocess}} {
		v, err := get(f.key)
		if err != nil {
			return m, err
		}
		if err := unmarshalObject(v, f.dst); err != nil {
			return m, fmt.Errorf("metadata %s: %w", f.key, err)
		}
	}
	if v, err = get(keyScheme); err != nil {
		return m, err
	}
	m.Scheme = Scheme(v)
	if v, ok := kv[keyLabels]; ok {
		if len(v) == 0 || v[0] != '[' {
			return m, fmt.Errorf("metadata %s: not a JSON array", keyLabels)
		}
		if err := json.Unmarshal([]byte(v), &m.Labels); err != nil {
			return m, fmt.Errorf("metadata %s: %w", keyLabels, err)
		}
	}
	m.Source = kv[keySource]
	m.SourceSHA256 = kv[keySourceSHA256]
	return m, nil
}

// unmarshalObject decodes a JSON object into dst, refusing null and other
// non-objects (which json.Unmarshal would silently accept as "no change").
func unmarshalObject(s string, dst any) error {
	if len(s) == 0 || s[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal([]byte(s), dst)
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }
