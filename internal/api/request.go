package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MediaType is the media type of every request and response body.
const MediaType = "application/json"

// DefaultMaxBody bounds a request body (1 MiB): a case with its longest
// free text is a few tens of kilobytes.
const DefaultMaxBody = 1 << 20

// maxDepth bounds the nesting of a request body: the kinds' inputs are flat
// objects with lists of strings, and the bound keeps the checker's
// recursion small whatever is sent.
const maxDepth = 32

// acceptsJSON reports whether an Accept header admits application/json,
// per RFC 9110 section 12.5.1: the most specific matching range decides and
// q=0 refuses. No Accept header accepts anything.
func acceptsJSON(header []string) bool {
	if len(header) == 0 {
		return true
	}
	bestSpec, bestQ := 0, 0.0
	for _, h := range header {
		for _, r := range splitList(h) {
			if strings.TrimSpace(r) == "" {
				continue
			}
			typ, params, err := mime.ParseMediaType(r)
			if err != nil {
				continue
			}
			q := 1.0
			if qs, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(qs, 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			spec := 0
			switch typ {
			case "*/*":
				spec = 1
			case "application/*":
				spec = 2
			case MediaType:
				spec = 3
			}
			if spec > bestSpec || (spec == bestSpec && spec > 0 && q > bestQ) {
				bestSpec, bestQ = spec, q
			}
		}
	}
	return bestSpec > 0 && bestQ > 0
}

// splitList splits a header value on commas outside quoted strings.
func splitList(s string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// checkContentType accepts application/json, with no charset or UTF-8.
func checkContentType(header string) error {
	if header == "" {
		return errorf(http.StatusUnsupportedMediaType, "the request has no Content-Type: send the JSON body with Content-Type: %s", MediaType)
	}
	typ, params, err := mime.ParseMediaType(header)
	if err != nil || typ != MediaType {
		return errorf(http.StatusUnsupportedMediaType, "Content-Type %q is not accepted: send the JSON body with Content-Type: %s", header, MediaType)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errorf(http.StatusUnsupportedMediaType, "charset %q is not accepted: JSON is UTF-8", cs)
	}
	return nil
}

// readBody reads a request body of at most max bytes and checks it is one
// JSON object (see checkObject). It returns the bytes as sent.
func readBody(w http.ResponseWriter, r *http.Request, max int64) (json.RawMessage, error) {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, errorf(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", max)
	case err != nil:
		return nil, &Error{Status: http.StatusBadRequest, Message: "the body could not be read", Err: err}
	}
	if err := checkObject(b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkObject checks that b is exactly one JSON object in UTF-8, with no
// name twice in any object (encoding/json would keep the last one silently,
// and what a person meant by {"tlp":"clear","tlp":"amber"} is not for the
// node to guess) and at most maxDepth levels of nesting. Errors are 400s
// that say where the problem is.
func checkObject(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errorf(http.StatusBadRequest, "the body is empty: send a JSON object ({} when there is nothing to give)")
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
		return errorf(http.StatusBadRequest, "the body is not valid UTF-8 at %s", position(b, int64(off)))
	}
	// The syntax first, over the whole body: json.Unmarshal reports the
	// offset of a syntax error exactly (the streaming decoder counts from
	// its buffer, not from the start of the body).
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
		return errorf(http.StatusBadRequest, "the body must be a JSON object ({…}), not %s", describe(tok))
	}
	return checkMembers(b, dec, "", 1)
}

// checkMembers reads the members of an object whose '{' was read, and its '}'.
func checkMembers(b []byte, dec *json.Decoder, path string, depth int) error {
	seen := map[string]bool{}
	for dec.More() {
		at := dec.InputOffset() // before the separator and the name
		for at < int64(len(b)) && strings.IndexByte(" \t\r\n,", b[at]) >= 0 {
			at++
		}
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(b, err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return errorf(http.StatusBadRequest, "field %q appears twice, the second time at %s: give it once", join(path, name), position(b, at))
		}
		seen[name] = true
		if err := checkValue(b, dec, join(path, name), depth); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
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
		return errorf(http.StatusBadRequest, "%s is nested more than %d levels deep", path, maxDepth)
	}
	if d == '{' {
		return checkMembers(b, dec, path, depth+1)
	}
	for i := 0; dec.More(); i++ { // '['
		if err := checkValue(b, dec, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return syntaxError(b, err)
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func syntaxError(b []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		// The body is valid JSON when the walk runs: an error there is ours.
		return &Error{Status: http.StatusBadRequest, Message: "malformed JSON", Err: err}
	}
	if se.Offset >= int64(len(bytes.TrimRight(b, " \t\r\n"))) {
		return errorf(http.StatusBadRequest, "malformed JSON: the body ends at %s before the object is complete", position(b, int64(len(b))))
	}
	off := se.Offset
	if off > 0 {
		off-- // Offset counts the bytes read, the offending one included
	}
	if strings.HasSuffix(se.Error(), "after top-level value") {
		return errorf(http.StatusBadRequest, "malformed JSON: data after the object, at %s: send one JSON object", position(b, off))
	}
	return errorf(http.StatusBadRequest, "malformed JSON at %s: %s", position(b, off), se.Error())
}

// position names a byte offset as line, column (in characters) and offset.
func position(b []byte, off int64) string {
	off = max(0, min(off, int64(len(b))))
	line, col := 1, 1
	for _, r := range string(b[:off]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d (byte %d)", line, col, off)
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
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
