package card_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
)

// Two cards of a node issued at different times say the same thing: same
// content digest, nothing changed, whatever the spelling of the JSON; a
// change of a contact or of the endpoint changes the digest and is named.
func TestContent(t *testing.T) {
	k := key(t, "fr")
	sign := func(c *card.Card) *card.Card {
		t.Helper()
		if _, err := c.Sign(k); err != nil {
			t.Fatal(err)
		}
		return c
	}
	digest := func(c *card.Card) string {
		t.Helper()
		d, err := c.ContentDigest()
		if err != nil || len(d) != 64 {
			t.Fatalf("digest %q, %v", d, err)
		}
		return d
	}
	a := sign(frCard(t))
	later := frCard(t)
	later.Issued = issued.Add(36 * time.Hour)
	b := sign(later)
	if digest(a) != digest(b) {
		t.Errorf("issued changes the content digest")
	}
	if ch, err := card.Changed(a, b); err != nil || len(ch) != 0 {
		t.Errorf("changed between two issues of one card: %v, %v", ch, err)
	}

	// The same card in another spelling (compact, members reordered) has
	// the same digest.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(a.Raw, &m); err != nil {
		t.Fatal(err)
	}
	compact, _ := json.Marshal(m) // sorted members, no indentation
	if bytes.Equal(compact, a.Raw) {
		t.Fatal("the compact form is the signed one: nothing tested")
	}
	re, err := card.Parse(compact)
	if err != nil {
		t.Fatal(err)
	}
	if digest(re) != digest(a) {
		t.Errorf("the spelling changes the content digest")
	}

	moved := frCard(t)
	moved.PointsOfContact[1].Email = "ofac-permanence@fr.example"
	moved.FederationEndpoint = "https://fr2.example:8444/"
	moved.Issued = issued.Add(time.Hour)
	c := sign(moved)
	if digest(c) == digest(a) {
		t.Errorf("a new contact and endpoint keep the content digest")
	}
	ch, err := card.Changed(a, c)
	if err != nil || fmt.Sprint(ch) != "[federation_endpoint points_of_contact]" {
		t.Errorf("changed: %v, %v", ch, err)
	}

	// A member present on one card only counts as changed.
	next := frCard(t)
	next.NextSigningKey = pub(key(t, "fr-next"))
	d := sign(next)
	if ch, err := card.Changed(a, d); err != nil || fmt.Sprint(ch) != "[next_signing_key]" {
		t.Errorf("changed with a new member: %v, %v", ch, err)
	}
	if ch, err := card.Changed(d, a); err != nil || fmt.Sprint(ch) != "[next_signing_key]" {
		t.Errorf("changed without a member: %v, %v", ch, err)
	}

	// An unsigned card has no digest.
	if _, err := frCard(t).ContentDigest(); err == nil {
		t.Errorf("an unsigned card has a content digest")
	}
	if _, err := card.Changed(a, frCard(t)); err == nil {
		t.Errorf("compared with an unsigned card")
	}
}
