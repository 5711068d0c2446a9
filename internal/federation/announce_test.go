package federation_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/stix"
)

// setContactsOnDisk changes a node's points of contact in node.json as
// `entraide poc set` does from another process: the running node's
// in-memory identity is left as it was.
func setContactsOnDisk(t *testing.T, n *fedtest.Node, contacts ...card.Contact) {
	t.Helper()
	other := *n.Node
	if err := other.SetContacts(contacts); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(n.Identity.Contacts, contacts) {
		t.Fatal("the running node's identity changed too: nothing tested")
	}
}

// pinnedContacts returns the contacts of the card of peer of pinned at by.
func pinnedContacts(t *testing.T, fed *fedtest.Federation, by, of string) []card.Contact {
	t.Helper()
	p, err := fed.Node(by).Fed.Registry().Get(context.Background(), "cert-"+of)
	if err != nil || p.Card == nil {
		t.Fatalf("%s's card at %s: %v", of, by, err)
	}
	return p.Card.PointsOfContact
}

func hasContact(cs []card.Contact, email string) bool {
	for _, c := range cs {
		if c.Email == email {
			return true
		}
	}
	return false
}

// The story: FR changes its CSIRT contact while serving (poc set in
// another process); its next round announces the new card and EE and DE
// pin it, audited as peer-add card=updated; a round with nothing new sends
// nothing, and a repeated announcement changes nothing. Then what a peer
// refuses, each audited: FR's older card replayed, DE announcing FR's card,
// a card of FR's identity signed by a stranger's key, and a card that
// would switch FR's key without a rotation announced. Last, a change made
// while FR is stopped reaches the peers when it starts again.
func TestCardAnnounced(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{Federation: noCosignLoop(), Clock: clk}, "fr", "ee", "de")
	fr := fed.Node("fr")
	refusals := func(by string) []audit.Entry {
		var out []audit.Entry
		for _, e := range entriesOf(t, fed, by, audit.KindRefuse) {
			if strings.HasPrefix(e.Reason, "card refused") {
				out = append(out, e)
			}
		}
		return out
	}

	// A round before any change: the peers hold FR's content already.
	if err := fr.Fed.AnnounceCard(ctx); err != nil {
		t.Fatalf("first announcement: %v", err)
	}
	if n := len(entriesOf(t, fed, "ee", audit.KindPeerAdd)); n != 0 {
		t.Fatalf("EE logged %d peer-add entries for an unchanged card", n)
	}
	first := pinnedCard(t, fed, "ee", "fr")

	// poc set, from another process.
	clk.Advance(time.Minute)
	desk := card.Contact{Role: "csirt-24x7", Name: "CERT-FR night desk", Email: "night@fr.example", Phone: "+33 1 71 75 84 68"}
	setContactsOnDisk(t, fr, desk)
	if err := fr.Fed.AnnounceCard(ctx); err != nil {
		t.Fatalf("announcing the new card: %v", err)
	}
	for _, by := range []string{"ee", "de"} {
		if cs := pinnedContacts(t, fed, by, "fr"); !reflect.DeepEqual(cs, []card.Contact{desk}) {
			t.Fatalf("%s pins FR's contacts %+v, want the night desk", by, cs)
		}
		es := entriesOf(t, fed, by, audit.KindPeerAdd)
		if len(es) != 1 || es[0].Peer != fed.ID("fr") || es[0].Actor != "cert-fr" || es[0].Detail["card"] != "updated" ||
			es[0].Detail["via"] != "federation" || es[0].Detail["changed"] != "points_of_contact" {
			t.Fatalf("%s's peer-add entries: %+v", by, es)
		}
		// The local name and the pinned key stay.
		p, _ := fed.Node(by).Fed.Registry().Get(ctx, fed.ID("fr"))
		if p.Name != "cert-fr" || len(p.Keys) != 1 || !p.CurrentKey().Equal(fr.Keys[0]) {
			t.Fatalf("%s's pin of FR: %+v", by, p.Peer)
		}
	}
	second := pinnedCard(t, fed, "ee", "fr")

	// Nothing new: a second round logs nothing anywhere; the same card
	// sent again (an answer lost) changes nothing.
	clk.Advance(time.Minute)
	if err := fr.Fed.AnnounceCard(ctx); err != nil {
		t.Fatal(err)
	}
	var out struct {
		IdentityID string `json:"identity_id"`
		Updated    bool   `json:"updated"`
		Issued     string `json:"issued"`
	}
	if st := callRaw(t, fed, "fr", "ee", http.MethodPost, federation.PathCard, "application/json", second, &out); st != http.StatusOK || out.Updated || out.IdentityID != fed.ID("fr") {
		t.Fatalf("the same card again: %d %+v", st, out)
	}
	if n := len(entriesOf(t, fed, "ee", audit.KindPeerAdd)); n != 1 {
		t.Fatalf("EE logged %d peer-add entries, want 1", n)
	}

	// FR's first card replayed: older, and it says something else.
	var werr wireErr
	if st := callRaw(t, fed, "fr", "ee", http.MethodPost, federation.PathCard, "application/json", first, &werr); st != http.StatusConflict ||
		werr.Code != "conflict" || werr.Title != "Older card" {
		t.Fatalf("replayed card: %d %+v", st, werr)
	}
	// DE announces FR's card to EE.
	if st := callRaw(t, fed, "de", "ee", http.MethodPost, federation.PathCard, "application/json", second, &werr); st != http.StatusForbidden ||
		werr.Code != "forbidden" || !strings.Contains(werr.Description, "announces its own card only") {
		t.Fatalf("DE announcing FR's card: %d %+v", st, werr)
	}
	// A card of FR's identity made by a stranger, with its own key.
	if st := callRaw(t, fed, "fr", "ee", http.MethodPost, federation.PathCard, "application/json", forgeCard(t, second), &werr); st != http.StatusBadRequest ||
		werr.Code != "invalid-input" || !strings.Contains(werr.Description, "identity_id") {
		t.Fatalf("forged card: %d %+v", st, werr)
	}
	// A card that switches FR to a new key through a rotation EE was never
	// sent: key changes come as rotations, not in cards.
	clk.Advance(time.Minute)
	if st := callRaw(t, fed, "fr", "ee", http.MethodPost, federation.PathCard, "application/json", rotatedCard(t, fr, clk.Now()), &werr); st != http.StatusForbidden ||
		werr.Title != "Card not signed with your pinned key" {
		t.Fatalf("card with a new key: %d %+v", st, werr)
	}
	// A body that is no card at all.
	if st := callRaw(t, fed, "fr", "ee", http.MethodPost, federation.PathCard, "application/json", []byte(`{"entraide_card":1}`), &werr); st != http.StatusBadRequest {
		t.Fatalf("not a card: %d %+v", st, werr)
	}
	ref := refusals("ee")
	if len(ref) != 5 {
		t.Fatalf("EE's card refusals: %+v", ref)
	}
	for i, who := range []string{"fr", "de", "fr", "fr", "fr"} {
		if ref[i].Peer != fed.ID(who) {
			t.Errorf("refusal %d: peer %s, want %s: %+v", i, ref[i].Peer, who, ref[i])
		}
	}
	if got := pinnedCard(t, fed, "ee", "fr"); string(got) != string(second) {
		t.Fatalf("a refused card changed EE's pin of FR")
	}
	if p, _ := fed.Node("ee").Fed.Registry().Get(ctx, "cert-fr"); len(p.Keys) != 1 {
		t.Fatalf("EE pins %d keys for FR", len(p.Keys))
	}

	// A change made while FR is stopped: announced when it starts (the
	// round runs once at start).
	fed.Stop("fr")
	clk.Advance(time.Minute)
	legal := card.Contact{Role: "le-24x7", Name: "OFAC 24/7", Email: "ofac@fr.example"}
	setContactsOnDisk(t, fr, desk, legal)
	cfg := noCosignLoop()
	cfg.CosignInterval = time.Hour
	var err error
	if fr.Fed, err = federation.New(ctx, fr.Node, cfg); err != nil {
		t.Fatal(err)
	}
	fed.Start("fr")
	for _, by := range []string{"ee", "de"} {
		fed.WaitFor(by+" to pin FR's card with the law-enforcement desk", 10*time.Second, func() bool {
			return hasContact(pinnedContacts(t, fed, by, "fr"), "ofac@fr.example")
		})
	}
	if n := len(refusals("de")); n != 0 {
		t.Fatalf("DE refused %d of FR's cards", n)
	}
}

