package pattern

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/errors.golden from the current error messages")

// stixDataDir holds the STIX sample data shared by the project's tests:
// OASIS examples and MITRE ATT&CK bundles. STIX_DATA_DIR overrides it.
func stixDataDir() string {
	if d := os.Getenv("STIX_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "shared", "data", "stix")
}

// checkRoundTrip asserts the printer's contract: the canonical form of a
// parsed pattern parses to an equal tree, which prints the same.
func checkRoundTrip(t testing.TB, src string, p *Pattern) {
	t.Helper()
	out := p.String()
	q, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(%q) ok, but its canonical form %q does not parse: %v", src, out, err)
	}
	if again := q.String(); again != out {
		t.Fatalf("canonical form not stable for %q:\n first: %s\nsecond: %s", src, out, again)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("canonical form %q of %q parses to a different tree:\n%s\n%s", out, src, dump(p.Expr), dump(q.Expr))
	}
	if len(p.ObjectTypes()) == 0 {
		t.Fatalf("Parse(%q): no object types", src)
	}
}

func mustParse(t *testing.T, s string) *Pattern {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	checkRoundTrip(t, s, p)
	return p
}

// readValid returns the patterns of testdata/valid.txt.
func readValid(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "valid.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pats []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pats = append(pats, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pats
}

// corpusPatterns returns the pattern of every STIX indicator in the JSON
// files under the shared data directory, or nil when it is absent.
func corpusPatterns(t testing.TB) []string {
	t.Helper()
	dir := stixDataDir()
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	var pats []string
	var collect func(v any)
	collect = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["type"] == "indicator" && v["pattern_type"] == "stix" {
				if s, ok := v["pattern"].(string); ok {
					pats = append(pats, s)
				}
			}
			for _, e := range v {
				collect(e)
			}
		case []any:
			for _, e := range v {
				collect(e)
			}
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		collect(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pats
}

func TestSpecExamples(t *testing.T) {
	pats := readValid(t)
	if len(pats) < 60 {
		t.Fatalf("testdata/valid.txt: %d patterns, want the 60-odd of section 9", len(pats))
	}
	for _, s := range pats {
		mustParse(t, s)
	}
}

func TestCorpus(t *testing.T) {
	pats := corpusPatterns(t)
	if pats == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no STIX sample data at %s (set STIX_DATA_DIR): CI must run the corpus", stixDataDir())
		}
		t.Skipf("no STIX sample data at %s (set STIX_DATA_DIR)", stixDataDir())
	}
	// The OASIS examples hold 43 indicators; finding fewer means the walk
	// broke, not that the parser is fine.
	if len(pats) < 43 {
		t.Fatalf("found %d indicator patterns under %s, want at least 43", len(pats), stixDataDir())
	}
	for _, s := range pats {
		mustParse(t, s)
	}
}

