package provenance_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
)

func fuzzSeeds(f *testing.F) {
	for _, name := range []string{"signed-indicator.golden", "signed-note.golden", "indicator.json", "note-custom.json", "extension-definition.golden"} {
		b := readFile(f, name)
		f.Add(b)
		f.Add(bytes.ReplaceAll(b, []byte(`,"`), []byte(`, "`)))
	}
	f.Add([]byte(`{"extensions":{"` + provenance.ExtensionID + `":{}}}`))
	f.Add([]byte(`{"created_by_ref":"identity--d470d30d-3bf7-5ec9-9484-393a0981ba2e","extensions":{"` + provenance.ExtensionID + `":{"extension_type":"property-extension","signer":"identity--d470d30d-3bf7-5ec9-9484-393a0981ba2e","key":"RC9z-Rv29CoXIGwikyq9uSr5Bs2RRLL0HVQFq_pcJrU","alg":"Ed25519","signed":"2026-11-23T10:00:00Z","signature":"` + strings.Repeat("A", 86) + `"}}}`))
}

// FuzzVerify: Verify never panics, and what it accepts is reproducible: the
// signature is exactly what the signer's key gives over the canonical form of
// the object without it (a second, independent reading of the contract), and
// re-signing the object at its stated time gives the same canonical object.
func FuzzVerify(f *testing.F) {
	fuzzSeeds(f)
	fr := key(f, "fr")
	id := identity(fr)
	keys := provenance.Keys{id: {pub(fr)}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		res, err := provenance.Verify(raw, keys)
		if err != nil {
			if provenance.Reason(err) == "" {
				t.Fatalf("refusal without a reason: %v", err)
			}
			return
		}
		if again, err := provenance.Verify(raw, keys); err != nil || !reflect.DeepEqual(again, res) {
			t.Fatalf("second Verify: %+v, %v; first %+v", again, err, res)
		}
		if res.Signer != id || !res.Key.Equal(pub(fr)) {
			t.Fatalf("result %+v", res)
		}
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("accepted, but encoding/json refuses it: %v", err)
		}
		ext := obj["extensions"].(map[string]any)[provenance.ExtensionID].(map[string]any)
		sig, err := base64.RawURLEncoding.DecodeString(ext["signature"].(string))
		if err != nil {
			t.Fatal(err)
		}
		delete(ext, "signature")
		unsigned, _ := json.Marshal(obj)
		canon, err := stix.Canonicalize(unsigned)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ed25519.Sign(fr, canon), sig) {
			t.Fatalf("accepted a signature that the key does not give over\n%s", canon)
		}
		if _, err := stix.Parse(raw); err != nil || ext["signed"] != stix.FormatTimestamp(res.Signed) {
			return
		}
		resigned, err := provenance.Sign(raw, fr, id, res.Signed)
		if err != nil {
			t.Fatalf("accepted and valid STIX, but Sign refuses it: %v", err)
		}
		c1, _ := stix.Canonicalize(raw)
		c2, _ := stix.Canonicalize(resigned)
		if !bytes.Equal(c1, c2) {
			t.Fatalf("re-signing changed the object:\n%s\n%s", c1, c2)
		}
	})
}

// FuzzSign: whatever Sign accepts, it returns as valid STIX that verifies.
func FuzzSign(f *testing.F) {
	fuzzSeeds(f)
	fr := key(f, "fr")
	id := identity(fr)
	keys := provenance.Keys{id: {pub(fr)}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		signed, err := provenance.Sign(raw, fr, id, signedAt)
		if err != nil {
			return
		}
		if _, err := stix.Parse(signed); err != nil {
			t.Fatalf("signed object is not valid STIX: %v\n%s", err, signed)
		}
		if _, err := provenance.Verify(signed, keys); err != nil {
			t.Fatalf("signed object does not verify: %v\n%s", err, signed)
		}
	})
}