func pinnedCard(t *testing.T, fed *fedtest.Federation, by, of string) []byte {
	t.Helper()
	p, err := fed.Node(by).Fed.Registry().Get(context.Background(), "cert-"+of)
	if err != nil {
		t.Fatal(err)
	}
	return p.Card.Raw
}

// forgeCard returns a card with FR's identity and a stranger's signing key,
// correctly signed by that key: only its identity gives it away.
func forgeCard(t *testing.T, raw []byte) []byte {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["signing_key"] = base64.RawURLEncoding.EncodeToString(pub)
	m["issued"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	delete(m, "signature")
	unsigned, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stix.Canonicalize(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	m["signature"] = base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, msg))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rotatedCard returns a valid card of n signed with a new key, carrying
// the rotation from n's key to it (never announced to the peers).
func rotatedCard(t *testing.T, n *fedtest.Node, at time.Time) []byte {
	t.Helper()
	_, next, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := card.NewRotation(n.Signer, next, n.Identity.IdentityID, at)
	if err != nil {
		t.Fatal(err)
	}
	rot, err := card.ParseRotation(rb, n.Signer.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := card.Parse(pinnedOwn(t, n))
	if err != nil {
		t.Fatal(err)
	}
	c := *cur
	c.SigningKey, c.Rotations, c.Issued, c.Raw = nil, []*card.Rotation{rot}, at.UTC().Truncate(time.Second), nil
	b, err := c.Sign(next)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pinnedOwn(t *testing.T, n *fedtest.Node) []byte {
	t.Helper()
	c, err := n.Fed.OwnCard()
	if err != nil {
		t.Fatal(err)
	}
	return c.Raw
}
