package convert

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Hostile .pth files, built here with archive/zip and hand-written pickle
// bytes laid out as torch.save writes them (archive/data.pkl, then
// archive/data/<key> per storage, stored uncompressed).

// fakeTensor is one state dict entry of a generated pickle.
type fakeTensor struct {
	name, class, key string // class: "FloatStorage", …
	numel, offset    int64
	size, stride     []int64
}

// pickleInt writes an int the way Python's pickler does: BININT1, BININT
// or LONG1.
func pickleInt(b *bytes.Buffer, v int64) {
	switch {
	case v >= 0 && v < 256:
		b.Write([]byte{'K', byte(v)})
	case v >= math.MinInt32 && v <= math.MaxInt32:
		b.WriteByte('J')
		binary.Write(b, binary.LittleEndian, int32(v))
	default:
		b.Write([]byte{0x8a, 8})
		binary.Write(b, binary.LittleEndian, v)
	}
}

func pickleStr(b *bytes.Buffer, s string) {
	b.WriteByte('X')
	binary.Write(b, binary.LittleEndian, uint32(len(s)))
	b.WriteString(s)
}

func pickleInts(b *bytes.Buffer, vs []int64) {
	b.WriteByte('(')
	for _, v := range vs {
		pickleInt(b, v)
	}
	b.WriteByte('t')
}

// torchPickle writes an OrderedDict state dict of tensors as torch.save's
// protocol-2 pickle does (without memo opcodes).
func torchPickle(ts []fakeTensor) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x02ccollections\nOrderedDict\n)R(")
	for _, t := range ts {
		pickleStr(&b, t.name)
		b.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		b.WriteByte('(')
		pickleStr(&b, "storage")
		b.WriteString("ctorch\n" + t.class + "\n")
		pickleStr(&b, t.key)
		pickleStr(&b, "cpu")
		pickleInt(&b, t.numel)
		b.WriteString("tQ")
		pickleInt(&b, t.offset)
		pickleInts(&b, t.size)
		pickleInts(&b, t.stride)
		b.WriteString("\x89ccollections\nOrderedDict\n)RtR")
	}
	b.WriteString("u.")
	return b.Bytes()
}

// zipEntry is one file of a generated zip: data stored, or a raw deflate
// stream with the sizes and CRC it claims.
type zipEntry struct {
	name string
	data []byte
	raw  *zip.FileHeader
}

func torchZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		var err error
		if e.raw != nil {
			var fw = mustW(w.CreateRaw(e.raw))
			_, err = fw.Write(e.data)
		} else {
			fw := mustW(w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store}))
			_, err = fw.Write(e.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustW[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// floats is n little-endian float32s 1, 2, 3, ….
func floats(n int) []byte {
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(i+1)))
	}
	return b
}

// readHostile writes a generated file and reads it with ReadPTH, failing
// the test on a panic, on success, on an error not containing each of
// want, or on more than maxAlloc bytes allocated while reading.
func readHostile(t *testing.T, file []byte, maxAlloc uint64, want ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hostile.pth")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("ReadPTH panicked: %v", p)
			}
		}()
		_, err = ReadPTH(path)
	}()
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > maxAlloc {
		t.Errorf("reading a %d-byte file allocated %d MB (bound %d MB)", len(file), grew>>20, maxAlloc>>20)
	}
	if err == nil {
		t.Fatalf("ReadPTH accepted a hostile file")
	}
	for _, w := range append(want, "hostile.pth") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	t.Logf("%d bytes: %v", len(file), err)
}

const hostileAlloc = 64 << 20 // bytes a few-hundred-byte hostile file may make the reader allocate

// validFile is a small valid state dict of two views of one storage.
func validFile(t testing.TB) []byte {
	return torchZip(t,
		zipEntry{name: "archive/data.pkl", data: torchPickle([]fakeTensor{
			{name: "w", class: "FloatStorage", key: "0", numel: 6, size: []int64{2, 3}, stride: []int64{3, 1}},
			{name: "wt", class: "FloatStorage", key: "0", numel: 6, offset: 1, size: []int64{2, 2}, stride: []int64{1, 3}},
		})},
		zipEntry{name: "archive/data/0", data: floats(6)},
	)
}

