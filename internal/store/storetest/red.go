package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// runRed runs the cases of TLP:RED at rest: what a Sealer seals, that
// reads never decrypt, and that sealed bytes open only for their own row.
func runRed(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"RedSealedOnlyWithSealer", testRedSealed},
		{"RedListingsNeverDecrypt", testRedListings},
		{"RedSealedBytesBoundToRow", testRedBound},
		{"RedOutboxSealed", testRedOutbox},
		{"RedWithSealerWrapper", testRedWrapper},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(Start)
			s := open(t, clk)
			t.Cleanup(func() { s.Close() })
			c.fn(t, &env{t: t, s: s, clk: clk, ctx: t.Context()})
		})
	}
}

// FixedSealer is a sealer under a fixed key, for tests.
func FixedSealer(seed string) store.Sealer {
	k := sha256.Sum256([]byte(seed))
	s, err := store.NewSealer(k[:], nil)
	if err != nil {
		panic(err)
	}
	return s
}

// RedCanary is the distinctive text the RED objects of the suite carry, so
// that tests can look for it where it must not be.
const RedCanary = "red-canary-5b0d1e7f-only-for-alice"

// redIndicator is an indicator marked tlp with RedCanary in its name.
func redIndicator(tlp stix.TLP, n int) *stix.Object {
	id := fmt.Sprintf("indicator--6f1c2d3e-4a5b-4c6d-8e7f-%012x", n)
	return indicator(id, "2026-03-01T10:00:00.000Z", "2026-03-01T10:00:00.000Z",
		fmt.Sprintf(`"name":%q`, RedCanary), fmt.Sprintf(`"object_marking_refs":[%q]`, tlp.MarkingID()))
}

func testRedSealed(t *testing.T, e *env) {
	seal := FixedSealer("suite")
	c := e.collection()
	red, amber, red2 := redIndicator(stix.TLPRed, 1), redIndicator(stix.TLPAmber, 2), redIndicator(stix.TLPRed, 3)
	e.addWith(c, []*stix.Object{red, amber}, store.AddOptions{Sealer: seal}, "added added")
	e.addWith(c, []*stix.Object{red2}, store.AddOptions{}, "added") // no sealer: in clear
	got := map[string]store.Entry{}
	for _, en := range e.list(c, store.Query{}) {
		got[en.ID] = en
	}
	if en := got[red.ID]; !en.Sealed || en.Raw != nil || len(en.Ciphertext) == 0 || bytes.Contains(en.Ciphertext, []byte(RedCanary)) {
		t.Fatalf("RED with a sealer: sealed %v, raw %d bytes, ciphertext %d bytes (canary in it: %v)", en.Sealed, len(en.Raw),
			len(en.Ciphertext), bytes.Contains(en.Ciphertext, []byte(RedCanary)))
	}
	if en := got[amber.ID]; en.Sealed || !bytes.Equal(en.Raw, amber.Raw) || en.Ciphertext != nil {
		t.Fatalf("AMBER with a sealer must stay in clear: %+v", en)
	}
	if en := got[red2.ID]; en.Sealed || !bytes.Equal(en.Raw, red2.Raw) {
		t.Fatalf("RED without a sealer is stored in clear: %+v", en)
	}
	raw, err := store.OpenEntry(seal, got[red.ID])
	if err != nil || !bytes.Equal(raw, red.Raw) {
		t.Fatalf("OpenEntry: %v; got %s", err, raw)
	}
	// The digest is of the plaintext: sending it again is a duplicate, in
	// another collection too, and the row stays sealed.
	c2 := e.collection()
	e.addWith(c2, []*stix.Object{red}, store.AddOptions{Sealer: seal}, "duplicate")
	if es := e.list(c2, store.Query{}); len(es) != 1 || !es[0].Sealed {
		t.Fatalf("duplicate of a sealed version in another collection: %+v", es)
	}
	e.addWith(c, []*stix.Object{red}, store.AddOptions{}, "duplicate") // without a sealer too
	// Another sealer does not open it.
	if _, err := store.OpenEntry(FixedSealer("another node"), got[red.ID]); !errors.Is(err, store.ErrUnseal) {
		t.Fatalf("another key opened a sealed object: %v", err)
	}
	if _, err := store.OpenEntry(nil, got[red.ID]); !errors.Is(err, store.ErrUnseal) {
		t.Fatalf("no sealer: %v", err)
	}
}

