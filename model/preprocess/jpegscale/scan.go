package jpegscale

// scanHeader is one SOS segment: which components, which tables, and for
// progressive files which coefficients and bits (T.81 B.2.3, G.1.1).
type scanHeader struct {
	comps  []int // frame component indices
	dc, ac []*huffTable
	ss, se int // spectral selection: zigzag indices
	ah, al int // successive approximation bit positions
}

// scan reads an SOS segment at pos and decodes its entropy-coded data,
// leaving pos after it.
func (d *decoder) scan() error {
	p, err := d.segment(0xDA)
	if err != nil {
		return err
	}
	f := d.frame
	if len(p) < 1 {
		return corrupt("empty SOS segment")
	}
	ns := int(p[0])
	if ns < 1 || ns > len(f.comps) || len(p) != 4+2*ns {
		return corrupt("SOS segment of %d bytes for %d components", len(p), ns)
	}
	s := &scanHeader{}
	for i := range ns {
		id, tables := p[1+2*i], p[2+2*i]
		ci := -1
		for j := range f.comps {
			if f.comps[j].id == id {
				ci = j
			}
		}
		if ci < 0 {
			return corrupt("scan of component id %d, not in the frame", id)
		}
		for _, cj := range s.comps {
			if cj == ci {
				return corrupt("component id %d twice in a scan", id)
			}
		}
		td, ta := int(tables>>4), int(tables&15)
		if td > 3 || ta > 3 {
			return corrupt("scan Huffman tables %d/%d", td, ta)
		}
		s.comps = append(s.comps, ci)
		s.dc, s.ac = append(s.dc, &d.huff[0][td]), append(s.ac, &d.huff[1][ta])
		if !d.quantOK[f.comps[ci].tq] {
			return corrupt("component id %d uses undefined quantisation table %d", id, f.comps[ci].tq)
		}
		needDC := !d.info.Progressive || p[1+2*ns] == 0 && p[3+2*ns]>>4 == 0
		needAC := !d.info.Progressive || p[1+2*ns] > 0
		if needDC && !d.huffOK[0][td] || needAC && !d.huffOK[1][ta] {
			return corrupt("scan uses an undefined Huffman table")
		}
	}
	s.ss, s.se = int(p[1+2*ns]), int(p[2+2*ns])
	s.ah, s.al = int(p[3+2*ns]>>4), int(p[3+2*ns]&15)
	if d.info.Progressive {
		if s.ss > s.se || s.se > 63 || (s.ss == 0) != (s.se == 0) || s.ss > 0 && ns != 1 || s.al > 13 || s.ah > 13 {
			return corrupt("progressive scan Ss=%d Se=%d Ah=%d Al=%d over %d components", s.ss, s.se, s.ah, s.al, ns)
		}
	} else {
		s.ss, s.se, s.ah, s.al = 0, 63, 0, 0
	}
	return d.decodeScan(s)
}

