package severity_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/entraide/entraide/internal/severity"
)

// FuzzParse: Parse never panics, accepts only the six levels, and whatever
// it accepts is the level whose number or name (in some case) was given.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "5", "6", "high", "HIGH", "ſevere", "", " low"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := severity.Parse(s)
		if err != nil {
			return
		}
		if !l.Valid() {
			t.Fatalf("Parse(%q) = %d, not a valid level", s, int(l))
		}
		if s != strconv.Itoa(int(l)) && !asciiLowerEqual(s, l.String()) {
			t.Fatalf("Parse(%q) = %v", s, l)
		}
	})
}

func asciiLowerEqual(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// FuzzParseScale: ParseScale never panics; whatever it accepts is valid,
// and reads back the same after being written out.
func FuzzParseScale(f *testing.F) {
	b, err := json.Marshal(severity.Example())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(readFile(f, "example-scale.golden"))
	f.Add([]byte(`{"name":"x","levels":[{"level":"a","common":1}]}`))
	f.Add([]byte(`{"name":"x","name":"x","levels":[{"Level":"a","common":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := severity.ParseScale(b)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted an invalid scale: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := severity.ParseScale(out)
		if err != nil {
			t.Fatalf("%s does not read back: %v", out, err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("read back %+v, want %+v", again, s)
		}
		for _, l := range s.Levels {
			n, common, err := s.National(l.Level)
			if err != nil || common != l.Common || n.Level != l.Level || n.Scale != s.Name {
				t.Fatalf("National(%q) = %+v, %v, %v", l.Level, n, common, err)
			}
		}
	})
}
