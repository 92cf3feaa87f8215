package convert

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Limits on what a .pth file may make the reader allocate for tensors. A
// torch.save file stores its storages uncompressed, so a real checkpoint
// needs no more storage bytes than the file holds and no more float32
// output than twice that (float16 storages); the budget leaves room for
// re-zipped (deflated) files and stride-0 views, but a zip bomb (a small
// file whose entries inflate to gigabytes) or a view that repeats one
// element a billion times is refused before anything is inflated or
// allocated. The wide ResNet-101 in float64 (1.02 GB) still fits.
const (
	maxPTHTensorBytes = 1 << 30  // storage bytes inflated, and float32 output bytes, each
	pthExpandRatio    = 32       // … and each at most this many times the file size,
	pthExpandSlack    = 16 << 20 // … plus this
	maxTensorRank     = 32
)

// pthBudget is how many bytes of storages a .pth file of size bytes may
// inflate, and how many bytes of float32 output it may produce.
func pthBudget(size int64) int64 {
	if size < 0 || size > maxPTHTensorBytes {
		return maxPTHTensorBytes
	}
	return min(maxPTHTensorBytes, pthExpandSlack+pthExpandRatio*size)
}

// ReadPTH reads a torch.save zip file (torch ≥ 1.6) holding a state dict,
// either bare or inside a training checkpoint: the PyTorch ImageNet
// example's {"epoch", "arch", "state_dict", "best_acc1", "optimizer"}
// (its "arch" string becomes Checkpoint.ArchName), the checkpoint
// tutorial's "model_state_dict", torchvision's training references'
// "model", "net" (see findStateDict). The prefixes DataParallel, DDP and
// torch.compile put on every key ("module.", "_orig_mod.", in any
// nesting) are stripped; int64 num_batches_tracked counters are skipped;
// float32, float16, bfloat16 and float64 tensors are decoded from their
// storages' bytes honouring offset and strides. A zip re-written with
// deflate is read like torch's stored one. Another network than a ResNet
// is refused, named, before its storages are read (see checkResNet).
//
// The file may be hostile: every length it claims is checked against what
// the file can hold before anything is allocated (see readPTH).
func ReadPTH(path string) (*Checkpoint, error) {
	f, size, err := openRegular(nil, path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	ck, err := readPTH(path, f, size)
	if err != nil {
		return nil, err
	}
	ck.Files = []string{path}
	return ck, nil
}

// readPTH reads a torch.save zip file of size bytes from r; name is the
// file's name for errors. The checks, in order: the zip directory
// (archive/zip bounds it by the file size); data.pkl's declared size
// (maxPickleBytes) and then its opcodes (scanPickle) before gopickle sees
// them; each storage's numel × element size against its zip entry's
// declared size, and a stored entry's size against the file; each tensor's
// view (sizes, strides, offset, overflow-checked) against its storage; the
// storage bytes to inflate and the float32 output against pthBudget. Only
// then are storages inflated, each through an io.LimitReader of exactly
// the bytes its tensors use, one at a time. Peak memory is the output plus
// the largest storage plus the pickle's objects. A panic anywhere (a bug,
// or gopickle on a pickle the checks did not foresee) becomes an error.
func readPTH(name string, r io.ReaderAt, size int64) (ck *Checkpoint, err error) {
	defer func() {
		if p := recover(); p != nil {
			if onPanic != nil {
				onPanic(p, debug.Stack())
			}
			ck, err = nil, fmt.Errorf("read %s: malformed torch.save file (%v)", name, p)
		}
	}()
	_, entries, archName, err := loadTorch(name, r, size)
	if err != nil {
		return nil, err
	}
	ck = &Checkpoint{Format: PTH, Tensors: StateDict{}, ArchName: archName, Preprocess: ptr(weights.TorchvisionPreprocess),
		Source: "PyTorch checkpoint " + baseName(name), Files: []string{name}}

	// Check every tensor and plan the reads before reading anything.
	type job struct {
		key string
		t   *pthTensor
	}
	var jobs []job
	var order []*pthStorage // storages in order of first use
	need := map[*pthStorage]int{}
	firstUser := map[*pthStorage]string{}
	var outBytes int64
	for _, e := range entries {
		t, ok := e.value.(*pthTensor)
		if !ok {
			return nil, fmt.Errorf("read %s: entry %q is a %s, not a tensor (a state dict holds only tensors)", name, e.key, pyType(e.value))
		}
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("read %s: tensor %s: %w", name, e.key, err)
		}
		if !t.storage.class.float {
			if strings.HasSuffix(e.key, "num_batches_tracked") {
				ck.Skipped = append(ck.Skipped, e.key)
				continue
			}
			return nil, fmt.Errorf("read %s: tensor %s: %s is not a float type", name, e.key, t.storage.class.name)
		}
		if _, dup := ck.Tensors[e.key]; dup {
			return nil, fmt.Errorf("read %s: tensor %s appears twice", name, e.key)
		}
		ck.Tensors[e.key] = nil // reserved; filled below
		jobs = append(jobs, job{e.key, t})
		if _, seen := need[t.storage]; !seen {
			order = append(order, t.storage)
			firstUser[t.storage] = e.key
		}
		need[t.storage] = max(need[t.storage], t.extent)
		outBytes += 4 * int64(t.count) // count ≤ MaxInt32, rank-checked: no overflow in a few thousand tensors
		if budget := pthBudget(size); outBytes > budget {
			return nil, fmt.Errorf("read %s: tensor %s: the tensors so far need %d MB as float32, more than a %d-byte file may produce (%d MB)", name, e.key, outBytes>>20, size, budget>>20)
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("read %s: the state dict holds no float tensors", name)
	}
	// Refuse another network before inflating its storages (a VGG is 0.5 GB).
	shapes := make(map[string][]int, len(jobs)+len(ck.Skipped))
	for _, j := range jobs {
		shapes[j.key] = j.t.size
	}
	for _, k := range ck.Skipped {
		shapes[k] = nil
	}
	if err := checkResNet(shapes); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var inflate int64
	for _, s := range order {
		inflate += int64(need[s]) * int64(s.class.elemSize) // need ≤ numel, whose bytes fit in int64 (checked)
		if budget := pthBudget(size); inflate > budget {
			return nil, fmt.Errorf("read %s: tensor %s: storage %s (%s): the storages so far inflate to %d MB, more than a %d-byte file may hold (%d MB): a zip bomb?", name, firstUser[s], s.key, s.file.Name, inflate>>20, size, budget>>20)
		}
	}

	// Read each storage once, fill the tensors that view it, drop it.
	users := map[*pthStorage][]job{}
	for _, j := range jobs {
		users[j.t.storage] = append(users[j.t.storage], j)
	}
	for _, s := range order {
		raw, err := s.read(need[s])
		if err != nil {
			return nil, fmt.Errorf("read %s: tensor %s: %w", name, users[s][0].key, err)
		}
		for _, j := range users[s] {
			ck.Tensors[j.key] = j.t.decode(raw)
		}
	}
	return ck, nil
}

// onPanic, when set (by FuzzPth), hears of every panic the reader
// recovers from: the checks should have refused the input first.
var onPanic func(p any, stack []byte)

// torchFile is an opened torch.save zip: its records and the storages its
// pickle has named.
type torchFile struct {
	name     string
	size     int64
	prefix   string               // the archive folder, "archive/"
	records  map[string]*zip.File // by full name
	storages map[string]*pthStorage
}

// loadTorch opens a torch.save zip file, checks and unpickles its data.pkl
// and returns its state dict's entries (wrappers and the "module." prefix
// removed; values are *pthTensor for tensors) and the wrapper's "arch"
// string. No storage is read.
func loadTorch(name string, r io.ReaderAt, size int64) (tf *torchFile, entries []entry, archName string, err error) {
	// gopickle panics on some malformed inputs; a bad file must be an error.
	defer func() {
		if p := recover(); p != nil {
			if onPanic != nil {
				onPanic(p, debug.Stack())
			}
			tf, entries, archName, err = nil, nil, "", fmt.Errorf("read %s: malformed torch.save file (%v)", name, p)
		}
	}()
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, "", fmt.Errorf("read %s: not a torch.save zip file (legacy pre-1.6 checkpoints are not supported: re-save with a current torch): %w", name, err)
	}
	tf = &torchFile{name: name, size: size, records: make(map[string]*zip.File, len(z.File)), storages: map[string]*pthStorage{}}
	var pkl *zip.File
	for _, f := range z.File {
		if _, dup := tf.records[f.Name]; dup {
			return nil, nil, "", fmt.Errorf("read %s: zip entry %s appears twice", name, f.Name)
		}
		tf.records[f.Name] = f
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, nil, "", fmt.Errorf("read %s: zip entry %s is compressed with %s, which the reader does not support: torch.save stores entries uncompressed; re-zip it with deflate (zip -Z deflate) or store it", name, short(f.Name), zipMethod(f.Method))
		}
		switch f.Name[strings.LastIndex(f.Name, "/")+1:] {
		case "data.pkl":
			if pkl != nil {
				return nil, nil, "", fmt.Errorf("read %s: two data.pkl entries (%s, %s)", name, pkl.Name, f.Name)
			}
			pkl = f
		case "constants.pkl":
			return nil, nil, "", fmt.Errorf("read %s: a TorchScript archive (torch.jit.save), not a state dict: save model.state_dict() with torch.save instead", name)
		}
	}
	if pkl == nil {
		return nil, nil, "", fmt.Errorf("read %s: zip file without data.pkl: not a torch.save checkpoint", name)
	}
	tf.prefix = pkl.Name[:len(pkl.Name)-len("data.pkl")]
	p, err := tf.readEntry(pkl, maxPickleBytes)
	if err != nil {
		return nil, nil, "", fmt.Errorf("read %s: %w", name, err)
	}
	if err := scanPickle(p); err != nil {
		return nil, nil, "", fmt.Errorf("read %s: %s: %w", name, pkl.Name, err)
	}
	u := pickle.NewUnpickler(bytes.NewReader(p))
	u.FindClass = findTorchClass
	u.PersistentLoad = tf.persistentLoad
	obj, err := u.Load()
	if err != nil {
		if strings.Contains(err.Error(), "class not found") {
			return nil, nil, "", fmt.Errorf("read %s: %w (the file pickles Python objects, not just tensors in dicts: if it is a whole model saved with torch.save(model), save model.state_dict() instead)", name, err)
		}
		return nil, nil, "", fmt.Errorf("read %s: %s: %w", name, pkl.Name, err)
	}
	entries, archName, err = findStateDict(obj)
	if err != nil {
		return nil, nil, "", fmt.Errorf("read %s: %w", name, err)
	}
	return tf, stripPrefix(entries), archName, nil
}