// TestPTHGenerated checks the generator: its valid file reads back.
func TestPTHGenerated(t *testing.T) {
	file := validFile(t)
	ck, err := readPTH("valid.pth", bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	w, wt := ck.Tensors["w"], ck.Tensors["wt"]
	if w == nil || wt == nil || !slicesEqual(w.Data, []float32{1, 2, 3, 4, 5, 6}) || !slicesEqual(wt.Data, []float32{2, 5, 3, 6}) {
		t.Fatalf("tensors %v %v", w, wt)
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// oneTensor is a file with one float tensor over a 4-element storage.
func oneTensor(t testing.TB, ft fakeTensor) []byte {
	ft.name, ft.class, ft.key = "conv1.weight", "FloatStorage", "0"
	if ft.numel == 0 {
		ft.numel = 4
	}
	return torchZip(t,
		zipEntry{name: "archive/data.pkl", data: torchPickle([]fakeTensor{ft})},
		zipEntry{name: "archive/data/0", data: floats(4)},
	)
}

// TestPTHStrideOverflow: a stride whose extent wraps int64 used to pass the
// bounds check and index the storage at 2^62 (a panic outside the recover).
func TestPTHStrideOverflow(t *testing.T) {
	file := oneTensor(t, fakeTensor{size: []int64{3}, stride: []int64{1 << 62}})
	readHostile(t, file, hostileAlloc, "conv1.weight", "overflows")
}

// TestPTHOffsetOverflow: a storage offset near MaxInt64 made the extent
// wrap negative in the same way.
func TestPTHOffsetOverflow(t *testing.T) {
	file := oneTensor(t, fakeTensor{offset: math.MaxInt64, size: []int64{2}, stride: []int64{1}})
	readHostile(t, file, hostileAlloc, "conv1.weight", "overflows")
}

// TestPTHNegativeView: negative offsets, sizes, strides and storage sizes.
func TestPTHNegativeView(t *testing.T) {
	for _, c := range []struct {
		ft   fakeTensor
		want string
	}{
		{fakeTensor{offset: -1, size: []int64{2}, stride: []int64{1}}, "negative storage offset"},
		{fakeTensor{size: []int64{-2}, stride: []int64{1}}, "negative size or stride"},
		{fakeTensor{size: []int64{2}, stride: []int64{-1}}, "negative size or stride"},
		{fakeTensor{numel: -4, size: []int64{2}, stride: []int64{1}}, "negative size"},
		{fakeTensor{size: []int64{2, 3}, stride: []int64{1}}, "differ in rank"},
		{fakeTensor{offset: 3, size: []int64{2}, stride: []int64{1}}, "runs past its storage"},
		{fakeTensor{size: []int64{1 << 20, 1 << 20}, stride: []int64{0, 0}}, "more than 2^31 elements"},
		// A stride-0 view of 2^30 elements: 4 GiB of output from 4 floats.
		{fakeTensor{size: []int64{1 << 15, 1 << 15}, stride: []int64{0, 0}}, "float32"},
	} {
		readHostile(t, oneTensor(t, c.ft), hostileAlloc, "conv1.weight", c.want)
	}
}

// TestPTHHugeStorageNumel: a storage claiming 10^12 elements made gopickle
// allocate 4 TB (a fatal out of memory) before reading its 16 bytes.
func TestPTHHugeStorageNumel(t *testing.T) {
	file := oneTensor(t, fakeTensor{numel: 1e12, size: []int64{4}, stride: []int64{1}})
	readHostile(t, file, hostileAlloc, "conv1.weight", "storage 0", "archive/data/0", "needs 4000000000000 bytes")
	// numel × element size overflowing int64.
	file = oneTensor(t, fakeTensor{numel: 1 << 62, size: []int64{4}, stride: []int64{1}})
	readHostile(t, file, hostileAlloc, "conv1.weight", "overflow")
}

// hugePickle is a file whose data.pkl is the given pickle.
func hugePickle(t testing.TB, p []byte) []byte {
	return torchZip(t, zipEntry{name: "archive/data.pkl", data: p})
}

// TestPTHHugeBinBytes8: a pickle claiming a 1 TiB BINBYTES8 made gopickle
// allocate it (a fatal out of memory). Same for every length-prefixed
// opcode and for FRAME.
func TestPTHHugeBinBytes8(t *testing.T) {
	tib := binary.LittleEndian.AppendUint64(nil, 1<<40)
	readHostile(t, hugePickle(t, append(append([]byte("\x80\x04\x8e"), tib...), "xyz."...)), hostileAlloc, "BINBYTES8", "1099511627776 bytes", "data.pkl")
}

func TestPTHHugeFrame(t *testing.T) {
	tib := binary.LittleEndian.AppendUint64(nil, 1<<40)
	readHostile(t, hugePickle(t, append(append([]byte("\x80\x04\x95"), tib...), "N."...)), hostileAlloc, "FRAME", "1099511627776 bytes", "data.pkl")
}

func TestPTHHugeLengths(t *testing.T) {
	u32 := binary.LittleEndian.AppendUint32(nil, math.MaxUint32)
	u64 := binary.LittleEndian.AppendUint64(nil, math.MaxUint64)
	for _, c := range []struct {
		name, op string
		n        []byte
	}{
		{"BINBYTES", "B", u32},
		{"BINUNICODE", "X", u32},
		{"BINUNICODE8", "\x8d", u64},
		{"BYTEARRAY8", "\x96", u64},
		{"BINBYTES8", "\x8e", u64},
		{"SHORT_BINBYTES", "C", []byte{255}},
		{"SHORT_BINUNICODE", "\x8c", []byte{255}},
		{"BINSTRING", "T", binary.LittleEndian.AppendUint32(nil, 1<<30)},
		{"LONG4", "\x8b", binary.LittleEndian.AppendUint32(nil, 1<<30)},
	} {
		p := append(append([]byte("\x80\x05"+c.op), c.n...), "ab."...)
		readHostile(t, hugePickle(t, p), hostileAlloc, c.name, "data.pkl")
	}
	for _, c := range []struct{ p, want string }{
		{"\x80\x02T\xff\xff\xff\xffab.", "negative length"},
		{"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00\x00\x00\x00N.", "inside the frame"},
		{"\x80\x02N", "without a STOP"},
		{"\x80\x02\xff.", "unknown pickle opcode 0xff"},
		{"\x80\x02\x82\x01.", "EXT1"},
		{"\x80\x02I123", "no end of line"},
		{"\x80\x02\x8a\x00.", "LONG1 at byte 2: empty integer"},
		{"\x80\x02\x8b\x00\x00\x00\x00.", "LONG4 at byte 2: empty integer"},
	} {
		readHostile(t, hugePickle(t, []byte(c.p)), hostileAlloc, c.want)
	}
}

// TestPTHHugePickleEntry: a data.pkl entry claiming more bytes than any
// checkpoint's pickle needs is refused before it is inflated.
func TestPTHHugePickleEntry(t *testing.T) {
	file := torchZip(t, zipEntry{raw: &zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate,
		CompressedSize64: 2, UncompressedSize64: 1 << 40}, data: []byte{3, 0}})
	readHostile(t, file, hostileAlloc, "archive/data.pkl", "1099511627776 bytes")
}

// zerosDeflated is a raw deflate stream of n × chunk bytes of zeros (about
// 1 KB per MiB): one flushed chunk repeated, then the final block.
func zerosDeflated(chunk, n int) (stream []byte, crc uint32) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	zeros := make([]byte, chunk)
	w.Write(zeros)
	w.Flush()
	block := append([]byte{}, b.Bytes()...)
	b.Reset()
	w.Close()
	stream = append(bytes.Repeat(block, n), b.Bytes()...)
	for i := 0; i < n; i++ {
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	return stream, crc
}

// TestPTHZipBomb: a 1 MB file whose storage inflates to 1 GiB used to take
// over 2 GB. The storage's claims are consistent (2^28 floats, a 1 GiB
// entry), but a 1 MB file may not expand that far: it is refused before
// inflating, whether a tensor views all of it (1 GiB of output) or only
// its two ends (1 GiB to inflate for 8 bytes of output).
func TestPTHZipBomb(t *testing.T) {
	stream, crc := zerosDeflated(1<<20, 1024)
	n := int64(1 << 28)
	for _, c := range []struct {
		size, stride []int64
		want         []string
	}{
		{[]int64{1 << 14, 1 << 14}, []int64{1 << 14, 1}, []string{"tensor fc.weight", "1024 MB as float32"}},
		{[]int64{2}, []int64{n - 1}, []string{"tensor fc.weight", "storage 0", "archive/data/0", "zip bomb"}},
	} {
		file := torchZip(t,
			zipEntry{name: "archive/data.pkl", data: torchPickle([]fakeTensor{
				{name: "fc.weight", class: "FloatStorage", key: "0", numel: n, size: c.size, stride: c.stride},
			})},
			zipEntry{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate, CRC32: crc,
				CompressedSize64: uint64(len(stream)), UncompressedSize64: uint64(4 * n)}, data: stream},
		)
		if len(file) > 2<<20 {
			t.Fatalf("bomb is %d bytes", len(file))
		}
		readHostile(t, file, hostileAlloc, c.want...)
	}
}

// TestPTHLyingEntries: entries whose declared sizes disagree with the
// storage, or with themselves, or whose data is short.
func TestPTHLyingEntries(t *testing.T) {
	pkl := torchPickle([]fakeTensor{{name: "b", class: "FloatStorage", key: "0", numel: 4, size: []int64{4}, stride: []int64{1}}})
	stream, crc := zerosDeflated(1<<20, 1)
	for _, c := range []struct {
		e    zipEntry
		want string
	}{
		{zipEntry{name: "archive/data/0", data: floats(3)}, "holds 12 bytes, want 16"},
		{zipEntry{name: "archive/data/1", data: floats(4)}, "no zip entry archive/data/0"},
		{zipEntry{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Store, CompressedSize64: 8, UncompressedSize64: 16}, data: floats(2)}, "stored with 8 bytes"},
		{zipEntry{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(stream)), UncompressedSize64: 16}, data: stream}, "archive/data/0"},
		{zipEntry{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate, CompressedSize64: 1 << 40, UncompressedSize64: 16}, data: stream}, "1099511627776 compressed bytes"},
	} {
		readHostile(t, torchZip(t, zipEntry{name: "archive/data.pkl", data: pkl}, c.e), hostileAlloc, "tensor b", c.want)
	}
}

