package peer_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/provenance"
)

var _ provenance.KeyResolver = (*peer.Registry)(nil)

func TestAddAndLookups(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	ctx := t.Context()
	p := fr.pin(t, ee)
	if p.IdentityID != ee.id() || p.Name != "cert-ee" || p.Country != "EE" || p.TLSSPKI != ee.spki() ||
		p.Endpoint != "https://cert-ee.example:8444/" || len(p.Keys) != 1 || !p.Added.Equal(start) || p.Card == nil {
		t.Fatalf("Add: %+v", p)
	}
	if fp := p.Fingerprint(); fp == "" || fp != mustParse(t, ee.card(t, start)).Fingerprint() {
		t.Errorf("fingerprint %q", fp)
	}
	for _, key := range []string{"cert-ee", ee.id()} {
		if got, err := fr.reg.Get(ctx, key); err != nil || got.IdentityID != ee.id() {
			t.Errorf("Get(%s): %v", key, err)
		}
	}
	if got, ok := fr.reg.BySPKI(ee.spki()); !ok || got.Name != "cert-ee" {
		t.Error("BySPKI of a pinned peer")
	}
	if _, ok := fr.reg.BySPKI(fr.spki()); ok {
		t.Error("BySPKI of an unpinned key")
	}
	if got, ok := fr.reg.ByIdentity(ee.id()); !ok || got.Name != "cert-ee" {
		t.Error("ByIdentity")
	}
	// SigningKeys: the peer's, our own, nobody else's.
	keys, err := fr.reg.SigningKeys(ee.id())
	if err != nil || len(keys) != 1 || !keys[0].Equal(ee.keys[0].Public().(ed25519.PublicKey)) {
		t.Errorf("SigningKeys(peer): %v, %v", keys, err)
	}
	keys, err = fr.reg.SigningKeys(fr.id())
	if err != nil || len(keys) != 1 || !keys[0].Equal(fr.keys[0].Public().(ed25519.PublicKey)) {
		t.Errorf("SigningKeys(self): %v, %v", keys, err)
	}
	if keys, err := fr.reg.SigningKeys("identity--00000000-0000-5000-8000-000000000000"); keys != nil || err != nil {
		t.Errorf("SigningKeys(stranger): %v, %v", keys, err)
	}
	// Unknown peers are named with the ones there are.
	de := newNode(t, "cert-de", "DE")
	fr.pin(t, de)
	_, err = fr.reg.Get(ctx, "cert-xx")
	if !errors.Is(err, peer.ErrNotFound) || !strings.Contains(err.Error(), `no peer "cert-xx" (peers: cert-de, cert-ee)`) {
		t.Errorf("Get(unknown): %v", err)
	}
	ps, err := fr.reg.List(ctx)
	if err != nil || len(ps) != 2 || ps[0].Name != "cert-de" {
		t.Errorf("List: %v, %v", ps, err)
	}
	// Removing unpins at once.
	if _, err := fr.reg.Remove(ctx, "cert-ee"); err != nil {
		t.Fatal(err)
	}
	if _, ok := fr.reg.BySPKI(ee.spki()); ok {
		t.Error("BySPKI still finds a removed peer")
	}
	if keys, _ := fr.reg.SigningKeys(ee.id()); keys != nil {
		t.Error("SigningKeys still lists a removed peer's keys")
	}
}