// TestCanonical pins the printer: each input prints as want.
func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[file:name == 'x']", "[file:name = 'x']"},
		{"[file:name <> 'x']", "[file:name != 'x']"},
		{"[ file : name = 'x' ]", "[file:name = 'x']"},
		{"[file:name='x'OR file:name='y']AND[file:size>1]", "[file:name = 'x' OR file:name = 'y'] AND [file:size > 1]"},
		{"[file:size = +5]", "[file:size = 5]"},
		{"[file:size = -0]", "[file:size = 0]"},
		{"[file:size = .5]", "[file:size = 0.5]"},
		{"[file:size = -.5]", "[file:size = -0.5]"},
		{"[file:size = 7.0]", "[file:size = 7.0]"},
		{"[file:size = 1.50]", "[file:size = 1.5]"},
		{"[file:size = -0.0]", "[file:size = -0.0]"},
		{"[file:size = 00.5]", "[file:size = 0.5]"},
		{"[file:size = -9223372036854775808]", "[file:size = -9223372036854775808]"},
		{"[file:hashes.'MD5' = 'x']", "[file:hashes.MD5 = 'x']"},
		{"[file:'name' = 'x']", "[file:name = 'x']"},
		{"[file:x.'AND' = 1]", "[file:x.'AND' = 1]"},
		{"[file:x.'true' = 1]", "[file:x.'true' = 1]"},
		{"[file:x.'a.b' = 1]", "[file:x.'a.b' = 1]"},
		{"[file:x.'' = 1]", "[file:x.'' = 1]"},
		{`[file:x.'a\'b' = 1]`, `[file:x.'a\'b' = 1]`},
		{"[file:a [ 0 ] . b = 1]", "[file:a[0].b = 1]"},
		{"[file:a[+1] = 1]", "[file:a[1] = 1]"},
		{"[file:a[-1] = 1]", "[file:a[-1] = 1]"},
		{"[file:a[*][*] = 1]", "[file:a[*][*] = 1]"},
		{"[(file:name = 'x')]", "[file:name = 'x']"},
		{"(([file:name = 'x']))", "[file:name = 'x']"},
		{"[file:a = 1 AND (file:b = 2 AND file:c = 3)]", "[file:a = 1 AND (file:b = 2 AND file:c = 3)]"},
		{"[(file:a = 1 AND file:b = 2) AND file:c = 3]", "[(file:a = 1 AND file:b = 2) AND file:c = 3]"},
		{"[file:a = 1 OR file:b = 2 AND file:c = 3]", "[file:a = 1 OR file:b = 2 AND file:c = 3]"},
		{"[file:a = 1 OR (file:b = 2 AND file:c = 3)]", "[file:a = 1 OR file:b = 2 AND file:c = 3]"},
		{"[(file:a = 1 OR file:b = 2) AND file:c = 3]", "[(file:a = 1 OR file:b = 2) AND file:c = 3]"},
		{"[a-b:x = 1] OR ([c-d:x = 1] AND [e-f:x = 1])", "[a-b:x = 1] OR [c-d:x = 1] AND [e-f:x = 1]"},
		{"([a-b:x = 1] OR [c-d:x = 1]) AND [e-f:x = 1]", "([a-b:x = 1] OR [c-d:x = 1]) AND [e-f:x = 1]"},
		{"[a-b:x = 1] FOLLOWEDBY ([c-d:x = 1] OR [e-f:x = 1])", "[a-b:x = 1] FOLLOWEDBY [c-d:x = 1] OR [e-f:x = 1]"},
		{"([a-b:x = 1] FOLLOWEDBY [c-d:x = 1]) OR [e-f:x = 1]", "([a-b:x = 1] FOLLOWEDBY [c-d:x = 1]) OR [e-f:x = 1]"},
		{"[a-b:x = 1] FOLLOWEDBY ([c-d:x = 1] FOLLOWEDBY [e-f:x = 1])", "[a-b:x = 1] FOLLOWEDBY ([c-d:x = 1] FOLLOWEDBY [e-f:x = 1])"},
		{"[file:x = 1] WITHIN 300.0 SECONDS", "[file:x = 1] WITHIN 300 SECONDS"},
		{"[file:x = 1] WITHIN +0.5 SECONDS", "[file:x = 1] WITHIN 0.5 SECONDS"},
		{"[file:x = 1] REPEATS +2 TIMES", "[file:x = 1] REPEATS 2 TIMES"},
		{"([file:x = 1]) WITHIN 5 SECONDS", "[file:x = 1] WITHIN 5 SECONDS"},
		{"([file:x = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS", "([file:x = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS"},
		{"([file:x = 1] AND [file:y = 2]) REPEATS 2 TIMES", "([file:x = 1] AND [file:y = 2]) REPEATS 2 TIMES"},
		{"[file:x = 1] /* a comment */ AND // another\n [file:y = 2] // last", "[file:x = 1] AND [file:y = 2]"},
		{"[file:x = '/* not a comment */ // nor this']", "[file:x = '/* not a comment */ // nor this']"},
		{"[file:x = b'AA\nAA\r\n']", "[file:x = b'AAAA']"},
		{"[file:x = h'FFd8']", "[file:x = h'FFd8']"},
		{"[file:x IN ( 1,2.5 , -3 )]", "[file:x IN (1, 2.5, -3)]"},
		{"[file:x IN ()]", "[file:x IN ()]"},
		{"[file:x IN (true, false)]", "[file:x IN (true, false)]"},
		{"[file:x NOT = 1 AND NOT EXISTS file:y AND EXISTS file:z]", "[file:x NOT = 1 AND NOT EXISTS file:y AND EXISTS file:z]"},
		{"[file:x NOT IN ('a') AND file:y NOT LIKE 'a%']", "[file:x NOT IN ('a') AND file:y NOT LIKE 'a%']"},
		{"[file:name MATCHES'^a$']", "[file:name MATCHES '^a$']"},
		{"[file:x = t'2016-12-31T23:59:60Z']", "[file:x = t'2016-12-31T23:59:60Z']"},
		{"[file:x = t'2016-01-01T00:00:00.123456789123Z']", "[file:x = t'2016-01-01T00:00:00.123456789123Z']"},
		{"[file:x = t'2016-02-29T00:00:00Z']", "[file:x = t'2016-02-29T00:00:00Z']"},
		{"[file:x = t'2000-02-29T00:00:00Z']", "[file:x = t'2000-02-29T00:00:00Z']"},
		{"\u00a0[file:name\u3000=\u2028'x']\u0085\t\v\f\r\n", "[file:name = 'x']"},
		{"[file:name = 'été ☃ \u00a0']", "[file:name = 'été ☃ \u00a0']"},
		{"[x-usb-device:usbdrive.serial_number = 'x']", "[x-usb-device:usbdrive.serial_number = 'x']"},
		{"[file:_x.a_b_1 = 1]", "[file:_x.a_b_1 = 1]"},
		{"[ipv6-addr:value ISSUBSET '2001:db8::/32']", "[ipv6-addr:value ISSUBSET '2001:db8::/32']"},
		{"[ipv4-addr:value ISSUPERSET '198.51.100.7']", "[ipv4-addr:value ISSUPERSET '198.51.100.7']"},
	} {
		p := mustParse(t, tc.in)
		if got := p.String(); got != tc.want {
			t.Errorf("Parse(%q).String():\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// dump renders a tree with its structure explicit: operators prefix and
// parenthesised, observations and comparisons in canonical form.
func dump(e any) string {
	switch e := e.(type) {
	case *Observation:
		return "[" + dump(e.Expr) + "]"
	case *CompoundObservation:
		parts := []string{e.Op.String()}
		for _, o := range e.Operands {
			parts = append(parts, dump(o))
		}
		return "(" + strings.Join(parts, " ") + ")"
	case *QualifiedObservation:
		parts := []string{"Q", dump(e.Expr)}
		for _, q := range e.Qualifiers {
			parts = append(parts, "{"+q.String()+"}")
		}
		return "(" + strings.Join(parts, " ") + ")"
	case *CompoundComparison:
		parts := []string{e.Op.String()}
		for _, o := range e.Operands {
			parts = append(parts, dump(o))
		}
		return "(" + strings.Join(parts, " ") + ")"
	case *Comparison:
		return e.Path.Steps[0].Key
	}
	return fmt.Sprintf("?%T", e)
}

// TestShape checks precedence and associativity, which printing alone
// cannot show.
func TestShape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[aaa:a = 1] OR [bbb:b = 1] AND [ccc:c = 1] FOLLOWEDBY [ddd:d = 1]",
			"(FOLLOWEDBY (OR [a] (AND [b] [c])) [d])"},
		{"[aaa:a = 1] FOLLOWEDBY [bbb:b = 1] OR [ccc:c = 1] AND [ddd:d = 1]",
			"(FOLLOWEDBY [a] (OR [b] (AND [c] [d])))"},
		{"[aaa:a = 1] AND [bbb:b = 1] AND [ccc:c = 1]", "(AND [a] [b] [c])"},
		{"[aaa:a = 1] FOLLOWEDBY [bbb:b = 1] FOLLOWEDBY [ccc:c = 1]", "(FOLLOWEDBY [a] [b] [c])"},
		{"([aaa:a = 1] AND [bbb:b = 1]) AND [ccc:c = 1]", "(AND (AND [a] [b]) [c])"},
		{"[aaa:a = 1] FOLLOWEDBY [bbb:b = 1] REPEATS 5 TIMES",
			"(FOLLOWEDBY [a] (Q [b] {REPEATS 5 TIMES}))"},
		{"([aaa:a = 1] FOLLOWEDBY [bbb:b = 1]) REPEATS 5 TIMES",
			"(Q (FOLLOWEDBY [a] [b]) {REPEATS 5 TIMES})"},
		{"[aaa:a = 1] REPEATS 5 TIMES WITHIN 1800 SECONDS",
			"(Q [a] {REPEATS 5 TIMES} {WITHIN 1800 SECONDS})"},
		{"[aaa:a = 1] AND [bbb:b = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z' OR [ccc:c = 1]",
			"(OR (AND [a] (Q [b] {START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'})) [c])"},
		{"[file:a = 1 OR file:b = 2 AND file:c = 3 OR file:d = 4]", "[(OR a (AND b c) d)]"},
		{"[file:a = 1 AND file:b = 2 OR file:c = 3]", "[(OR (AND a b) c)]"},
		{"[(file:a = 1 OR file:b = 2) AND file:c = 3]", "[(AND (OR a b) c)]"},
		{"[file:a = 1 AND (file:b = 2 AND file:c = 3)]", "[(AND a (AND b c))]"},
	} {
		p := mustParse(t, tc.in)
		if got := dump(p.Expr); got != tc.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestValues(t *testing.T) {
	ts := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		in   string
		want Literal
	}{
		{`'a\'b\\c'`, Literal{Kind: KindString, Str: `a'b\c`}},
		{`''`, Literal{Kind: KindString}},
		{`'a` + "\n" + `b'`, Literal{Kind: KindString, Str: "a\nb"}},
		{"b'AA\nAA'", Literal{Kind: KindBinary, Str: "AAAA"}},
		{"b'ABI='", Literal{Kind: KindBinary, Str: "ABI="}},
		{"b'AB=='", Literal{Kind: KindBinary, Str: "AB=="}},
		{"h'FFd8'", Literal{Kind: KindHex, Str: "FFd8"}},
		{"h''", Literal{Kind: KindHex}},
		{"t'2016-12-31T23:59:60Z'", Literal{Kind: KindTimestamp, Str: "2016-12-31T23:59:60Z", Time: ts("2017-01-01T00:00:00Z")}},
		{"t'2016-01-01T00:00:00.123456789999Z'", Literal{Kind: KindTimestamp, Str: "2016-01-01T00:00:00.123456789999Z", Time: ts("2016-01-01T00:00:00.123456789Z")}},
		{"t'0000-01-01T00:00:00.1Z'", Literal{Kind: KindTimestamp, Str: "0000-01-01T00:00:00.1Z", Time: time.Date(0, 1, 1, 0, 0, 0, 1e8, time.UTC)}},
		{"-.5", Literal{Kind: KindFloat, Float: -0.5}},
		{"+1.25", Literal{Kind: KindFloat, Float: 1.25}},
		{"9223372036854775807", Literal{Kind: KindInt, Int: 9223372036854775807}},
		{"-9223372036854775808", Literal{Kind: KindInt, Int: -9223372036854775808}},
		{"true", Literal{Kind: KindBool, Bool: true}},
		{"false", Literal{Kind: KindBool}},
	} {
		p := mustParse(t, "[file:x = "+tc.in+"]")
		got := p.Comparisons()[0].Value
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("value of %s:\n got %#v\nwant %#v", tc.in, got, tc.want)
		}
	}

	p := mustParse(t, "[file:x IN (1, 2.5, -3)]")
	want := Literal{Kind: KindSet, Set: []Literal{
		{Kind: KindInt, Int: 1}, {Kind: KindFloat, Float: 2.5}, {Kind: KindInt, Int: -3},
	}}
	if got := p.Comparisons()[0].Value; !reflect.DeepEqual(got, want) {
		t.Errorf("set: got %#v, want %#v", got, want)
	}
}

