package pattern

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors keep their
// contract, and that whatever it accepts prints in a canonical form that
// parses back to the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range readValid(f) {
		f.Add(s)
	}
	for _, s := range corpusPatterns(f) {
		f.Add(s)
	}
	for _, tc := range invalid {
		if len(tc.in) < 1000 {
			f.Add(tc.in)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %v is a %T, want *Error", s, err, err)
			}
			if pe.Pos < 0 || pe.Pos > len(s) || pe.Msg == "" {
				t.Fatalf("Parse(%q): bad error %#v", s, pe)
			}
			return
		}
		checkRoundTrip(t, s, p)
		_ = p.Comparisons()
	})
}