// zipMethod names a zip compression method for an error message.
func zipMethod(m uint16) string {
	if n, ok := map[uint16]string{12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "xz", 98: "PPMd"}[m]; ok {
		return fmt.Sprintf("%s (zip method %d)", n, m)
	}
	return fmt.Sprintf("zip method %d", m)
}

// checkEntrySize checks a zip entry's declared sizes against what it may
// hold (want bytes exactly when exact, else at most want) and against the
// file: a stored entry's bytes are in the file, and no entry's compressed
// bytes can be larger than the file.
func (tf *torchFile) checkEntrySize(f *zip.File, want uint64, exact bool) error {
	switch {
	case exact && f.UncompressedSize64 != want:
		return fmt.Errorf("zip entry %s holds %d bytes, want %d", f.Name, f.UncompressedSize64, want)
	case f.UncompressedSize64 > want:
		return fmt.Errorf("zip entry %s claims %d bytes, more than the %d it may hold", f.Name, f.UncompressedSize64, want)
	case f.CompressedSize64 > uint64(tf.size):
		return fmt.Errorf("zip entry %s claims %d compressed bytes in a %d-byte file", f.Name, f.CompressedSize64, tf.size)
	case f.Method == zip.Store && f.CompressedSize64 != f.UncompressedSize64:
		return fmt.Errorf("zip entry %s is stored with %d bytes but claims %d", f.Name, f.CompressedSize64, f.UncompressedSize64)
	}
	return nil
}

