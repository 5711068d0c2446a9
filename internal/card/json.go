package card

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/entraide/entraide/internal/stix"
)

// Cards and rotations are signed over the RFC 8785 canonical form of their
// JSON with the signature members removed, and read strictly: what one
// reader could see differently from another is refused.

// strictObject checks that b is one I-JSON object (no duplicate member names,
// valid UTF-8, finite numbers: stix.Canonicalize's rules) whose member names
// are all in allowed, spelt exactly (encoding/json alone would match "Name"
// to "name"), and returns its members.
func strictObject(b []byte, allowed map[string]bool) (map[string]json.RawMessage, error) {
	if _, err := stix.Canonicalize(b); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	for k := range m {
		if !allowed[k] {
			return nil, fmt.Errorf("unknown member %q", k)
		}
	}
	return m, nil
}

// decodeStrict decodes b into v, refusing unknown members and trailing data,
// with errors that name the member.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: want %s, not a JSON %s", te.Field, kind(te.Type), te.Value)
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

func kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// canonicalWithout returns the canonical form of the JSON object b without
// the named members: the message a card or a rotation is signed over.
func canonicalWithout(b []byte, names ...string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	for _, n := range names {
		delete(m, n)
	}
	rest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return stix.Canonicalize(rest)
}

// jsonNames lists the JSON member names of a struct's fields.
func jsonNames(v any) map[string]bool {
	t := reflect.TypeOf(v)
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}
