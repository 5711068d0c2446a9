package provenance

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/stix"
)

// canonicalForm returns the RFC 8785 form of b, the bytes that are signed.
//
// It gives the same bytes as stix.Canonicalize and refuses the same inputs
// (TestCanonicalAgrees, FuzzCanonical), in one pass over the input and
// without building a tree: members are written out as they come, and an
// object is reordered in place only when its members were not already in
// canonical order. stix.Canonicalize decodes into maps first, which cost as
// much as a quarter of an Ed25519 verification on a typical indicator; the
// receive path verifies every object, so this one is written for speed.
//
// The strictness is the same (I-JSON, RFC 7493): no duplicate member names,
// valid UTF-8 and no lone surrogate escapes, finite numbers, nesting at most
// maxDepth deep.
func canonicalForm(b []byte) ([]byte, error) {
	var c canonicalizer
	return c.canonical(b, make([]byte, 0, len(b)))
}

// scratch is the reusable memory of one Verify: the signed bytes, their
// canonical form and the canonicaliser's stacks.
type scratch struct {
	c               canonicalizer
	unsigned, canon []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// canonical appends the canonical form of b to dst. c's scratch space is
// reused from call to call; c must not be used concurrently.
func (c *canonicalizer) canonical(b, dst []byte) ([]byte, error) {
	c.in, c.i, c.out = b, 0, dst
	c.spans, c.names = c.spans[:0], c.names[:0]
	c.skipSpace()
	if err := c.value(0); err != nil {
		return nil, err
	}
	c.skipSpace()
	if c.i != len(c.in) {
		return nil, c.errorf("unexpected data after the JSON value")
	}
	out := c.out
	c.in, c.out = nil, nil
	return out, nil
}

// maxDepth is stix's bound on nesting: objects and arrays within 128 levels.
const maxDepth = 128

type canonicalizer struct {
	in  []byte
	i   int
	out []byte
	// spans is a stack of the members of the objects being written, shared
	// by the whole walk; tmp is the scratch space of reordering.
	spans []span
	tmp   []byte
	// names holds the decoded member names that had escapes.
	names []byte
}

// span is one member written to out: out[start:end] is `"name":value`. Its
// decoded name, for sorting, is in[n0:n1], or names[n0:n1] when escaped is
// set. A span holds no pointer, so that sorting spans costs no write barriers.
type span struct {
	n0, n1     int
	escaped    bool
	start, end int
}

// name returns the decoded name of m.
func (c *canonicalizer) name(m span) []byte {
	if m.escaped {
		return c.names[m.n0:m.n1]
	}
	return c.in[m.n0:m.n1]
}

func (c *canonicalizer) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON at byte %d: %s", c.i, fmt.Sprintf(format, args...))
}