// readEntry reads a whole zip entry of at most limit bytes, checking its
// declared size first and its CRC at the end.
func (tf *torchFile) readEntry(f *zip.File, limit uint64) ([]byte, error) {
	if err := tf.checkEntrySize(f, limit, false); err != nil {
		return nil, err
	}
	return readPrefix(f, int(f.UncompressedSize64))
}

// readPrefix inflates the first n bytes of a zip entry whose declared size
// has been checked (n ≤ it), through a LimitReader; when n is the whole
// entry it also reads to the end so that archive/zip checks the CRC.
func readPrefix(f *zip.File, n int) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(io.LimitReader(rc, int64(n)), buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	if uint64(n) == f.UncompressedSize64 {
		var one [1]byte
		if m, err := rc.Read(one[:]); m != 0 || (err != nil && err != io.EOF) {
			if err == nil {
				err = fmt.Errorf("more bytes than its declared %d", n)
			}
			return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
	}
	return buf, nil
}

// storageClass is a torch storage type: torch.FloatStorage and the rest.
type storageClass struct {
	name     string
	elemSize int
	float    bool
}

var storageClasses = map[string]*storageClass{}

func init() {
	for _, c := range []storageClass{
		{"FloatStorage", 4, true}, {"HalfStorage", 2, true}, {"BFloat16Storage", 2, true}, {"DoubleStorage", 8, true},
		{"LongStorage", 8, false}, {"IntStorage", 4, false}, {"ShortStorage", 2, false},
		{"CharStorage", 1, false}, {"ByteStorage", 1, false}, {"BoolStorage", 1, false},
	} {
		storageClasses["torch."+c.name] = &c
	}
}

// rebuildTensor is torch._utils._rebuild_tensor_v2.
type rebuildTensor struct{}

// rebuildParameter is torch._utils._rebuild_parameter (an nn.Parameter
// pickled as such): its data is the tensor.
type rebuildParameter struct{}

// findTorchClass resolves the globals a torch.save pickle may name; any
// other class is an error (gopickle resolves OrderedDict, dict and list
// itself).
func findTorchClass(module, name string) (any, error) {
	full := module + "." + name
	switch full {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	}
	if c := storageClasses[full]; c != nil {
		return c, nil
	}
	if opaqueClasses[full] {
		return &opaqueClass{full}, nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		return nil, fmt.Errorf("unsupported storage type %s", short(full))
	}
	return nil, fmt.Errorf("class not found: %s %s", short(module), short(name))
}

// opaqueClasses are classes training checkpoints pickle beside the state
// dict, which the reader never looks into: the argparse.Namespace of the
// "args" entry torchvision's and timm's training scripts save. They load
// as opaqueObjects, their state dropped; every other class stays an error,
// so that a whole pickled nn.Module is still refused with advice.
var opaqueClasses = map[string]bool{"argparse.Namespace": true}

// opaqueClass stands for one of opaqueClasses.
type opaqueClass struct{ name string }

// opaqueObject is an instance of an opaqueClass; it keeps nothing.
type opaqueObject struct{ class *opaqueClass }

func (c *opaqueClass) PyNew(...any) (any, error) { return &opaqueObject{c}, nil }
func (c *opaqueClass) Call(...any) (any, error)  { return &opaqueObject{c}, nil }
func (o *opaqueObject) PySetState(any) error     { return nil }

// short clips a string from a hostile file for an error message.
func short(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q…", s[:80])
	}
	return s
}

