package preprocess

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/weights"
)

// flatJPEG writes a w×h 4:2:0 JPEG whose 8×8 blocks are each one flat
// colour (only DC coefficients), as baseline or as a progressive file (a
// DC scan, then one AC scan a component made of end-of-band runs), with
// an EXIF orientation when o > 1. Such files are small (≈0.5 bytes a
// block) yet decode like any photo of their size, so tests can make
// 50–200 megapixel JPEGs on the fly. luma(bx, by) is a luma block's level.
func flatJPEG(w, h int, progressive bool, o int, luma func(bx, by int) byte) []byte {
	var out bytes.Buffer
	seg := func(m byte, p []byte) {
		out.Write([]byte{0xFF, m, byte((len(p) + 2) >> 8), byte(len(p) + 2)})
		out.Write(p)
	}
	out.Write([]byte{0xFF, 0xD8})
	if o > 1 {
		tiff := []byte("Exif\x00\x00MM\x00\x2A\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00")
		tiff[25] = byte(o)
		seg(0xE1, tiff)
	}
	q := make([]byte, 65) // table 0: every step 8, so a flat level p has DC p-128
	for i := 1; i < 65; i++ {
		q[i] = 8
	}
	seg(0xDB, q)
	sof := byte(0xC0)
	if progressive {
		sof = 0xC2
	}
	seg(sof, []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0})
	// DC table 0: categories 0–11, four-bit codes 0000–1011. AC table 0:
	// EOB and EOBRUN r=1…14 (symbols r<<4), four-bit codes in that order.
	dht := []byte{0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	dht = append(dht, 0x10, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	for r := range 15 {
		dht = append(dht, byte(r<<4))
	}
	seg(0xC4, dht)

	var bw bitWriter
	category := func(v int) int {
		n := 0
		for a := max(v, -v); a > 0; a >>= 1 {
			n++
		}
		return n
	}
	dc := func(pred *int, v int) {
		d := v - *pred
		*pred = v
		s := category(d)
		bw.put(uint32(s), 4)
		if d < 0 {
			d += 1<<s - 1
		}
		bw.put(uint32(d), s)
	}
	mx, my := (w+15)/16, (h+15)/16
	level := func(bx, by int) int { return int(luma(min(bx, (w-1)/8), min(by, (h-1)/8))) - 128 }
	scan := func(comps ...byte) {
		p := []byte{byte(len(comps))}
		for _, c := range comps {
			p = append(p, c, 0x00)
		}
		if progressive && len(comps) == 1 {
			p = append(p, 1, 63, 0)
		} else if progressive {
			p = append(p, 0, 0, 0)
		} else {
			p = append(p, 0, 63, 0)
		}
		seg(0xDA, p)
	}
	scan(1, 2, 3)
	var pred [3]int
	for y := range my {
		for x := range mx {
			for i := range 4 {
				dc(&pred[0], level(2*x+i%2, 2*y+i/2))
				if !progressive {
					bw.put(0, 4) // EOB
				}
			}
			for c := 1; c < 3; c++ {
				dc(&pred[c], 0) // grey chroma
				if !progressive {
					bw.put(0, 4)
				}
			}
		}
	}
	out.Write(bw.flush())
	if progressive {
		for c := byte(1); c <= 3; c++ {
			scan(c)
			cw, ch := (w+7)/8, (h+7)/8 // luma blocks
			if c > 1 {
				cw, ch = ((w+1)/2+7)/8, ((h+1)/2+7)/8
			}
			for n := cw * ch; n > 0; {
				run := min(n, 1<<15-1)
				r := category(run) - 1
				bw.put(uint32(r), 4)
				bw.put(uint32(run-1<<r), r)
				n -= run
			}
			out.Write(bw.flush())
		}
	}
	out.Write([]byte{0xFF, 0xD9})
	return out.Bytes()
}

// bitWriter writes entropy-coded bits, stuffing a 0 after each 0xFF.
type bitWriter struct {
	buf  []byte
	acc  uint64
	bits int
}

func (b *bitWriter) put(v uint32, n int) {
	b.acc = b.acc<<n | uint64(v)&(1<<n-1)
	b.bits += n
	for b.bits >= 8 {
		c := byte(b.acc >> (b.bits - 8))
		b.buf = append(b.buf, c)
		if c == 0xFF {
			b.buf = append(b.buf, 0)
		}
		b.bits -= 8
	}
}

// flush pads the last byte with ones and returns the scan's data.
func (b *bitWriter) flush() []byte {
	if b.bits > 0 {
		b.put(1<<(8-b.bits)-1, 8-b.bits)
	}
	out := b.buf
	*b = bitWriter{}
	return out
}

// bigJPEGCases are the large photos TestLargeJPEGMemory decodes, each in
// a process of its own so its peak memory can be read.
var bigJPEGCases = map[string]struct {
	w, h        int
	progressive bool
	orientation int
	scale       int // the reduction Decode should choose
}{
	"50MP-progressive":          {8660, 5773, true, 1, 4},
	"50MP-baseline":             {8660, 5773, false, 1, 1},
	"50MP-baseline-rotated":     {8660, 5773, false, 6, 2},
	"200MP-baseline":            {16320, 12240, false, 1, 4},
	"200MP-progressive":         {16320, 12240, true, 1, 8},
	"108MP-progressive-rotated": {12000, 9000, true, 8, 8},
}

func bigJPEGLevel(bx, by int) byte { return byte(40 + (bx/7+by/5)%180) }

// TestLargeJPEGMemory decodes and prepares 50- to 200-megapixel JPEGs,
// each in a child process, and checks the peak resident memory of that
// process (VmHWM, which includes the file and the Go runtime) stays under
// 300 MB, the picture is upright and at the expected scale, and its
// pixels are right.
func TestLargeJPEGMemory(t *testing.T) {
	if name := os.Getenv("RESIDUAL_BIG_JPEG"); name != "" {
		bigJPEGChild(t, name)
		return
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status to read peak memory from")
	}
	for name, c := range bigJPEGCases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLargeJPEGMemory$", "-test.v")
			cmd.Env = append(os.Environ(), "RESIDUAL_BIG_JPEG="+name, "GOGC=100", "GOMEMLIMIT=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			peak := -1
			for _, l := range strings.Split(string(out), "\n") {
				if _, v, ok := strings.Cut(l, "peak RSS MB: "); ok {
					peak, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if strings.Contains(l, "big: ") {
					t.Log(strings.TrimSpace(l))
				}
			}
			if peak < 0 {
				t.Fatalf("child printed no peak:\n%s", out)
			}
			t.Logf("%d×%d %s: peak RSS %d MB", c.w, c.h, name, peak)
			if peak > 300 {
				t.Errorf("peak RSS %d MB, over 300 MB", peak)
			}
		})
	}
}

