package convert

import (
	"archive/zip"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// ReadPTH reads a torch.save zip file (torch ≥ 1.6) holding a state dict,
// either bare or wrapped as {"state_dict": …} or {"model": …} (the wrapper's
// "arch" string, as the PyTorch ImageNet example writes it, becomes
// Checkpoint.ArchName). A "module." prefix on every key (DataParallel) is
// stripped; int64 num_batches_tracked counters are skipped; float32,
// float16, bfloat16 and float64 tensors are read honouring their storage
// offset and strides.
func ReadPTH(path string) (*Checkpoint, error) {
	entries, archName, err := loadTorch(path)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Format: PTH, Tensors: StateDict{}, ArchName: archName, Preprocess: ptr(weights.TorchvisionPreprocess),
		Source: "PyTorch checkpoint " + baseName(path), Files: []string{path}}
	for _, e := range entries {
		t, ok := e.value.(*pytorch.Tensor)
		if !ok {
			return nil, fmt.Errorf("read %s: entry %q is a %s, not a tensor", path, e.key, pyType(e.value))
		}
		mt, isFloat, err := torchTensor(t)
		if err != nil {
			return nil, fmt.Errorf("read %s: tensor %s: %w", path, e.key, err)
		}
		if !isFloat {
			if strings.HasSuffix(e.key, "num_batches_tracked") {
				ck.Skipped = append(ck.Skipped, e.key)
				continue
			}
			return nil, fmt.Errorf("read %s: tensor %s: %s is not a float type", path, e.key, storageName(t.Source))
		}
		if _, dup := ck.Tensors[e.key]; dup {
			return nil, fmt.Errorf("read %s: tensor %s appears twice", path, e.key)
		}
		ck.Tensors[e.key] = mt
	}
	if len(ck.Tensors) == 0 {
		return nil, fmt.Errorf("read %s: the state dict holds no float tensors", path)
	}
	return ck, nil
}

// loadTorch unpickles a torch.save zip file and returns its state dict's
// entries (wrappers and the "module." prefix removed) and the wrapper's
// "arch" string.
func loadTorch(path string) (entries []entry, archName string, err error) {
	if err := checkTorchZip(path); err != nil {
		return nil, "", err
	}
	// gopickle panics on some malformed inputs; a bad file must be an error.
	defer func() {
		if r := recover(); r != nil {
			entries, archName, err = nil, "", fmt.Errorf("read %s: malformed torch.save file: %v", path, r)
		}
	}()
	obj, err := pytorch.Load(path)
	if err != nil {
		if strings.Contains(err.Error(), "class not found") {
			return nil, "", fmt.Errorf("read %s: %w (the file pickles Python objects, not just tensors in dicts: if it is a whole model saved with torch.save(model), save model.state_dict() instead)", path, err)
		}
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	entries, archName, err = findStateDict(obj)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	return stripModulePrefix(entries), archName, nil
}

// storageName names a storage type the way torch does, for errors.
func storageName(s pytorch.StorageInterface) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", s), "*pytorch.")
}

// checkTorchZip rejects what gopickle cannot read before it sees it: it
// panics on legacy tar checkpoints and only knows torch.save's zip layout.
func checkTorchZip(path string) error {
	z, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("read %s: not a torch.save zip file (legacy pre-1.6 checkpoints are not supported: re-save with a current torch): %w", path, err)
	}
	defer z.Close()
	var hasData, isScript bool
	for _, f := range z.File {
		switch f.Name[strings.LastIndex(f.Name, "/")+1:] {
		case "data.pkl":
			hasData = true
		case "constants.pkl":
			isScript = true
		}
	}
	if isScript {
		return fmt.Errorf("read %s: a TorchScript archive (torch.jit.save), not a state dict: save model.state_dict() with torch.save instead", path)
	}
	if !hasData {
		return fmt.Errorf("read %s: zip file without data.pkl: not a torch.save checkpoint", path)
	}
	return nil
}

// entry is one key/value pair of a pickled dict, in order.
type entry struct {
	key   string
	value any
}

// dictEntries lists a pickled dict's entries; ok is false when v is no dict.
func dictEntries(v any) (es []entry, ok bool, err error) {
	switch d := v.(type) {
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			oe, _ := el.Value.(*types.OrderedDictEntry)
			if oe == nil {
				return nil, true, fmt.Errorf("malformed OrderedDict")
			}
			k, isStr := oe.Key.(string)
			if !isStr {
				return nil, true, fmt.Errorf("dict key %v is a %s, not a string", oe.Key, pyType(oe.Key))
			}
			es = append(es, entry{k, oe.Value})
		}
		return es, true, nil
	case *types.Dict:
		for _, de := range *d {
			k, isStr := de.Key.(string)
			if !isStr {
				return nil, true, fmt.Errorf("dict key %v is a %s, not a string", de.Key, pyType(de.Key))
			}
			es = append(es, entry{k, de.Value})
		}
		return es, true, nil
	}
	return nil, false, nil
}