// pthStorage is a storage the pickle names: its zip entry, type and
// element count. err says why it cannot be used (reported with the name of
// a tensor that uses it).
type pthStorage struct {
	key   string
	class *storageClass
	numel int
	file  *zip.File
	err   error
}

// persistentLoad resolves the pickle's ('storage', class, key, location,
// numel) references. It reads nothing: it finds the zip entry and checks
// its declared size against numel × the element size.
func (tf *torchFile) persistentLoad(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, fmt.Errorf("persistent id is a %s, want a ('storage', type, key, location, numel) tuple", pyType(id))
	}
	kind, _ := t.Get(0).(string)
	class, classOK := t.Get(1).(*storageClass)
	key, keyOK := t.Get(2).(string)
	numel, numelOK := t.Get(4).(int)
	if kind != "storage" || !classOK || !keyOK || !numelOK {
		return nil, fmt.Errorf("persistent id (%s, %s, %s, …, %s) is not ('storage', type, key, location, numel)", pyType(t.Get(0)), pyType(t.Get(1)), pyType(t.Get(2)), pyType(t.Get(4)))
	}
	if s := tf.storages[key]; s != nil {
		if s.class != class || s.numel != numel {
			return nil, fmt.Errorf("storage %s is named twice with different types or sizes (%s of %d, %s of %d)", short(key), s.class.name, s.numel, class.name, numel)
		}
		return s, nil
	}
	s := &pthStorage{key: short(key), class: class, numel: numel}
	tf.storages[key] = s
	entryName := tf.prefix + "data/" + key
	s.file = tf.records[entryName]
	hi, nbytes := bits.Mul64(uint64(max(numel, 0)), uint64(class.elemSize))
	switch {
	case s.file == nil:
		s.err = fmt.Errorf("storage %s: no zip entry %s", s.key, short(entryName))
	case numel < 0:
		s.err = fmt.Errorf("storage %s (%s): negative size %d", s.key, s.file.Name, numel)
	case hi != 0 || nbytes > math.MaxInt64:
		s.err = fmt.Errorf("storage %s (%s): %d elements of %d bytes overflow", s.key, s.file.Name, numel, class.elemSize)
	default:
		if err := tf.checkEntrySize(s.file, nbytes, true); err != nil {
			s.err = fmt.Errorf("storage %s: a %s of %d elements needs %d bytes: %w", s.key, class.name, numel, nbytes, err)
		}
	}
	return s, nil
}

