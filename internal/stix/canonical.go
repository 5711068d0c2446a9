package stix

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Canonicalize returns the RFC 8785 (JSON Canonicalization Scheme) form of one
// JSON value: no white space, object members sorted by the UTF-16 code units of
// their names, strings escaped minimally, numbers spelt as ECMAScript's
// Number.prototype.toString spells them.
//
// It refuses input that RFC 8785 cannot represent faithfully (I-JSON, RFC 7493):
// duplicate member names, invalid UTF-8 or lone surrogates, and numbers that are
// not finite doubles. The node signs canonical bytes, so the same object must
// give the same bytes on every node whatever the spelling it travelled in.
func Canonicalize(raw []byte) ([]byte, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	var keys []string
	return appendCanonical(make([]byte, 0, len(raw)), v, &keys)
}

// canonical is Canonicalize for a tree that decodeJSON produced, whose numbers
// are known to be finite. sizeHint is the length of the compact input, which
// the canonical form rarely exceeds by much.
func canonical(v any, sizeHint int) []byte {
	keys := make([]string, 0, 32)
	b, err := appendCanonical(make([]byte, 0, sizeHint+sizeHint/8), v, &keys)
	if err != nil { // decodeJSON has refused anything that could fail here.
		panic("stix: canonical form of a validated tree: " + err.Error())
	}
	return b
}

// appendCanonical appends the canonical form of v to b. scratch is a stack of
// member names shared by the whole walk, so that sorting the members of each
// object does not allocate.
func appendCanonical(b []byte, v any, scratch *[]string) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case map[string]any:
		base := len(*scratch)
		for k := range x {
			*scratch = append(*scratch, k)
		}
		keys := (*scratch)[base:]
		slices.SortFunc(keys, compareUTF16)
		b = append(b, '{')
		for i := range keys {
			k := (*scratch)[base+i] // the stack may move while nested objects push
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendCanonicalString(b, k)
			b = append(b, ':')
			if b, err = appendCanonical(b, x[k], scratch); err != nil {
				return nil, err
			}
		}
		*scratch = (*scratch)[:base]
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendCanonical(b, e, scratch); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case string:
		return AppendCanonicalString(b, x), nil
	case json.Number:
		return appendCanonicalNumber(b, string(x))
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case nil:
		return append(b, "null"...), nil
	default:
		return nil, fmt.Errorf("canonical JSON: unsupported Go type %T", v)
	}
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 section
// 3.2.3 requires. It differs from byte order only when a character above U+FFFF
// (a surrogate pair, 0xD800–0xDFFF) meets one in U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for i, j := 0, 0; ; {
		if i == len(a) || j == len(b) {
			return (len(a) - i) - (len(b) - j) // the shorter prefix first
		}
		if a[i] < utf8.RuneSelf && b[j] < utf8.RuneSelf {
			if a[i] != b[j] {
				return int(a[i]) - int(b[j])
			}
			i++
			j++
			continue
		}
		ra, na := utf8.DecodeRuneInString(a[i:])
		rb, nb := utf8.DecodeRuneInString(b[j:])
		if ra != rb {
			return int(utf16Key(ra)) - int(utf16Key(rb))
		}
		i += na
		j += nb
	}
}

// utf16Key is the first UTF-16 code unit of r, with the rest as a tie-break:
// two different runes never share both.
func utf16Key(r rune) uint32 {
	if r < 0x10000 {
		return uint32(r) << 16
	}
	r -= 0x10000
	hi := 0xD800 + (r >> 10)
	lo := 0xDC00 + (r & 0x3FF)
	return uint32(hi)<<16 | uint32(lo)
}

const hexDigits = "0123456789abcdef"

// AppendCanonicalString appends s as an RFC 8785 string: it escapes s as RFC 8785 section 3.2.2.2 says: only '"',
// '\\' and the C0 controls are escaped, with the two-letter forms where JSON has
// them and \u00xx (lowercase hex) otherwise. Everything else, including '<', '>',
// '&', U+2028 and U+2029, is written as UTF-8.
func AppendCanonicalString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendCanonicalNumber writes a JSON number as ECMAScript's
// Number.prototype.toString would (ECMA-262 section 7.1.12.1), which RFC 8785
// section 3.2.2.3 adopts. Go's shortest round-trip formatting yields the same
// digits; only the notation and the exponent's spelling differ.
func appendCanonicalNumber(b []byte, s string) ([]byte, error) {
	if isShortInteger(s) {
		if s == "-0" {
			return append(b, '0'), nil
		}
		return append(b, s...), nil // already in canonical form
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("canonical JSON: number %s is not a finite IEEE 754 double", s)
	}
	return AppendES6Number(b, f), nil
}

// isShortInteger reports whether s is an integer of at most 15 digits without
// a redundant leading zero: such a number is exactly a double and ECMAScript
// prints it as is.
func isShortInteger(s string) bool {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// AppendES6Number appends f as RFC 8785 (ECMAScript Number.prototype.toString) writes it.
func AppendES6Number(b []byte, f float64) []byte {
	if f == 0 { // both +0 and -0 print as "0"
		return append(b, '0')
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	if f >= 1e-6 && f < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	// Exponential notation: Go writes "1e+21" and "1e-07"; ECMAScript writes
	// "1e+21" and "1e-7", without zero padding in the exponent.
	start := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	for i := start; i < len(b); i++ {
		if b[i] == 'e' {
			j := i + 2 // first exponent digit, after the sign
			k := j
			for k < len(b)-1 && b[k] == '0' {
				k++
			}
			b = append(b[:j], b[k:]...)
			break
		}
	}
	return b
}
