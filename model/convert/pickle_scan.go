package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Limits on a checkpoint's pickle (data.pkl). Real ones are far below them:
// torchvision's resnet152 state dict pickles to 114 KB in 31,570 opcodes,
// wide_resnet101_2 to 77 KB in 21,234. gopickle allocates up to a few
// hundred bytes per opcode, so the opcode cap bounds the unpickler's memory
// (≈ 100 MB at worst) whatever the bytes say.
const (
	maxPickleBytes = 4 << 20
	maxPickleOps   = 256 << 10
	// maxPickleNumberLine bounds the text of INT, LONG, FLOAT, GET and PUT
	// arguments and maxPickleLong the bytes of a LONG4 (torch writes
	// neither; big.Int parsing of long ones is quadratic).
	maxPickleNumberLine = 128
	maxPickleLong       = 1 << 10
)

// scanPickle walks a pickle's opcode stream up to its STOP without running
// it, and rejects what would make gopickle allocate more than the pickle
// holds: every declared length (BINBYTES, BINBYTES8, BINUNICODE,
// BINUNICODE8, SHORT_BINBYTES, BINSTRING, LONG4, FRAME, BYTEARRAY8, …) must
// fit in the bytes that remain, text arguments must end in a newline, and
// opcodes gopickle cannot serve (extensions, out-of-band buffers) or does
// not know are refused. Each opcode's argument layout is fixed by the
// pickle protocol (Python's pickletools).
func scanPickle(p []byte) error {
	ops := 0
	frameEnd := 0
	for i := 0; i < len(p); {
		at, op := i, p[i]
		i++
		if ops++; ops > maxPickleOps {
			return fmt.Errorf("pickle has more than %d opcodes (a state dict needs far fewer)", maxPickleOps)
		}
		rest := uint64(len(p) - i)
		// fixed skips a fixed-size argument.
		fixed := func(n int) ([]byte, error) {
			if uint64(n) > rest {
				return nil, fmt.Errorf("pickle opcode %s at byte %d: truncated argument", opName(op), at)
			}
			arg := p[i : i+n]
			i += n
			return arg, nil
		}
		// counted skips a length-prefixed argument whose length has been read.
		counted := func(n uint64) error {
			if left := uint64(len(p) - i); n > left {
				return fmt.Errorf("pickle opcode %s at byte %d claims %d bytes, but only %d remain in the pickle", opName(op), at, n, left)
			}
			i += int(n)
			return nil
		}
		// line skips a newline-terminated argument of at most max bytes.
		line := func(max int) error {
			n := bytes.IndexByte(p[i:], '\n')
			if n < 0 {
				return fmt.Errorf("pickle opcode %s at byte %d: argument has no end of line", opName(op), at)
			}
			if max > 0 && n > max {
				return fmt.Errorf("pickle opcode %s at byte %d: %d-byte argument (at most %d)", opName(op), at, n, max)
			}
			i += n + 1
			return nil
		}
		var err error
		switch op {
		case '.': // STOP
			return nil
		case '(', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94:
			// MARK POP POP_MARK DUP NONE BINPERSID REDUCE APPEND BUILD DICT
			// EMPTY_DICT APPENDS LIST EMPTY_LIST OBJ SETITEM TUPLE
			// EMPTY_TUPLE SETITEMS NEWOBJ TUPLE1-3 NEWTRUE NEWFALSE
			// EMPTY_SET ADDITEMS FROZENSET NEWOBJ_EX STACK_GLOBAL MEMOIZE
		case 'K', 'h', 'q', 0x80: // BININT1 BINGET BINPUT PROTO
			_, err = fixed(1)
		case 'M': // BININT2
			_, err = fixed(2)
		case 'J', 'j', 'r': // BININT LONG_BINGET LONG_BINPUT
			_, err = fixed(4)
		case 'G': // BINFLOAT
			_, err = fixed(8)
		case 'I', 'L', 'F', 'g', 'p': // INT LONG FLOAT GET PUT
			err = line(maxPickleNumberLine)
		case 'S', 'V', 'P': // STRING UNICODE PERSID
			err = line(0)
		case 'c', 'i': // GLOBAL INST: module and name lines
			if err = line(0); err == nil {
				err = line(0)
			}
		case 'U', 'C', 0x8c, 0x8a: // SHORT_BINSTRING SHORT_BINBYTES SHORT_BINUNICODE LONG1
			var n []byte
			if n, err = fixed(1); err == nil {
				if op == 0x8a && n[0] == 0 { // gopickle indexes byte -1 of an empty LONG1
					err = fmt.Errorf("pickle opcode LONG1 at byte %d: empty integer", at)
				} else {
					err = counted(uint64(n[0]))
				}
			}
		case 'T', 'X', 'B', 0x8b: // BINSTRING BINUNICODE BINBYTES LONG4
			var n []byte
			if n, err = fixed(4); err == nil {
				v := binary.LittleEndian.Uint32(n)
				switch {
				case (op == 'T' || op == 0x8b) && int32(v) < 0:
					err = fmt.Errorf("pickle opcode %s at byte %d: negative length %d", opName(op), at, int32(v))
				case op == 0x8b && v == 0:
					err = fmt.Errorf("pickle opcode LONG4 at byte %d: empty integer", at)
				case op == 0x8b && v > maxPickleLong:
					err = fmt.Errorf("pickle opcode %s at byte %d: %d-byte integer (at most %d)", opName(op), at, v, maxPickleLong)
				default:
					err = counted(uint64(v))
				}
			}
		case 0x8d, 0x8e, 0x96: // BINUNICODE8 BINBYTES8 BYTEARRAY8
			var n []byte
			if n, err = fixed(8); err == nil {
				err = counted(binary.LittleEndian.Uint64(n))
			}
		case 0x95: // FRAME: the next n bytes are one frame of opcodes
			if at < frameEnd {
				return fmt.Errorf("pickle opcode FRAME at byte %d inside the frame that ends at byte %d", at, frameEnd)
			}
			var n []byte
			if n, err = fixed(8); err == nil {
				size := binary.LittleEndian.Uint64(n)
				if left := uint64(len(p) - i); size > left {
					err = fmt.Errorf("pickle opcode FRAME at byte %d claims %d bytes, but only %d remain in the pickle", at, size, left)
				} else {
					frameEnd = i + int(size)
				}
			}
		case 0x82, 0x83, 0x84, 0x97, 0x98: // EXT1 EXT2 EXT4 NEXT_BUFFER READONLY_BUFFER
			return fmt.Errorf("pickle opcode %s at byte %d is not supported in a checkpoint", opName(op), at)
		default:
			return fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", op, at)
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("pickle ends without a STOP opcode (truncated)")
}

// opName names the pickle opcodes scanPickle reports on.
func opName(op byte) string {
	switch op {
	case 'T':
		return "BINSTRING"
	case 'X':
		return "BINUNICODE"
	case 'B':
		return "BINBYTES"
	case 'U':
		return "SHORT_BINSTRING"
	case 'C':
		return "SHORT_BINBYTES"
	case 0x8c:
		return "SHORT_BINUNICODE"
	case 0x8a:
		return "LONG1"
	case 0x8b:
		return "LONG4"
	case 0x8d:
		return "BINUNICODE8"
	case 0x8e:
		return "BINBYTES8"
	case 0x96:
		return "BYTEARRAY8"
	case 0x95:
		return "FRAME"
	case 0x82, 0x83, 0x84:
		return fmt.Sprintf("EXT%d", map[byte]int{0x82: 1, 0x83: 2, 0x84: 4}[op])
	case 0x97:
		return "NEXT_BUFFER"
	case 0x98:
		return "READONLY_BUFFER"
	}
	return fmt.Sprintf("%q", rune(op))
}
