package pattern

import "testing"

// Indicators are imported at 20,000 objects/s or more, parsing included;
// these are the shapes most feeds send.
var benchPatterns = []struct{ name, pattern string }{
	{"ipv4", "[ipv4-addr:value = '198.51.100.1/32']"},
	{"sha256-and-domain-within", "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] AND [domain-name:value = 'example.com'] WITHIN 300 SECONDS"},
	{"email-matches", "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']"},
	{"ip-list", "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128'] REPEATS 5 TIMES"},
	{"followedby-startstop", "([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'"},
}

func BenchmarkParse(b *testing.B) {
	for _, bp := range benchPatterns {
		b.Run(bp.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bp.pattern)))
			for b.Loop() {
				if _, err := Parse(bp.pattern); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkString(b *testing.B) {
	p, err := Parse(benchPatterns[1].pattern)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.String()
	}
}
