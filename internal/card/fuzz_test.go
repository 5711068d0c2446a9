package card_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/stix"
)

// FuzzParse: Parse never panics; whatever it accepts reads back the same
// from its Raw, can be signed again by its key holder into a card Parse
// accepts, and carries a well-formed fingerprint and content digest.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"card.golden", "card-rotated.golden", "card-contacts.golden", "rotation.golden"} {
		b := readFile(f, name)
		f.Add(b)
		if c, err := stix.Compact(b); err == nil {
			f.Add(c)
		}
	}
	f.Add([]byte(`{"entraide_card":1}`))
	fr, next := key(f, "fr"), key(f, "fr-next")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := card.Parse(b)
		if err != nil {
			var ce *card.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *card.Error: %v", err, err)
			}
			return
		}
		again, err := card.Parse(c.Raw)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("Raw does not read back: %v", err)
		}
		if len(c.Fingerprint()) != 39 {
			t.Fatalf("fingerprint %q", c.Fingerprint())
		}
		// What a peer compares an announced card by: a digest, and
		// nothing changed between a card and itself.
		if d, err := c.ContentDigest(); err != nil || len(d) != 64 {
			t.Fatalf("content digest %q, %v", d, err)
		}
		if ch, err := card.Changed(c, again); err != nil || len(ch) != 0 {
			t.Fatalf("a card changed from itself: %v, %v", ch, err)
		}
		for _, k := range []ed25519.PrivateKey{fr, next} {
			if !bytes.Equal(c.SigningKey, k[32:]) {
				continue
			}
			resigned, err := c.Sign(k)
			if err != nil {
				t.Fatalf("Parse accepted a card Sign refuses: %v", err)
			}
			if _, err := card.Parse(resigned); err != nil {
				t.Fatalf("re-signed card refused: %v", err)
			}
		}
	})
}

// FuzzParseRotation: ParseRotation never panics, and accepts only rotations
// from the pinned key whose Raw reads back the same.
func FuzzParseRotation(f *testing.F) {
	rot := readFile(f, "rotation.golden")
	f.Add(rot)
	if c, err := stix.Compact(rot); err == nil {
		f.Add(c)
	}
	f.Add(readFile(f, "card.golden"))
	fr := key(f, "fr")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := card.ParseRotation(b, pub(fr))
		if err != nil {
			return
		}
		if !r.OldKey.Equal(pub(fr)) {
			t.Fatal("accepted a rotation from another key than the pinned one")
		}
		again, err := card.ParseRotation(r.Raw, pub(fr))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("Raw does not read back: %v", err)
		}
	})
}

// FuzzParseHours: ParseHours never panics; what it accepts writes a
// canonical form that reads back the same and is its own canonical form.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"24/7", "24x7", "Mon-Fri 08:00-18:00 Europe/Paris", "mon - fri 8:00-18:00, Sat 09:00-12:00 UTC",
		"Fri-Mon 00:00-24:00 America/Argentina/Buenos_Aires", "Mon 08:00-09:00", "Sun 10:00-12:00 Etc/GMT-2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := card.ParseHours(s)
		if err != nil {
			return
		}
		w := h.String()
		again, err := card.ParseHours(w)
		if err != nil || !reflect.DeepEqual(again, h) || again.String() != w {
			t.Fatalf("%q → %q → %+v, %v", s, w, again, err)
		}
	})
}
