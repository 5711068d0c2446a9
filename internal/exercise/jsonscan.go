package exercise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The scenario file is read strictly: encoding/json would keep the last of
// two members with the same name silently ({"at": "+5m", "at": "+50m"}), and
// which one the exercise director meant is not for the runner to guess.

const maxDepth = 32

// checkJSON checks that b is one JSON object in UTF-8, with no member name
// twice in any object and at most maxDepth levels of nesting. Its errors
// give the line and column of the problem.
func checkJSON(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("the file is empty: a scenario is a JSON object (see docs/exercises.md)")
	}
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return fmt.Errorf("not valid UTF-8 at %s", position(b, int64(off)))
	}
	var raw json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return syntaxError(b, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(b, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("a scenario is a JSON object ({…}), not %s", describe(tok))
	}
	return checkMembers(b, dec, "", 1)
}

func checkMembers(b []byte, dec *json.Decoder, path string, depth int) error {
	seen := map[string]bool{}
	for dec.More() {
		at := dec.InputOffset()
		for at < int64(len(b)) && strings.IndexByte(" \t\r\n,", b[at]) >= 0 {
			at++
		}
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(b, err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return fmt.Errorf("%s appears twice, the second time at %s: give it once", join(path, name), position(b, at))
		}
		seen[name] = true
		if err := checkValue(b, dec, join(path, name), depth); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntaxError(b, err)
	}
	return nil
}

func checkValue(b []byte, dec *json.Decoder, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(b, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("%s is nested more than %d levels deep", path, maxDepth)
	}
	if d == '{' {
		return checkMembers(b, dec, path, depth+1)
	}
	for i := 0; dec.More(); i++ {
		if err := checkValue(b, dec, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntaxError(b, err)
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return fmt.Sprintf("%q", name)
	}
	return path + "." + name
}

func syntaxError(b []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if se.Offset >= int64(len(bytes.TrimRight(b, " \t\r\n"))) {
		return fmt.Errorf("malformed JSON: the file ends at %s before the object is complete", position(b, int64(len(b))))
	}
	off := se.Offset
	if off > 0 {
		off--
	}
	if strings.HasSuffix(se.Error(), "after top-level value") {
		return fmt.Errorf("malformed JSON: data after the scenario object, at %s", position(b, off))
	}
	return fmt.Errorf("malformed JSON at %s: %s", position(b, off), se.Error())
}

// position says where byte off of b is, as a person finds it in an editor.
func position(b []byte, off int64) string {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else if c&0xC0 != 0x80 { // count runes, not bytes
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return string(v)
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}
