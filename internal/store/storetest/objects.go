package storetest

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// TLP 2.0 marking definitions (the official OASIS ids).
const (
	TLPClear = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	TLPGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	TLPAmber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
)

// Creator is the identity that the generated objects claim as their author.
const Creator = "identity--8f2c5a43-5c1e-4c55-9d2b-1f0a3e9a7c11"

// Epoch is the base of the generated objects' timestamps.
var Epoch = time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)

// Indicators returns n distinct indicators of malicious IPv4 addresses,
// built as JSON text and parsed with stix.Parse like anything received:
// TLP-marked, with a creator, a STIX pattern and validity. The same seed
// gives the same objects; different seeds give different ids.
func Indicators(n int, seed uint64) []*stix.Object {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	tlp := []string{TLPClear, TLPGreen, TLPGreen, TLPAmber}
	objs := make([]*stix.Object, n)
	for i := range objs {
		ts := stix.FormatTimestamp(Epoch.Add(time.Duration(i) * time.Millisecond))
		ip := fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254))
		raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s",`+
			`"created_by_ref":"%s","created":"%s","modified":"%s",`+
			`"name":"Malicious IPv4 address %s","description":"Address seen in scanning and brute-force activity against national infrastructure.",`+
			`"indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","pattern_version":"2.1",`+
			`"valid_from":"%s","confidence":%d,"labels":["scanning"],"object_marking_refs":["%s"]}`,
			UUID4(r), Creator, ts, ts, ip, ip, ts, 50+r.IntN(50), tlp[r.IntN(len(tlp))])
		objs[i] = MustParse(raw)
	}
	return objs
}

// UUID4 returns a random (version 4) UUID drawn from r.
func UUID4(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// scoNamespace is the STIX 2.1 namespace of deterministic SCO ids.
var scoNamespace = [16]byte{0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7}

// SCOID returns the deterministic (version 5) id STIX gives a cyber-observable
// of type typ whose contributing properties canonicalise to canon.
func SCOID(typ, canon string) string {
	h := sha1.New()
	h.Write(scoNamespace[:])
	h.Write([]byte(canon))
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return typ + "--" + formatUUID(b)
}

// MustParse parses a STIX object and panics if it is invalid: the generators
// and the suite only build valid objects.
func MustParse(raw string) *stix.Object {
	o, err := stix.Parse([]byte(raw))
	if err != nil {
		panic(fmt.Sprintf("storetest: %v\n%s", err, raw))
	}
	return o
}

// indicator builds a version of indicator id; extra holds further
// properties, written as JSON members (`"revoked":true`).
func indicator(id, created, modified string, extra ...string) *stix.Object {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"%s","created":"%s","modified":"%s",`+
		`"pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":"%s"`, id, created, modified, created)
	for _, e := range extra {
		b.WriteString("," + e)
	}
	b.WriteString("}")
	return MustParse(b.String())
}

// ipv4 builds an ipv4-addr observable; extra as for indicator.
func ipv4(value string, extra ...string) *stix.Object {
	id := SCOID("ipv4-addr", fmt.Sprintf(`{"value":"%s"}`, value))
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":"ipv4-addr","spec_version":"2.1","id":"%s","value":"%s"`, id, value)
	for _, e := range extra {
		b.WriteString("," + e)
	}
	b.WriteString("}")
	return MustParse(b.String())
}