func TestPaths(t *testing.T) {
	p := mustParse(t, "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0 AND file:names[-2] = 'x']")
	cs := p.Comparisons()
	want := ObjectPath{ObjectType: "file", Steps: []PathStep{
		{Kind: KeyStep, Key: "extensions"},
		{Kind: KeyStep, Key: "windows-pebinary-ext"},
		{Kind: KeyStep, Key: "sections"},
		{Kind: AnyIndexStep},
		{Kind: KeyStep, Key: "entropy"},
	}}
	if !reflect.DeepEqual(cs[0].Path, want) {
		t.Errorf("path 0: got %#v\nwant %#v", cs[0].Path, want)
	}
	want = ObjectPath{ObjectType: "file", Steps: []PathStep{
		{Kind: KeyStep, Key: "names"},
		{Kind: IndexStep, Index: -2},
	}}
	if !reflect.DeepEqual(cs[1].Path, want) {
		t.Errorf("path 1: got %#v\nwant %#v", cs[1].Path, want)
	}
	// Paths share one array; appending to one must not clobber another.
	_ = append(cs[0].Path.Steps, PathStep{Kind: KeyStep, Key: "clobber"})
	if cs[1].Path.Steps[0].Key != "names" {
		t.Errorf("append to one path changed the next: %#v", cs[1].Path)
	}
	// A long path outgrows the shared array.
	long := "[file:a" + strings.Repeat(".b", 40) + " = 1 AND file:c = 2]"
	p = mustParse(t, long)
	cs = p.Comparisons()
	if len(cs[0].Path.Steps) != 41 || len(cs[1].Path.Steps) != 1 || cs[1].Path.Steps[0].Key != "c" {
		t.Errorf("long path: %v", p)
	}
}