func (c *canonicalizer) skipSpace() {
	for c.i < len(c.in) {
		switch c.in[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(depth int) error {
	if c.i >= len(c.in) {
		return c.errorf("unexpected end of input")
	}
	switch ch := c.in[c.i]; {
	case ch == '{':
		if depth >= maxDepth {
			return c.errorf("nesting deeper than %d", maxDepth)
		}
		return c.object(depth + 1)
	case ch == '[':
		if depth >= maxDepth {
			return c.errorf("nesting deeper than %d", maxDepth)
		}
		return c.array(depth + 1)
	case ch == '"':
		_, _, _, err := c.string(false)
		return err
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	case ch == '-' || (ch >= '0' && ch <= '9'):
		return c.number()
	default:
		return c.errorf("unexpected character %q", ch)
	}
}

func (c *canonicalizer) literal(lit string) error {
	if len(c.in)-c.i < len(lit) || string(c.in[c.i:c.i+len(lit)]) != lit {
		return c.errorf("invalid literal, want %s", lit)
	}
	c.i += len(lit)
	c.out = append(c.out, lit...)
	return nil
}

func (c *canonicalizer) object(depth int) error {
	c.i++ // '{'
	c.out = append(c.out, '{')
	base := len(c.spans)
	p := len(c.out)
	sorted := true
	c.skipSpace()
	if c.i < len(c.in) && c.in[c.i] == '}' {
		c.i++
		c.out = append(c.out, '}')
		return nil
	}
	for {
		c.skipSpace()
		if c.i >= len(c.in) || c.in[c.i] != '"' {
			return c.errorf("want a member name")
		}
		if len(c.spans) > base {
			c.out = append(c.out, ',')
		}
		m := span{start: len(c.out)}
		at := c.i
		var err error
		if m.n0, m.n1, m.escaped, err = c.string(true); err != nil {
			return err
		}
		if n := len(c.spans); n > base {
			switch cmp := compareUTF16(c.name(c.spans[n-1]), c.name(m)); {
			case cmp == 0:
				c.i = at
				return c.errorf("duplicate member name %q", c.name(m))
			case cmp > 0:
				sorted = false
			}
		}
		c.skipSpace()
		if c.i >= len(c.in) || c.in[c.i] != ':' {
			return c.errorf("want ':' after member name")
		}
		c.i++
		c.out = append(c.out, ':')
		c.skipSpace()
		if err := c.value(depth); err != nil {
			return err
		}
		m.end = len(c.out)
		c.spans = append(c.spans, m)
		c.skipSpace()
		if c.i >= len(c.in) {
			return c.errorf("unexpected end of input in object")
		}
		switch c.in[c.i] {
		case ',':
			c.i++
		case '}':
			c.i++
			if !sorted {
				if err := c.reorder(base, p); err != nil {
					return err
				}
			}
			c.spans = c.spans[:base]
			c.out = append(c.out, '}')
			return nil
		default:
			return c.errorf("want ',' or '}' in object")
		}
	}
}

// reorder sorts the members written since out[p] (spans[base:]) by name.
func (c *canonicalizer) reorder(base, p int) error {
	ms := c.spans[base:]
	slices.SortFunc(ms, func(a, b span) int { return compareUTF16(c.name(a), c.name(b)) })
	for k := 1; k < len(ms); k++ {
		if compareUTF16(c.name(ms[k-1]), c.name(ms[k])) == 0 {
			return fmt.Errorf("JSON: duplicate member name %q", c.name(ms[k]))
		}
	}
	c.tmp = append(c.tmp[:0], c.out[p:]...)
	c.out = c.out[:p]
	for k, m := range ms {
		if k > 0 {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, c.tmp[m.start-p:m.end-p]...)
	}
	return nil
}

func (c *canonicalizer) array(depth int) error {
	c.i++ // '['
	c.out = append(c.out, '[')
	c.skipSpace()
	if c.i < len(c.in) && c.in[c.i] == ']' {
		c.i++
		c.out = append(c.out, ']')
		return nil
	}
	for n := 0; ; n++ {
		c.skipSpace()
		if n > 0 {
			c.out = append(c.out, ',')
		}
		if err := c.value(depth); err != nil {
			return err
		}
		c.skipSpace()
		if c.i >= len(c.in) {
			return c.errorf("unexpected end of input in array")
		}
		switch c.in[c.i] {
		case ',':
			c.i++
		case ']':
			c.i++
			c.out = append(c.out, ']')
			return nil
		default:
			return c.errorf("want ',' or ']' in array")
		}
	}
}

// string reads the string at c.i and writes it in canonical form (RFC 8785
// section 3.2.2.2). For a member name it also says where the decoded name is:
// in[n0:n1], or names[n0:n1] when the name had escapes.
func (c *canonicalizer) string(isName bool) (n0, n1 int, escaped bool, err error) {
	c.i++ // opening quote
	start := c.i
	// The usual case: no escapes, nothing to escape.
	for c.i < len(c.in) {
		ch := c.in[c.i]
		if plain[ch] {
			c.i++
			continue
		}
		switch {
		case ch == '"':
			c.out = append(c.out, c.in[start-1:c.i+1]...)
			c.i++
			return start, c.i - 1, false, nil
		case ch == '\\':
			c.out = append(c.out, '"')
			return c.escapedString(start, isName)
		case ch < 0x20:
			return 0, 0, false, c.errorf("control character %#x in string", ch)
		default:
			r, size := utf8.DecodeRune(c.in[c.i:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, false, c.errorf("invalid UTF-8 in string")
			}
			c.i += size
		}
	}
	return 0, 0, false, c.errorf("unterminated string")
}

// plain marks the bytes a canonical string keeps as they are and that need
// no decoding: printable ASCII but '"' and '\\'.
var plain = func() (t [256]bool) {
	for ch := 0x20; ch < 0x80; ch++ {
		t[ch] = ch != '"' && ch != '\\'
	}
	return t
}()

func (c *canonicalizer) escapedString(start int, isName bool) (n0, n1 int, escaped bool, err error) {
	c.out = append(c.out, c.in[start:c.i]...)
	n0 = len(c.names)
	if isName {
		c.names = append(c.names, c.in[start:c.i]...)
	}
	for c.i < len(c.in) {
		ch := c.in[c.i]
		switch {
		case ch == '"':
			c.i++
			c.out = append(c.out, '"')
			return n0, len(c.names), true, nil
		case ch == '\\':
			if c.i+1 >= len(c.in) {
				return 0, 0, false, c.errorf("unterminated escape")
			}
			e := c.in[c.i+1]
			c.i += 2
			var r rune
			switch e {
			case '"', '\\', '/':
				r = rune(e)
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				var ok bool
				if r, ok = c.hex4(); !ok {
					return 0, 0, false, c.errorf("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xDC00 || c.i+1 >= len(c.in) || c.in[c.i] != '\\' || c.in[c.i+1] != 'u' {
						return 0, 0, false, c.errorf("lone surrogate in \\u escape")
					}
					c.i += 2
					r2, ok := c.hex4()
					if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
						return 0, 0, false, c.errorf("lone surrogate in \\u escape")
					}
					r = utf16.DecodeRune(r, r2)
				}
			default:
				return 0, 0, false, c.errorf("invalid escape \\%c", e)
			}
			c.out = appendCanonicalRune(c.out, r)
			if isName {
				c.names = utf8.AppendRune(c.names, r)
			}
		case ch < 0x20:
			return 0, 0, false, c.errorf("control character %#x in string", ch)
		case ch < utf8.RuneSelf:
			c.out = append(c.out, ch)
			if isName {
				c.names = append(c.names, ch)
			}
			c.i++
		default:
			r, size := utf8.DecodeRune(c.in[c.i:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, false, c.errorf("invalid UTF-8 in string")
			}
			c.out = append(c.out, c.in[c.i:c.i+size]...)
			if isName {
				c.names = append(c.names, c.in[c.i:c.i+size]...)
			}
			c.i += size
		}
	}
	return 0, 0, false, c.errorf("unterminated string")
}

const hexDigits = "0123456789abcdef"

// appendCanonicalRune writes r as RFC 8785 wants it inside a string: '"' and
// '\\' and the C0 controls escaped (two-letter forms where JSON has them,
// \u00xx otherwise), everything else as UTF-8.
func appendCanonicalRune(b []byte, r rune) []byte {
	switch {
	case r == '"' || r == '\\':
		return append(b, '\\', byte(r))
	case r == '\b':
		return append(b, '\\', 'b')
	case r == '\f':
		return append(b, '\\', 'f')
	case r == '\n':
		return append(b, '\\', 'n')
	case r == '\r':
		return append(b, '\\', 'r')
	case r == '\t':
		return append(b, '\\', 't')
	case r < 0x20:
		return append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xF])
	default:
		return utf8.AppendRune(b, r)
	}
}

func (c *canonicalizer) hex4() (rune, bool) {
	if len(c.in)-c.i < 4 {
		return 0, false
	}
	var r rune
	for _, ch := range c.in[c.i : c.i+4] {
		r <<= 4
		switch {
		case ch >= '0' && ch <= '9':
			r |= rune(ch - '0')
		case ch >= 'a' && ch <= 'f':
			r |= rune(ch - 'a' + 10)
		case ch >= 'A' && ch <= 'F':
			r |= rune(ch - 'A' + 10)
		default:
			return 0, false
		}
	}
	c.i += 4
	return r, true
}

// number checks the RFC 8259 grammar and writes the number as ECMAScript's
// Number.prototype.toString would (RFC 8785 section 3.2.2.3).
func (c *canonicalizer) number() error {
	start := c.i
	in := c.in
	if in[c.i] == '-' {
		c.i++
	}
	switch {
	case c.i < len(in) && in[c.i] == '0':
		c.i++
	case c.i < len(in) && in[c.i] >= '1' && in[c.i] <= '9':
		for c.i < len(in) && in[c.i] >= '0' && in[c.i] <= '9' {
			c.i++
		}
	default:
		return c.errorf("invalid number")
	}
	simple := true
	if c.i < len(in) && in[c.i] == '.' {
		simple = false
		c.i++
		if c.i >= len(in) || in[c.i] < '0' || in[c.i] > '9' {
			return c.errorf("invalid number: want digits after '.'")
		}
		for c.i < len(in) && in[c.i] >= '0' && in[c.i] <= '9' {
			c.i++
		}
	}
	if c.i < len(in) && (in[c.i] == 'e' || in[c.i] == 'E') {
		simple = false
		c.i++
		if c.i < len(in) && (in[c.i] == '+' || in[c.i] == '-') {
			c.i++
		}
		if c.i >= len(in) || in[c.i] < '0' || in[c.i] > '9' {
			return c.errorf("invalid number: want digits in exponent")
		}
		for c.i < len(in) && in[c.i] >= '0' && in[c.i] <= '9' {
			c.i++
		}
	}
	s := in[start:c.i]
	digits := len(s)
	if s[0] == '-' {
		digits--
	}
	if simple && digits <= 15 { // an integer that is exactly a double: as is
		if len(s) == 2 && s[0] == '-' && s[1] == '0' {
			c.out = append(c.out, '0')
		} else {
			c.out = append(c.out, s...)
		}
		return nil
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		c.i = start
		return c.errorf("number %s is not a finite IEEE 754 double", s)
	}
	c.out = stix.AppendES6Number(c.out, f)
	return nil
}

// compareUTF16 orders names by their UTF-16 code units (RFC 8785 section
// 3.2.3); it differs from byte order only when a character above U+FFFF
// meets one in U+E000–U+FFFF. The names are valid UTF-8.
func compareUTF16(a, b []byte) int {
	for i, j := 0, 0; ; {
		if i == len(a) || j == len(b) {
			return (len(a) - i) - (len(b) - j)
		}
		if a[i] < utf8.RuneSelf && b[j] < utf8.RuneSelf {
			if a[i] != b[j] {
				return int(a[i]) - int(b[j])
			}
			i++
			j++
			continue
		}
		ra, na := utf8.DecodeRune(a[i:])
		rb, nb := utf8.DecodeRune(b[j:])
		if ra != rb {
			return int(utf16Key(ra)) - int(utf16Key(rb))
		}
		i += na
		j += nb
	}
}

func utf16Key(r rune) uint32 {
	if r < 0x10000 {
		return uint32(r) << 16
	}
	r -= 0x10000
	return uint32(0xD800+(r>>10))<<16 | uint32(0xDC00+(r&0x3FF))
}
