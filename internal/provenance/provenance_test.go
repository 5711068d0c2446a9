package provenance_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
)

func compact(t testing.TB, raw []byte) []byte {
	t.Helper()
	c, err := stix.Compact(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustSign(t testing.TB, raw []byte, k ed25519.PrivateKey, signer string, at time.Time) []byte {
	t.Helper()
	signed, err := provenance.Sign(raw, k, signer, at)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// TestGolden freezes the signed format: the fixed key and time must give the
// same bytes, and the golden bytes must verify, parse and validate.
func TestGolden(t *testing.T) {
	fr := key(t, "fr")
	keys := provenance.Keys{identity(fr): {pub(fr)}}
	for _, tc := range []struct{ in, out string }{
		{"indicator.json", "signed-indicator.golden"},
		{"note-custom.json", "signed-note.golden"},
	} {
		t.Run(tc.out, func(t *testing.T) {
			signed := mustSign(t, readFile(t, tc.in), fr, identity(fr), signedAt)
			golden(t, tc.out, signed)
			stored := readFile(t, tc.out)
			res, err := provenance.Verify(stored, keys)
			if err != nil {
				t.Fatal(err)
			}
			if res.Signer != identity(fr) || !res.Key.Equal(pub(fr)) || !res.Signed.Equal(signedAt) {
				t.Errorf("result %+v", res)
			}
			o, err := stix.Parse(stored)
			if err != nil {
				t.Fatal(err)
			}
			if o.CreatedByRef != identity(fr) {
				t.Errorf("created_by_ref %q", o.CreatedByRef)
			}
			stixschema.Validate(t, stored)
		})
	}
}

// TestSignKeepsBytes: apart from created_by_ref and the extension that Sign
// appends, the signed object is the input byte for byte (white space removed).
func TestSignKeepsBytes(t *testing.T) {
	fr := key(t, "fr")
	id := identity(fr)
	for _, f := range []string{"indicator.json", "note-custom.json"} {
		in := compact(t, readFile(t, f))
		signed := string(mustSign(t, in, fr, id, signedAt))
		// Undo what Sign adds and compare.
		var ext map[string]map[string]string
		var probe struct {
			Extensions json.RawMessage `json:"extensions"`
		}
		if err := json.Unmarshal([]byte(signed), &probe); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(probe.Extensions, &ext)
		e := ext[provenance.ExtensionID]
		entry := fmt.Sprintf(`"%s":{"extension_type":"property-extension","signer":"%s","key":"%s","alg":"Ed25519","signed":"%s","signature":"%s"}`,
			provenance.ExtensionID, id, e["key"], e["signed"], e["signature"])
		if !strings.Contains(signed, entry) {
			t.Fatalf("%s: the extension is not spelt as specified:\n%s\nwant %s", f, signed, entry)
		}
		back := strings.Replace(signed, `,"created_by_ref":"`+id+`"`, "", 1)
		back = strings.Replace(back, ","+entry, "", 1)
		back = strings.Replace(back, `,"extensions":{`+entry+`}`, "", 1)
		if back != string(in) {
			t.Errorf("%s: bytes changed:\n got %s\nwant %s", f, back, in)
		}
	}
	// Spellings the canonical form would change survive in the signed bytes.
	note := string(mustSign(t, readFile(t, "note-custom.json"), fr, id, signedAt))
	for _, s := range []string{`"x_entraide_score":1.50`, `"x_entraide_big":1E3`, `l\u2019incident`, `\/ tab\there`, `{"z":[1,2,{"b":null,"a":true}],"a":"\u00e9"}`} {
		if !strings.Contains(note, s) {
			t.Errorf("signed note lost %s", s)
		}
	}
}

func TestSignCreatedByRef(t *testing.T) {
	fr, ee := key(t, "fr"), key(t, "ee")
	in := compact(t, readFile(t, "indicator.json"))
	attributed := bytes.Replace(in, []byte(`"name":`), []byte(`"created_by_ref":"`+identity(fr)+`","name":`), 1)

	signed := mustSign(t, attributed, fr, identity(fr), signedAt)
	if bytes.Count(signed, []byte(`"created_by_ref"`)) != 1 || !bytes.Contains(signed, []byte(`"created_by_ref":"`+identity(fr)+`","name":`)) {
		t.Errorf("created_by_ref moved or doubled: %s", signed)
	}
	if _, err := provenance.Verify(signed, provenance.Keys{identity(fr): {pub(fr)}}); err != nil {
		t.Error(err)
	}

	_, err := provenance.Sign(attributed, ee, identity(ee), signedAt)
	if !errors.Is(err, provenance.ErrWrongAttribution) {
		t.Errorf("signing another node's object: %v, want ErrWrongAttribution", err)
	}
}

func TestResign(t *testing.T) {
	fr, ee := key(t, "fr"), key(t, "ee")
	keys := provenance.Keys{identity(fr): {pub(fr)}, identity(ee): {pub(ee)}}
	for _, f := range []string{"indicator.json", "note-custom.json"} {
		first := mustSign(t, readFile(t, f), fr, identity(fr), signedAt)
		later := signedAt.Add(time.Hour)
		again := mustSign(t, first, fr, identity(fr), later)
		if n := bytes.Count(again, []byte(provenance.ExtensionID)); n != 1 {
			t.Errorf("%s: %d signature extensions after re-signing", f, n)
		}
		res, err := provenance.Verify(again, keys)
		if err != nil || !res.Signed.Equal(later) {
			t.Errorf("%s: re-signed: %+v, %v", f, res, err)
		}
		// Re-signing at the same time gives the same bytes (Ed25519 is deterministic).
		if same := mustSign(t, first, fr, identity(fr), signedAt); !bytes.Equal(same, first) {
			t.Errorf("%s: re-signing at the same time changed the bytes:\n%s\n%s", f, first, same)
		}
		// Another node may not take the object over, even with created_by_ref removed.
		stolen := bytes.Replace(first, []byte(`,"created_by_ref":"`+identity(fr)+`"`), nil, 1)
		if _, err := provenance.Sign(stolen, ee, identity(ee), later); !errors.Is(err, provenance.ErrWrongAttribution) {
			t.Errorf("%s: re-signing another node's object: %v", f, err)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	fr := key(t, "fr")
	in := readFile(t, "indicator.json")
	for _, tc := range []struct {
		name   string
		raw    []byte
		key    ed25519.PrivateKey
		signer string
		want   string
	}{
		{"not STIX", []byte(`{"type":"indicator"}`), fr, identity(fr), "invalid STIX object"},
		{"not JSON", []byte(`{`), fr, identity(fr), "invalid STIX object"},
		{"observable", []byte(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`), fr, identity(fr), "cyber-observable"},
		{"extension-definition", provenance.ExtensionDefinition(), fr, provenance.ProjectIdentityID, "may not carry extensions"},
		{"signer not an identity", in, fr, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "not an identity id"},
		{"short key", in, fr[:32], identity(fr), "not an Ed25519 private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := provenance.Sign(tc.raw, tc.key, tc.signer, signedAt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// sigOf returns the signature string inside a signed object.
func sigOf(t testing.TB, signed []byte) string {
	t.Helper()
	var o struct {
		Extensions map[string]map[string]any `json:"extensions"`
	}
	if err := json.Unmarshal(signed, &o); err != nil {
		t.Fatal(err)
	}
	return o.Extensions[provenance.ExtensionID]["signature"].(string)
}

// TestVerify changes signed objects in every way that matters (and a few that
// do not) and checks the verdict and its reason.
func TestVerify(t *testing.T) {
	fr, next, ee := key(t, "fr"), key(t, "fr-next"), key(t, "ee")
	idFR, idEE := identity(fr), identity(ee)
	keys := provenance.Keys{idFR: {pub(fr), pub(next)}, idEE: {pub(ee)}}
	signed := string(mustSign(t, readFile(t, "indicator.json"), fr, idFR, signedAt))
	note := mustSign(t, readFile(t, "note-custom.json"), fr, idFR, signedAt)
	sig := sigOf(t, []byte(signed))
	sigBytes, _ := base64.RawURLEncoding.DecodeString(sig)
	keyFR := base64.RawURLEncoding.EncodeToString(pub(fr))
	entry := `"` + provenance.ExtensionID + `":{`

	// A sorted, indented copy: same content, other bytes.
	var generic map[string]any
	dec := json.NewDecoder(strings.NewReader(signed))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		t.Fatal(err)
	}
	reordered, _ := json.MarshalIndent(generic, "", "  ")

	flipped := append([]byte(nil), sigBytes...)
	flipped[10] ^= 1
	sloppy := []byte(sig) // a last character with non-zero padding bits
	sloppy[len(sloppy)-1] = map[byte]byte{'A': 'B', 'Q': 'R', 'g': 'h', 'w': 'x'}[sloppy[len(sloppy)-1]]

	for _, tc := range []struct {
		name   string
		raw    string
		reason string // "" for valid
	}{
		{"as signed", signed, ""},
		{"members reordered, indented", string(reordered), ""},
		{"number respelt", rep(t, signed, `"confidence":75`, `"confidence":7.5e1`), ""},
		{"string escape respelt", rep(t, signed, `"phishing"`, `"phi\u0073hing"`), ""},
		{"white space around the signature", rep(t, signed, `,"signature":`, " ,\n\t\"signature\" : "), ""},

		{"value changed", rep(t, signed, `"confidence":75`, `"confidence":76`), "bad-signature"},
		{"string changed", rep(t, signed, `x4z9arb.cn`, `x4z9arc.cn`), "bad-signature"},
		{"property added", rep(t, signed, `"labels":`, `"x_note":"hi","labels":`), "bad-signature"},
		{"property removed", rep(t, signed, `"labels":["phishing"],`, ``), "bad-signature"},
		{"marking removed", rep(t, signed, `"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],`, ``), "bad-signature"},
		{"extension added", rep(t, signed, `"extensions":{`, `"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"property-extension","rank":1},`), "bad-signature"},
		{"signed time changed", rep(t, signed, `"signed":"2026-11-23T10:00:00.000000Z"`, `"signed":"2026-11-23T10:00:01.000000Z"`), "bad-signature"},
		{"signed time respelt", rep(t, signed, `"signed":"2026-11-23T10:00:00.000000Z"`, `"signed":"2026-11-23T10:00:00Z"`), "bad-signature"},
		{"signature from another object", rep(t, signed, sig, sigOf(t, note)), "bad-signature"},
		{"signature bit flipped", rep(t, signed, sig, base64.RawURLEncoding.EncodeToString(flipped)), "bad-signature"},
		{"key of the same signer swapped", rep(t, signed, keyFR, base64.RawURLEncoding.EncodeToString(pub(next))), "bad-signature"},

		{"signer changed", rep(t, signed, `"signer":"`+idFR, `"signer":"`+idEE), "wrong-attribution"},
		{"created_by_ref changed", rep(t, signed, `"created_by_ref":"`+idFR, `"created_by_ref":"`+idEE), "wrong-attribution"},
		{"created_by_ref removed", rep(t, signed, `,"created_by_ref":"`+idFR+`"`, ``), "wrong-attribution"},
		{"created_by_ref not a string", rep(t, signed, `"created_by_ref":"`+idFR+`"`, `"created_by_ref":["`+idFR+`"]`), "wrong-attribution"},
		{"signer and created_by_ref changed", strings.ReplaceAll(signed, idFR, idEE), "unknown-key"},
		{"signer, created_by_ref and key changed", strings.ReplaceAll(strings.ReplaceAll(signed, idFR, idEE), keyFR, base64.RawURLEncoding.EncodeToString(pub(ee))), "bad-signature"},
		{"key of another node", rep(t, signed, keyFR, base64.RawURLEncoding.EncodeToString(pub(ee))), "unknown-key"},
		{"unknown signer", strings.ReplaceAll(signed, idFR, "identity--00000000-0000-4000-8000-000000000000"), "unknown-signer"},

		{"alg changed", rep(t, signed, `"alg":"Ed25519"`, `"alg":"EdDSA"`), "malformed-signature"},
		{"alg missing", rep(t, signed, `"alg":"Ed25519",`, ``), "malformed-signature"},
		{"signature not base64url", rep(t, signed, sig, "!!"+sig[2:]), "malformed-signature"},
		{"signature in standard base64", rep(t, signed, sig, base64.RawStdEncoding.EncodeToString(sigBytes)), validIfNoSpecials(sig)},
		{"signature padded", rep(t, signed, sig, base64.URLEncoding.EncodeToString(sigBytes)), "malformed-signature"},
		{"signature with padding bits set", rep(t, signed, sig, string(sloppy)), "malformed-signature"},
		{"signature escaped", rep(t, signed, `"signature":"`+sig[:1], `"signature":"\u00`+fmt.Sprintf("%x", sig[0])), "malformed-signature"},
		{"signature short", rep(t, signed, sig, sig[:40]), "malformed-signature"},
		{"signature missing", rep(t, signed, `,"signature":"`+sig+`"`, ``), "malformed-signature"},
		{"signature not a string", rep(t, signed, `"`+sig+`"`, `1`), "malformed-signature"},
		{"signature twice", rep(t, signed, `"signature":"`+sig+`"`, `"signature":"`+sig+`","signature":"`+sig+`"`), "malformed-signature"},
		{"key malformed", rep(t, signed, keyFR, keyFR[:20]), "malformed-signature"},
		{"signer malformed", strings.ReplaceAll(signed, idFR, "identity--x"), "malformed-signature"},
		{"signed malformed", rep(t, signed, `2026-11-23T10:00:00.000000Z`, `2026-11-23 10:00:00`), "malformed-signature"},
		{"extension_type changed", rep(t, signed, `"extension_type":"property-extension","signer"`, `"extension_type":"new-sdo","signer"`), "malformed-signature"},
		{"extra member", rep(t, signed, `"alg":`, `"nonce":"1","alg":`), "malformed-signature"},
		{"duplicate created_by_ref", rep(t, signed, `"name":`, `"created_by_ref":"`+idEE+`","name":`), "wrong-attribution"},
		{"duplicate created_by_ref, same value", rep(t, signed, `"name":`, `"created_by_ref":"`+idFR+`","name":`), "malformed-signature"},
		{"duplicate member", rep(t, signed, `"name":`, `"labels":[],"name":`), "malformed-signature"},
		{"trailing data", signed + "{}", "malformed-signature"},
		{"invalid UTF-8", rep(t, signed, `Phishing`, "Ph\xffshing"), "malformed-signature"},
		{"not an object", `["` + sig + `"]`, "malformed-signature"},

		{"extension renamed", rep(t, signed, `"`+provenance.ExtensionID, `"x`+provenance.ExtensionID), "unsigned"},
		{"no extensions", `{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "unsigned"},
		{"extension under another key", strings.Replace(signed, entry, `"`+stix.TLP2ExtensionID+`":{`, 1), "unsigned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := provenance.Verify([]byte(tc.raw), keys)
			if got := provenance.Reason(err); got != tc.reason || (tc.reason == "" && err != nil) {
				t.Fatalf("reason %q (%v), want %q\n%s", got, err, tc.reason, tc.raw)
			}
			if err == nil && (res.Signer != idFR || !res.Key.Equal(pub(fr)) || !res.Signed.Equal(signedAt)) {
				t.Errorf("result %+v", res)
			}
			if err != nil && !strings.Contains(err.Error(), "indicator--8e2e2d2b") && strings.Contains(tc.raw, `"id":"indicator--8e2e2d2b`) {
				t.Errorf("the error does not name the object: %v", err)
			}
		})
	}
}

// validIfNoSpecials: standard base64 and base64url agree unless the string
// holds '-' or '_'.
func validIfNoSpecials(sig string) string {
	if strings.ContainsAny(sig, "-_") {
		return "malformed-signature"
	}
	return ""
}

// rep replaces the first old in s with new, and fails if there is none.
func rep(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found in %s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// TestRotation: a node that rotated its key signs with the new one under the
// same identity; objects signed with either key verify while the resolver
// lists both, and the old ones stop verifying once the old key is retired.
func TestRotation(t *testing.T) {
	fr, next := key(t, "fr"), key(t, "fr-next")
	id := identity(fr) // the identity stays that of the first key
	old := mustSign(t, readFile(t, "indicator.json"), fr, id, signedAt)
	nw := mustSign(t, readFile(t, "note-custom.json"), next, id, signedAt.Add(24*time.Hour))

	both := provenance.Keys{id: {pub(fr), pub(next)}}
	for _, tc := range []struct {
		raw  []byte
		keys provenance.Keys
		want ed25519.PublicKey
		err  error
	}{
		{old, both, pub(fr), nil},
		{nw, both, pub(next), nil},
		{nw, provenance.Keys{id: {pub(next)}}, pub(next), nil},
		{old, provenance.Keys{id: {pub(next)}}, nil, provenance.ErrUnknownKey},
		{nw, provenance.Keys{id: {pub(fr)}}, nil, provenance.ErrUnknownKey},
	} {
		res, err := provenance.Verify(tc.raw, tc.keys)
		if !errors.Is(err, tc.err) || (tc.err == nil && !res.Key.Equal(tc.want)) {
			t.Errorf("got %+v, %v; want key %x, error %v", res, err, tc.want, tc.err)
		}
	}
}

type resolverFunc func(string) ([]ed25519.PublicKey, error)

func (f resolverFunc) SigningKeys(s string) ([]ed25519.PublicKey, error) { return f(s) }

func TestResolverErrors(t *testing.T) {
	fr := key(t, "fr")
	signed := mustSign(t, readFile(t, "indicator.json"), fr, identity(fr), signedAt)

	notFound := fmt.Errorf("peer table: %w", provenance.ErrUnknownSigner)
	_, err := provenance.Verify(signed, resolverFunc(func(string) ([]ed25519.PublicKey, error) { return nil, notFound }))
	if provenance.Reason(err) != "unknown-signer" {
		t.Errorf("resolver says unknown: %v", err)
	}

	down := errors.New("database is down")
	_, err = provenance.Verify(signed, resolverFunc(func(string) ([]ed25519.PublicKey, error) { return nil, down }))
	if !errors.Is(err, down) || provenance.Reason(err) != "" {
		t.Errorf("resolver failure must not be a verdict on the object: %v (reason %q)", err, provenance.Reason(err))
	}

	_, err = provenance.Verify(signed, provenance.Keys{})
	if !errors.Is(err, provenance.ErrUnknownSigner) {
		t.Errorf("empty resolver: %v", err)
	}
}

func TestReasons(t *testing.T) {
	for err, code := range map[error]string{
		provenance.ErrUnsigned:           "unsigned",
		provenance.ErrMalformedSignature: "malformed-signature",
		provenance.ErrWrongAttribution:   "wrong-attribution",
		provenance.ErrUnknownSigner:      "unknown-signer",
		provenance.ErrUnknownKey:         "unknown-key",
		provenance.ErrBadSignature:       "bad-signature",
		errors.New("other"):              "",
		nil:                              "",
	} {
		if got := provenance.Reason(fmt.Errorf("wrapped: %w", err)); err != nil && got != code {
			t.Errorf("Reason(%v) = %q, want %q", err, got, code)
		}
	}
}

// TestContractIndependently checks the golden files against the written
// contract with a second reading of it: generic JSON decoding, the signature
// member deleted, RFC 8785, plain ed25519.Verify.
func TestContractIndependently(t *testing.T) {
	fr := key(t, "fr")
	for _, name := range []string{"signed-indicator.golden", "signed-note.golden"} {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(readFile(t, name)))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		ext := obj["extensions"].(map[string]any)[provenance.ExtensionID].(map[string]any)
		sig, err := base64.RawURLEncoding.DecodeString(ext["signature"].(string))
		if err != nil {
			t.Fatal(err)
		}
		delete(ext, "signature")
		if obj["created_by_ref"] != ext["signer"] || ext["signer"] != identity(fr) || ext["key"] != base64.RawURLEncoding.EncodeToString(pub(fr)) {
			t.Errorf("%s: created_by_ref %v, signer %v, key %v", name, obj["created_by_ref"], ext["signer"], ext["key"])
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := stix.Canonicalize(b)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(pub(fr), canon, sig) {
			t.Errorf("%s: the signature does not verify over\n%s", name, canon)
		}
	}
}

// TestVerifyConcurrent: Verify shares pooled scratch space between calls; run
// it from several goroutines (under -race) on objects that pass and fail.
func TestVerifyConcurrent(t *testing.T) {
	fr := key(t, "fr")
	keys := provenance.Keys{identity(fr): {pub(fr)}}
	good := [][]byte{readFile(t, "signed-indicator.golden"), readFile(t, "signed-note.golden")}
	bad := []byte(rep(t, string(good[0]), `"confidence":75`, `"confidence":76`))
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 50 {
				if _, err := provenance.Verify(good[(g+i)%2], keys); err != nil {
					done <- err
					return
				}
				if _, err := provenance.Verify(bad, keys); !errors.Is(err, provenance.ErrBadSignature) {
					done <- fmt.Errorf("tampered object: %v", err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