func TestOperators(t *testing.T) {
	p := mustParse(t, "[file:a = 1 AND file:b != 1 AND file:c < 1 AND file:d <= 1 AND file:e > 1 AND file:f >= 1 AND "+
		"file:g IN (1) AND file:h LIKE 'x' AND file:i MATCHES 'x' AND file:j ISSUBSET '10.0.0.0/8' AND "+
		"file:k ISSUPERSET '10.0.0.0/8' AND EXISTS file:l AND file:m NOT <> 1 AND NOT EXISTS file:n]")
	want := []struct {
		op  Op
		neg bool
	}{
		{Equal, false}, {NotEqual, false}, {Less, false}, {LessEqual, false}, {Greater, false},
		{GreaterEqual, false}, {In, false}, {Like, false}, {Matches, false}, {IsSubset, false},
		{IsSuperset, false}, {Exists, false}, {NotEqual, true}, {Exists, true},
	}
	cs := p.Comparisons()
	if len(cs) != len(want) {
		t.Fatalf("%d comparisons, want %d", len(cs), len(want))
	}
	for i, c := range cs {
		if c.Op != want[i].op || c.Negated != want[i].neg {
			t.Errorf("comparison %d (%s): op %v negated %v, want %v %v", i, &c, c.Op, c.Negated, want[i].op, want[i].neg)
		}
	}
	if cs[11].Value.Kind != KindNone {
		t.Errorf("EXISTS has a value: %#v", cs[11].Value)
	}
}

func TestQualifiers(t *testing.T) {
	p := mustParse(t, "[file:x = 1] REPEATS 3 TIMES WITHIN 2.5 SECONDS START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.5Z'")
	q, ok := p.Expr.(*QualifiedObservation)
	if !ok || len(q.Qualifiers) != 3 {
		t.Fatalf("got %s", dump(p.Expr))
	}
	if r := q.Qualifiers[0]; r.Kind != Repeats || r.Times != 3 {
		t.Errorf("REPEATS: %#v", r)
	}
	if w := q.Qualifiers[1]; w.Kind != Within || w.Seconds != 2.5 {
		t.Errorf("WITHIN: %#v", w)
	}
	s := q.Qualifiers[2]
	if s.Kind != StartStop || !s.Start.Time.Equal(time.Date(2016, 6, 1, 0, 0, 0, 0, time.UTC)) ||
		!s.Stop.Time.Equal(time.Date(2016, 7, 1, 0, 0, 0, 5e8, time.UTC)) {
		t.Errorf("START/STOP: %#v", s)
	}
}

func TestObjectTypes(t *testing.T) {
	p := mustParse(t, "[file:a = 1 OR process:b = 2] AND [file:c = 3] FOLLOWEDBY [url:value = 'x' OR EXISTS process:d]")
	if got, want := p.ObjectTypes(), []string{"file", "process", "url"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ObjectTypes: got %q, want %q", got, want)
	}
	// Enough types to take the map path, with repeats after it.
	var parts, want []string
	for i := range 40 {
		typ := fmt.Sprintf("t%02d", i%20)
		parts = append(parts, typ+":x = 1")
		if i < 20 {
			want = append(want, typ)
		}
	}
	p = mustParse(t, "["+strings.Join(parts, " OR ")+"]")
	if got := p.ObjectTypes(); !reflect.DeepEqual(got, want) {
		t.Errorf("ObjectTypes: got %q, want %q", got, want)
	}
	if n := len(p.Comparisons()); n != 40 {
		t.Errorf("Comparisons: %d, want 40", n)
	}
}