// decodeScan decodes the blocks of one scan in order: whole MCUs when it
// interleaves components, otherwise the one component's blocks that hold
// picture samples.
func (d *decoder) decodeScan(s *scanHeader) error {
	f := d.frame
	d.bits = bitReader{data: d.data, pos: d.pos}
	d.eobrun = 0
	for _, ci := range s.comps {
		f.comps[ci].pred = 0
	}
	nx, ny := f.mcusX, f.mcusY
	if len(s.comps) == 1 {
		c := &f.comps[s.comps[0]]
		nx, ny = ceilDiv(c.sw, 8), ceilDiv(c.sh, 8)
	}
	next := 0 // the restart marker expected next
	skipRuns := d.info.Progressive && s.ss > 0 && s.ah == 0
	for u := 0; u < nx*ny; u++ {
		if d.restart > 0 && u > 0 && u%d.restart == 0 {
			if err := d.restartAt(next, s); err != nil {
				return err
			}
			next = (next + 1) % 8
		}
		if d.bits.pad > 0 && d.bits.overrun() { // stop at once, not after the rest of the picture
			return corrupt("entropy-coded data ends early (a truncated file?)")
		}
		mx, my := u%nx, u/nx
		if len(s.comps) == 1 {
			if skipRuns && d.eobrun > 0 {
				// A band-end run leaves its blocks as they are: skip them
				// at once (up to the next restart), so a tiny file of long
				// runs cannot cost a visit per block per scan.
				n := min(d.eobrun, nx*ny-u)
				if d.restart > 0 {
					n = min(n, d.restart-u%d.restart)
				}
				d.eobrun -= n
				u += n - 1
				continue
			}
			if err := d.block(s, 0, mx, my); err != nil {
				return err
			}
			continue
		}
		for i, ci := range s.comps {
			c := &f.comps[ci]
			for v := range c.v {
				for h := range c.h {
					if err := d.block(s, i, mx*c.h+h, my*c.v+v); err != nil {
						return err
					}
				}
			}
		}
	}
	if d.bits.overrun() {
		return corrupt("entropy-coded data ends early (a truncated file?)")
	}
	d.pos = d.bits.pos
	return nil
}

// restartAt checks that the data so far sufficed and that restart marker
// RSTn comes next, then starts decoding afresh after it.
func (d *decoder) restartAt(n int, s *scanHeader) error {
	if d.bits.overrun() {
		return corrupt("entropy-coded data ends early (a truncated file?)")
	}
	p := d.bits.pos
	for p < len(d.data) && d.data[p] == 0xFF && p+1 < len(d.data) && d.data[p+1] == 0xFF {
		p++
	}
	if p+1 >= len(d.data) || d.data[p] != 0xFF || d.data[p+1] != byte(0xD0+n) {
		return corrupt("restart marker RST%d missing at byte %d", n, p)
	}
	d.bits = bitReader{data: d.data, pos: p + 2}
	d.eobrun = 0
	for _, ci := range s.comps {
		d.frame.comps[ci].pred = 0
	}
	return nil
}

// block decodes one block of the scan's i'th component at block column
// bx, row by.
func (d *decoder) block(s *scanHeader, i, bx, by int) error {
	c := &d.frame.comps[s.comps[i]]
	switch {
	case !d.info.Progressive:
		return d.sequential(c, s.dc[i], s.ac[i], bx, by)
	case s.ss == 0 && s.ah == 0:
		return d.dcFirst(c, s.dc[i], by*c.bw+bx, s.al)
	case s.ss == 0:
		if d.bits.bits(1) != 0 {
			c.coef[(by*c.bw+bx)*c.n*c.n] |= 1 << s.al
		}
		return nil
	case s.ah == 0:
		return d.acFirst(c, s.ac[i], by*c.bw+bx, s)
	default:
		return d.acRefine(c, s.ac[i], by*c.bw+bx, s)
	}
}

// sequential decodes a baseline block and writes its pixels at once,
// keeping only the coefficients the scaled picture needs.
func (d *decoder) sequential(c *component, dc, ac *huffTable, bx, by int) error {
	b := &d.bits
	q := &d.quant[c.tq]
	t, err := b.decode(dc)
	if err != nil {
		return err
	}
	if t > 15 {
		return corrupt("DC magnitude category %d", t)
	}
	c.pred += b.receiveExtend(t)
	var w [64]int32 // dequantised, natural order within n×n
	w[0] = c.pred * int32(q[0])
	for k := 1; k < 64; k++ {
		rs, err := b.decode(ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), rs&15
		if sz == 0 {
			if r != 15 {
				break // end of block
			}
			k += 15
			continue
		}
		if k += r; k > 63 {
			return corrupt("coefficient index %d past 63", k)
		}
		v := b.receiveExtend(sz)
		if sl := c.slot[k]; sl >= 0 {
			w[sl] = v * int32(q[k])
		}
	}
	c.idct(bx, by, &w)
	return nil
}

