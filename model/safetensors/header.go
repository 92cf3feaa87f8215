package safetensors

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// The header is read by a small strict JSON scanner rather than
// encoding/json: it sees duplicate keys (which encoding/json silently
// merges), rejects lone surrogates and non-integer numbers where integers
// belong, and is an order of magnitude faster, which keeps fuzzing
// productive. FuzzParse checks it against encoding/json.

// scanner walks a JSON text held in b; i is the next byte to read.
type scanner struct {
	b []byte
	i int
}

// syntax reports malformed JSON at the current position. It is used only
// for text that is not JSON at all (FuzzParse holds it to that).
func (s *scanner) syntax(format string, args ...any) error {
	return fmt.Errorf("malformed JSON at byte %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after whitespace, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.i >= len(s.b) {
			return s.syntax("unexpected end, want %q", c)
		}
		return s.syntax("found %q, want %q", s.b[s.i], c)
	}
	s.i++
	return nil
}

// object reads an object, calling member after each key and colon to read
// the value. It fails on duplicate keys.
func (s *scanner) object(member func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	seen := map[string]bool{}
	for {
		if s.peek() != '"' {
			return s.syntax("object key is not a string")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		if err := s.expect(':'); err != nil {
			return err
		}
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.syntax("want ',' or '}' after member %q", key)
		}
	}
}

// str reads a string at the current position (which must be '"'). The text
// is known to be valid UTF-8.
func (s *scanner) str() (string, error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	start := s.i
	for s.i < len(s.b) && s.b[s.i] != '"' && s.b[s.i] != '\\' && s.b[s.i] >= 0x20 {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '"' {
		s.i++
		return string(s.b[start : s.i-1]), nil
	}
	out := append([]byte(nil), s.b[start:s.i]...)
	for {
		if s.i >= len(s.b) {
			return "", s.syntax("unterminated string")
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), nil
		case c < 0x20:
			return "", s.syntax("control character %#x in string", c)
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		s.i++ // the backslash
		if s.i >= len(s.b) {
			return "", s.syntax("unterminated escape")
		}
		e := s.b[s.i]
		s.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low one is a
				// character; anything else is not text.
				if r >= 0xDC00 || s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
					return "", fmt.Errorf("string at byte %d: lone surrogate \\u%04X is not text", s.i, r)
				}
				s.i += 2
				lo, err := s.hex4()
				if err != nil {
					return "", err
				}
				if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
					return "", fmt.Errorf("string at byte %d: \\u%04X is not a low surrogate", s.i, lo)
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", s.syntax("invalid escape \\%c", e)
		}
	}
}

func (s *scanner) hex4() (rune, error) {
	if s.i+4 > len(s.b) {
		return 0, s.syntax("short \\u escape")
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, s.syntax("invalid \\u escape")
		}
	}
	s.i += 4
	return r, nil
}

// literal consumes word (e.g. "null") if it comes next.
func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// ints reads an array of non-negative integers that fit in an int. Any
// JSON number with a fraction or exponent is refused as not an integer.
func (s *scanner) ints(what string) ([]int, error) {
	if s.peek() != '[' {
		return nil, fmt.Errorf("%s is not an array", what)
	}
	s.i++
	out := []int{}
	if s.peek() == ']' {
		s.i++
		return out, nil
	}
	for {
		s.ws()
		start := s.i
		if s.i >= len(s.b) || (s.b[s.i] != '-' && (s.b[s.i] < '0' || s.b[s.i] > '9')) {
			return nil, fmt.Errorf("%s[%d] is not an integer", what, len(out))
		}
		neg := s.i < len(s.b) && s.b[s.i] == '-'
		if neg {
			s.i++
		}
		digits := s.i
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
		}
		intPart := s.b[digits:s.i]
		if len(intPart) == 0 || (len(intPart) > 1 && intPart[0] == '0') {
			return nil, s.syntax("invalid number in %s", what)
		}
		frac := false
		if s.i < len(s.b) && s.b[s.i] == '.' {
			s.i++
			if n := s.skipDigits(); n == 0 {
				return nil, s.syntax("invalid number in %s", what)
			}
			frac = true
		}
		if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
			s.i++
			if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
				s.i++
			}
			if n := s.skipDigits(); n == 0 {
				return nil, s.syntax("invalid number in %s", what)
			}
			frac = true
		}
		text := string(s.b[start:s.i])
		idx := len(out)
		if frac {
			return nil, fmt.Errorf("%s[%d] = %s is not an integer", what, idx, text)
		}
		v := 0
		for _, c := range intPart {
			d := int(c - '0')
			if v > (math.MaxInt-d)/10 {
				if neg {
					return nil, fmt.Errorf("%s[%d] = %s is negative", what, idx, text)
				}
				return nil, fmt.Errorf("%s[%d] = %s is too large", what, idx, text)
			}
			v = v*10 + d
		}
		if neg && v != 0 {
			return nil, fmt.Errorf("%s[%d] = %s is negative", what, idx, text)
		}
		out = append(out, v)
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return out, nil
		default:
			return nil, s.syntax("want ',' or ']' in %s", what)
		}
	}
}

func (s *scanner) skipDigits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// header reads the whole header: the top-level object, metadata into
// meta, and one call of entry per tensor. Only whitespace may follow.
func (s *scanner) header(meta map[string]string, entry func(name string) error) error {
	err := s.object(func(key string) error {
		if key == MetadataKey {
			return s.metadata(meta)
		}
		if s.peek() != '{' {
			return fmt.Errorf("tensor %q: entry is not an object", key)
		}
		return entry(key)
	})
	if err != nil {
		return err
	}
	if s.ws(); s.i != len(s.b) {
		return s.syntax("unexpected %q after the object", s.b[s.i])
	}
	return nil
}

// metadata reads the "__metadata__" value: null or an object of strings.
func (s *scanner) metadata(meta map[string]string) error {
	if s.literal("null") {
		return nil
	}
	if s.peek() != '{' {
		return fmt.Errorf("%s is not an object", MetadataKey)
	}
	return s.object(func(key string) error {
		if s.peek() != '"' {
			return fmt.Errorf("%s[%q] is not a string", MetadataKey, key)
		}
		v, err := s.str()
		meta[key] = v
		return err
	})
}

// entry reads one tensor's {"dtype","shape","data_offsets"} object.
// A nil result means the field was absent.
func (s *scanner) entry() (dtype *string, shape []int, offsets []int, err error) {
	err = s.object(func(key string) error {
		var err error
		switch key {
		case "dtype":
			if s.peek() != '"' {
				return errors.New("dtype is not a string")
			}
			var d string
			d, err = s.str()
			dtype = &d
		case "shape":
			shape, err = s.ints("shape")
		case "data_offsets":
			offsets, err = s.ints("data_offsets")
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		return err
	})
	return dtype, shape, offsets, err
}
