package jpegscale

import "encoding/binary"

// maxScans bounds a progressive file's scans: libjpeg's default script
// has 10, and each scan walks the blocks, so a file of thousands of empty
// scans would otherwise cost minutes.
const maxScans = 100

// zigzag maps a coefficient's zigzag index to its natural (row-major)
// index in an 8×8 block.
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// decoder holds one decode's state: the data, the tables defined so far,
// and the frame.
type decoder struct {
	data  []byte
	pos   int // the next unread byte outside entropy-coded data
	scale int
	info  Info
	frame *frame

	ids       [4]byte
	jfif      bool
	adobe     bool
	transform byte
	sawFrame  bool
	tq        [4]int // each component's quantisation table

	quant   [4][64]uint16 // zigzag order
	quantOK [4]bool
	huff    [2][4]huffTable // [0] DC, [1] AC
	huffOK  [2][4]bool
	restart int // MCUs between restart markers; 0: none

	bits   bitReader
	eobrun int
	scans  int
}

// nextMarker moves past the next marker and returns its code, skipping
// fill bytes (0xFF runs) and any stray bytes before it.
func (d *decoder) nextMarker() (byte, bool) {
	for d.pos+1 < len(d.data) {
		if d.data[d.pos] != 0xFF {
			d.pos++
			continue
		}
		m := d.data[d.pos+1]
		if m == 0xFF { // fill byte
			d.pos++
			continue
		}
		d.pos += 2
		if m == 0x00 { // a stuffed byte in entropy data left unread
			continue
		}
		return m, true
	}
	d.pos = len(d.data)
	return 0, false
}

// segment returns the payload of the marker segment at pos and moves past
// it.
func (d *decoder) segment(m byte) ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, corrupt("marker %#02x at the end of the data", m)
	}
	n := int(binary.BigEndian.Uint16(d.data[d.pos:]))
	if n < 2 || d.pos+n > len(d.data) {
		return nil, corrupt("marker %#02x segment of %d bytes with %d left", m, n, len(d.data)-d.pos)
	}
	p := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return p, nil
}

// readHeaders reads from SOI up to the first SOS, defining tables and the
// frame. With alloc it also lays out the frame's memory and leaves pos at
// that SOS marker; without, it only fills info.
func (d *decoder) readHeaders(alloc bool) error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return corrupt("no SOI marker")
	}
	d.pos = 2
	for {
		start := d.pos
		m, ok := d.nextMarker()
		if !ok {
			return corrupt("no scan before the end of the data")
		}
		if m == 0xDA {
			if !d.sawFrame {
				return corrupt("scan before the frame header")
			}
			d.info.RGB = d.isRGB()
			if !alloc {
				return nil
			}
			f, err := newFrame(d.info, d.scale, true)
			if err != nil {
				return err
			}
			for i := range f.comps {
				f.comps[i].id, f.comps[i].tq = d.ids[i], d.tq[i]
			}
			d.frame = f
			d.pos = start
			return nil
		}
		if err := d.tableOrFrame(m); err != nil {
			return err
		}
	}
}

// readScans decodes every scan from the first SOS to EOI (or to the end
// of the data, after at least one scan), then, for a progressive file,
// turns the kept coefficients into pixels.
func (d *decoder) readScans() error {
	for {
		m, ok := d.nextMarker()
		if !ok || m == 0xD9 { // end of the data, or EOI
			if d.scans == 0 {
				return corrupt("no scan data")
			}
			break
		}
		if m == 0xDA {
			if d.scans++; d.scans > maxScans {
				return unsupported("more than %d scans", maxScans)
			}
			if err := d.scan(); err != nil {
				return err
			}
			continue
		}
		if err := d.tableOrFrame(m); err != nil {
			return err
		}
	}
	if d.info.Progressive {
		return d.reconstruct()
	}
	return nil
}