// TestHalfToFloat32 checks the float16 decoder on every bit pattern
// against an independent formula.
func TestHalfToFloat32(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		sign, exp, frac := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch exp {
		case 0:
			want = float64(frac) * math.Pow(2, -24)
		case 31:
			want = math.Inf(1)
			if frac != 0 {
				want = math.NaN()
			}
		default:
			want = (1 + float64(frac)/1024) * math.Pow(2, float64(exp-15))
		}
		if sign == 1 {
			want = -want
		}
		got := halfToFloat(uint16(h))
		if math.IsNaN(want) != math.IsNaN(float64(got)) || (!math.IsNaN(want) && float64(got) != want) {
			t.Fatalf("half %#04x = %v, want %v", h, got, want)
		}
	}
}

// TestPTHMemoryRealFile bounds what reading a real checkpoint allocates in
// all: its storages once each (read one at a time, then dropped), the
// float32 output, and the pickle's objects.
func TestPTHMemoryRealFile(t *testing.T) {
	path := filepath.Join(sharedPTH, "tiny_bottleneck.pth")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ck, err := ReadPTH(path)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	var out uint64
	for _, tensor := range ck.Tensors {
		out += 4 * uint64(len(tensor.Data))
	}
	// The file is its storages (stored) plus a 15 KB pickle; allow the
	// pickle's objects 2 MB.
	grew, bound := after.TotalAlloc-before.TotalAlloc, uint64(st.Size())+out+2<<20
	t.Logf("%d-byte file, %d bytes of output: allocated %d bytes (bound %d)", st.Size(), out, grew, bound)
	if grew > bound {
		t.Errorf("allocated %d bytes, bound %d", grew, bound)
	}
}