func TestAndObjectTypes(t *testing.T) {
	// Operands of AND must be satisfiable by one object (section 9.5).
	for _, s := range []string{
		"[file:a = 1 AND file:b = 2]",
		"[(file:a = 1 OR process:a = 1) AND file:b = 2]",
		"[(file:a = 1 OR process:a = 1) AND (process:b = 1 OR url:b = 1)]",
		"[(file:a = 1 AND file:b = 1 OR process:a = 1) AND process:c = 1]",
		"[file:a = 1 AND (file:b = 1 OR url:b = 1) AND (file:c = 1 OR process:c = 1)]",
		"[file:a = 1] AND [process:a = 1]",
	} {
		mustParse(t, s)
	}
}

func TestNesting(t *testing.T) {
	wrap := func(n int, open, core, close string) string {
		return strings.Repeat(open, n) + core + strings.Repeat(close, n)
	}
	// The bracket is one level: 255 parentheses fit around it, 256 don't.
	mustParse(t, wrap(MaxDepth-1, "(", "[file:a = 1]", ")"))
	mustParse(t, "["+wrap(MaxDepth-1, "(", "file:a = 1", ")")+"]")
	for _, s := range []string{
		wrap(MaxDepth, "(", "[file:a = 1]", ")"),
		"[" + wrap(MaxDepth, "(", "file:a = 1", ")") + "]",
		wrap(100000, "(", "[file:a = 1]", ")"),
		"[" + wrap(100000, "(", "file:a = 1", ")") + "]",
	} {
		_, err := Parse(s)
		var pe *Error
		if !errors.As(err, &pe) || pe.Pos != MaxDepth || !strings.Contains(pe.Msg, "nested deeper than 256") {
			t.Errorf("nesting %d bytes: got %v, want an error at offset %d", len(s), err, MaxDepth)
		}
	}
	// Long flat chains are loops, not recursion.
	obs := make([]string, 50000)
	for i := range obs {
		obs[i] = "[file:a = 1 AND file:b = 2 OR file:c = 3]"
	}
	p := mustParse(t, strings.Join(obs, " OR "))
	if n := len(p.Expr.(*CompoundObservation).Operands); n != len(obs) {
		t.Errorf("flat OR of %d: %d operands", len(obs), n)
	}
}