// tableOrFrame handles a marker outside the scans.
func (d *decoder) tableOrFrame(m byte) error {
	switch {
	case m == 0xD8:
		return corrupt("second SOI marker")
	case m >= 0xD0 && m <= 0xD7, m == 0x01: // stray RSTn, TEM: no payload
		return nil
	case m == 0xD9:
		return corrupt("EOI before the first scan")
	}
	p, err := d.segment(m)
	if err != nil {
		return err
	}
	switch m {
	case 0xC0, 0xC1, 0xC2:
		return d.readFrame(p, m == 0xC2)
	case 0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF:
		return unsupported("lossless or hierarchical JPEG (SOF marker %#02x)", m)
	case 0xC9, 0xCA:
		return unsupported("arithmetic-coded JPEG")
	case 0xCC:
		return unsupported("arithmetic-coded JPEG (DAC marker)")
	case 0xC4:
		return d.readHuffman(p)
	case 0xDB:
		return d.readQuant(p)
	case 0xDD:
		if len(p) != 2 {
			return corrupt("DRI segment of %d bytes", len(p))
		}
		d.restart = int(binary.BigEndian.Uint16(p))
	case 0xE0:
		if len(p) >= 5 && string(p[:5]) == "JFIF\x00" {
			d.jfif = true
		}
	case 0xEE:
		if len(p) >= 12 && string(p[:5]) == "Adobe" {
			d.adobe, d.transform = true, p[11]
		}
	}
	return nil // APPn, COM, DNL and the like: skipped
}

// readFrame reads a frame header (SOF0, SOF1 or SOF2).
func (d *decoder) readFrame(p []byte, progressive bool) error {
	if d.sawFrame {
		return corrupt("second frame header")
	}
	d.sawFrame = true
	if len(p) < 6 {
		return corrupt("SOF segment of %d bytes", len(p))
	}
	if p[0] != 8 {
		return unsupported("%d-bit samples", p[0])
	}
	d.info.Height = int(binary.BigEndian.Uint16(p[1:]))
	d.info.Width = int(binary.BigEndian.Uint16(p[3:]))
	d.info.Progressive = progressive
	n := int(p[5])
	if d.info.Height == 0 {
		return unsupported("height given by a DNL marker")
	}
	if n < 1 || n > 4 || len(p) != 6+3*n {
		return corrupt("SOF segment of %d bytes for %d components", len(p), n)
	}
	d.info.Components = n
	for i := range n {
		c := p[6+3*i:]
		for j := range i {
			if d.ids[j] == c[0] {
				return corrupt("component id %d twice", c[0])
			}
		}
		d.ids[i] = c[0]
		d.info.H[i], d.info.V[i] = int(c[1]>>4), int(c[1]&15)
		if d.info.H[i] < 1 || d.info.H[i] > 4 || d.info.V[i] < 1 || d.info.V[i] > 4 {
			return corrupt("component %d sampling %d×%d", i, d.info.H[i], d.info.V[i])
		}
		if c[2] > 3 {
			return corrupt("component %d quantisation table %d", i, c[2])
		}
		d.tq[i] = int(c[2])
	}
	return nil
}

// isRGB says whether three components hold R, G, B, as image/jpeg
// decides it.
func (d *decoder) isRGB() bool {
	if d.info.Components != 3 || d.jfif {
		return false
	}
	if d.adobe {
		return d.transform == 0
	}
	return d.ids[0] == 'R' && d.ids[1] == 'G' && d.ids[2] == 'B'
}

func (d *decoder) readQuant(p []byte) error {
	for len(p) > 0 {
		prec, id := p[0]>>4, int(p[0]&15)
		if id > 3 || prec > 1 {
			return corrupt("DQT table %d of precision %d", id, prec)
		}
		size := 1 + 64*(1+int(prec))
		if len(p) < size {
			return corrupt("DQT segment too short")
		}
		for k := range 64 {
			if prec == 0 {
				d.quant[id][k] = uint16(p[1+k])
			} else {
				d.quant[id][k] = binary.BigEndian.Uint16(p[1+2*k:])
			}
		}
		d.quantOK[id] = true
		p = p[size:]
	}
	return nil
}

func (d *decoder) readHuffman(p []byte) error {
	for len(p) > 0 {
		if len(p) < 17 {
			return corrupt("DHT segment too short")
		}
		class, id := int(p[0]>>4), int(p[0]&15)
		if class > 1 || id > 3 {
			return corrupt("DHT table class %d id %d", class, id)
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(p[1+i])
			total += counts[i]
		}
		if total == 0 || total > 256 || len(p) < 17+total {
			return corrupt("DHT table of %d codes in %d bytes", total, len(p)-17)
		}
		if err := d.huff[class][id].build(counts, p[17:17+total]); err != nil {
			return err
		}
		d.huffOK[class][id] = true
		p = p[17+total:]
	}
	return nil
}
