package stix

import (
	"errors"
	"fmt"
	"strings"
)

// Parse decodes and validates one STIX 2.1 object from raw JSON and returns it
// with Raw compacted and Digest computed. The error, when not nil, is an
// *InvalidError whose message is fit to show the sender of the object.
//
// The JSON itself must be I-JSON (RFC 7493): no duplicate member names, valid
// UTF-8, finite numbers. Anything looser would let two nodes read one signed
// object two ways. The object must then satisfy validate (validate.go).
//
// Parse is the only way objects enter the node: callers must not build an
// Object by hand from untrusted input.
func Parse(raw []byte) (*Object, error) {
	// One strict decode of the input serves validation and the canonical form.
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, &InvalidError{Msg: err.Error()}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &InvalidError{Msg: "a STIX object must be a JSON object"}
	}
	// The input is valid JSON now, so dropping white space outside strings is
	// all json.Compact would do, at a fraction of its cost.
	compact := compactValid(raw)
	o, err := header(m)
	if err != nil {
		return nil, err
	}
	if err := validate(o, m); err != nil {
		return nil, err
	}
	o.Raw = compact
	o.Digest = digest(canonical(m, len(compact)))
	return o, nil
}

// InvalidError reports an object that breaks the STIX 2.1 specification.
type InvalidError struct {
	ID       string // the object's id when it could be read
	Property string // the offending property path, when there is one
	Msg      string
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString("invalid STIX object")
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	if e.Property != "" {
		b.WriteString(": property " + e.Property)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// IsInvalid reports whether err says an object is invalid.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

func header(m map[string]any) (*Object, error) {
	o := &Object{}
	id, _ := m["id"].(string)
	typ, _ := m["type"].(string)
	if typ == "" {
		return nil, &InvalidError{ID: id, Property: "type", Msg: "required string property is missing"}
	}
	if typ == "bundle" {
		return nil, &InvalidError{ID: id, Property: "type", Msg: "a bundle is a container, not a STIX object; send its objects"}
	}
	if id == "" {
		return nil, &InvalidError{Property: "id", Msg: "required string property is missing"}
	}
	// The decoded strings share the input's memory; the header keeps copies so
	// that an Object does not pin a second copy of its JSON.
	o.ID, o.Type = strings.Clone(id), strings.Clone(typ)
	if len(id) < len(typ)+2 || id[:len(typ)] != typ || id[len(typ):len(typ)+2] != "--" {
		return nil, &InvalidError{ID: id, Property: "id", Msg: fmt.Sprintf("must be %q followed by a UUID", typ+"--")}
	}
	o.SpecVersion = cloneString(m["spec_version"])
	o.Created = cloneString(m["created"])
	o.Modified = cloneString(m["modified"])
	o.Revoked, _ = m["revoked"].(bool)
	o.CreatedByRef = cloneString(m["created_by_ref"])
	if refs, ok := m["object_marking_refs"].([]any); ok {
		for _, r := range refs {
			if s, ok := r.(string); ok {
				o.ObjectMarkingRefs = append(o.ObjectMarkingRefs, strings.Clone(s))
			}
		}
	}
	return o, nil
}

func cloneString(v any) string {
	s, _ := v.(string)
	return strings.Clone(s)
}

// compactValid removes the white space outside strings from valid JSON: the
// result is what json.Compact returns. It must not see invalid JSON, where
// removing spaces could join two tokens into one ("1 2").
func compactValid(b []byte) []byte {
	out := make([]byte, 0, len(b))
	start := 0 // start of the run not yet copied
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case ' ', '\t', '\n', '\r':
			out = append(out, b[start:i]...)
			start = i + 1
		}
	}
	return append(out, b[start:]...)
}
