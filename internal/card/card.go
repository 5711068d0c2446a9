package card

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/stix"
)

// MaxSize bounds a card. Parse refuses anything larger before reading it.
const MaxSize = 64 << 10

// Version is the card format version, the value of entraide_card.
const Version = 1

// Limits on what a card holds.
const (
	maxContacts  = 32
	maxRotations = 16
	maxText      = 256 // organisation, contact name, email, phone
)

// Card is a node's card: who the node is, where it listens and which keys it
// holds. See the package documentation for the wire format and its rules.
type Card struct {
	Name               string // node name, e.g. "cert-fr" (the rule of node.ValidName)
	Organisation       string
	Country            string // ISO 3166-1 alpha-2, e.g. "FR"
	IdentityID         string // the node's STIX identity: IdentityIDFor(first key)
	FederationEndpoint string // https://host:port/…
	SigningKey         ed25519.PublicKey
	TLSSPKISHA256      string // SPKIHash of the federation certificate
	TLSCertificate     []byte // DER of that certificate; optional
	PointsOfContact    []Contact
	Issued             time.Time
	NextSigningKey     ed25519.PublicKey // optional: the key the node will rotate to
	// Rotations is the chain of rotation statements from the node's first key
	// (the one its identity derives from) to SigningKey, oldest first; empty
	// when the node still signs with its first key.
	Rotations []*Rotation

	// Raw is the signed card, as Sign wrote it or Parse read it.
	Raw []byte
}

// wireCard is the JSON of a card, members in the order Sign writes them.
type wireCard struct {
	Version            int               `json:"entraide_card"`
	Name               string            `json:"name"`
	Organisation       string            `json:"organisation"`
	Country            string            `json:"country"`
	IdentityID         string            `json:"identity_id"`
	FederationEndpoint string            `json:"federation_endpoint"`
	SigningKey         string            `json:"signing_key"`
	TLSSPKISHA256      string            `json:"tls_spki_sha256"`
	TLSCertificate     string            `json:"tls_certificate,omitempty"`
	PointsOfContact    []Contact         `json:"points_of_contact"`
	Issued             string            `json:"issued"`
	NextSigningKey     string            `json:"next_signing_key,omitempty"`
	Rotations          []json.RawMessage `json:"rotations,omitempty"`
	Signature          string            `json:"signature,omitempty"`
}

var (
	cardFields    = jsonNames(wireCard{})
	contactFields = jsonNames(Contact{})
)

// ErrBadSignature is wrapped by the errors of Parse and ParseRotation when a
// signature does not verify.
var ErrBadSignature = errors.New("bad signature")

// b64 is base64url without padding, strict: one spelling per value.
var b64 = base64.RawURLEncoding.Strict()

// Error is what Parse and ParseRotation return for a document they refuse:
// the member at fault (empty for the document as a whole) and why.
type Error struct {
	Doc   string // "card" or "rotation"
	Field string
	Err   error
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Doc + ": " + e.Err.Error()
	}
	return e.Doc + ": " + e.Field + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func cardErr(field, format string, args ...any) error {
	return &Error{Doc: "card", Field: field, Err: fmt.Errorf(format, args...)}
}

// Sign signs the card with key and returns it as indented JSON, ready to be
// sent. key must be the card's signing key: Sign fills SigningKey from key
// when it is empty, and IdentityID from the first key of the chain when it is
// empty. The card must be valid (the rules of Parse). Sign sets c.Raw.
func (c *Card) Sign(key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("card: sign: not an Ed25519 private key")
	}
	pub := key.Public().(ed25519.PublicKey)
	if c.SigningKey == nil {
		c.SigningKey = pub
	}
	if !c.SigningKey.Equal(pub) {
		return nil, errors.New("card: sign: the key is not the card's signing key")
	}
	if c.IdentityID == "" {
		c.IdentityID = IdentityIDFor(c.firstKey())
	}
	w, err := c.wire()
	if err != nil {
		return nil, err
	}
	if err := checkCard(c); err != nil {
		return nil, err
	}
	msg, err := canonicalWithout(encode(w, false), "signature")
	if err != nil {
		return nil, fmt.Errorf("card: sign: %v", err)
	}
	w.Signature = b64.EncodeToString(ed25519.Sign(key, msg))
	out := encode(w, true)
	if _, err := Parse(out); err != nil { // what we send, we can read
		return nil, fmt.Errorf("card: sign: %w", err)
	}
	c.Raw = out
	return out, nil
}

// firstKey is the key the node's identity derives from.
func (c *Card) firstKey() ed25519.PublicKey {
	if len(c.Rotations) > 0 {
		return c.Rotations[0].OldKey
	}
	return c.SigningKey
}