func testRedListings(t *testing.T, e *env) {
	seal := FixedSealer("suite")
	c := e.collection()
	red := redIndicator(stix.TLPRed, 1)
	e.addWith(c, []*stix.Object{red}, store.AddOptions{Sealer: seal}, "added")
	// Without bodies (manifest): the flag, no bytes at all.
	p, err := e.s.ListObjects(e.ctx, c, store.Query{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 1 || !p.Entries[0].Sealed || p.Entries[0].Raw != nil || p.Entries[0].Ciphertext != nil {
		t.Fatalf("manifest entry of a sealed version: %+v", p.Entries)
	}
	// Every filter shape returns the flag.
	for _, q := range []store.Query{
		{IDs: []string{red.ID}}, {Types: []string{"indicator"}}, {Types: []string{"indicator", "malware"}},
		{Versions: []string{"all"}}, {Versions: []string{"first"}}, {Versions: []string{red.Version()}},
	} {
		es := e.list(c, q)
		if len(es) != 1 || !es[0].Sealed || es[0].Raw != nil {
			t.Fatalf("listing %+v: %+v", q, es)
		}
	}
}

func testRedBound(t *testing.T, e *env) {
	seal := FixedSealer("suite")
	c := e.collection()
	a, b := redIndicator(stix.TLPRed, 1), redIndicator(stix.TLPRed, 2)
	e.addWith(c, []*stix.Object{a, b}, store.AddOptions{Sealer: seal}, "added added")
	es := e.list(c, store.Query{})
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	// The bytes of one row presented as the other's do not open.
	swapped := es[0]
	swapped.Ciphertext = es[1].Ciphertext
	if _, err := store.OpenEntry(seal, swapped); !errors.Is(err, store.ErrUnseal) {
		t.Fatalf("sealed bytes opened for another object: %v", err)
	}
	// Two seals of the same bytes differ (a fresh nonce per row).
	x, _ := seal.Seal(a.Raw, store.SealAAD(a.ID, a.Version()))
	y, _ := seal.Seal(a.Raw, store.SealAAD(a.ID, a.Version()))
	if bytes.Equal(x, y) {
		t.Fatal("two seals of the same object are equal: nonces repeat")
	}
	// A flipped bit does not open.
	bad := es[0]
	bad.Ciphertext = bytes.Clone(bad.Ciphertext)
	bad.Ciphertext[len(bad.Ciphertext)-1] ^= 1
	if _, err := store.OpenEntry(seal, bad); !errors.Is(err, store.ErrUnseal) {
		t.Fatalf("altered sealed bytes opened: %v", err)
	}
}

func testRedOutbox(t *testing.T, e *env) {
	seal := FixedSealer("suite")
	c := e.collection()
	red, green := redIndicator(stix.TLPRed, 1), redIndicator(stix.TLPGreen, 2)
	objs := []*stix.Object{red, green}
	e.addWith(c, objs, store.AddOptions{Sealer: seal, Provenance: []store.Provenance{
		{Origin: self, Distribution: store.Distribution{Nodes: []string{peerEE}}, RedRecipients: []store.Recipient{{Node: peerEE, User: "alice"}}},
		{Origin: self, Distribution: store.Distribution{Nodes: []string{peerEE}}},
	}, Outbox: share(objs, "", peerEE)}, "added added")
	rows := e.pending(peerEE, 0)
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	if r := rows[0]; !r.Sealed || r.Raw != nil || bytes.Contains(r.Ciphertext, []byte(RedCanary)) || r.TLP != stix.TLPRed {
		t.Fatalf("RED outbox row: %+v", r)
	}
	if r := rows[1]; r.Sealed || !bytes.Equal(r.Raw, green.Raw) {
		t.Fatalf("GREEN outbox row: %+v", r)
	}
	raw, err := store.OpenOutboxRow(seal, rows[0])
	if err != nil || !bytes.Equal(raw, red.Raw) {
		t.Fatalf("OpenOutboxRow: %v", err)
	}
	pr, err := e.s.Provenance(e.ctx, []store.ObjectRef{{ID: red.ID, Version: red.Version()}})
	if err != nil {
		t.Fatal(err)
	}
	if got := pr[store.ObjectRef{ID: red.ID, Version: red.Version()}].RedRecipients; len(got) != 1 || got[0].User != "alice" {
		t.Fatalf("RED recipients: %+v", got)
	}
}

func testRedWrapper(t *testing.T, e *env) {
	seal := FixedSealer("suite")
	w := store.WithSealer(e.s, seal)
	c := e.collection()
	red := redIndicator(stix.TLPRed, 1)
	if _, err := w.AddObjects(e.ctx, c, []*stix.Object{red}); err != nil {
		t.Fatal(err)
	}
	es := e.list(c, store.Query{})
	if len(es) != 1 || !es[0].Sealed {
		t.Fatalf("AddObjects through WithSealer did not seal: %+v", es)
	}
	// An explicit sealer in the options wins.
	other := FixedSealer("other")
	red2 := redIndicator(stix.TLPRed, 2)
	if _, err := w.AddObjectsWith(e.ctx, c, []*stix.Object{red2}, store.AddOptions{Sealer: other}); err != nil {
		t.Fatal(err)
	}
	for _, en := range e.list(c, store.Query{IDs: []string{red2.ID}}) {
		if _, err := store.OpenEntry(other, en); err != nil {
			t.Fatalf("the option's sealer: %v", err)
		}
	}
	if store.WithSealer(e.s, nil) != e.s {
		t.Fatal("WithSealer(nil) must return the store itself")
	}
	if !strings.Contains(string(red.Raw), RedCanary) {
		t.Fatal("test object lost its canary")
	}
}