// invalid lists patterns Parse must refuse, with where and why.
var invalid = []struct {
	name string
	in   string
	pos  int
	msg  string // a fragment of the message
}{
	{"empty", "", 0, "expected '[' or '(' to start an observation expression, found end of pattern"},
	{"blank", "  \n", 3, "found end of pattern"},
	{"comment only", "/* */ // x", 10, "found end of pattern"},
	{"bare comparison", "file:name = 'x'", 0, `expected '[' or '(' to start an observation expression, found "file"`},
	{"empty brackets", "[]", 1, `expected comparison expression, found "]"`},
	{"unclosed bracket", "[file:name = 'x'", 16, "expected ']' after comparison expression, found end of pattern"},
	{"paren closes bracket", "[file:name = 'x')", 16, `expected ']' after comparison expression, found ")"`},
	{"dangling AND", "[file:name = 'x'] AND", 21, "expected '[' or '(' to start an observation expression, found end of pattern"},
	{"dangling FOLLOWEDBY", "[file:name = 'x'] FOLLOWEDBY ", 29, "found end of pattern"},
	{"missing operator", "[file:name = 'x'] [file:name = 'y']", 18, `expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern, found "["`},
	{"extra paren", "[file:name = 'x'])", 17, `expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern, found ")"`},
	{"unclosed paren", "([file:name = 'x']", 18, "expected ')' after observation expression, found end of pattern"},
	{"unclosed inner paren", "[file:name = 'x' OR (file:name = 'y']", 36, `expected ')' after comparison expression, found "]"`},
	{"dangling comparison AND", "[file:name = 'x' AND]", 20, `expected comparison expression, found "]"`},
	{"comparison FOLLOWEDBY", "[file:name = 'x' FOLLOWEDBY file:name = 'y']", 17, `expected ']' after comparison expression, found "FOLLOWEDBY"`},
	{"missing operator in comparison", "[file:name 'x']", 11, `expected comparison operator after object path, found "'x'"`},
	{"NOT without operator", "[file:name NOT 'x']", 15, `expected comparison operator after NOT, found "'x'"`},
	{"NOT before path", "[NOT file:name = 'x']", 5, `expected EXISTS after NOT, found "file"`},
	{"double equals then equals", "[file:name == = 'x']", 14, `expected constant after ==, found "="`},
	{"missing value", "[file:name = ]", 13, `expected constant after =, found "]"`},
	{"set after equals", "[file:name = ('a')]", 13, `expected constant after =, found "("`},
	{"bool ordered", "[file:size < true]", 13, `expected orderable constant (not a boolean) after <, found "true"`},
	{"IN without set", "[file:name IN 'a']", 14, `expected set constant '(…)' after IN, found "'a'"`},
	{"set without comma", "[file:name IN ('a' 'b')]", 19, `expected ',' or ')' in set, found "'b'"`},
	{"set trailing comma", "[file:name IN ('a',)]", 19, `expected constant in set, found ")"`},
	{"nested set", "[file:name IN (('a'))]", 15, `expected constant in set, found "("`},
	{"mixed set", "[file:name IN ('a', 1)]", 20, "set elements must share one type: expected string, found integer"},
	{"mixed set bool", "[file:x IN (1, 2.5, true)]", 20, "expected integer, found boolean"},
	{"LIKE number", "[file:name LIKE 5]", 16, `expected string constant after LIKE, found "5"`},
	{"MATCHES binary", "[file:name MATCHES b'AAAA']", 19, `expected string constant after MATCHES, found "b'AAAA'"`},
	{"ISSUBSET not an address", "[ipv4-addr:value ISSUBSET 'x']", 26, `ISSUBSET takes an IP address or CIDR prefix, found "'x'"`},
	{"ISSUBSET bad prefix", "[ipv4-addr:value ISSUBSET '10.0.0.0/33']", 26, "ISSUBSET takes an IP address or CIDR prefix"},
	{"ISSUPERSET number", "[ipv4-addr:value ISSUPERSET 10]", 28, `expected string constant after ISSUPERSET, found "10"`},
	{"EXISTS without path", "[EXISTS]", 7, `expected object path, found "]"`},
	{"EXISTS with value", "[EXISTS file:name = 'x']", 18, `expected ']' after comparison expression, found "="`},
	{"no colon", "[file = 'x']", 6, `expected ':' after object type, found "="`},
	{"no property", "[file:]", 6, `expected property name after ':', found "]"`},
	{"empty key", "[file:name. = 'x']", 12, `expected property name after '.', found "="`},
	{"keyword key", "[file:name.AND = 'x']", 11, `expected property name after '.', found "AND"`},
	{"float after path", "[file:name.5 = 'x']", 10, `expected comparison operator after object path, found ".5"`},
	{"hyphen in property", "[file:some-prop = 'x']", 6, `property name "some-prop" contains a hyphen and must be quoted`},
	{"hyphen in key", "[file:hashes.SHA-256 = 'x']", 13, `property name "SHA-256" contains a hyphen`},
	{"index not a number", "[file:a[x] = 1]", 8, `expected list index or '*' after '[', found "x"`},
	{"index unclosed", "[file:a[0 = 1]", 10, `expected ']' after list index, found "="`},
	{"index float", "[file:a[1.5] = 1]", 8, `expected list index or '*' after '[', found "1.5"`},
	{"index out of range", "[file:a[99999999999999999999] = 1]", 8, `list index "99999999999999999999" is out of range`},
	{"uppercase type", "[File:name = 'x']", 1, `invalid object type "File": type names start with a lowercase letter`},
	{"short type", "[fi:name = 'x']", 1, `invalid object type "fi": type names are 3 to 250 characters long`},
	{"long type", "[" + strings.Repeat("a", 251) + ":name = 'x']", 1, "3 to 250 characters"},
	{"double hyphen type", "[x--y:name = 'x']", 1, `type names must not contain "--"`},
	{"underscore type", "[x_y:name = 'x']", 1, "type names contain only lowercase letters, digits and hyphens"},
	{"digit type", "[1ab:name = 'x']", 1, `expected comparison expression, found "1"`},
	{"keyword type", "[AND:x = 1]", 1, `expected comparison expression, found "AND"`},
	{"AND across types", "[file:name = 'x' AND process:name = 'y']", 21,
		`comparisons joined by AND must match one object: expected object type "file", found "process"`},
	{"AND across type sets", "[(file:name = 'x' OR process:name = 'y') AND domain-name:value = 'z']", 45,
		`expected object type "file" or "process", found "domain-name"`},
	{"AND across type sets 2", "[file:a = 1 AND (process:b = 1 OR url:b = 1)]", 16,
		`expected object type "file", found "process" or "url"`},
	{"AND across narrowed sets", "[(file:a = 1 OR url:a = 1) AND (url:b = 1 OR process:b = 1) AND file:c = 1]", 64,
		`expected object type "url", found "file"`},
	{"WITHIN zero", "[file:name = 'x'] WITHIN 0 SECONDS", 25, `WITHIN count must be positive, found "0"`},
	{"WITHIN zero float", "[file:name = 'x'] WITHIN 0.0 SECONDS", 25, "WITHIN count must be positive"},
	{"WITHIN negative", "[file:name = 'x'] WITHIN -5 SECONDS", 25, `expected a positive number of seconds after WITHIN, found "-5"`},
	{"WITHIN string", "[file:name = 'x'] WITHIN '5' SECONDS", 25, "expected a positive number of seconds after WITHIN"},
	{"WITHIN huge", "[file:name = 'x'] WITHIN 1" + strings.Repeat("0", 400) + " SECONDS", 25, "is out of range"},
	{"WITHIN no unit", "[file:name = 'x'] WITHIN 5", 26, "expected SECONDS after WITHIN count, found end of pattern"},
	{"WITHIN minutes", "[file:name = 'x'] WITHIN 5 MINUTES", 27, `expected SECONDS after WITHIN count, found "MINUTES"`},
	{"WITHIN exponent", "[file:name = 'x'] WITHIN 1e5 SECONDS", 26, `expected SECONDS after WITHIN count, found "e5"`},
	{"REPEATS zero", "[file:name = 'x'] REPEATS 0 TIMES", 26, `REPEATS count must be positive, found "0"`},
	{"REPEATS float", "[file:name = 'x'] REPEATS 1.5 TIMES", 26, `expected a positive integer after REPEATS, found "1.5"`},
	{"REPEATS negative", "[file:name = 'x'] REPEATS -1 TIMES", 26, `expected a positive integer after REPEATS, found "-1"`},
	{"REPEATS huge", "[file:name = 'x'] REPEATS 99999999999999999999 TIMES", 26, `REPEATS count "99999999999999999999" is out of range`},
	{"REPEATS no unit", "[file:name = 'x'] REPEATS 2 SECONDS", 28, `expected TIMES after REPEATS count, found "SECONDS"`},
	{"START after STOP", "[file:name = 'x'] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'", 53,
		"STOP t'2016-06-01T00:00:00Z' is not after START t'2016-07-01T00:00:00Z'"},
	{"START equals STOP", "[file:name = 'x'] START t'2016-07-01T00:00:00Z' STOP t'2016-07-01T00:00:00.000Z'", 53, "is not after START"},
	{"START string", "[file:name = 'x'] START '2016-07-01T00:00:00Z'", 24, `expected timestamp t'…' after START, found "'2016-07-01T00:00:00Z'"`},
	{"START without STOP", "[file:name = 'x'] START t'2016-07-01T00:00:00Z'", 47, "expected STOP after START timestamp, found end of pattern"},
	{"STOP without timestamp", "[file:name = 'x'] START t'2016-07-01T00:00:00Z' STOP 5", 53, `expected timestamp t'…' after STOP, found "5"`},
	{"STOP alone", "[file:name = 'x'] STOP t'2016-07-01T00:00:00Z'", 18, `expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern, found "STOP"`},
	{"two WITHIN", "[file:name = 'x'] WITHIN 5 SECONDS WITHIN 6 SECONDS", 35, "second WITHIN qualifier on one observation expression"},
	{"two REPEATS", "[file:name = 'x'] REPEATS 2 TIMES WITHIN 5 SECONDS REPEATS 3 TIMES", 51, "second REPEATS qualifier"},
	{"two START", "[file:x = 1] START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z' START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z'", 72, "second START qualifier"},
	{"qualifier inside brackets", "[file:name = 'x' WITHIN 5 SECONDS]", 17, `expected ']' after comparison expression, found "WITHIN"`},
	{"month 13", "[file:created = t'2016-13-01T00:00:00Z']", 16, `invalid timestamp "t'2016-13-01T00:00:00Z'": month out of range`},
	{"month 0", "[file:created = t'2016-00-01T00:00:00Z']", 16, "month out of range"},
	{"day 0", "[file:created = t'2016-01-00T00:00:00Z']", 16, "day out of range"},
	{"February 30", "[file:created = t'2016-02-30T00:00:00Z']", 16, "day out of range"},
	{"February 29 common year", "[file:created = t'2015-02-29T00:00:00Z']", 16, "day out of range"},
	{"February 29 1900", "[file:created = t'1900-02-29T00:00:00Z']", 16, "day out of range"},
	{"April 31", "[file:created = t'2016-04-31T00:00:00Z']", 16, "day out of range"},
	{"hour 24", "[file:created = t'2016-01-01T24:00:00Z']", 16, "hour out of range"},
	{"minute 60", "[file:created = t'2016-01-01T00:60:00Z']", 16, "minute out of range"},
	{"second 60 mid-day", "[file:created = t'2016-01-01T12:00:60Z']", 16, "second out of range"},
	{"second 61", "[file:created = t'2016-12-31T23:59:61Z']", 16, "second out of range"},
	{"no Z", "[file:created = t'2016-01-01T00:00:00']", 16, "want YYYY-MM-DDTHH:mm:ss[.s+]Z in UTC"},
	{"offset", "[file:created = t'2016-01-01T00:00:00+01:00']", 16, "want YYYY-MM-DDTHH:mm:ss[.s+]Z in UTC"},
	{"lowercase t and z", "[file:created = t'2016-01-01t00:00:00z']", 16, "want YYYY-MM-DDTHH:mm:ss[.s+]Z"},
	{"date only", "[file:created = t'2016-01-01']", 16, "want YYYY-MM-DDTHH:mm:ss[.s+]Z"},
	{"no seconds", "[file:created = t'2016-01-01T00:00Z']", 16, "want YYYY-MM-DDTHH:mm:ss[.s+]Z"},
	{"empty fraction", "[file:created = t'2016-01-01T00:00:00.Z']", 16, "a decimal point must be followed by digits"},
	{"unterminated timestamp", "[file:created = t'2016-01-01T00:00:00Z]", 16, "unterminated timestamp literal"},
	{"odd hex", "[file:x_hex = h'abc']", 14, "invalid hex literal: odd number of hex digits (3)"},
	{"bad hex", "[file:x_hex = h'zz']", 16, `invalid hex literal: expected hex digit or "'", found "z"`},
	{"unterminated hex", "[file:x_hex = h'ab", 14, "unterminated hex literal"},
	{"empty binary", "[file:x_bin = b'']", 14, "invalid binary literal: empty base64 data"},
	{"short binary", "[file:x_bin = b'AB']", 18, "base64 data is 2 characters, not a multiple of 4"},
	{"binary padding", "[file:x_bin = b'A===']", 17, `misplaced base64 padding "="`},
	{"binary triple padding", "[file:x_bin = b'AB===']", 20, `misplaced base64 padding "="`},
	{"binary after padding", "[file:x_bin = b'AB=C']", 19, `base64 data after padding "="`},
	{"binary two quanta padded", "[file:x_bin = b'AB==CDEF']", 20, "base64 data after padding"},
	{"binary bad char", "[file:x_bin = b'AB*C']", 18, `expected base64 character or "'", found "*"`},
	{"binary url alphabet", "[file:x_bin = b'AB-_']", 18, `found "-"`},
	{"binary space", "[file:x_bin = b'AB CD']", 18, `found " "`},
	{"unterminated string", "[file:name = 'abc", 13, "unterminated string literal"},
	{"unterminated string escape", `[file:name = 'abc\`, 13, "unterminated string literal"},
	{"bad escape", `[file:name = 'a\n']`, 15, `invalid escape "\\n" in string literal: only \\ and \' are allowed`},
	{"bad unicode escape", `[file:name = 'a\é']`, 15, `invalid escape "\\é"`},
	{"invalid UTF-8", "[file:name = 'a\xffb']", 15, "invalid UTF-8 in string literal"},
	{"invalid UTF-8 outside string", "[file:name = 'x'] \xff", 18, `found "\xff"`},
	{"stray character", "[file:name = 'x'] §", 18, `found "§"`},
	{"stray caret", "[file:size = 1 ^ 2]", 15, `expected ']' after comparison expression, found "^"`},
	{"stray slash", "[file:size = 1 / 2]", 15, `found "/"`},
	{"stray bang", "[file:size ! 2]", 11, `expected comparison operator after object path, found "!"`},
	{"LAST", "[file:name LAST 'x']", 11, `expected comparison operator after object path, found "LAST"`},
	{"unterminated comment", "[file:name = 'x'] /* unterminated", 18, "unterminated comment"},
	{"leading zeros", "[file:size = 007]", 13, `invalid integer "007": leading zeros are not allowed`},
	{"negative leading zeros", "[file:size = -01]", 13, `invalid integer "-01"`},
	{"lone plus", "[file:size = +]", 13, `expected constant after =, found "+"`},
	{"lone minus", "[file:size = - 1]", 13, `expected constant after =, found "-"`},
	{"trailing point", "[file:size = 5.]", 14, `expected ']' after comparison expression, found "."`},
	{"int too large", "[file:size = 9223372036854775808]", 13, `integer "9223372036854775808" is out of range`},
	{"float too large", "[file:size = 1" + strings.Repeat("0", 400) + ".0]", 13, "is out of range"},
	{"True is not a bool", "[file:x = True]", 10, `expected constant after =, found "True"`},
	{"lowercase keyword", "[file:name = 'x'] and [file:name = 'y']", 18, `found "and"`},
	{"long token in message", "[file:name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']", 11, `found "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"…`},
	// Section 9's examples written with placeholders, which are not
	// themselves valid patterns.
	{"spec placeholder a", "[ a = 'b' ] FOLLOWEDBY [ c = 'd' ] REPEATS 5 TIMES", 2, `invalid object type "a"`},
	{"spec placeholder MINUTES", "([ a ] AND [ b ] REPEATS 5 TIMES) WITHIN 5 MINUTES", 3, `invalid object type "a"`},
	{"spec placeholder property-j", "[type-a:property-j = 'W' AND type-a:property-k = 'X' OR type-a:property-l = 'Z']", 8,
		`property name "property-j" contains a hyphen`},
}

func TestInvalid(t *testing.T) {
	var golden strings.Builder
	golden.WriteString("# Error messages of the invalid patterns in pattern_test.go.\n")
	golden.WriteString("# Regenerate with: go test -run TestInvalid -update ./internal/stix/pattern/\n")
	for _, tc := range invalid {
		p, err := Parse(tc.in)
		if err == nil {
			t.Errorf("%s: Parse(%q) = %s, want an error", tc.name, tc.in, p)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is a %T, want *Error", tc.name, err, err)
			continue
		}
		if pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%s: Parse(%q):\n got offset %d: %s\nwant offset %d: …%s…", tc.name, tc.in, pe.Pos, pe.Msg, tc.pos, tc.msg)
		}
		if want := fmt.Sprintf("pattern: at offset %d: %s", pe.Pos, pe.Msg); err.Error() != want {
			t.Errorf("%s: Error() = %q, want %q", tc.name, err.Error(), want)
		}
		fmt.Fprintf(&golden, "\n%s\n\t%s\n", tc.name, err)
	}
	path := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := golden.String(); got != string(want) {
		t.Errorf("error messages differ from %s (run with -update if the change is intended):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ between two texts, by position.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%s\n+%s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestWideAnd feeds the AND object-type check an OR of many distinct
// types, which a naive set implementation handles in quadratic time. The
// bound is loose enough for a slow machine under -race and far below what
// a quadratic check takes.
func TestWideAnd(t *testing.T) {
	const n = 50000
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("t%05d:x = 1", i)
	}
	wide := "(" + strings.Join(parts, " OR ") + ")"
	start := time.Now()
	p := mustParse(t, "["+wide+" AND t49999:y = 2]")
	if got := len(p.ObjectTypes()); got != n {
		t.Errorf("ObjectTypes: %d, want %d", got, n)
	}
	_, err := Parse("[" + wide + " AND " + wide + " AND other:y = 2]")
	if err == nil || !strings.Contains(err.Error(), `expected object type "t00000", "t00001", "t00002", "t00003", "t00004" or 49995 more, found "other"`) {
		t.Errorf("got %v", err)
	}
	// Nested ANDs reuse the types worked out for the inner ones.
	const depth = MaxDepth - 2
	nested := "[" + strings.Repeat("(", depth) + wide + strings.Repeat(" AND t00001:y = 1)", depth)
	mustParse(t, nested+"]")
	mustParse(t, nested+" AND (t00001:z = 1 OR other:z = 1)]")
	_, err = Parse(nested + " AND other:z = 1]")
	if err == nil || !strings.Contains(err.Error(), `expected object type "t00001", found "other"`) {
		t.Errorf("nested: got %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("parsing took %v: the AND check is not linear", d)
	}
}