// Keys returns the node's signing keys from its first to its current one,
// the keys its past and present objects may be signed with.
func (c *Card) Keys() []ed25519.PublicKey {
	keys := []ed25519.PublicKey{c.firstKey()}
	for _, r := range c.Rotations {
		keys = append(keys, r.NewKey)
	}
	return keys
}

func (c *Card) wire() (*wireCard, error) {
	w := &wireCard{
		Version:            Version,
		Name:               c.Name,
		Organisation:       c.Organisation,
		Country:            c.Country,
		IdentityID:         c.IdentityID,
		FederationEndpoint: c.FederationEndpoint,
		SigningKey:         b64.EncodeToString(c.SigningKey),
		TLSSPKISHA256:      c.TLSSPKISHA256,
		PointsOfContact:    c.PointsOfContact,
		Issued:             formatTime(c.Issued),
	}
	if c.TLSCertificate != nil {
		w.TLSCertificate = base64.StdEncoding.EncodeToString(c.TLSCertificate)
	}
	if c.NextSigningKey != nil {
		w.NextSigningKey = b64.EncodeToString(c.NextSigningKey)
	}
	for i, r := range c.Rotations {
		if r == nil || len(r.Raw) == 0 {
			return nil, cardErr(fmt.Sprintf("rotations[%d]", i), "a rotation must be one that NewRotation or ParseRotation returned")
		}
		w.Rotations = append(w.Rotations, json.RawMessage(r.Raw))
	}
	return w, nil
}

// formatTime writes a timestamp as RFC 3339 in UTC with a Z and no more
// digits than needed: "2026-11-23T10:00:00Z".
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// encode writes v as JSON without HTML escaping (a card is read by people:
// "AT&T", not "AT\u0026T"), indented or compact.
func encode(v any, indent bool) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if indent {
		e.SetIndent("", "  ")
	}
	if err := e.Encode(v); err != nil {
		panic("card: encoding a card: " + err.Error()) // plain strings and slices cannot fail
	}
	if !indent {
		return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	return b.Bytes()
}

// Parse reads a card: it checks the size, decodes strictly (I-JSON, no
// unknown or missing members), validates every member, checks the rotation
// chain and the identity, and verifies the signature. The error says which
// member is wrong and why; a signature that does not verify wraps
// ErrBadSignature.
func Parse(b []byte) (*Card, error) {
	if len(b) > MaxSize {
		return nil, cardErr("", "%d bytes, more than the %d a card may have", len(b), MaxSize)
	}
	members, err := strictObject(b, cardFields)
	if err != nil {
		return nil, &Error{Doc: "card", Err: err}
	}
	if raw, ok := members["points_of_contact"]; ok {
		var contacts []json.RawMessage
		if err := json.Unmarshal(raw, &contacts); err != nil {
			return nil, cardErr("points_of_contact", "want an array of objects")
		}
		for i, cb := range contacts {
			cm, err := strictObject(cb, contactFields)
			if err != nil {
				return nil, cardErr(fmt.Sprintf("points_of_contact[%d]", i), "%v", err)
			}
			var channels []json.RawMessage
			if json.Unmarshal(cm["channels"], &channels) != nil {
				continue // not an array: decodeStrict says so
			}
			for j, chb := range channels {
				if _, err := strictObject(chb, channelFields); err != nil {
					return nil, cardErr(fmt.Sprintf("points_of_contact[%d].channels[%d]", i, j), "%v", err)
				}
			}
		}
	}
	var w wireCard
	if err := decodeStrict(b, &w); err != nil {
		return nil, &Error{Doc: "card", Err: err}
	}
	c := &Card{
		Name: w.Name, Organisation: w.Organisation, Country: w.Country, IdentityID: w.IdentityID,
		FederationEndpoint: w.FederationEndpoint, TLSSPKISHA256: w.TLSSPKISHA256, PointsOfContact: w.PointsOfContact,
	}
	if w.Version != Version {
		return nil, cardErr("entraide_card", "version %d, want %d", w.Version, Version)
	}
	if c.SigningKey, err = decodeKey(w.SigningKey); err != nil {
		return nil, cardErr("signing_key", "%v", err)
	}
	if w.NextSigningKey != "" {
		if c.NextSigningKey, err = decodeKey(w.NextSigningKey); err != nil {
			return nil, cardErr("next_signing_key", "%v", err)
		}
	}
	if w.TLSCertificate != "" {
		if c.TLSCertificate, err = base64.StdEncoding.Strict().DecodeString(w.TLSCertificate); err != nil {
			return nil, cardErr("tls_certificate", "not standard base64 (RFC 4648 section 4, padded)")
		}
	}
	if w.Issued == "" {
		return nil, cardErr("issued", "missing")
	}
	if c.Issued, err = stix.ParseTimestamp(w.Issued); err != nil {
		return nil, cardErr("issued", "%v", err)
	}
	if len(w.Rotations) > maxRotations {
		return nil, cardErr("rotations", "%d rotations, at most %d", len(w.Rotations), maxRotations)
	}
	for i, rb := range w.Rotations {
		var pinned ed25519.PublicKey // the first rotation starts from the identity's key
		if i > 0 {
			pinned = c.Rotations[i-1].NewKey
		}
		r, err := parseRotation(rb, pinned)
		if err != nil {
			return nil, cardErr(fmt.Sprintf("rotations[%d]", i), "%v", err)
		}
		c.Rotations = append(c.Rotations, r)
	}
	if err := checkCard(c); err != nil {
		return nil, err
	}
	if w.Signature == "" {
		return nil, cardErr("signature", "missing: the card is not signed")
	}
	sig, err := b64.DecodeString(w.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, cardErr("signature", "not a base64url Ed25519 signature")
	}
	msg, err := canonicalWithout(b, "signature")
	if err != nil {
		return nil, &Error{Doc: "card", Err: err}
	}
	if !ed25519.Verify(c.SigningKey, msg, sig) {
		return nil, &Error{Doc: "card", Field: "signature", Err: fmt.Errorf("%w: the card was changed after it was signed, or not signed with signing_key", ErrBadSignature)}
	}
	c.Raw = bytes.Clone(b)
	return c, nil
}

