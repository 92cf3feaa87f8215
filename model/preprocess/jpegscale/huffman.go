package jpegscale

// lutBits is how many leading bits the fast lookup decodes at once; most
// codes in real files are shorter.
const lutBits = 9

// huffTable decodes one Huffman table's codes (ITU T.81 C and F.2.2.3).
type huffTable struct {
	// lut[b] for the next lutBits bits b: code length<<8 | symbol, or 0
	// when the code is longer.
	lut [1 << lutBits]uint16
	// maxcode[l] is the largest code of length l (-1: none); a code c of
	// length l means vals[valptr[l]+c].
	maxcode [17]int32
	valptr  [17]int32
	vals    [256]byte
}

// build makes the table from the number of codes of each length 1–16 and
// the symbols in code order.
func (t *huffTable) build(counts [16]int, symbols []byte) error {
	*t = huffTable{}
	copy(t.vals[:], symbols)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		t.valptr[l] = k - code
		t.maxcode[l] = -1
		for range counts[l-1] {
			if code >= 1<<l {
				return corrupt("Huffman table has more codes of length %d than fit", l)
			}
			if l <= lutBits {
				first := code << (lutBits - l)
				for i := range int32(1) << (lutBits - l) {
					t.lut[first+i] = uint16(l)<<8 | uint16(t.vals[k])
				}
			}
			t.maxcode[l] = code
			code++
			k++
		}
		code <<= 1
	}
	return nil
}

// bitReader reads entropy-coded data: bytes with 0xFF 0x00 meaning 0xFF,
// up to the next marker. Past the marker it reads zero bits and counts
// them, so a scan that used them was truncated.
type bitReader struct {
	data []byte
	pos  int    // the next byte to read
	acc  uint64 // the next n bits, most significant first
	n    uint
	pad  int  // zero bytes supplied past the data
	stop bool // at a marker or the end of the data
}

func (b *bitReader) fill() {
	for b.n <= 56 {
		var c byte
		if !b.stop && b.pos < len(b.data) {
			c = b.data[b.pos]
			switch {
			case c != 0xFF:
				b.pos++
			case b.pos+1 < len(b.data) && b.data[b.pos+1] == 0:
				b.pos += 2
			default: // a marker: leave pos on it
				b.stop, c = true, 0
				b.pad++
			}
		} else {
			b.stop = true
			b.pad++
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// bits reads k ≤ 16 bits.
func (b *bitReader) bits(k uint) int32 {
	if b.n < k {
		b.fill()
	}
	v := int32(b.acc >> (64 - k))
	b.acc <<= k
	b.n -= k
	return v
}

// receiveExtend reads an s-bit magnitude category's value (T.81 F.2.2.1).
func (b *bitReader) receiveExtend(s int32) int32 {
	if s == 0 {
		return 0
	}
	v := b.bits(uint(s))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// overrun says whether the bits read went past the data into padding.
func (b *bitReader) overrun() bool { return int(b.n) < 8*b.pad }

// decode reads one symbol of t.
func (b *bitReader) decode(t *huffTable) (int32, error) {
	if b.n < 16 {
		b.fill()
	}
	if e := t.lut[b.acc>>(64-lutBits)]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return int32(e & 0xFF), nil
	}
	for l := lutBits + 1; l <= 16; l++ {
		code := int32(b.acc >> (64 - l))
		if code <= t.maxcode[l] {
			i := t.valptr[l] + code
			if i < 0 || i > 255 {
				break
			}
			b.acc <<= uint(l)
			b.n -= uint(l)
			return int32(t.vals[i]), nil
		}
	}
	return 0, corrupt("bad Huffman code")
}
