package card

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"

	"github.com/entraide/entraide/internal/stix"
)

// What a card says, apart from when it was issued. A node re-signs its card
// whenever it sends it (issued changes every time); its peers and the node
// itself compare cards by content to tell "nothing new" from a change.

// notContent are the members that do not say anything about the node.
var notContent = []string{"issued", "signature"}

// ContentDigest is the SHA-256, in lowercase hex, of the RFC 8785 canonical
// form of the signed card without issued and signature: two cards with the
// same digest say the same thing, whenever they were issued. The card must
// have been signed or parsed (it reads Raw).
func (c *Card) ContentDigest() (string, error) {
	if len(c.Raw) == 0 {
		return "", errors.New("card: content digest: the card is not signed")
	}
	msg, err := canonicalWithout(c.Raw, notContent...)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(msg)
	return hex.EncodeToString(sum[:]), nil
}

// Changed lists the members (JSON names, sorted) whose values differ
// between two signed cards, issued and signature aside: what a newer card
// of a node changes ("points_of_contact", "federation_endpoint", …). Both
// cards must have been signed or parsed.
func Changed(old, new *Card) ([]string, error) {
	a, err := contentMembers(old)
	if err != nil {
		return nil, err
	}
	b, err := contentMembers(new)
	if err != nil {
		return nil, err
	}
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// contentMembers returns the canonical form of each member of a signed card
// but issued and signature.
func contentMembers(c *Card) (map[string][]byte, error) {
	if c == nil || len(c.Raw) == 0 {
		return nil, errors.New("card: compare: the card is not signed")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.Raw, &m); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		skip := false
		for _, n := range notContent {
			skip = skip || k == n
		}
		if skip {
			continue
		}
		cv, err := stix.Canonicalize(v)
		if err != nil {
			return nil, err
		}
		out[k] = cv
	}
	return out, nil
}
