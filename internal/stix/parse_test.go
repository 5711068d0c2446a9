package stix

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPreservesBytes: custom and unknown properties, property order, number
// spelling and string escapes survive Parse byte for byte (Raw is the compacted
// input), while Digest follows the canonical form, not the spelling.
func TestPreservesBytes(t *testing.T) {
	in := []byte(`{
	  "x_acme_score": 1.50,
	  "type": "indicator", "spec_version": "2.1",
	  "id": "indicator--` + uuid1 + `",
	  "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
	  "name": "caf\u00e9 \/ <b>",
	  "pattern": "[url:value = 'http://x']", "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z",
	  "x_mitre_platforms": ["Windows", {"nested": [1E2, true, null]}],
	  "tactic_refs": ["x-mitre-tactic--` + uuid2 + `"],
	  "rank": 5,
	  "extensions": {"extension-definition--` + uuid2 + `": {"extension_type": "toplevel-property-extension"}}
	}`)
	o, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Compact(in)
	if !bytes.Equal(o.Raw, want) {
		t.Fatalf("Raw:\n got %s\nwant %s", o.Raw, want)
	}
	// Another spelling of the same object: same digest, different Raw.
	other := bytes.NewBuffer(nil)
	other.WriteString(`{"rank":5.0,"x_acme_score":15e-1,"type":"indicator","spec_version":"2.1","id":"indicator--` + uuid1 + `",` +
		`"created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"café / \u003cb>",` +
		`"pattern":"[url:value = 'http://x']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z",` +
		`"x_mitre_platforms":["Windows",{"nested":[100,true,null]}],"tactic_refs":["x-mitre-tactic--` + uuid2 + `"],` +
		`"extensions":{"extension-definition--` + uuid2 + `":{"extension_type":"toplevel-property-extension"}}}`)
	o2, err := Parse(other.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(o.Raw, o2.Raw) || o.Digest != o2.Digest {
		t.Fatalf("two spellings of one object: digests %x and %x", o.Digest, o2.Digest)
	}
	if o.Version() != "2016-04-06T20:03:48.000Z" || o.SpecVersion != "2.1" || o.Type != "indicator" {
		t.Fatalf("header: %+v", o)
	}
}

// exampleObjects returns the raw objects of all example files, for seeds and
// benchmarks.
func exampleObjects(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	var out [][]byte
	files, _ := filepath.Glob(filepath.Join(stixDataDir(), pattern))
	if len(files) == 0 {
		tb.Fatalf("no files match %s under %s", pattern, stixDataDir())
	}
	for _, f := range files {
		out = append(out, readAll(tb, f)...)
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, raw := range exampleObjects(f, "oasis/examples/*.json") {
		f.Add(raw)
	}
	for _, typ := range sortedKeys(valid) {
		f.Add([]byte(valid[typ]))
	}
	for tl := TLPClear; tl <= TLPRed; tl++ {
		f.Add(TLPMarkingDefinition(tl))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		o, err := Parse(in)
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("error %T is not an InvalidError: %v", err, err)
			}
			return
		}
		// Raw is what json.Compact makes of the input.
		want, err := Compact(in)
		if err != nil || !bytes.Equal(o.Raw, want) {
			t.Fatalf("Raw %q, json.Compact %q (%v)", o.Raw, want, err)
		}
		// Accepted objects re-parse from Raw to the same object and digest.
		again, err := Parse(o.Raw)
		if err != nil {
			t.Fatalf("Raw of an accepted object is refused: %v\n%s", err, o.Raw)
		}
		if again.Digest != o.Digest || again.ID != o.ID || again.VersionKey() != o.VersionKey() {
			t.Fatalf("re-parse differs: %x vs %x", again.Digest, o.Digest)
		}
		// And from the canonical form, to the same digest.
		c, err := Canonicalize(o.Raw)
		if err != nil {
			t.Fatal(err)
		}
		fromCanon, err := Parse(c)
		if err != nil {
			t.Fatalf("canonical form refused: %v\n%s", err, c)
		}
		if fromCanon.Digest != o.Digest {
			t.Fatal("canonical form has another digest")
		}
	})
}

func BenchmarkParseIndicator(b *testing.B) {
	raw := []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--` + uuid1 + `","created":"2024-04-06T20:03:48.000Z","modified":"2024-04-06T20:03:48.000Z","created_by_ref":"` + ident + `","name":"Malicious site hosting downloader","description":"This is a malicious URL seen in a phishing campaign against energy operators.","indicator_types":["malicious-activity"],"pattern":"[url:value = 'http://x4z9arb.cn/4712/']","pattern_type":"stix","valid_from":"2024-04-06T20:03:48.000Z","valid_until":"2025-04-06T20:03:48.000Z","object_marking_refs":["` + tlpGr + `"],"labels":["phishing"],"confidence":75,"external_references":[{"source_name":"cert-fr","url":"https://www.cert.ssi.gouv.fr/alerte/","external_id":"CERTFR-2024-ALE-001"}],"kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"delivery"}]}`)
	if _, err := Parse(raw); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "objects/s")
}

func BenchmarkParseAttack(b *testing.B) {
	objs := exampleObjects(b, "attack-*.json")
	var size int64
	for _, raw := range objs {
		size += int64(len(raw))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		for _, raw := range objs {
			if _, err := Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
		n += len(objs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "objects/s")
}

// BenchmarkReadAttack measures the reader alone on a real bundle.
func BenchmarkReadAttack(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(stixDataDir(), "attack-mobile-17.1.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	start := time.Now()
	n := 0
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		n += r.Count()
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "objects/s")
}
