package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The scanner finds members of JSON objects in place, so that Sign can splice
// its extension into the exact bytes it was given and Verify can cut the
// signature out of the exact bytes it received. It is lenient about what it
// skips (it counts brackets inside values rather than parsing them): whatever
// it lets through is then read by the strict decoder behind stix.Canonicalize,
// which refuses malformed JSON, duplicate names, invalid UTF-8 and the like.
// On valid JSON the scanner and the strict decoder see the same members.

var errScan = errors.New("malformed JSON")

// member is one member of a JSON object.
type member struct {
	name         string // decoded member name
	start        int    // offset of the name's opening quote
	vstart, vend int    // the value: b[vstart:vend]
}

// objectMembers returns the members of the object whose '{' is at b[i], and
// the offset just after its '}'.
func objectMembers(b []byte, i int, ms []member) ([]member, int, error) {
	if i >= len(b) || b[i] != '{' {
		return nil, 0, errScan
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return ms, i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, 0, errScan
		}
		start := i
		end, escaped, err := skipString(b, i)
		if err != nil {
			return nil, 0, err
		}
		name, err := decodeString(b[start:end], escaped)
		if err != nil {
			return nil, 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, errScan
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return nil, 0, err
		}
		ms = append(ms, member{name: name, start: start, vstart: i, vend: vend})
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil, 0, errScan
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return ms, i + 1, nil
		default:
			return nil, 0, errScan
		}
	}
}

// find returns the index of the member called name, or -1.
func find(ms []member, name string) int {
	for i := range ms {
		if ms[i].name == name {
			return i
		}
	}
	return -1
}

// cut returns the span to remove from the object holding ms so that member k
// disappears with one of the commas around it.
func cut(b []byte, ms []member, k int) (from, to int) {
	if k > 0 { // from just after the previous value, comma included
		return ms[k-1].vend, ms[k].vend
	}
	if len(ms) > 1 { // the first of several: up to the next name
		return ms[0].start, ms[1].start
	}
	return ms[0].start, ms[0].vend
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset just after the string whose opening quote is
// at b[i], and whether it holds an escape.
func skipString(b []byte, i int) (end int, escaped bool, err error) {
	for i++; i < len(b); i++ {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			break
		}
		e := bytes.IndexByte(b[i:i+q], '\\')
		if e < 0 {
			return i + q + 1, escaped, nil
		}
		escaped = true
		i += e + 1 // at the escaped byte; the loop steps over it
	}
	return 0, false, errScan
}

// skipValue returns the offset just after the value starting at b[i]. Nested
// objects and arrays are skipped by counting brackets outside strings.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errScan
	}
	switch b[i] {
	case '"':
		end, _, err := skipString(b, i)
		return end, err
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, _, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errScan
	default: // number, true, false, null
		start := i
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		if i == start {
			return 0, errScan
		}
		return i, nil
	}
}

// decodeString decodes a JSON string token (quotes included). Strings without
// escapes, the usual case, are converted directly.
func decodeString(tok []byte, escaped bool) (string, error) {
	if !escaped {
		if !utf8.Valid(tok) {
			return "", errScan
		}
		return string(tok[1 : len(tok)-1]), nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return "", errScan
	}
	return s, nil
}

// stringValue decodes the value of m as a string, or fails.
func stringValue(b []byte, m member) (string, bool) {
	tok := b[m.vstart:m.vend]
	if len(tok) < 2 || tok[0] != '"' {
		return "", false
	}
	escaped := false
	for _, c := range tok[1 : len(tok)-1] {
		if c == '\\' {
			escaped = true
			break
		}
	}
	s, err := decodeString(tok, escaped)
	return s, err == nil
}

func hasEscape(tok []byte) bool {
	for _, c := range tok {
		if c == '\\' {
			return true
		}
	}
	return false
}
