package severity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ScaleFile is the name of the national scale's file in a node's data
// directory.
const ScaleFile = "severity-scale.json"

// National is a level of a node's national scale, carried next to the common
// level so that a receiver sees what the originator actually said.
type National struct {
	Scale string `json:"scale"`           // the Scale's Name
	Level string `json:"level"`           // a ScaleLevel's Level
	Label string `json:"label,omitempty"` // its Label
}

// Scale is a node's national scale and its mapping onto the common scale.
// Its JSON form, DIR/severity-scale.json, is read by ParseScale:
//
//	{
//	  "name": "uk-ncsc-categories",          // [a-z0-9-]{1,63}
//	  "title": "UK NCSC incident categories", // optional, printable, ≤ 256 bytes
//	  "levels": [                             // 1 to 64, any order (most severe first reads best)
//	    {"level": "1",                        // the national value, unique, printable, ≤ 64 bytes, no surrounding space
//	     "label": "Category 1: …",            // optional, printable, ≤ 256 bytes
//	     "common": 5}                         // the common Level it maps to, 0 to 5
//	  ]
//	}
//
// Member names are spelt exactly; unknown or repeated members, trailing
// data and invalid UTF-8 are refused. Several national levels may map to one
// common level; a common level may have no national level.
type Scale struct {
	Name   string       `json:"name"`  // e.g. "uk-ncsc-categories"
	Title  string       `json:"title"` // e.g. "UK NCSC incident categories"
	Levels []ScaleLevel `json:"levels"`
}

// ScaleLevel is one level of a national scale.
type ScaleLevel struct {
	Level  string `json:"level"`  // the national value, as the node's staff write it
	Label  string `json:"label"`  // its name in the national framework
	Common Level  `json:"common"` // the common level it maps to
}

// Limits of a Scale.
const (
	maxLevels   = 64
	maxLevelLen = 64
	maxTextLen  = 256

	maxScaleBytes = 1 << 20
	maxDepth      = 32 // a valid scale nests 3 deep
)