func (d *decoder) dcFirst(c *component, dc *huffTable, blk, al int) error {
	t, err := d.bits.decode(dc)
	if err != nil {
		return err
	}
	if t > 15 {
		return corrupt("DC magnitude category %d", t)
	}
	c.pred += d.bits.receiveExtend(t)
	c.coef[blk*c.n*c.n] = int16(c.pred << al)
	return nil
}

func (d *decoder) acFirst(c *component, ac *huffTable, blk int, s *scanHeader) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	b := &d.bits
	coef := c.coef[blk*c.n*c.n:]
	for k := s.ss; k <= s.se; k++ {
		rs, err := b.decode(ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), rs&15
		if sz == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(b.bits(uint(r)))
				}
				break
			}
			k += 15
			continue
		}
		if k += r; k > s.se {
			return corrupt("coefficient index %d past %d", k, s.se)
		}
		v := b.receiveExtend(sz) << s.al
		c.nz[blk] |= 1 << k
		if sl := c.slot[k]; sl >= 0 {
			coef[sl] = int16(v)
		}
	}
	return nil
}

// acRefine is a successive-approximation refinement of AC coefficients
// (T.81 G.1.2.3, as libjpeg's decode_mcu_AC_refine): one more bit for
// each coefficient already nonzero, and new coefficients of ±1<<al
// placed among the zero ones.
func (d *decoder) acRefine(c *component, ac *huffTable, blk int, s *scanHeader) error {
	b := &d.bits
	p1 := int16(1) << s.al
	coef := c.coef[blk*c.n*c.n:]
	nz := c.nz[blk]
	correct := func(k int) {
		if b.bits(1) == 0 {
			return
		}
		if sl := c.slot[k]; sl >= 0 && coef[sl]&p1 == 0 {
			if coef[sl] >= 0 {
				coef[sl] += p1
			} else {
				coef[sl] -= p1
			}
		}
	}
	k := s.ss
	if d.eobrun == 0 {
		for ; k <= s.se; k++ {
			rs, err := b.decode(ac)
			if err != nil {
				return err
			}
			r, sz := int(rs>>4), rs&15
			var v int16
			if sz != 0 {
				if b.bits(1) != 0 {
					v = p1
				} else {
					v = -p1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(b.bits(uint(r)))
				}
				break
			}
			// Skip r zero coefficients, refining the nonzero ones met.
			for ; k <= s.se; k++ {
				if nz&(1<<k) != 0 {
					correct(k)
				} else {
					if r == 0 {
						break
					}
					r--
				}
			}
			if v != 0 && k <= s.se {
				nz |= 1 << k
				if sl := c.slot[k]; sl >= 0 {
					coef[sl] = v
				}
			}
		}
	}
	if d.eobrun > 0 {
		if band := uint64(1)<<(s.se+1) - uint64(1)<<k; nz&band != 0 {
			for ; k <= s.se; k++ {
				if nz&(1<<k) != 0 {
					correct(k)
				}
			}
		}
		d.eobrun--
	}
	c.nz[blk] = nz
	return nil
}

// reconstruct turns a progressive file's kept coefficients into pixels.
func (d *decoder) reconstruct() error {
	for i := range d.frame.comps {
		c := &d.frame.comps[i]
		if !d.quantOK[c.tq] {
			return corrupt("component %d uses undefined quantisation table %d", i, c.tq)
		}
		q := &d.quant[c.tq]
		nn := c.n * c.n
		for by := range c.bh {
			for bx := range c.bw {
				var w [64]int32
				coef := c.coef[(by*c.bw+bx)*nn:]
				for sl := range nn {
					w[sl] = int32(coef[sl]) * int32(q[c.zig[sl]])
				}
				c.idct(bx, by, &w)
			}
		}
	}
	return nil
}
