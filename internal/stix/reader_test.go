package stix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func readStrings(t *testing.T, in string) ([]string, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []string
	for {
		raw, err := r.Next()
		if err == io.EOF {
			if r.Count() != len(out) {
				t.Fatalf("Count() = %d after %d objects", r.Count(), len(out))
			}
			return out, nil
		}
		if err != nil {
			// Spent: the same error again.
			if _, again := r.Next(); again != err {
				t.Fatalf("second Next after %v returned %v", err, again)
			}
			return out, err
		}
		out = append(out, string(raw))
	}
}

func TestReaderShapes(t *testing.T) {
	a := `{"type":"url","id":"url--1","value":"a"}`
	b := `{"type":"url","id":"url--2","value":"b","objects":{"0":{}}}`
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"bundle", `{"type":"bundle","id":"bundle--x","objects":[` + a + `,` + b + `]}`, []string{a, b}},
		{"bundle objects first", `{"objects":[` + a + `],"id":"bundle--x","type":"bundle"}`, []string{a}},
		{"bundle without type", "\n {\"id\":\"bundle--x\",\"spec_version\":\"2.0\",\"objects\":[" + a + "]}\n", []string{a}},
		{"bundle with nested members before objects", `{"type":"bundle","x_meta":{"a":[1,{"b":2}]},"objects":[` + a + `]}`, []string{a}},
		{"empty bundle", `{"type":"bundle","id":"bundle--x","objects":[]}`, nil},
		{"bundle without objects", `{"type":"bundle","id":"bundle--x"}`, nil},
		{"array", "[\n" + a + ",\n" + b + "\n]", []string{a, b}},
		{"empty array", "[]", nil},
		{"ndjson", a + "\n" + b + "\n", []string{a, b}},
		{"ndjson crlf and blank lines", a + "\r\n\r\n" + b, []string{a, b}},
		{"ndjson first object has objects dict", b + "\n" + a, []string{b, a}},
		{"single object", "  " + a + "  ", []string{a}},
		{"empty stream", " \n ", nil},
	} {
		got, err := readStrings(t, tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	a := `{"type":"url","id":"url--1","value":"a"}`
	for _, tc := range []struct {
		name, in string
		n        int    // objects read before the error
		msg      string // fragment of the error
	}{
		{"syntax error in bundle", `{"type":"bundle","objects":[` + a + `,{"type":]}`, 1, "at byte"},
		{"truncated bundle", `{"type":"bundle","objects":[` + a, 1, "ends"},
		{"truncated object", `{"type":"bundle","objects":[{"type":"url"`, 0, "at byte"},
		{"not an object in bundle", `{"type":"bundle","objects":[` + a + `,42]}`, 1, "element 1 of the array is not a JSON object"},
		{"not an object in array", `["x"]`, 0, "not a JSON object"},
		{"not an object in lines", a + "\n[1]\n", 1, "want a JSON object"},
		{"scalar", `42`, 0, "want a STIX bundle"},
		{"data after bundle", `{"type":"bundle","objects":[]} {}`, 0, "after the bundle"},
		{"data after array", `[` + a + `] x`, 1, "at byte"},
		{"objects array in non-bundle", `{"type":"report","objects":[` + a + `]}`, 0, `type "report" has an objects array`},
		{"type after objects", `{"objects":[` + a + `],"type":"report"}`, 1, "only a bundle may"},
		{"two objects arrays", `{"type":"bundle","objects":[],"objects":[]}`, 0, "two objects members"},
		{"syntax error in lines", a + "\n{\"type\" \"url\"}", 1, "at byte"},
	} {
		got, err := readStrings(t, tc.in)
		var re *ReadError
		if err == nil || !errors.As(err, &re) {
			t.Errorf("%s: got %q, %v; want a *ReadError", tc.name, got, err)
			continue
		}
		if len(got) != tc.n {
			t.Errorf("%s: read %d objects before the error, want %d", tc.name, len(got), tc.n)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %q does not contain %q", tc.name, err, tc.msg)
		}
	}
}

// TestReaderOffset: the error names the start of the object that is malformed
// (give or take the separator before it).
func TestReaderOffset(t *testing.T) {
	in := `{"type":"bundle","objects":[{"a":1},{"a":1 "b":2}]}`
	_, err := readStrings(t, in)
	var re *ReadError
	if !errors.As(err, &re) {
		t.Fatalf("got %v", err)
	}
	if want := int64(strings.Index(in, `{"a":1 "b"`)); re.Offset < want-1 || re.Offset > want {
		t.Errorf("offset %d, want about %d (%v)", re.Offset, want, err)
	}
}

// TestReaderStreams: a large bundle is read without holding it whole. The
// source produces a million objects on the fly; the reader must get through it
// with a bounded heap.
func TestReaderStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("large stream")
	}
	const n = 200000
	obj := []byte(`{"type":"url","spec_version":"2.1","id":"url--` + uuid1 + `","value":"https://example.com/some/long/path/to/make/the/object/bigger"}`)
	src := &bundleSource{obj: obj, n: n}
	r := NewReader(src)
	for {
		raw, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, obj) {
			t.Fatalf("object %d: %s", r.Count(), raw)
		}
	}
	if r.Count() != n {
		t.Fatalf("read %d, want %d", r.Count(), n)
	}
	if r.rec.buf != nil || r.rec.on {
		t.Fatal("the recorder still keeps bytes after detection")
	}
}

// bundleSource generates {"type":"bundle","objects":[obj,obj,…]} lazily.
type bundleSource struct {
	obj     []byte
	n, i    int
	pending []byte
}

func (s *bundleSource) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		switch {
		case s.i == 0:
			s.pending = []byte(`{"type":"bundle","id":"bundle--` + uuid2 + `","objects":[`)
		case s.i <= s.n:
			if s.i > 1 {
				s.pending = append(s.pending, ',')
			}
			s.pending = append(s.pending, s.obj...)
		case s.i == s.n+1:
			s.pending = []byte("]}")
		default:
			return 0, io.EOF
		}
		s.i++
	}
	c := copy(p, s.pending)
	s.pending = s.pending[c:]
	return c, nil
}

func FuzzReader(f *testing.F) {
	a := `{"type":"url","id":"url--1","value":"a"}`
	for _, s := range []string{
		`{"type":"bundle","id":"bundle--x","objects":[` + a + `,` + a + `]}`,
		`[` + a + `]`, a + "\n" + a, `{"objects":{}}`, `{"type":"bundle"}`, `[]`, ``, `{"objects":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for i := 0; i <= len(in); i++ {
			raw, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var re *ReadError
				if !errors.As(err, &re) {
					t.Fatalf("error %T is not a *ReadError: %v", err, err)
				}
				if re.Offset < 0 || re.Offset > int64(len(in)) {
					t.Fatalf("offset %d outside the input of %d bytes", re.Offset, len(in))
				}
				return
			}
			if len(raw) == 0 || raw[0] != '{' || !bytes.Contains(in, raw) && !isWhitespaceVariant(in, raw) {
				t.Fatalf("object %q is not an object of the input", raw)
			}
		}
		t.Fatalf("more objects than bytes of input")
	})
}

// isWhitespaceVariant: json.RawMessage keeps the bytes as they were, so every
// object returned must appear in the input; kept as a hook should that change.
func isWhitespaceVariant(in, raw []byte) bool { return false }
