package peer_test

import (
	"testing"
	"time"

	"github.com/entraide/entraide/internal/peer"
)

// ByName answers from the in-memory snapshot: pinned peers by their name
// (not by identity id, not by another name); a peer removed through the
// registry is gone at once; one pinned by another process (another
// registry on the same store) is seen within RefreshEvery.
func TestByName(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	fr.pin(t, ee)
	if p, ok := fr.reg.ByName("cert-ee"); !ok || p.IdentityID != ee.id() || p.Card == nil {
		t.Fatalf("ByName(cert-ee): %+v, %v", p, ok)
	}
	for _, name := range []string{ee.id(), "cert-fr", "cert-xx", ""} {
		if _, ok := fr.reg.ByName(name); ok {
			t.Errorf("ByName(%q) found a peer", name)
		}
	}
	if _, err := fr.reg.Remove(t.Context(), "cert-ee"); err != nil {
		t.Fatal(err)
	}
	if _, ok := fr.reg.ByName("cert-ee"); ok {
		t.Error("ByName finds a peer removed through the registry")
	}
	// Another process pins a peer: the snapshot learns it within
	// RefreshEvery (callers fall back to Get meanwhile).
	other := peer.NewRegistry(fr.st, fr.self(), fr.clk)
	de := newNode(t, "cert-de", "DE")
	if _, err := other.Add(t.Context(), de.card(t, start), start); err != nil {
		t.Fatal(err)
	}
	fr.clk.Advance(peer.RefreshEvery + time.Second)
	if p, ok := fr.reg.ByName("cert-de"); !ok || p.IdentityID != de.id() {
		t.Errorf("ByName(cert-de) %v after RefreshEvery: %+v", ok, p)
	}
}