func bigJPEGChild(t *testing.T, name string) {
	c, ok := bigJPEGCases[name]
	if !ok {
		t.Fatalf("no case %q", name)
	}
	data := flatJPEG(c.w, c.h, c.progressive, c.orientation, bigJPEGLevel)
	img, err := Decode(name+".jpg", data)
	if err != nil {
		t.Fatal(err)
	}
	w, h := (c.w+c.scale-1)/c.scale, (c.h+c.scale-1)/c.scale
	if c.orientation >= 5 {
		w, h = h, w
	}
	if s := img.Bounds().Size(); s != (image.Point{w, h}) {
		t.Errorf("decoded %v, want %d×%d (1/%d)", s, w, h, c.scale)
	}
	// Flat grey-chroma blocks: every pixel's RGB is its block's level.
	// Check the centre of a few blocks, in the unrotated picture's
	// coordinates.
	rows := newRGBRows(img)
	px := make([]byte, 3)
	for _, b := range [][2]int{{3, 2}, {100, 77}, {(c.w - 1) / 8, (c.h - 1) / 8}, {c.w / 16, c.h / 16}} {
		x, y := (8*b[0]+4)/c.scale, (8*b[1]+4)/c.scale
		x, y = min(x, (c.w-1)/c.scale), min(y, (c.h-1)/c.scale)
		if c.orientation == 6 {
			x, y = (c.h+c.scale-1)/c.scale-1-y, x
		} else if c.orientation == 8 {
			x, y = y, (c.w+c.scale-1)/c.scale-1-x
		}
		rows.row(y, x, x+1, px)
		if want := bigJPEGLevel(b[0], b[1]); px[0] != want || px[1] != want || px[2] != want {
			t.Errorf("block %v at (%d,%d): %v, want %d", b, x, y, px, want)
		}
	}
	in, _, err := Prepare(img, weights.TorchvisionPreprocess, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("big: %s: %d bytes of JPEG, decoded %T %v, prepared %v\n", name, len(data), img, img.Bounds().Size(), in.Shape)
	fmt.Printf("peak RSS MB: %d\n", peakRSS(t)>>20)
}

// peakRSS reads this process's peak resident set (VmHWM).
func peakRSS(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestFlatJPEGDecodes: the generator's small files read the same through
// image/jpeg (baseline) and jpegscale, so the large cases test Decode, not
// a broken file.
func TestFlatJPEGDecodes(t *testing.T) {
	for _, prog := range []bool{false, true} {
		data := flatJPEG(75, 41, prog, 1, bigJPEGLevel)
		img, err := Decode("flat.jpg", data)
		if err != nil {
			t.Fatalf("progressive %v: %v", prog, err)
		}
		rgb := rgbBytes(img)
		for by := range 41 / 8 {
			for bx := range 75 / 8 {
				i := 3 * ((8*by+4)*75 + 8*bx + 4)
				if want := bigJPEGLevel(bx, by); rgb[i] != want {
					t.Fatalf("progressive %v: block (%d,%d) is %d, want %d", prog, bx, by, rgb[i], want)
				}
			}
		}
	}
}
