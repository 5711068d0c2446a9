package stix

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rfc8785Numbers is the table of RFC 8785 Appendix B: IEEE 754 bit patterns
// and their canonical spelling (checked against node's Number.toString).
var rfc8785Numbers = []struct{ bits, want string }{
	{"0000000000000000", "0"},
	{"8000000000000000", "0"}, // minus zero
	{"0000000000000001", "5e-324"},
	{"8000000000000001", "-5e-324"},
	{"7fefffffffffffff", "1.7976931348623157e+308"},
	{"ffefffffffffffff", "-1.7976931348623157e+308"},
	{"4340000000000000", "9007199254740992"},
	{"c340000000000000", "-9007199254740992"},
	{"4430000000000000", "295147905179352830000"},
	{"44b52d02c7e14af5", "9.999999999999997e+22"},
	{"44b52d02c7e14af6", "1e+23"},
	{"44b52d02c7e14af7", "1.0000000000000001e+23"},
	{"444b1ae4d6e2ef4e", "999999999999999700000"},
	{"444b1ae4d6e2ef4f", "999999999999999900000"},
	{"444b1ae4d6e2ef50", "1e+21"},
	{"3eb0c6f7a0b5ed8c", "9.999999999999997e-7"},
	{"3eb0c6f7a0b5ed8d", "0.000001"},
	{"41b3de4355555553", "333333333.3333332"},
	{"41b3de4355555554", "333333333.33333325"},
	{"41b3de4355555555", "333333333.3333333"},
	{"41b3de4355555556", "333333333.3333334"},
	{"41b3de4355555557", "333333333.33333343"},
	{"becbf647612f3696", "-0.0000033333333333333333"},
	{"43143ff3c1cb0959", "1424953923781206.2"},
}

func bitsToFloat(t *testing.T, h string) float64 {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 8 {
		t.Fatalf("bad bit pattern %q", h)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b))
}

// checkNumber checks one double both directly and through Canonicalize of the
// several ways JSON can spell it.
func checkNumber(t *testing.T, f float64, want string) {
	t.Helper()
	if got := string(AppendES6Number(nil, f)); got != want {
		t.Fatalf("%v (%016x): got %s, want %s", f, math.Float64bits(f), got, want)
	}
	for _, spelling := range []string{
		strconv.FormatFloat(f, 'g', -1, 64),
		strconv.FormatFloat(f, 'e', -1, 64),
		strconv.FormatFloat(f, 'E', 20, 64),
		want,
	} {
		got, err := Canonicalize([]byte(spelling))
		if err != nil {
			t.Fatalf("Canonicalize(%s): %v", spelling, err)
		}
		if string(got) != want {
			t.Fatalf("Canonicalize(%s) = %s, want %s", spelling, got, want)
		}
	}
}

func TestCanonicalNumbersRFC8785(t *testing.T) {
	for _, tc := range rfc8785Numbers {
		checkNumber(t, bitsToFloat(t, tc.bits), tc.want)
	}
}

// TestCanonicalNumbersES6 checks 4,600 doubles (random bit patterns, powers of
// ten at every exponent, decimals) against what node printed for them; see
// testdata/jcs/es6-numbers.txt.
func TestCanonicalNumbersES6(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "jcs", "es6-numbers.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		bits, want, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		checkNumber(t, bitsToFloat(t, bits), want)
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 4000 {
		t.Fatalf("only %d numbers checked", n)
	}
}

func TestCanonicalRefusesWhatJCSCannotCarry(t *testing.T) {
	for _, in := range []string{
		`1e400`, `-1e309`, // not finite doubles
		`{"a":1,"a":2}`, // duplicate member
		`"\ud800"`,      // lone high surrogate
		`"\udc00x"`,     // lone low surrogate
		"\"\xff\"",      // invalid UTF-8
		`NaN`, `Infinity`, `01`, `1.`, `.5`, `+1`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `"a`, `[1] 2`,
		"\"tab\tinside\"", // raw control character
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	} {
		if out, err := Canonicalize([]byte(in)); err == nil {
			t.Errorf("Canonicalize(%q) = %s, want an error", in, out)
		}
	}
}

// TestCanonicalFiles checks the RFC 8785 examples (section 3.2.2's structures,
// section 3.2.3's sorting) and a nested case; the .out.json files were written
// by a JavaScript JCS (JSON.stringify with sorted keys) and match the RFC.
func TestCanonicalFiles(t *testing.T) {
	ins, _ := filepath.Glob(filepath.Join("testdata", "jcs", "*.in.json"))
	if len(ins) < 3 {
		t.Fatalf("found %d inputs", len(ins))
	}
	for _, in := range ins {
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.Replace(in, ".in.json", ".out.json", 1))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Canonicalize(src)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
		again, err := Canonicalize(got)
		if err != nil || !bytes.Equal(again, got) {
			t.Errorf("%s: not idempotent: %s", in, again)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	// In UTF-16 order a surrogate pair (U+10000 and above) sorts before
	// U+E000..U+FFFF, unlike in UTF-8 byte order.
	ordered := []string{"", "\r", "1", "A", "a", "aa", "b", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\U0010FFFF", "\ue000", "\ufb33", "\uffff"}
	for i := range ordered {
		for j := range ordered {
			got := compareUTF16(ordered[i], ordered[j])
			if (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("compareUTF16(%q, %q) = %d", ordered[i], ordered[j], got)
			}
		}
	}
}

// TestDecodeAgreesWithEncodingJSON: on valid, duplicate-free UTF-8 input the
// strict decoder reads the same tree as encoding/json.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"a":[1,2.5,-0,1e3,"x\u00e9\n",true,false,null,{}],"b":{"c":[]}}`,
		`"\ud83d\ude00 \u20ac \\ \/ \b\f\r\t"`,
		`[ 1 , 2 ]`, ` {} `, `-123456789012345678901234567890`,
	} {
		got, err := decodeJSON([]byte(in))
		if err != nil {
			t.Fatalf("decodeJSON(%s): %v", in, err)
		}
		d := json.NewDecoder(strings.NewReader(in))
		d.UseNumber()
		var want any
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Errorf("decodeJSON(%s) = %s, encoding/json %s", in, g, w)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.0,"\u20ac",null]}`, `1e21`, `"\ud83d\ude00"`, `{"\ue000":1,"\ud800\udc00":2}`, `-0.0000001`} {
		f.Add([]byte(s))
	}
	if ins, _ := filepath.Glob(filepath.Join("testdata", "jcs", "*.in.json")); ins != nil {
		for _, in := range ins {
			b, _ := os.ReadFile(in)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Canonicalize(%q) = %q, not valid JSON", in, out)
		}
		again, err := Canonicalize(out)
		if err != nil {
			t.Fatalf("Canonicalize(canonical %q): %v", out, err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n once %q\ntwice %q", out, again)
		}
		// What the strict decoder accepts, encoding/json must accept too.
		if !json.Valid(in) {
			t.Fatalf("Canonicalize accepted %q, which encoding/json refuses", in)
		}
	})
}