// read inflates the first n elements of the storage (n ≤ numel, checked).
func (s *pthStorage) read(n int) ([]byte, error) {
	raw, err := readPrefix(s.file, n*s.class.elemSize)
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", s.key, err)
	}
	return raw, nil
}

// pthTensor is a pickled tensor: a view of a storage. count is its number
// of elements and extent the storage elements the view reaches (highest
// index + 1; 0 when empty); err says why the view is unusable.
type pthTensor struct {
	storage       *pthStorage
	offset        int
	size, stride  []int
	count, extent int
	err           error
}

// check reports whether the tensor can be read: its view and storage are
// sound and the view lies within the storage.
func (t *pthTensor) check() error {
	if t.err != nil {
		return t.err
	}
	if t.storage.err != nil {
		return t.storage.err
	}
	if t.extent > t.storage.numel {
		return fmt.Errorf("view (offset %d, size %v, stride %v) runs past its storage %s of %d elements", t.offset, t.size, t.stride, t.storage.key, t.storage.numel)
	}
	return nil
}

func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) != 6 && len(args) != 7 { // torch 2 may add metadata
		return nil, fmt.Errorf("_rebuild_tensor_v2 called with %d arguments, want 6", len(args))
	}
	s, ok := args[0].(*pthStorage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage is a %s", pyType(args[0]))
	}
	t := &pthTensor{storage: s}
	var offsetOK bool
	t.offset, offsetOK = args[1].(int)
	size, sizeOK := intTuple(args[2])
	stride, strideOK := intTuple(args[3])
	if !offsetOK || !sizeOK || !strideOK {
		t.err = fmt.Errorf("storage offset, size and stride are a %s, %s and %s, want an int and tuples of ints", pyType(args[1]), pyType(args[2]), pyType(args[3]))
		return t, nil
	}
	t.size, t.stride = size, stride
	t.count, t.extent, t.err = viewExtent(t.offset, size, stride)
	return t, nil
}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter called without arguments")
	}
	if _, ok := args[0].(*pthTensor); !ok {
		return nil, fmt.Errorf("_rebuild_parameter of a %s", pyType(args[0]))
	}
	return args[0], nil
}

// intTuple reads a tuple of ints of at most maxTensorRank elements.
func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok || t.Len() > maxTensorRank {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}