// checkCard validates the members of a decoded card.
func checkCard(c *Card) error {
	if err := ValidName(c.Name); err != nil {
		return cardErr("name", "%v", err)
	}
	if err := checkText(c.Organisation, true); err != nil {
		return cardErr("organisation", "%v", err)
	}
	if !countries[c.Country] {
		return cardErr("country", "%q is not an ISO 3166-1 alpha-2 country code in capitals (e.g. FR, EE)", c.Country)
	}
	if err := checkEndpoint(c.FederationEndpoint); err != nil {
		return cardErr("federation_endpoint", "%v", err)
	}
	if len(c.SigningKey) != ed25519.PublicKeySize {
		return cardErr("signing_key", "missing")
	}
	if c.NextSigningKey != nil && (len(c.NextSigningKey) != ed25519.PublicKeySize || c.NextSigningKey.Equal(c.SigningKey)) {
		return cardErr("next_signing_key", "must be another Ed25519 public key than signing_key")
	}
	if len(c.TLSSPKISHA256) != 64 || !isLowerHex(c.TLSSPKISHA256) {
		return cardErr("tls_spki_sha256", "want the SHA-256 of the certificate's SubjectPublicKeyInfo in 64 lowercase hex digits")
	}
	if c.TLSCertificate != nil {
		cert, err := x509.ParseCertificate(c.TLSCertificate)
		if err != nil {
			return cardErr("tls_certificate", "not a DER X.509 certificate: %v", err)
		}
		if SPKIHash(cert) != c.TLSSPKISHA256 {
			return cardErr("tls_certificate", "its public key is not the one tls_spki_sha256 names")
		}
	}
	if len(c.PointsOfContact) == 0 {
		return cardErr("points_of_contact", "at least one point of contact is required")
	}
	if len(c.PointsOfContact) > maxContacts {
		return cardErr("points_of_contact", "%d contacts, at most %d", len(c.PointsOfContact), maxContacts)
	}
	for i, p := range c.PointsOfContact {
		if err := checkContact(p); err != nil {
			return cardErr(fmt.Sprintf("points_of_contact[%d]", i), "%v", err)
		}
	}
	if c.Issued.IsZero() {
		return cardErr("issued", "missing")
	}
	if len(c.Rotations) > maxRotations {
		return cardErr("rotations", "%d rotations, at most %d", len(c.Rotations), maxRotations)
	}
	if _, err := stix.ParseID(c.IdentityID); err != nil || !strings.HasPrefix(c.IdentityID, "identity--") {
		return cardErr("identity_id", "%q is not a STIX identity id", c.IdentityID)
	}
	first := c.firstKey()
	seen := map[string]bool{string(first): true}
	for i, r := range c.Rotations {
		f := fmt.Sprintf("rotations[%d]", i)
		if r.IdentityID != c.IdentityID {
			return cardErr(f, "rotates the keys of %s, not of %s", r.IdentityID, c.IdentityID)
		}
		if i > 0 && !r.OldKey.Equal(c.Rotations[i-1].NewKey) {
			return cardErr(f, "old_key is not the new_key of the rotation before: the chain is broken")
		}
		if i > 0 && !r.Effective.After(c.Rotations[i-1].Effective) {
			return cardErr(f, "effective %s is not after the rotation before", formatTime(r.Effective))
		}
		if seen[string(r.NewKey)] {
			return cardErr(f, "new_key was already used by this node")
		}
		seen[string(r.NewKey)] = true
	}
	if len(c.Rotations) > 0 && !c.Rotations[len(c.Rotations)-1].NewKey.Equal(c.SigningKey) {
		return cardErr("rotations", "the chain ends at another key than signing_key")
	}
	// The identity derives from the node's first key; the chain links that
	// key to the current one.
	if want := IdentityIDFor(first); c.IdentityID != want {
		if len(c.Rotations) == 0 {
			return cardErr("identity_id", "%s is not the identity of signing_key (that is %s): a card cannot claim another node's identity; a node that rotated its key must carry the rotations", c.IdentityID, want)
		}
		return cardErr("identity_id", "%s is not the identity of the first key of the rotation chain (that is %s)", c.IdentityID, want)
	}
	return nil
}

