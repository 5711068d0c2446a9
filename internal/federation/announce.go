package federation

// Cards announced over the wire. A node's card changes when its points of
// contact change (`entraide poc set`, `poc remove`, `card export --poc`),
// and when its federation certificate or its keys do; without this, peers
// would learn of it only from a card sent by hand and added again. The
// running node sends its signed card to each pinned peer whose copy it has
// not seen confirmed with the current content: at start and at every
// cosign round (CosignOnce), so a `poc set` made by another process while
// `serve` runs reaches the peers by the next round, and one made while it
// was stopped when it starts.
//
//	POST /entraide/card   (application/json, the signed card)
//	     → 200 {"identity_id":"identity--…","updated":true|false,"issued":"…"}
//
// The card is rebuilt for each announcement from the node's settings as
// they are on disk (the contacts: node.json is rewritten by the CLI) and
// the keys and certificate this process holds, issued now, signed with the
// current key. The sender remembers, per peer, the digest of the content
// (card.ContentDigest: everything but issued and signature) the peer
// confirmed, and sends again only when it changes.
//
// A peer accepts a card only from the node it is about: the caller
// authenticated by mutual TLS must be the card's identity; the card must
// be signed with exactly the key pinned for it (a key change arrives as a
// rotation, never in a card), and be strictly newer (issued) than the card
// pinned, unless it says the same (then nothing changes: an announcement
// repeated after a lost answer is harmless). Anything else is refused with
// the reason, and the refusal audited; an accepted card replaces the
// pinned one through the registry (peer.Registry.AddAs: the local name and
// pinned keys stay), and is audited as peer-add with card=updated.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/store"
)

// PathCard is the endpoint a peer announces its card to.
const PathCard = "/entraide/card"

// cardResponse is the answer to a card announcement.
type cardResponse struct {
	IdentityID string `json:"identity_id"`
	Updated    bool   `json:"updated"` // false: the card pinned says the same
	Issued     string `json:"issued"`  // issued of the card pinned now
}

// serveCard accepts a newer card of the caller.
func (f *Federation) serveCard(r *http.Request, p peer.Peer) (any, error) {
	ctx := r.Context()
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	refuse := func(status int, code, title, desc string) error {
		f.appendAudit(ctx, audit.Entry{Kind: audit.KindRefuse, Actor: p.Name, Peer: p.IdentityID,
			Reason: "card refused: " + truncate(title+": "+desc, 1000), Detail: map[string]string{"via": "federation"}})
		return apiErr(status, code, title, desc)
	}
	c, err := card.Parse(body)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, codeInvalid, "Invalid card", err.Error())
	}
	if c.IdentityID != p.IdentityID {
		return nil, refuse(http.StatusForbidden, codeForbidden, "Not your card",
			fmt.Sprintf("you are %s (%s) and this card is of %s (%s): a node announces its own card only",
				p.Name, p.IdentityID, truncate(c.Name, 64), c.IdentityID))
	}
	// The registry as stored now, not as the connection found it: a card
	// must not pin a peer removed meanwhile, nor pass a key rotated since.
	cur, err := f.reg.Get(ctx, p.IdentityID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr(http.StatusForbidden, codeForbidden, "Unknown peer", "you are no longer pinned here")
	}
	if err != nil {
		return nil, err
	}
	if pinned := cur.CurrentKey(); !c.SigningKey.Equal(pinned) {
		if slices.ContainsFunc(cur.Keys, func(k store.PeerKey) bool { return k.Key.Equal(c.SigningKey) }) {
			return nil, refuse(http.StatusConflict, codeConflict, "Card signed with a retired key",
				"this card is signed with a key you have since rotated away from; sign it with your current key")
		}
		return nil, refuse(http.StatusForbidden, codeForbidden, "Card not signed with your pinned key",
			"this node pins another signing key for you; a new key reaches peers as a rotation ('entraide key rotate' while serving), "+
				"never in a card — if your keys were replaced, your partners must remove you and add your new card after checking its fingerprint")
	}
	old := cur.Card
	if old != nil {
		same, err := sameContent(old, c)
		if err != nil {
			return nil, err
		}
		if same {
			return cardResponse{IdentityID: cur.IdentityID, Updated: false, Issued: timeText(old.Issued)}, nil
		}
		if !c.Issued.After(old.Issued) {
			return nil, refuse(http.StatusConflict, codeConflict, "Older card",
				fmt.Sprintf("this card was issued %s and the card pinned here %s: only a newer card replaces it (an old card replayed?)",
					timeText(c.Issued), timeText(old.Issued)))
		}
	}
	np, err := f.reg.AddAs(ctx, body, "", f.clk.Now())
	switch {
	case errors.Is(err, peer.ErrTLSKeyTaken), errors.Is(err, peer.ErrNameTaken), errors.Is(err, peer.ErrStaleCard):
		return nil, refuse(http.StatusConflict, codeConflict, "Card refused", err.Error())
	case errors.Is(err, peer.ErrInvalidCard), errors.Is(err, peer.ErrOwnCard):
		return nil, refuse(http.StatusBadRequest, codeInvalid, "Card refused", err.Error())
	case errors.Is(err, peer.ErrKeyMismatch):
		return nil, refuse(http.StatusForbidden, codeForbidden, "Card refused", err.Error())
	case err != nil:
		return nil, err
	}
	detail := map[string]string{"card": "updated", "via": "federation", "issued": timeText(c.Issued), "fingerprint": np.Fingerprint()}
	if old != nil {
		if ch, err := card.Changed(old, c); err == nil {
			detail["changed"] = strings.Join(ch, ",")
		}
	}
	f.log.Info("peer announced a new card", "peer", np.Name, "identity", np.IdentityID, "changed", detail["changed"])
	f.appendAudit(ctx, audit.Entry{Kind: audit.KindPeerAdd, Actor: np.Name, Peer: np.IdentityID, Detail: detail})
	return cardResponse{IdentityID: np.IdentityID, Updated: true, Issued: timeText(c.Issued)}, nil
}