// viewExtent checks a strided view and returns its element count (at most
// MaxInt32) and extent: the storage elements it reaches, offset + Σ
// (size-1)·stride + 1, or 0 when it has no elements. All arithmetic is
// overflow-checked.
func viewExtent(offset int, size, stride []int) (count, extent int, err error) {
	bad := func(why string) (int, int, error) {
		return 0, 0, fmt.Errorf("view (offset %d, size %v, stride %v): %s", offset, size, stride, why)
	}
	if len(size) != len(stride) {
		return bad("size and stride differ in rank")
	}
	if offset < 0 {
		return bad("negative storage offset")
	}
	count = 1
	for i, d := range size {
		if d < 0 || stride[i] < 0 {
			return bad("negative size or stride")
		}
		if d == 0 {
			count = 0
		}
	}
	if count == 0 {
		return 0, 0, nil
	}
	last := uint64(offset) // highest storage index the view touches
	for i, d := range size {
		if count > math.MaxInt32/d {
			return bad("more than 2^31 elements")
		}
		count *= d
		hi, step := bits.Mul64(uint64(d-1), uint64(stride[i]))
		var carry uint64
		last, carry = bits.Add64(last, step, 0)
		if hi != 0 || carry != 0 || last >= math.MaxInt64 {
			return bad("storage index overflows")
		}
	}
	return count, int(last) + 1, nil
}

// decode copies the view out of its storage's raw little-endian bytes
// (at least extent elements) into a dense row-major float32 tensor.
func (t *pthTensor) decode(raw []byte) *model.Tensor {
	mt := &model.Tensor{Shape: append([]int{}, t.size...), Data: make([]float32, t.count)}
	if t.count == 0 {
		return mt
	}
	at := elemDecoder(t.storage.class.name, raw)
	// Walk the logical indices in row-major order with an odometer.
	idx := make([]int, len(t.size))
	off := t.offset
	for i := range mt.Data {
		mt.Data[i] = at(off)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			off += t.stride[d]
			if idx[d] < t.size[d] {
				break
			}
			off -= idx[d] * t.stride[d]
			idx[d] = 0
		}
	}
	return mt
}

// elemDecoder returns element i of a float storage's raw bytes as float32.
func elemDecoder(class string, raw []byte) func(i int) float32 {
	le := func(b []byte) uint64 {
		var v uint64
		for k := len(b) - 1; k >= 0; k-- {
			v = v<<8 | uint64(b[k])
		}
		return v
	}
	switch class {
	case "FloatStorage":
		return func(i int) float32 { return math.Float32frombits(uint32(le(raw[4*i : 4*i+4]))) }
	case "DoubleStorage":
		return func(i int) float32 { return float32(math.Float64frombits(le(raw[8*i : 8*i+8]))) }
	case "HalfStorage":
		return func(i int) float32 { return halfToFloat(uint16(le(raw[2*i : 2*i+2]))) }
	case "BFloat16Storage":
		return func(i int) float32 { return math.Float32frombits(uint32(le(raw[2*i:2*i+2])) << 16) }
	}
	panic("elemDecoder: " + class)
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

// stateDictKeys are the entries training scripts keep the model's state
// dict under, in order of preference: "state_dict" (the PyTorch ImageNet
// example, Lightning, timm), "model_state_dict" (PyTorch's checkpoint
// tutorial), "model" (torchvision's training references) and "net" (the
// widespread pytorch-cifar scripts).
var stateDictKeys = []string{"state_dict", "model_state_dict", "model", "net"}

// findStateDict finds the state dict in a loaded torch.save object. A dict
// whose values are all tensors is one. Any other dict is a wrapper (a
// training checkpoint beside its epoch, optimizer and metrics, which may be
// tensors too, like the ImageNet example's best_acc1): the state dict is
// under the first of stateDictKeys that holds a dict, else it is the one
// entry that is a dict of tensors only. Wrappers may nest (up to three
// levels). A dict with tensors and stray values but no such entry is
// returned as it is, for readPTH to name the stray entry. It also returns
// the wrapper's "arch" string when there is one.
func findStateDict(obj any) ([]entry, string, error) {
	var archName string
	for depth := 0; depth < 3; depth++ {
		es, ok, err := dictEntries(obj)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			if _, isT := obj.(*pthTensor); isT {
				return nil, "", fmt.Errorf("the file holds a single tensor, not a state dict")
			}
			return nil, "", fmt.Errorf("the file holds a %s, not a state dict (if it is a whole nn.Module saved with torch.save(model), save model.state_dict() instead)", pyType(obj))
		}
		tensors := 0
		byKey := map[string]any{}
		for _, e := range es {
			byKey[e.key] = e.value
			if _, isT := e.value.(*pthTensor); isT {
				tensors++
			}
		}
		if tensors > 0 && tensors == len(es) {
			return es, archName, nil
		}
		if s, isStr := byKey["arch"].(string); isStr && archName == "" {
			archName = s
		}
		var inner any
		for _, k := range stateDictKeys {
			if _, isDict, _ := dictEntries(byKey[k]); isDict {
				inner = byKey[k]
				break
			}
		}
		if inner == nil {
			var candidates []any
			for _, e := range es {
				if isTensorDict(e.value) {
					candidates = append(candidates, e.value)
				}
			}
			if len(candidates) == 1 {
				inner = candidates[0]
			}
		}
		if inner == nil {
			if tensors > 0 {
				return es, archName, nil
			}
			keys := make([]string, 0, len(es))
			for _, e := range es {
				keys = append(keys, short(e.key))
			}
			sort.Strings(keys)
			if len(keys) > 20 {
				keys = append(keys[:20], "…")
			}
			return nil, "", fmt.Errorf("no state dict found: the dict holds no tensors, no %s entry and no single dict of tensors (keys: %s)", quoteOr(stateDictKeys), strings.Join(keys, ", "))
		}
		obj = inner
	}
	return nil, "", fmt.Errorf("no state dict found: %s entries nested more than three deep", quoteOr(stateDictKeys))
}

