package stix

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeJSON decodes one JSON value into the generic tree the validator and the
// canonicaliser share: map[string]any, []any, string, json.Number, bool, nil.
//
// It is stricter than encoding/json on purpose, because the node signs and
// compares the RFC 8785 form of what it stores. Whatever encoding/json would
// quietly repair becomes an error here, so that two parsers cannot read one
// object two ways:
//   - a duplicate member name (encoding/json keeps the last one, others the first);
//   - invalid UTF-8 or a lone surrogate escape (encoding/json turns both into
//     U+FFFD, so the canonical form would differ from what was sent);
//   - a number that is not a finite IEEE 754 double (RFC 8785 has no form for it);
//   - nesting deeper than maxDepth (a recursive parser must not overflow its stack).
//
// It is also a single pass with few allocations, which is what the import path
// needs (see BenchmarkParseIndicator).
func decodeJSON(b []byte) (any, error) {
	// One copy of the whole input as a string: unescaped strings, member names
	// and numbers are then substrings of it, which costs no allocation. The tree
	// is short-lived; whoever keeps a string from it should clone it.
	d := jsonDecoder{b: b, s: string(b)}
	d.skipSpace()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.i != len(d.b) {
		return nil, d.errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// maxDepth bounds nesting. STIX objects are shallow (observed-data containers
// and extensions reach a depth of about ten); 128 leaves room for custom content.
const maxDepth = 128

// SyntaxError is a JSON document that the strict decoder refuses.
type SyntaxError struct {
	Offset int // byte offset in the input where the problem was found
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("JSON at byte %d: %s", e.Offset, e.Msg)
}

type jsonDecoder struct {
	b []byte
	s string // the same bytes as b
	i int
}

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: d.i, Msg: fmt.Sprintf(format, args...)}
}

func (d *jsonDecoder) skipSpace() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value(depth int) (any, error) {
	if d.i >= len(d.b) {
		return nil, d.errorf("unexpected end of input")
	}
	switch c := d.b[d.i]; {
	case c == '{':
		if depth >= maxDepth {
			return nil, d.errorf("nesting deeper than %d", maxDepth)
		}
		return d.object(depth + 1)
	case c == '[':
		if depth >= maxDepth {
			return nil, d.errorf("nesting deeper than %d", maxDepth)
		}
		return d.array(depth + 1)
	case c == '"':
		return d.string()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		return nil, d.errorf("unexpected character %q", c)
	}
}

func (d *jsonDecoder) literal(lit string) error {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return d.errorf("invalid literal, want %s", lit)
	}
	d.i += len(lit)
	return nil
}

func (d *jsonDecoder) object(depth int) (any, error) {
	d.i++ // '{'
	// A STIX object has 8 to 20 members, nested ones a few: the hint saves
	// growing the map while it fills.
	hint := 4
	if depth == 1 {
		hint = 16
	}
	m := make(map[string]any, hint)
	d.skipSpace()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		d.skipSpace()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, d.errorf("want a member name")
		}
		at := d.i
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, &SyntaxError{Offset: at, Msg: fmt.Sprintf("duplicate member name %q", k)}
		}
		d.skipSpace()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.errorf("want ':' after member name")
		}
		d.i++
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.skipSpace()
		if d.i >= len(d.b) {
			return nil, d.errorf("unexpected end of input in object")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, d.errorf("want ',' or '}' in object")
		}
	}
}

func (d *jsonDecoder) array(depth int) (any, error) {
	d.i++ // '['
	a := make([]any, 0, 4)
	d.skipSpace()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.skipSpace()
		if d.i >= len(d.b) {
			return nil, d.errorf("unexpected end of input in array")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, nil
		default:
			return nil, d.errorf("want ',' or ']' in array")
		}
	}
}

// string decodes a JSON string starting at the opening quote. The common case,
// a string without escapes, costs one scan and one allocation.
func (d *jsonDecoder) string() (string, error) {
	d.i++ // opening quote
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.s[start:d.i]
			d.i++
			return s, nil
		case c == '\\':
			return d.escapedString(start)
		case c < 0x20:
			return "", d.errorf("control character %#x in string", c)
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				return "", d.errorf("invalid UTF-8 in string")
			}
			d.i += size
		}
	}
	return "", d.errorf("unterminated string")
}

func (d *jsonDecoder) escapedString(start int) (string, error) {
	buf := make([]byte, 0, d.i-start+16)
	buf = append(buf, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return "", d.errorf("unterminated escape")
			}
			e := d.b[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.errorf("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A high surrogate must be followed by an escaped low one.
					if r >= 0xDC00 || d.i+1 >= len(d.b) || d.b[d.i] != '\\' || d.b[d.i+1] != 'u' {
						return "", d.errorf("lone surrogate in \\u escape")
					}
					d.i += 2
					r2, ok := d.hex4()
					if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
						return "", d.errorf("lone surrogate in \\u escape")
					}
					r = utf16.DecodeRune(r, r2)
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", d.errorf("invalid escape \\%c", e)
			}
		case c < 0x20:
			return "", d.errorf("control character %#x in string", c)
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				return "", d.errorf("invalid UTF-8 in string")
			}
			buf = append(buf, d.b[d.i:d.i+size]...)
			d.i += size
		}
	}
	return "", d.errorf("unterminated string")
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// number checks the RFC 8259 number grammar and keeps the spelling as a
// json.Number, so that Raw keeps it and canonical() can re-spell it.
func (d *jsonDecoder) number() (any, error) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.i < len(d.b) && d.b[d.i] >= '1' && d.b[d.i] <= '9':
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
	default:
		return nil, d.errorf("invalid number")
	}
	simple := true
	if d.i < len(d.b) && d.b[d.i] == '.' {
		simple = false
		d.i++
		if d.i >= len(d.b) || d.b[d.i] < '0' || d.b[d.i] > '9' {
			return nil, d.errorf("invalid number: want digits after '.'")
		}
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		simple = false
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.i >= len(d.b) || d.b[d.i] < '0' || d.b[d.i] > '9' {
			return nil, d.errorf("invalid number: want digits in exponent")
		}
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
	}
	s := d.s[start:d.i]
	// Short integers are always finite doubles; only the others need checking.
	if !simple || len(s) > 15 {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, &SyntaxError{Offset: start, Msg: fmt.Sprintf("number %s is not a finite IEEE 754 double", s)}
		}
	}
	return json.Number(s), nil
}