func sameContent(a, b *card.Card) (bool, error) {
	da, err := a.ContentDigest()
	if err != nil {
		return false, err
	}
	db, err := b.ContentDigest()
	return da == db, err
}

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// OwnCard builds and signs this node's card as peers are sent it: the
// points of contact as node.json holds them now (the CLI may have changed
// them since the node was opened), the rest — name, organisation, country,
// endpoint, keys and rotations — as this process holds it, the federation
// certificate it serves with, issued now (to the millisecond, so that two
// cards made in one second are still ordered).
func (f *Federation) OwnCard() (*card.Card, error) {
	id := f.n.Identity
	disk, err := node.ReadIdentity(f.n.Dir)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading the node's points of contact: %w", err)
	case disk.IdentityID != id.IdentityID:
		return nil, fmt.Errorf("%s now holds the settings of another node (%s, not %s): restart the node", f.n.Dir, disk.IdentityID, id.IdentityID)
	case len(disk.Contacts) > 0:
		id.Contacts = disk.Contacts
	}
	if len(id.Contacts) == 0 {
		return nil, errors.New("the node has no point of contact, and a card needs one: set one with 'entraide poc set'")
	}
	if f.cert.Leaf == nil {
		return nil, errors.New("the federation certificate was not parsed")
	}
	c := &card.Card{
		Name: id.Name, Organisation: id.Org, Country: id.Country, IdentityID: id.IdentityID,
		FederationEndpoint: id.FedEndpoint, TLSSPKISHA256: card.SPKIHash(f.cert.Leaf), TLSCertificate: f.cert.Leaf.Raw,
		PointsOfContact: id.Contacts, Issued: f.clk.Now().UTC().Truncate(time.Millisecond), Rotations: f.n.Rotations,
	}
	if _, err := c.Sign(f.n.Signer); err != nil {
		return nil, err
	}
	return c, nil
}

// AnnounceCard sends this node's card to every pinned peer that has not
// confirmed its current content (CosignOnce does it too, for each peer).
func (f *Federation) AnnounceCard(ctx context.Context) error {
	peers, err := f.reg.List(ctx)
	if err != nil {
		return err
	}
	return forPeers(peers, func(p peer.Peer) error { return f.announceCardTo(ctx, p) })
}

// announceCardTo sends p our card if p has not confirmed its content yet.
func (f *Federation) announceCardTo(ctx context.Context, p peer.Peer) error {
	c, err := f.OwnCard()
	if err != nil {
		return fmt.Errorf("announcing our card to %s: %w", p.Name, err)
	}
	digest, err := c.ContentDigest()
	if err != nil {
		return err
	}
	s := &f.cosign
	s.mu.Lock()
	done := s.cards[p.IdentityID] == digest
	s.mu.Unlock()
	if done {
		return nil
	}
	var out cardResponse
	err = f.call(ctx, p, http.MethodPost, PathCard, c.Raw, &out)
	var re *RemoteError
	switch {
	case errors.As(err, &re) && re.Status == http.StatusNotFound && re.Code == codeNotFound:
		// A peer running an older version: it takes cards by hand only.
		f.log.Info("peer does not take card announcements (an older version): send it the card by hand", "peer", p.Name)
	case err != nil:
		return fmt.Errorf("announcing our card to %s: %w", p.Name, err)
	case out.Updated:
		f.log.Info("peer pinned our new card", "peer", p.Name, "issued", out.Issued)
	}
	s.mu.Lock()
	if s.cards == nil {
		s.cards = map[string]string{}
	}
	s.cards[p.IdentityID] = digest
	s.mu.Unlock()
	return nil
}