// isTensorDict reports whether v is a dict with string keys whose values
// are all tensors (and at least one).
func isTensorDict(v any) bool {
	es, ok, err := dictEntries(v)
	if !ok || err != nil || len(es) == 0 {
		return false
	}
	for _, e := range es {
		if _, isT := e.value.(*pthTensor); !isT {
			return false
		}
	}
	return true
}

// quoteOr writes `"a", "b" or "c"`.
func quoteOr(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// wrapperPrefixes are what wrapping a model adds to every state-dict name:
// "module." (DataParallel, DistributedDataParallel) and "_orig_mod."
// (torch.compile), nested in either order ("module._orig_mod." for a
// compiled model under DDP).
var wrapperPrefixes = []string{"module.", "_orig_mod."}

// namePrefix returns what to strip from every name of a state dict: the
// wrapperPrefixes every name carries, repeatedly (at most four, which no
// real stack of wrappers reaches: a hostile name of a million "module."
// must not cost a million scans); then, when the result has no
// conv1.weight but every name shares one first component under which there
// is one (a LightningModule's self.model, "model."), that too.
func namePrefix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	prefix := ""
	for range 4 {
		found := false
		for _, w := range wrapperPrefixes {
			all := true
			for _, n := range names {
				if !strings.HasPrefix(n, prefix+w) {
					all = false
					break
				}
			}
			if all {
				prefix += w
				found = true
			}
		}
		if !found {
			break
		}
	}
	shapes := make(map[string][]int, len(names))
	for _, n := range names {
		shapes[n[len(prefix):]] = nil
	}
	if _, ok := shapes["conv1.weight"]; !ok {
		if p := commonFirstComponent(shapes); p != "" {
			if _, ok := shapes[p+"conv1.weight"]; ok {
				prefix += p
			}
		}
	}
	return prefix
}

// stripPrefix removes namePrefix from every entry's key.
func stripPrefix(es []entry) []entry {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.key
	}
	prefix := namePrefix(names)
	if prefix == "" {
		return es
	}
	out := make([]entry, len(es))
	for i, e := range es {
		out[i] = entry{e.key[len(prefix):], e.value}
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
	case *pthTensor:
		return "tensor"
	case *pthStorage:
		return "storage"
	case *storageClass:
		return "class torch." + o.name
	case *opaqueObject:
		return o.class.name
	case *opaqueClass:
		return "class " + o.name
	case nil:
		return "None"
	}
	return fmt.Sprintf("%T", v)
}
