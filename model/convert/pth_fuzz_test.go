package convert

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// FuzzPth feeds the .pth reader arbitrary bytes. An input starting with a
// zip signature is a whole file; any other input is a data.pkl, zipped
// with four storages archive/data/0…3 of 64 bytes each (16 floats, 32
// halves, 8 doubles…), so that the fuzzer reaches the pickle and the
// tensor views without having to forge zip CRCs. The reader must never
// panic (not even one it recovers from), must keep its allocations
// bounded, must name the file in every error, and must return tensors
// whose data matches their shape. Its seed corpus is testdata/fuzz/FuzzPth
// (regenerate with go test ./model/convert -run TestFuzzPthSeeds
// -update-seeds): small real torch.save files (a training checkpoint,
// stored and deflated, among them), generated valid pickles and the
// hostile files of pth_hostile_test.go.
func FuzzPth(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		file := data
		if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			file = wrapPickle(t, data)
		}
		var panicked string
		onPanic = func(p any, stack []byte) { panicked = fmt.Sprintf("%v\n%s", p, stack) }
		defer func() { onPanic = nil }()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ck, err := readPTH("fuzz.pth", bytes.NewReader(file), int64(len(file)))
		runtime.ReadMemStats(&after)
		if panicked != "" && !strings.HasPrefix(panicOrigin(panicked), "github.com/nlpodyssey/gopickle/") {
			t.Fatalf("recovered panic: %s", panicked)
		}
		if grew, bound := after.TotalAlloc-before.TotalAlloc, uint64(64<<20+100*len(file)); grew > bound {
			t.Fatalf("a %d-byte file allocated %d bytes (bound %d)", len(file), grew, bound)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "read fuzz.pth: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		for name, tensor := range ck.Tensors {
			n := 1
			for _, d := range tensor.Shape {
				n *= d
			}
			if len(tensor.Data) != n {
				t.Fatalf("tensor %s: %d values for shape %v", name, len(tensor.Data), tensor.Shape)
			}
		}
	})
}

// panicOrigin is the first function below the runtime's panic frames in a
// recovered panic's stack: where the panic happened. Panics inside
// gopickle on a malformed pickle structure (an unhashable dict key, a
// zero-length LONG1) allocate nothing and are left to readPTH's recover;
// any other is a check the reader lacks.
func panicOrigin(stack string) string {
	lines := strings.Split(stack, "\n")
	for i, l := range lines {
		if strings.Contains(l, "runtime/panic.go") {
			for _, f := range lines[i+1:] {
				if f != "" && !strings.HasPrefix(f, "\t") && !strings.HasPrefix(f, "runtime.") && !strings.HasPrefix(f, "panic(") {
					return f
				}
			}
		}
	}
	return ""
}