func mustParse(t *testing.T, b []byte) *card.Card {
	t.Helper()
	c, err := card.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAddRefusals(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	ctx := t.Context()
	fr.pin(t, ee)

	// Another node calling itself cert-ee.
	fake := newNode(t, "cert-ee", "EE")
	_, err := fr.reg.Add(ctx, fake.card(t, start), start)
	if !errors.Is(err, peer.ErrNameTaken) {
		t.Errorf("name clash: %v", err)
	}
	// …which may be pinned under another name.
	if p, err := fr.reg.AddAs(ctx, fake.card(t, start), "cert-ee-2", start); err != nil || p.Name != "cert-ee-2" {
		t.Errorf("AddAs another name: %v", err)
	}
	// A node with the same identity (ee's keys) but a card signed by another key.
	impostor := newNode(t, "cert-ee", "EE")
	other := impostor.card(t, start.Add(time.Hour))
	c := mustParse(t, other)
	c.IdentityID = ee.id() // cannot be forged: the card checks its identity against its key
	if _, err := c.Sign(impostor.keys[0]); err == nil {
		t.Fatal("a card claiming another identity was signed")
	}

	// Our own card.
	_, err = fr.reg.Add(ctx, fr.card(t, start), start)
	if !errors.Is(err, peer.ErrOwnCard) {
		t.Errorf("own card: %v", err)
	}
	// A tampered card.
	bad := strings.Replace(string(ee.card(t, start)), "CSIRT EE", "CSIRT XX", 1)
	_, err = fr.reg.Add(ctx, []byte(bad), start)
	if !errors.Is(err, peer.ErrInvalidCard) || !errors.Is(err, card.ErrBadSignature) {
		t.Errorf("tampered card: %v", err)
	}
	// A node sharing a pinned TLS key.
	lv := newNode(t, "cert-lv", "LV")
	lv.cert = ee.cert
	_, err = fr.reg.Add(ctx, lv.card(t, start), start)
	if !errors.Is(err, peer.ErrTLSKeyTaken) {
		t.Errorf("shared TLS key: %v", err)
	}
	// A name like an identity id.
	_, err = fr.reg.AddAs(ctx, newNode(t, "cert-lt", "LT").card(t, start), "identity--x", start)
	if err == nil {
		t.Error("a name like an identity id was accepted")
	}

	// The same card again, and a newer one (new endpoint, new TLS key), are
	// fine: the pinned key signed them. An older one is refused.
	if _, err := fr.reg.Add(ctx, ee.card(t, start), start); err != nil {
		t.Errorf("the same card again: %v", err)
	}
	ee.cert = newCert(t, "cert-ee", start, start.Add(24*time.Hour))
	p, err := fr.reg.Add(ctx, ee.card(t, start.Add(time.Hour)), start.Add(time.Hour))
	if err != nil || p.TLSSPKI != ee.spki() || !p.Added.Equal(start) {
		t.Errorf("a newer card: %+v, %v", p, err)
	}
	_, err = fr.reg.Add(ctx, ee.card(t, start.Add(-time.Hour)), start)
	if !errors.Is(err, peer.ErrStaleCard) {
		t.Errorf("an older card: %v", err)
	}
}

func TestRotation(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	ctx := t.Context()
	fr.pin(t, ee)
	old := ee.keys[0].Public().(ed25519.PublicKey)

	rot1 := ee.rotate(t, start.Add(24*time.Hour))
	// A card signed by the new key without the chain would be a key
	// mismatch; with the chain it is accepted — but here the rotation comes
	// by itself.
	p, err := fr.reg.ApplyRotation(ctx, "cert-ee", rot1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Keys) != 2 || !p.Keys[0].Key.Equal(old) || !p.CurrentKey().Equal(ee.keys[1].Public().(ed25519.PublicKey)) {
		t.Fatalf("after the rotation: %d keys", len(p.Keys))
	}
	keys, _ := fr.reg.SigningKeys(ee.id())
	if len(keys) != 2 {
		t.Errorf("SigningKeys after a rotation: %d keys, want the old and the new", len(keys))
	}
	// Applying it again changes nothing.
	if p, err := fr.reg.ApplyRotation(ctx, ee.id(), rot1); err != nil || len(p.Keys) != 2 {
		t.Errorf("applied twice: %d keys, %v", len(p.Keys), err)
	}
	// A second rotation comes through the card's chain.
	ee.rotate(t, start.Add(48*time.Hour))
	p, err = fr.reg.Add(ctx, ee.card(t, start.Add(48*time.Hour)), start)
	if err != nil || len(p.Keys) != 3 || !p.CurrentKey().Equal(ee.keys[2].Public().(ed25519.PublicKey)) {
		t.Fatalf("card with a rotation chain: %v keys, %v", len(p.Keys), err)
	}
	// An old card, signed by a retired key, is stale.
	ee2 := *ee
	ee2.keys, ee2.rotations = ee.keys[:2], ee.rotations[:1]
	if _, err := fr.reg.Add(ctx, ee2.card(t, start.Add(72*time.Hour)), start); !errors.Is(err, peer.ErrStaleCard) {
		t.Errorf("card signed by a retired key: %v", err)
	}
	// A rotation of another node, and a forged one, are refused.
	de := newNode(t, "cert-de", "DE")
	fr.pin(t, de)
	if _, err := fr.reg.ApplyRotation(ctx, "cert-de", rot1); !errors.Is(err, peer.ErrBadRotation) {
		t.Errorf("another node's rotation: %v", err)
	}
	_, stranger, _ := ed25519.GenerateKey(nil)
	_, next, _ := ed25519.GenerateKey(nil)
	forged, _ := card.NewRotation(stranger, next, de.id(), start)
	if _, err := fr.reg.ApplyRotation(ctx, "cert-de", forged); !errors.Is(err, peer.ErrBadRotation) {
		t.Errorf("a rotation from an unpinned key: %v", err)
	}
	// Adding a peer for the first time from a rotated card pins the whole chain.
	lv := newNode(t, "cert-lv", "LV")
	p, err = lv.reg.Add(ctx, ee.card(t, start), start)
	if err != nil || len(p.Keys) != 3 {
		t.Errorf("first pin of a rotated node: %v", err)
	}
	// Our own rotation shows in SigningKeys(self).
	fr.rotate(t, start)
	if keys, _ := fr.reg.SigningKeys(fr.id()); len(keys) != 2 {
		t.Errorf("own keys after rotating: %d", len(keys))
	}
}

// TestKeyMismatch: a card of a pinned identity whose rotation chain does
// not pass through the pinned key (a fork from an older key, which is what
// a thief of that key would make) is refused.
func TestKeyMismatch(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	fr.pin(t, ee)
	first := ee.keys[0]
	ee.rotate(t, start.Add(time.Hour))
	if _, err := fr.reg.Add(t.Context(), ee.card(t, start.Add(time.Hour)), start); err != nil {
		t.Fatalf("a chain from the pinned key: %v", err)
	}
	// fr now pins ee's second key; a chain first → k3 forks from before it.
	_, k3, _ := ed25519.GenerateKey(nil)
	rot, err := card.NewRotation(first, k3, ee.id(), start.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r, err := card.ParseRotation(rot, first.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	fork := *ee
	fork.keys, fork.rotations = []ed25519.PrivateKey{first, k3}, []*card.Rotation{r}
	_, err = fr.reg.Add(t.Context(), fork.card(t, start.Add(2*time.Hour)), start)
	if !errors.Is(err, peer.ErrKeyMismatch) {
		t.Errorf("a forked chain: %v", err)
	}
	if _, err := fr.reg.ApplyRotation(t.Context(), "cert-ee", rot); !errors.Is(err, peer.ErrBadRotation) {
		t.Errorf("the forked rotation by itself: %v", err)
	}
}

// TestConcurrentLookups runs lookups during changes (under -race).
func TestConcurrentLookups(t *testing.T) {
	fr := newNode(t, "cert-fr", "FR")
	nodes := []*testNode{newNode(t, "cert-ee", "EE"), newNode(t, "cert-de", "DE"), newNode(t, "cert-lv", "LV")}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, n := range nodes {
					fr.reg.BySPKI(n.spki())
					fr.reg.SigningKeys(n.id())
				}
			}
		})
	}
	for range 3 {
		for _, n := range nodes {
			fr.pin(t, n)
		}
		for _, n := range nodes {
			if _, ok := fr.reg.BySPKI(n.spki()); !ok {
				t.Errorf("%s not found after Add", n.name)
			}
			if _, err := fr.reg.Remove(t.Context(), n.name); err != nil {
				t.Fatal(err)
			}
			if _, ok := fr.reg.BySPKI(n.spki()); ok {
				t.Errorf("%s found after Remove", n.name)
			}
		}
	}
	close(stop)
	wg.Wait()
}

// TestOtherProcessChanges checks that changes made to the store directly
// (another process: the CLI while serve runs) are seen after RefreshEvery.
func TestOtherProcessChanges(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	if _, ok := fr.reg.BySPKI(ee.spki()); ok {
		t.Fatal("found before pinning")
	}
	other := peer.NewRegistry(fr.st, fr.self(), fr.clk) // the CLI's registry
	if _, err := other.Add(t.Context(), ee.card(t, start), start); err != nil {
		t.Fatal(err)
	}
	if _, ok := fr.reg.BySPKI(ee.spki()); ok {
		t.Log("seen at once (snapshot was reloaded)")
	}
	fr.clk.Advance(peer.RefreshEvery)
	if _, ok := fr.reg.BySPKI(ee.spki()); !ok {
		t.Error("a peer added by another process is not seen after RefreshEvery")
	}
}