// findStateDict finds the state dict in a loaded torch.save object: the
// object itself, or its "state_dict" or "model" entry (one or two levels
// down, as training scripts nest them). It also returns the wrapper's
// "arch" string when there is one.
func findStateDict(obj any) ([]entry, string, error) {
	var archName string
	for depth := 0; depth < 3; depth++ {
		es, ok, err := dictEntries(obj)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			if _, isT := obj.(*pytorch.Tensor); isT {
				return nil, "", fmt.Errorf("the file holds a single tensor, not a state dict")
			}
			return nil, "", fmt.Errorf("the file holds a %s, not a state dict (if it is a whole nn.Module saved with torch.save(model), save model.state_dict() instead)", pyType(obj))
		}
		var inner any
		tensors := 0
		var keys []string
		for _, e := range es {
			keys = append(keys, e.key)
			switch e.key {
			case "state_dict", "model":
				if _, isDict, _ := dictEntries(e.value); isDict && inner == nil {
					inner = e.value
				}
			case "arch":
				if s, isStr := e.value.(string); isStr {
					archName = s
				}
			}
			if _, isT := e.value.(*pytorch.Tensor); isT {
				tensors++
			}
		}
		if tensors > 0 {
			return es, archName, nil
		}
		if inner == nil {
			sort.Strings(keys)
			if len(keys) > 20 {
				keys = append(keys[:20], "…")
			}
			return nil, "", fmt.Errorf("no state dict found: the top-level dict has no tensors and no \"state_dict\" or \"model\" entry (keys: %v)", keys)
		}
		obj = inner
	}
	return nil, "", fmt.Errorf("no state dict found: \"state_dict\"/\"model\" entries nested too deep")
}

// stripModulePrefix removes the "module." prefix DataParallel puts on every
// key, when every key has it.
func stripModulePrefix(es []entry) []entry {
	for _, e := range es {
		if !strings.HasPrefix(e.key, "module.") {
			return es
		}
	}
	out := make([]entry, len(es))
	for i, e := range es {
		out[i] = entry{strings.TrimPrefix(e.key, "module."), e.value}
	}
	return out
}

// pyType names a pickled value's type for error messages.
func pyType(v any) string {
	switch o := v.(type) {
	case *types.GenericObject:
		if o.Class != nil {
			return o.Class.Module + "." + o.Class.Name
		}
	case *types.GenericClass:
		return "class " + o.Module + "." + o.Name
	case *types.List:
		return "list"
	case *types.Tuple:
		return "tuple"
	case string:
		return "string"
	case nil:
		return "None"
	}
	return fmt.Sprintf("%T", v)
}

// torchTensor copies a pickled tensor into a dense row-major float32 tensor,
// following its storage offset and strides. isFloat is false (and the
// tensor nil) for integer and bool storages.
func torchTensor(t *pytorch.Tensor) (mt *model.Tensor, isFloat bool, err error) {
	var at func(i int) float32
	var n int
	switch s := t.Source.(type) {
	case *pytorch.FloatStorage:
		n, at = len(s.Data), func(i int) float32 { return s.Data[i] }
	case *pytorch.HalfStorage:
		n, at = len(s.Data), func(i int) float32 { return s.Data[i] }
	case *pytorch.BFloat16Storage:
		n, at = len(s.Data), func(i int) float32 { return s.Data[i] }
	case *pytorch.DoubleStorage:
		n, at = len(s.Data), func(i int) float32 { return float32(s.Data[i]) }
	case *pytorch.LongStorage, *pytorch.IntStorage, *pytorch.ShortStorage, *pytorch.CharStorage,
		*pytorch.ByteStorage, *pytorch.BoolStorage:
		return nil, false, nil
	case nil:
		return nil, false, fmt.Errorf("tensor has no storage")
	default:
		return nil, false, fmt.Errorf("unsupported storage type %T", t.Source)
	}
	if len(t.Size) != len(t.Stride) {
		return nil, true, fmt.Errorf("size %v and stride %v differ in rank", t.Size, t.Stride)
	}
	count := 1
	last := t.StorageOffset // highest storage index the view touches
	for i, d := range t.Size {
		if d < 0 || t.Stride[i] < 0 {
			return nil, true, fmt.Errorf("negative size or stride (%v, %v)", t.Size, t.Stride)
		}
		if d > 0 && count > math.MaxInt32/d {
			return nil, true, fmt.Errorf("size %v too large", t.Size)
		}
		count *= d
		if d > 0 {
			last += (d - 1) * t.Stride[i]
		}
	}
	if t.StorageOffset < 0 || (count > 0 && last >= n) {
		return nil, true, fmt.Errorf("view (offset %d, size %v, stride %v) runs past its storage of %d elements", t.StorageOffset, t.Size, t.Stride, n)
	}
	mt = &model.Tensor{Shape: append([]int{}, t.Size...), Data: make([]float32, count)}
	if count == 0 {
		return mt, true, nil
	}
	// Walk the logical indices in row-major order with an odometer.
	idx := make([]int, len(t.Size))
	off := t.StorageOffset
	for i := 0; i < count; i++ {
		mt.Data[i] = at(off)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			off += t.Stride[d]
			if idx[d] < t.Size[d] {
				break
			}
			off -= idx[d] * t.Stride[d]
			idx[d] = 0
		}
	}
	return mt, true, nil
}
