package provenance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
)

// agree fails unless canonicalForm and stix.Canonicalize give the same bytes,
// or both refuse the input.
func agree(t testing.TB, in []byte) {
	t.Helper()
	want, werr := stix.Canonicalize(in)
	got, gerr := canonicalForm(in)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("stix.Canonicalize: %v; canonicalForm: %v\ninput: %q", werr, gerr, in)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("canonical forms differ\ninput: %q\n got: %s\nwant: %s", in, got, want)
	}
}

// stixData is the shared STIX sample data (OASIS examples, ATT&CK bundles).
func stixData(t testing.TB) string {
	t.Helper()
	dir, err := stixschema.Dir() // …/shared/data/stix/oasis
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return filepath.Dir(dir)
}

// TestCanonicalAgrees runs both canonicalisers over every JSON document of
// the shared data (the ATT&CK bundles alone hold some 2,000 objects), each
// also indented and with members reversed, and over the RFC 8785 test files.
func TestCanonicalAgrees(t *testing.T) {
	dir := stixData(t)
	var files []string
	for _, pat := range []string{"oasis/examples/*.json", "oasis/examples/*/*.json", "attack-*.json", "oasis/schemas/*/*.json", "oasis/interop/*/*.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	jcs, _ := filepath.Glob(filepath.Join("..", "stix", "testdata", "jcs", "*.json"))
	files = append(files, jcs...)
	if len(files) < 20 {
		t.Fatalf("found only %d files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		agree(t, b)
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			continue
		}
		// encoding/json sorts members and escapes <, >, & and U+2028: other
		// bytes for the same value.
		sorted, _ := json.MarshalIndent(v, "", "\t")
		agree(t, sorted)
		agree(t, reverseMembers(b))
	}
}

// reverseMembers writes JSON with the members of every object in reverse
// order, the worst case for the reordering.
func reverseMembers(b []byte) []byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return b
	}
	var w func(v any) string
	w = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			var keys []string
			for k := range x {
				keys = append(keys, k)
			}
			// reverse of sorted order
			for i := 0; i < len(keys); i++ {
				for j := i + 1; j < len(keys); j++ {
					if keys[j] > keys[i] {
						keys[i], keys[j] = keys[j], keys[i]
					}
				}
			}
			var s []string
			for _, k := range keys {
				kb, _ := json.Marshal(k)
				s = append(s, string(kb)+" : "+w(x[k]))
			}
			return "{ " + strings.Join(s, " ,\n ") + " }"
		case []any:
			var s []string
			for _, e := range x {
				s = append(s, w(e))
			}
			return "[" + strings.Join(s, ",") + "]"
		default:
			vb, _ := json.Marshal(x)
			return string(vb)
		}
	}
	return []byte(w(v))
}

func TestCanonicalNumbers(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "stix", "testdata", "jcs", "es6-numbers.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		bits, want, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		u, err := strconv.ParseUint(bits, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		x := math.Float64frombits(u)
		for _, spelling := range []string{want, strconv.FormatFloat(x, 'g', -1, 64), strconv.FormatFloat(x, 'E', 20, 64)} {
			got, err := canonicalForm([]byte(spelling))
			if err != nil || string(got) != want {
				t.Fatalf("%s: got %s, %v; want %s", spelling, got, err, want)
			}
			agree(t, []byte("[ "+spelling+" ]"))
		}
		n++
	}
	if n < 4000 {
		t.Fatalf("only %d numbers", n)
	}
}

// canonicalCases are inputs at the edges of the grammar and of I-JSON.
var canonicalCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `-0.0`, `1.0`, `1e2`, `1E+2`, `-1e-7`, `123456789012345`, `1234567890123456`,
	`-123456789012345`, `9007199254740993`, `1e400`, `-1e400`, `1e-400`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
	`true`, `false`, `null`, `nul`, `tru`, `[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `[1 2]`, `{"a":1 "b":2}`,
	`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":1,"b":2,"a":3}`, `{"b":1,"a":2,"b":3}`, `{"\u0061":1,"a":2}`,
	`{"a\u0000":1,"a":0}`, `{"\ud83d\ude00":1,"\ufb33":2}`, `{"\ufb33":1,"\ud83d\ude00":2}`, `{"😀":1,"דּ":2}`,
	`"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800x"`, `"\u00e9\u00E9"`, `"\/\b\f\n\r\t\"\\"`, `"\u001f\u007f"`,
	"\"\x01\"", "\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc3\"", `"\x"`, `"\u12"`, `"\u12g4"`, `"abc`, `"abc\`,
	`  {"z" : [ 1 , { "y":2 , "x" : 3 } ] , "a" : "" }  `, `{"a":1} x`, `{"a":1}}`, "\t[\n]\r", `[[[[]]]]`,
	`{"\u2028\u2029<>&":"\u2028"}`, `{"a":{"c":1,"b":{"e":1,"d":2}},"A":[{"b":1,"a":2}]}`,
	strings.Repeat("[", 128) + strings.Repeat("]", 128), strings.Repeat("[", 129) + strings.Repeat("]", 129),
	strings.Repeat(`{"a":`, 128) + "1" + strings.Repeat("}", 128), strings.Repeat(`{"a":`, 129) + "1" + strings.Repeat("}", 129),
}

func TestCanonicalEdges(t *testing.T) {
	for _, in := range canonicalCases {
		agree(t, []byte(in))
	}
}

func FuzzCanonical(f *testing.F) {
	for _, in := range canonicalCases {
		f.Add([]byte(in))
	}
	for _, name := range []string{"signed-indicator.golden", "signed-note.golden", "note-custom.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		agree(t, in)
	})
}

func BenchmarkCanonicalForm(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "signed-indicator.golden"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonicalForm(raw); err != nil {
			b.Fatal(err)
		}
	}
}
