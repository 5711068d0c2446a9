package card_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/stix"
)

var b64 = base64.RawURLEncoding

func mustRotation(t testing.TB, old, new ed25519.PrivateKey, id string) []byte {
	t.Helper()
	r, err := card.NewRotation(old, new, id, effective)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rotatedCard is CERT-FR's card after it rotated from fr to fr-next.
func rotatedCard(t testing.TB) *card.Card {
	fr, next := key(t, "fr"), key(t, "fr-next")
	r, err := card.ParseRotation(mustRotation(t, fr, next, identity(fr)), pub(fr))
	if err != nil {
		t.Fatal(err)
	}
	c := frCard(t)
	c.Rotations = []*card.Rotation{r}
	c.Issued = effective
	return c
}

func TestGolden(t *testing.T) {
	fr, next := key(t, "fr"), key(t, "fr-next")

	c := frCard(t)
	c.NextSigningKey = pub(next)
	signed, err := c.Sign(fr)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "card.golden", signed)
	golden(t, "card.fingerprint", []byte(c.Fingerprint()+"\n"))

	rot := mustRotation(t, fr, next, identity(fr))
	golden(t, "rotation.golden", rot)

	rc := rotatedCard(t)
	rsigned, err := rc.Sign(next)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "card-rotated.golden", rsigned)

	// The stored goldens read back as what was signed.
	got, err := card.Parse(readFile(t, "card.golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := frCard(t)
	want.NextSigningKey = pub(next)
	want.SigningKey = pub(fr)
	want.IdentityID = identity(fr)
	want.Raw = got.Raw
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed card\n%+v\nwant\n%+v", got, want)
	}
	if got.IdentityID != card.IdentityIDFor(pub(fr)) {
		t.Errorf("identity %s", got.IdentityID)
	}
	if fp := strings.TrimSpace(string(readFile(t, "card.fingerprint"))); got.Fingerprint() != fp {
		t.Errorf("fingerprint %s, golden %s", got.Fingerprint(), fp)
	}

	r, err := card.ParseRotation(readFile(t, "rotation.golden"), pub(fr))
	if err != nil {
		t.Fatal(err)
	}
	if r.IdentityID != identity(fr) || !r.OldKey.Equal(pub(fr)) || !r.NewKey.Equal(pub(next)) || !r.Effective.Equal(effective) {
		t.Errorf("rotation %+v", r)
	}

	rcard, err := card.Parse(readFile(t, "card-rotated.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if rcard.IdentityID != identity(fr) || !rcard.SigningKey.Equal(pub(next)) {
		t.Errorf("rotated card: identity %s, key %x", rcard.IdentityID, rcard.SigningKey)
	}
	if keys := rcard.Keys(); len(keys) != 2 || !keys[0].Equal(pub(fr)) || !keys[1].Equal(pub(next)) {
		t.Errorf("rotated card keys %x", keys)
	}
}

// TestContractIndependently checks the golden card against the written rule
// with a second reading: generic JSON, signature deleted, RFC 8785, Ed25519.
func TestContractIndependently(t *testing.T) {
	fr := key(t, "fr")
	var m map[string]any
	if err := json.Unmarshal(readFile(t, "card.golden"), &m); err != nil {
		t.Fatal(err)
	}
	sig, err := b64.DecodeString(m["signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	delete(m, "signature")
	b, _ := json.Marshal(m)
	canon, err := stix.Canonicalize(b)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub(fr), canon, sig) {
		t.Errorf("the card's signature does not verify over\n%s", canon)
	}
	var r map[string]any
	if err := json.Unmarshal(readFile(t, "rotation.golden"), &r); err != nil {
		t.Fatal(err)
	}
	so, _ := b64.DecodeString(r["sig_old"].(string))
	sn, _ := b64.DecodeString(r["sig_new"].(string))
	delete(r, "sig_old")
	delete(r, "sig_new")
	b, _ = json.Marshal(r)
	canon, _ = stix.Canonicalize(b)
	if !ed25519.Verify(pub(fr), canon, so) || !ed25519.Verify(pub(key(t, "fr-next")), canon, sn) {
		t.Errorf("the rotation's signatures do not verify over\n%s", canon)
	}
}

// resign rewrites a card's JSON with edit applied and signs it again with k:
// a card that is properly signed but breaks a rule.
func resign(t testing.TB, raw []byte, k ed25519.PrivateKey, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	delete(m, "signature")
	b, _ := json.Marshal(m)
	canon, err := stix.Canonicalize(b)
	if err != nil {
		t.Fatal(err)
	}
	m["signature"] = b64.EncodeToString(ed25519.Sign(k, canon))
	out, _ := json.MarshalIndent(m, "", "  ")
	return out
}

func set(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }

func contact(k string, v any) func(map[string]any) {
	return func(m map[string]any) { m["points_of_contact"].([]any)[0].(map[string]any)[k] = v }
}

func TestParseRefuses(t *testing.T) {
	fr, next, ee := key(t, "fr"), key(t, "fr-next"), key(t, "ee")
	good := readFile(t, "card.golden")
	rotated := readFile(t, "card-rotated.golden")
	s := string(good)
	eeCert := cert(t, "ee")
	for _, tc := range []struct {
		name string
		raw  []byte
		want string // in the error
	}{
		{"organisation changed", []byte(rep(t, s, "ANSSI / CERT-FR", "ANSSI / CERT-FX")), "signature: bad signature"},
		{"email changed", []byte(rep(t, s, "cert-fr@fr.example", "cert-fr@evil.example")), "signature: bad signature"},
		{"endpoint changed", []byte(rep(t, s, "https://fr.example:8444/", "https://fr.example:8445/")), "signature: bad signature"},
		{"signed by another key", resign(t, good, ee, func(m map[string]any) {}), "not signed with signing_key"},
		{"signature missing", []byte(regexp.MustCompile(`,\s*"signature": "[^"]*"`).ReplaceAllString(s, "")), "signature: missing"},
		{"signature malformed", []byte(regexp.MustCompile(`"signature": "[^"]*"`).ReplaceAllString(s, `"signature": "abc"`)), "signature: not a base64url"},

		{"another node's identity", resign(t, good, fr, set("identity_id", identity(ee))), "cannot claim another node's identity"},
		{"another node's key", resign(t, good, ee, set("signing_key", b64.EncodeToString(pub(ee)))), "identity_id"},
		{"identity not an identity", resign(t, good, fr, set("identity_id", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")), "identity_id"},
		{"new key without the rotation", resign(t, good, next, func(m map[string]any) {
			m["signing_key"] = b64.EncodeToString(pub(next))
			delete(m, "next_signing_key")
		}), "must carry the rotations"},

		{"http endpoint", resign(t, good, fr, set("federation_endpoint", "http://fr.example:8444/")), "https only"},
		{"no port", resign(t, good, fr, set("federation_endpoint", "https://fr.example/")), "give the port"},
		{"port 0", resign(t, good, fr, set("federation_endpoint", "https://fr.example:0/")), "not 1–65535"},
		{"port too big", resign(t, good, fr, set("federation_endpoint", "https://fr.example:70000/")), "not 1–65535"},
		{"no host", resign(t, good, fr, set("federation_endpoint", "https://:8444/")), "want https://host:port/"},
		{"user info", resign(t, good, fr, set("federation_endpoint", "https://u:p@fr.example:8444/")), "no user information"},
		{"query", resign(t, good, fr, set("federation_endpoint", "https://fr.example:8444/?a=1")), "no query"},
		{"fragment", resign(t, good, fr, set("federation_endpoint", "https://fr.example:8444/#x")), "no query or fragment"},
		{"not a URL", resign(t, good, fr, set("federation_endpoint", "https://fr example:8444/")), "federation_endpoint"},
		{"relative", resign(t, good, fr, set("federation_endpoint", "/taxii2/")), "https only"},

		{"country lowercase", resign(t, good, fr, set("country", "fr")), "not an ISO 3166-1 alpha-2 country code in capitals"},
		{"country unknown", resign(t, good, fr, set("country", "ZZ")), `"ZZ" is not an ISO 3166-1`},
		{"country alpha-3", resign(t, good, fr, set("country", "FRA")), "country"},
		{"name upper case", resign(t, good, fr, set("name", "CERT-FR")), "name: node name"},
		{"name missing", resign(t, good, fr, func(m map[string]any) { delete(m, "name") }), "name: node name"},
		{"organisation blank", resign(t, good, fr, set("organisation", "")), "organisation: missing"},
		{"organisation control", resign(t, good, fr, set("organisation", "ANSSI\u0007")), "not printable"},
		{"version 2", resign(t, good, fr, set("entraide_card", 2)), "entraide_card: version 2"},
		{"version missing", resign(t, good, fr, func(m map[string]any) { delete(m, "entraide_card") }), "entraide_card: version 0"},
		{"name not a string", resign(t, good, fr, set("name", 5)), "name: want a string"},
		{"contacts not an array", resign(t, good, fr, set("points_of_contact", "x")), "points_of_contact"},

		{"spki uppercase", resign(t, good, fr, func(m map[string]any) { m["tls_spki_sha256"] = strings.ToUpper(m["tls_spki_sha256"].(string)) }), "tls_spki_sha256"},
		{"spki of another certificate", resign(t, good, fr, set("tls_spki_sha256", card.SPKIHash(eeCert))), "tls_certificate: its public key is not"},
		{"certificate garbage", resign(t, good, fr, set("tls_certificate", "AAAA")), "not a DER X.509"},
		{"certificate base64url", resign(t, good, fr, set("tls_certificate", "_-_-")), "tls_certificate: not standard base64"},
		{"next key is the key", resign(t, good, fr, set("next_signing_key", b64.EncodeToString(pub(fr)))), "next_signing_key"},
		{"next key malformed", resign(t, good, fr, set("next_signing_key", "abc")), "next_signing_key"},
		{"signing key padded", resign(t, good, fr, set("signing_key", base64.URLEncoding.EncodeToString(pub(fr)))), "signing_key"},

		{"no contacts", resign(t, good, fr, set("points_of_contact", []any{})), "at least one point of contact"},
		{"contact without email or phone", resign(t, good, fr, func(m map[string]any) {
			m["points_of_contact"] = []any{map[string]any{"role": "csirt-24x7", "name": "Desk"}}
		}), "email address or a phone number"},
		{"contact email with a name", resign(t, good, fr, contact("email", "Desk <desk@fr.example>")), "bare address"},
		{"contact email invalid", resign(t, good, fr, contact("email", "desk")), "bare address"},
		{"contact phone national", resign(t, good, fr, contact("phone", "01 71 75 84 68")), "international form"},
		{"contact phone letters", resign(t, good, fr, contact("phone", "+33 CALL ME")), "international form"},
		{"contact role", resign(t, good, fr, contact("role", "CSIRT 24/7")), "role"},
		{"contact unknown member", resign(t, good, fr, contact("pager", "123")), `points_of_contact[0]: unknown member "pager"`},
		{"contact member case", resign(t, good, fr, contact("Email", "x@fr.example")), `unknown member "Email"`},

		{"issued missing", resign(t, good, fr, func(m map[string]any) { delete(m, "issued") }), "issued: missing"},
		{"issued with offset", resign(t, good, fr, set("issued", "2026-11-23T10:00:00+01:00")), "issued"},
		{"issued date only", resign(t, good, fr, set("issued", "2026-11-23")), "issued"},

		{"unknown member", resign(t, good, fr, set("expires", "2027-01-01T00:00:00Z")), `unknown member "expires"`},
		{"member case", resign(t, good, fr, set("Name", "cert-fr")), `unknown member "Name"`},
		{"duplicate member", []byte(rep(t, s, `"name": "cert-fr",`, `"name": "cert-fr", "name": "cert-ee",`)), "duplicate member name"},
		{"trailing data", append(append([]byte(nil), good...), "{}"...), "not valid JSON"},
		{"not an object", []byte(`["cert-fr"]`), "not a JSON object"},
		{"invalid UTF-8", []byte(rep(t, s, "ANSSI", "ANS\xffI")), "not valid JSON"},
		{"oversized", append(append([]byte(nil), good...), bytes.Repeat([]byte(" "), card.MaxSize)...), "more than the 65536"},

		{"rotation from another node", resign(t, rotated, next, func(m map[string]any) {
			var r any
			_ = json.Unmarshal(mustRotation(t, ee, next, identity(ee)), &r)
			m["rotations"] = []any{r}
		}), "rotates the keys of"},
		{"rotation claimed by another node", resign(t, rotated, next, func(m map[string]any) {
			var r any
			_ = json.Unmarshal(mustRotation(t, ee, next, identity(fr)), &r)
			m["rotations"] = []any{r}
		}), "not the identity of the first key"},
		{"rotation chain ends elsewhere", resign(t, rotated, next, func(m map[string]any) {
			var r any
			_ = json.Unmarshal(mustRotation(t, fr, ee, identity(fr)), &r)
			m["rotations"] = []any{r}
		}), "ends at another key"},
		{"rotation chain broken", resign(t, rotated, next, func(m map[string]any) {
			var r1, r2 any
			_ = json.Unmarshal(mustRotation(t, fr, ee, identity(fr)), &r1)
			_ = json.Unmarshal(mustRotation(t, fr, next, identity(fr)), &r2)
			m["rotations"] = []any{r1, r2}
		}), "rotations[1]: rotation: old_key: old_key is not the pinned key"},
		{"rotation tampered", resign(t, rotated, next, func(m map[string]any) {
			m["rotations"].([]any)[0].(map[string]any)["effective"] = "2026-11-01T00:00:00Z"
		}), "rotations[0]: rotation: sig_old: bad signature"},
		{"rotation not an object", resign(t, rotated, next, set("rotations", []any{"x"})), "rotations[0]: rotation: not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := card.Parse(tc.raw)
			if err == nil {
				t.Fatalf("accepted %+v", c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			var ce *card.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *card.Error", err)
			}
		})
	}
	// Unimportant differences: white space and member order.
	for _, raw := range [][]byte{resign(t, good, fr, func(map[string]any) {}), compactJSON(t, good)} {
		if _, err := card.Parse(raw); err != nil {
			t.Errorf("re-spelt card refused: %v", err)
		}
	}
}

func compactJSON(t testing.TB, b []byte) []byte {
	c, err := stix.Compact(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rep(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestSignRefuses(t *testing.T) {
	fr, ee := key(t, "fr"), key(t, "ee")
	c := frCard(t)
	c.SigningKey = pub(fr)
	if _, err := c.Sign(ee); err == nil || !strings.Contains(err.Error(), "not the card's signing key") {
		t.Errorf("signing with another key: %v", err)
	}
	c = frCard(t)
	c.IdentityID = identity(ee)
	if _, err := c.Sign(fr); err == nil || !strings.Contains(err.Error(), "identity_id") {
		t.Errorf("claiming another identity: %v", err)
	}
	c = frCard(t)
	c.FederationEndpoint = "https://fr.example/"
	if _, err := c.Sign(fr); err == nil || !strings.Contains(err.Error(), "federation_endpoint") {
		t.Errorf("bad endpoint: %v", err)
	}
	c = frCard(t)
	c.Rotations = []*card.Rotation{{}}
	if _, err := c.Sign(fr); err == nil {
		t.Error("a rotation without its signed bytes was accepted")
	}
	c = frCard(t)
	c.Organisation = "AT&T <CERT>"
	b, err := c.Sign(fr)
	if err != nil || !bytes.Contains(b, []byte(`"AT&T <CERT>"`)) {
		t.Errorf("HTML-escaped or refused: %v\n%s", err, b)
	}
}

func TestRotation(t *testing.T) {
	fr, next, ee := key(t, "fr"), key(t, "fr-next"), key(t, "ee")
	id := identity(fr)
	rot := readFile(t, "rotation.golden")

	third, err := card.NewRotation(next, ee, id, effective.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	// A peer pinned fr: it accepts fr→next, then next→third.
	r1, err := card.ParseRotation(rot, pub(fr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := card.ParseRotation(third, r1.NewKey); err != nil {
		t.Fatal(err)
	}
	// Replays of older rotations after the pin moved on.
	if _, err := card.ParseRotation(rot, pub(next)); !errors.Is(err, card.ErrNotPinned) {
		t.Errorf("replayed rotation: %v", err)
	}
	if _, err := card.ParseRotation(rot, pub(ee)); !errors.Is(err, card.ErrNotPinned) {
		t.Errorf("replayed rotation, two steps later: %v", err)
	}
	if _, err := card.ParseRotation(rot, nil); err == nil {
		t.Error("no pinned key")
	}

	// Signed by the wrong keys.
	var m map[string]any
	_ = json.Unmarshal(rot, &m)
	wrong := func(field string, k ed25519.PrivateKey) []byte {
		mm := map[string]any{}
		for k, v := range m {
			mm[k] = v
		}
		delete(mm, "sig_old")
		delete(mm, "sig_new")
		b, _ := json.Marshal(mm)
		canon, _ := stix.Canonicalize(b)
		mm["sig_old"], mm["sig_new"] = m["sig_old"], m["sig_new"]
		mm[field] = b64.EncodeToString(ed25519.Sign(k, canon))
		out, _ := json.Marshal(mm)
		return out
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"authorised by the wrong key", wrong("sig_old", ee), "sig_old: bad signature"},
		{"possession proved by the wrong key", wrong("sig_new", ee), "sig_new: bad signature"},
		{"signed by the new key twice", wrong("sig_old", next), "sig_old: bad signature"},
		{"effective changed", []byte(rep(t, string(rot), "2026-12-01T00:00:00Z", "2026-11-01T00:00:00Z")), "bad signature"},
		{"new key changed", []byte(rep(t, string(rot), b64.EncodeToString(pub(next)), b64.EncodeToString(pub(ee)))), "sig_old: bad signature"},
		{"identity changed", []byte(rep(t, string(rot), id, identity(ee))), "bad signature"},
		{"sig_new missing", []byte(regexp.MustCompile(`,\s*"sig_new": "[^"]*"`).ReplaceAllString(string(rot), "")), "sig_new: missing"},
		{"unknown member", []byte(rep(t, string(rot), `"effective"`, `"reason": "compromise", "effective"`)), `unknown member "reason"`},
		{"same key", []byte(rep(t, string(rot), b64.EncodeToString(pub(next)), b64.EncodeToString(pub(fr)))), "new_key: the same key"},
		{"version", []byte(rep(t, string(rot), `"entraide_rotation": 1`, `"entraide_rotation": 2`)), "version 2"},
		{"oversized", append(append([]byte(nil), rot...), bytes.Repeat([]byte(" "), 5000)...), "more than the 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := card.ParseRotation(tc.raw, pub(fr))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}

	if _, err := card.NewRotation(fr, fr, id, effective); err == nil {
		t.Error("rotation to the same key")
	}
	if _, err := card.NewRotation(fr, next, "cert-fr", effective); err == nil {
		t.Error("rotation of a non-identity")
	}
}

func TestFingerprint(t *testing.T) {
	c, err := card.Parse(readFile(t, "card.golden"))
	if err != nil {
		t.Fatal(err)
	}
	fp := c.Fingerprint()
	if !regexp.MustCompile(`^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$`).MatchString(fp) {
		t.Errorf("fingerprint %q is not 8 groups of 4 Crockford base32 characters", fp)
	}
	read := strings.ToLower(strings.ReplaceAll(fp, "-", " "))
	read = strings.ReplaceAll(strings.ReplaceAll(read, "0", "o"), "1", "l")
	if !c.MatchFingerprint(read) || !c.MatchFingerprint(fp) {
		t.Errorf("%q does not match %q", read, fp)
	}
	wrong := "0" + fp[1:]
	if fp[0] == '0' {
		wrong = "1" + fp[1:]
	}
	if c.MatchFingerprint(fp[:len(fp)-1]) || c.MatchFingerprint(wrong) || c.MatchFingerprint("") {
		t.Error("a wrong fingerprint matches")
	}
	other := *c
	other.SigningKey = pub(key(t, "ee"))
	if other.Fingerprint() == fp {
		t.Error("the fingerprint does not cover the signing key")
	}
	other = *c
	other.TLSSPKISHA256 = card.SPKIHash(cert(t, "ee"))
	if other.Fingerprint() == fp {
		t.Error("the fingerprint does not cover the TLS key")
	}
}

func TestSPKIHash(t *testing.T) {
	// openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum
	for name, want := range map[string]string{
		"fr": "2de7a663b59b5dfe963c984ffb054a9afdf4f7a25303d188c47a3dfd040f64c4",
		"ee": "be5243eb038973106cf692369aeb58227487afc098309ef31b161ae6c0cbee2b",
	} {
		if got := card.SPKIHash(cert(t, name)); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}