// checkText accepts a line of printable text of at most maxText bytes.
func checkText(s string, required bool) error {
	switch {
	case s == "" && required:
		return errors.New("missing")
	case len(s) > maxText:
		return fmt.Errorf("%d bytes, at most %d", len(s), maxText)
	case strings.TrimSpace(s) != s:
		return errors.New("leading or trailing white space")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return fmt.Errorf("character %U is not printable", r)
		}
	}
	return nil
}

func isToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isPhone(s string) bool {
	if len(s) < 2 || s[0] != '+' || len(s) > 32 {
		return false
	}
	digits := 0
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ' && s[i-1] != ' ':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15 && s[len(s)-1] != ' '
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// checkEndpoint accepts an absolute https URL with a host and an explicit
// port, and nothing a peer could misread: no user information, query or
// fragment.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("%q: the federation listens on https only", s)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q: want https://host:port/", s)
	case u.User != nil:
		return fmt.Errorf("%q: no user information in an endpoint", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q: no query or fragment in an endpoint", s)
	case u.Port() == "":
		return fmt.Errorf("%q: give the port explicitly (https://host:8444/)", s)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: port %q is not 1–65535", s, u.Port())
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q: not a plain URL", s)
	}
	return nil
}

func decodeKey(s string) (ed25519.PublicKey, error) {
	k, err := b64.DecodeString(s)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%q is not a base64url (unpadded) Ed25519 public key", s)
	}
	return ed25519.PublicKey(k), nil
}

// SPKIHash is the SHA-256 of a certificate's SubjectPublicKeyInfo in
// lowercase hex, the value of tls_spki_sha256. Pinning the public key rather
// than the certificate lets a node renew its certificate without new cards.
func SPKIHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// fingerprintAlphabet is Crockford's base32: digits and capitals without I,
// L, O and U, so that nothing read aloud is ambiguous.
const fingerprintAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var fingerprintEncoding = base32.NewEncoding(fingerprintAlphabet).WithPadding(base32.NoPadding)

// Fingerprint is the short code two organisations read to each other over the
// phone to confirm a card out of band: the first 160 bits of
//
//	SHA-256("entraide-card-fingerprint-v1" || 0x00 || signing_key (32 bytes) || SHA-256(SPKI) (32 bytes))
//
// in Crockford's base32, 8 groups of 4 characters joined by hyphens:
// "7KQ2-M9XD-…". It covers the two keys a peer pins; the identity is bound to
// the signing key by the card's own checks. MatchFingerprint compares what
// was read out.
func (c *Card) Fingerprint() string {
	spki, _ := hex.DecodeString(c.TLSSPKISHA256)
	h := sha256.New()
	h.Write([]byte("entraide-card-fingerprint-v1\x00"))
	h.Write(c.SigningKey)
	h.Write(spki)
	s := fingerprintEncoding.EncodeToString(h.Sum(nil)[:20])
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i : i+4])
	}
	return b.String()
}

// MatchFingerprint reports whether s, as someone typed it, is the card's
// fingerprint: case, spaces and hyphens do not matter, and O, I and L are read
// as 0, 1 and 1 (Crockford's rule).
func (c *Card) MatchFingerprint(s string) bool {
	norm := strings.Map(func(r rune) rune {
		switch r = unicode.ToUpper(r); r {
		case ' ', '-', '\t':
			return -1
		case 'O':
			return '0'
		case 'I', 'L':
			return '1'
		}
		return r
	}, s)
	return norm == strings.ReplaceAll(c.Fingerprint(), "-", "")
}