// ParseScale reads and validates a national scale (see Scale for the rules).
func ParseScale(b []byte) (*Scale, error) {
	if len(b) > maxScaleBytes {
		return nil, fmt.Errorf("severity scale: %d bytes, at most %d", len(b), maxScaleBytes)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("severity scale: not valid UTF-8")
	}
	if err := checkMembers(b, scaleShape); err != nil {
		return nil, fmt.Errorf("severity scale: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Scale
	if err := dec.Decode(&s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("severity scale: %s: want %s, not a JSON %s", where(te.Field), kindOf(te.Type), te.Value)
		}
		return nil, fmt.Errorf("severity scale: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("severity scale: data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks s against the rules ParseScale applies.
func (s *Scale) Validate() error {
	if !validName(s.Name) {
		return fmt.Errorf("severity scale: name %s: want 1 to 63 characters among a-z, 0-9 and -", quote(s.Name))
	}
	if err := checkText(s.Title, maxTextLen); err != nil {
		return fmt.Errorf("severity scale %s: title: %v", s.Name, err)
	}
	if len(s.Levels) == 0 {
		return fmt.Errorf("severity scale %s: no levels", s.Name)
	}
	if len(s.Levels) > maxLevels {
		return fmt.Errorf("severity scale %s: %d levels, at most %d", s.Name, len(s.Levels), maxLevels)
	}
	seen := make(map[string]bool, len(s.Levels))
	for i, l := range s.Levels {
		at := fmt.Sprintf("severity scale %s: level %d", s.Name, i+1)
		if l.Level == "" {
			return fmt.Errorf("%s: empty level", at)
		}
		if err := checkText(l.Level, maxLevelLen); err != nil {
			return fmt.Errorf("%s: level: %v", at, err)
		}
		if seen[l.Level] {
			return fmt.Errorf("%s: level %s appears twice", at, quote(l.Level))
		}
		seen[l.Level] = true
		if err := checkText(l.Label, maxTextLen); err != nil {
			return fmt.Errorf("%s (%s): label: %v", at, l.Level, err)
		}
		if !l.Common.Valid() {
			return fmt.Errorf("%s (%s): common level %d: want 0 to 5", at, l.Level, int(l.Common))
		}
	}
	return nil
}

// Lookup finds a national level by its exact value.
func (s *Scale) Lookup(level string) (ScaleLevel, bool) {
	for _, l := range s.Levels {
		if l.Level == level {
			return l, true
		}
	}
	return ScaleLevel{}, false
}

// National returns the national level named level, ready to be carried in a
// record, and the common level it maps to. An unknown level is an error that
// lists the scale's levels.
func (s *Scale) National(level string) (National, Level, error) {
	l, ok := s.Lookup(level)
	if !ok {
		vals := make([]string, len(s.Levels))
		for i, l := range s.Levels {
			vals[i] = l.Level
		}
		return National{}, 0, fmt.Errorf("unknown level %s of national scale %s: want one of %s", quote(level), s.Name, strings.Join(vals, ", "))
	}
	return National{Scale: s.Name, Level: l.Level, Label: l.Label}, l.Common, nil
}

// LoadScale reads DIR/severity-scale.json. A node without a national scale
// gets (nil, nil): it speaks the common scale only.
func LoadScale(dataDir string) (*Scale, error) {
	path := filepath.Join(dataDir, ScaleFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := ParseScale(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// SaveScale validates s and replaces DIR/severity-scale.json atomically: the
// JSON is written and synced to a temporary file in DIR, then renamed over
// the old file, so a crash leaves the old scale or the new one, never half
// of one.
func SaveScale(dataDir string, s *Scale) error {
	if s == nil {
		return errors.New("severity scale: nil")
	}
	if err := s.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	f, err := os.CreateTemp(dataDir, "."+ScaleFile+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, ScaleFile)); err != nil {
		return err
	}
	// Make the rename itself durable where the platform allows it.
	if d, err := os.Open(dataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Example returns the UK's NCSC incident categorisation (categories 1 to 6)
// mapped onto the common scale, one category per common level:
//
//	Category 1  national cyber emergency     → 5 Emergency
//	Category 2  highly significant incident  → 4 Severe
//	Category 3  significant incident         → 3 High
//	Category 4  substantial incident         → 2 Medium
//	Category 5  moderate incident            → 1 Low
//	Category 6  localised incident           → 0 Baseline
//
// Category 6 goes to Baseline rather than sharing Low with Category 5: the
// two scales then have the same six steps in the same order, every common
// level says which category it came from, and a Category 6 incident (one
// individual, or preliminary signs at a small organisation) is what the
// common scale calls inconsequential at national level. Each call returns a
// new Scale the caller may change.
func Example() *Scale {
	return &Scale{
		Name:  "uk-ncsc-categories",
		Title: "UK NCSC incident categories",
		Levels: []ScaleLevel{
			{Level: "1", Label: "Category 1: national cyber emergency", Common: Emergency},
			{Level: "2", Label: "Category 2: highly significant incident", Common: Severe},
			{Level: "3", Label: "Category 3: significant incident", Common: High},
			{Level: "4", Label: "Category 4: substantial incident", Common: Medium},
			{Level: "5", Label: "Category 5: moderate incident", Common: Low},
			{Level: "6", Label: "Category 6: localised incident", Common: Baseline},
		},
	}
}

// validName reports whether s matches [a-z0-9-]{1,63}.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkText accepts printable text (Unicode graphic characters and the
// plain space) of at most max bytes, without surrounding spaces.
func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, at most %d", len(s), max)
	}
	if strings.TrimSpace(s) != s {
		return errors.New("surrounding spaces")
	}
	for _, r := range s {
		if r != ' ' && !unicode.IsGraphic(r) {
			return fmt.Errorf("character %U is not printable", r)
		}
	}
	return nil
}

// shape describes the JSON a decoder expects, for checkMembers: an object
// with the given members, an array of elem, or (neither) anything else.
type shape struct {
	members map[string]*shape
	elem    *shape
}

var scaleShape = &shape{members: map[string]*shape{
	"name":  {},
	"title": {},
	"levels": {elem: &shape{members: map[string]*shape{
		"level":  {},
		"label":  {},
		"common": {},
	}}},
}}

// checkMembers walks the JSON document b and refuses, in any object,
// repeated member names (encoding/json keeps the last silently) and, in the
// objects sh describes, members not spelt exactly as declared
// (encoding/json matches "Name" to "name"). Type errors are left to the
// decoder.
func checkMembers(b []byte, sh *shape) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	err := walk(dec, sh, "", 0)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated JSON")
	}
	return err
}

func walk(dec *json.Decoder, sh *shape, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: nested more than %d deep", where(path), maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			k := tok.(string)
			if seen[k] {
				return fmt.Errorf("%s: member %s appears twice", where(path), quote(k))
			}
			seen[k] = true
			var sub *shape
			if sh != nil && sh.members != nil {
				var ok bool
				if sub, ok = sh.members[k]; !ok {
					return fmt.Errorf("%s: unknown member %s", where(path), quote(k))
				}
			}
			if err := walk(dec, sub, join(path, k), depth+1); err != nil {
				return err
			}
		}
	case '[':
		var elem *shape
		if sh != nil {
			elem = sh.elem
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func where(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer from 0 to 5"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}