// wrapPickle zips a data.pkl with four 64-byte storages.
func wrapPickle(t testing.TB, pkl []byte) []byte {
	entries := []zipEntry{{name: "archive/data.pkl", data: pkl}}
	for i := 0; i < 4; i++ {
		entries = append(entries, zipEntry{name: "archive/data/" + strconv.Itoa(i), data: floats(16)})
	}
	return torchZip(t, entries...)
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzPth")

// fuzzPthSeeds are the seed corpus, by file name.
func fuzzPthSeeds(t *testing.T) map[string][]byte {
	seeds := map[string][]byte{}
	for _, name := range []string{"../../testdata/pth/views.pth", "../../testdata/pth/dtypes.pth", "testdata/mixed.pth", "testdata/list.pth"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		seeds["real_"+strings.TrimSuffix(filepath.Base(name), ".pth")] = b
	}
	// A training checkpoint (ImageNet-example wrapper, optimizer with a
	// momentum buffer, argparse.Namespace, "module._orig_mod." keys, a
	// float16 tensor) as torch saves it, and re-zipped with deflate.
	for _, name := range []string{"seed_wrapper", "seed_deflated"} {
		b, err := os.ReadFile(filepath.Join("testdata", "layouts", name+".pth"))
		if err != nil {
			t.Fatal(err)
		}
		seeds["real_"+name] = b
	}
	seeds["valid_generated"] = validFile(t)
	// Pickles, wrapped by FuzzPth with 64-byte storages.
	seeds["pkl_valid"] = torchPickle([]fakeTensor{
		{name: "conv1.weight", class: "FloatStorage", key: "0", numel: 16, size: []int64{2, 2, 2, 2}, stride: []int64{8, 4, 2, 1}},
		{name: "bn1.weight", class: "HalfStorage", key: "1", numel: 32, offset: 3, size: []int64{4}, stride: []int64{7}},
		{name: "bn1.bias", class: "BFloat16Storage", key: "2", numel: 32, size: []int64{2, 3}, stride: []int64{1, 2}},
		{name: "fc.bias", class: "FloatStorage", key: "0", numel: 16, offset: 8, size: []int64{8}, stride: []int64{1}},
		{name: "bn1.num_batches_tracked", class: "LongStorage", key: "3", numel: 8, size: []int64{}, stride: []int64{}},
	})
	seeds["pkl_double"] = torchPickle([]fakeTensor{{name: "fc.bias", class: "DoubleStorage", key: "1", numel: 8, size: []int64{2, 4}, stride: []int64{1, 2}}})
	seeds["pkl_stride_overflow"] = torchPickle([]fakeTensor{{name: "w", class: "FloatStorage", key: "0", numel: 16, size: []int64{3}, stride: []int64{1 << 62}}})
	seeds["pkl_offset_overflow"] = torchPickle([]fakeTensor{{name: "w", class: "FloatStorage", key: "0", numel: 16, offset: math.MaxInt64, size: []int64{2}, stride: []int64{1}}})
	seeds["pkl_huge_numel"] = torchPickle([]fakeTensor{{name: "w", class: "FloatStorage", key: "0", numel: 1e12, size: []int64{4}, stride: []int64{1}}})
	seeds["pkl_expand"] = torchPickle([]fakeTensor{{name: "w", class: "FloatStorage", key: "0", numel: 16, size: []int64{1 << 15, 1 << 15}, stride: []int64{0, 0}}})
	seeds["pkl_binbytes8"] = append([]byte("\x80\x04\x8e\x00\x00\x00\x00\x00\x01\x00\x00"), "xyz."...)
	seeds["pkl_frame"] = []byte("\x80\x04\x95\x00\x00\x00\x00\x00\x01\x00\x00N.")
	seeds["file_huge_numel"] = oneTensor(t, fakeTensor{numel: 1e12, size: []int64{4}, stride: []int64{1}})
	seeds["file_stride_overflow"] = oneTensor(t, fakeTensor{size: []int64{3}, stride: []int64{1 << 62}})
	stream, crc := zerosDeflated(1<<12, 1)
	pkl := torchPickle([]fakeTensor{{name: "w", class: "FloatStorage", key: "0", numel: 1 << 10, size: []int64{2}, stride: []int64{1<<10 - 1}}})
	seeds["file_deflated"] = torchZip(t, zipEntry{name: "archive/data.pkl", data: pkl},
		zipEntry{raw: zipHeader("archive/data/0", crc, len(stream), 1<<12), data: stream})
	return seeds
}

// TestPanicOrigin checks that FuzzPth tells gopickle's panics from ours.
func TestPanicOrigin(t *testing.T) {
	var stack string
	onPanic = func(p any, st []byte) { stack = string(st) }
	defer func() { onPanic = nil }()
	// An OrderedDict with a bytes key: gopickle's Set panics on the map.
	pkl := []byte("\x80\x03ccollections\nOrderedDict\n)RC\x01kNs.")
	file := wrapPickle(t, pkl)
	if _, err := readPTH("x.pth", bytes.NewReader(file), int64(len(file))); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("err %v", err)
	}
	if got := panicOrigin(stack); !strings.HasPrefix(got, "github.com/nlpodyssey/gopickle/types.(*OrderedDict).Set") {
		t.Errorf("origin %q in\n%s", got, stack)
	}
}

// TestFuzzPthSeeds checks that the committed seed corpus is what
// fuzzPthSeeds generates (or rewrites it with -update-seeds).
func TestFuzzPthSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzPth")
	for name, data := range fuzzPthSeeds(t) {
		if len(data) > 16<<10 {
			t.Fatalf("seed %s is %d bytes", name, len(data))
		}
		if name == "pkl_valid" || name == "pkl_double" || name == "valid_generated" || name == "file_deflated" || name == "real_seed_wrapper" || name == "real_seed_deflated" {
			file := data
			if strings.HasPrefix(name, "pkl_") {
				file = wrapPickle(t, data)
			}
			if _, err := readPTH(name, bytes.NewReader(file), int64(len(file))); err != nil {
				t.Errorf("seed %s: %v", name, err)
			}
		}
		text := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		path := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != text {
			t.Errorf("seed %s is stale or missing (go test ./model/convert -run TestFuzzPthSeeds -update-seeds): %v", name, err)
		}
	}
}

// zipHeader is a deflated entry's header with the sizes and CRC it claims.
func zipHeader(name string, crc uint32, compressed, uncompressed int) *zip.FileHeader {
	return &zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(compressed), UncompressedSize64: uint64(uncompressed)}
}
