// Package peer owns the node's partners: pinning a partner from its signed
// card, accepting its key rotations, and answering the two questions every
// exchange asks — "which peer is at the other end of this TLS connection?"
// (BySPKI, PeerFromConn) and "which keys may this signer sign with?"
// (SigningKeys, the provenance.KeyResolver of the receive path).
//
// There is no certificate authority in the federation. A peer is pinned by
// two keys read from its card, which the two organisations confirmed by
// reading the card's fingerprint to each other: its Ed25519 signing key
// (objects, cards, rotations) and the SHA-256 of its federation TLS key
// (mutual TLS, see ServerTLS and ClientTLS). Peering is mutual: a
// connection succeeds only when each side has pinned the other.
//
// The Registry keeps the peers in the store (store.Peer and its keys) and a
// snapshot of them in memory for the hot paths (a TLS handshake, a signature
// check). Changes made through the Registry replace the snapshot at once;
// changes made by another process (the CLI while `serve` runs) are seen
// within RefreshEvery.
package peer

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
)

// RefreshEvery bounds how stale the in-memory snapshot of the peers may be
// when another process changed them.
const RefreshEvery = 5 * time.Second

// Errors of Add, Check and ApplyRotation, tested with errors.Is. Each comes
// wrapped in a sentence that says what to do.
var (
	ErrInvalidCard = errors.New("invalid card")           // the card does not parse or verify (wraps card's error)
	ErrOwnCard     = errors.New("this node's own card")   // a node does not peer with itself
	ErrNameTaken   = errors.New("name taken")             // another peer has this name
	ErrTLSKeyTaken = errors.New("TLS key pinned")         // another peer has this TLS key
	ErrKeyMismatch = errors.New("signing key not pinned") // a card of a pinned identity without a rotation from the pinned key
	ErrStaleCard   = errors.New("older card")             // older than the card pinned, or signed by a retired key
	ErrBadRotation = errors.New("rotation refused")       // a rotation that does not start from the pinned key, or does not verify
	ErrNotFound    = store.ErrNotFound                    // no such peer
)

// Self is this node as the registry knows it: the signing keys of its own
// identity (oldest first), so that SigningKeys answers for the node's own
// objects too.
type Self struct {
	IdentityID string
	Keys       []ed25519.PublicKey
}

// Peer is a pinned peer: its store row and its parsed card.
type Peer struct {
	store.Peer
	Card *card.Card // the card as received, parsed (nil only if the stored card no longer parses)
}

// Fingerprint is the fingerprint of the peer's pinned card.
func (p Peer) Fingerprint() string {
	if p.Card == nil {
		return ""
	}
	return p.Card.Fingerprint()
}

// Registry is the node's set of pinned peers. It is safe for concurrent use.
type Registry struct {
	st  store.Store
	clk clock.Clock

	loadMu sync.Mutex // one reload at a time
	mu     sync.RWMutex
	self   Self
	snap   *snapshot // nil: load on next use
	gen    uint64    // incremented by Invalidate
}

type snapshot struct {
	loaded time.Time
	byID   map[string]Peer
	bySPKI map[string]Peer
	byName map[string]Peer
}

// NewRegistry returns the registry of the peers kept in st; self is this
// node. clk dates what the registry writes and ages its snapshot.
func NewRegistry(st store.Store, self Self, clk clock.Clock) *Registry {
	if clk == nil {
		clk = clock.System{}
	}
	return &Registry{st: st, clk: clk, self: cloneSelf(self)}
}

func cloneSelf(s Self) Self {
	return Self{IdentityID: s.IdentityID, Keys: slices.Clone(s.Keys)}
}

// SetSelf changes this node's keys (after `entraide key rotate`).
func (r *Registry) SetSelf(s Self) {
	r.mu.Lock()
	r.self = cloneSelf(s)
	r.mu.Unlock()
}

// Invalidate drops the in-memory snapshot: the next lookup reads the store.
func (r *Registry) Invalidate() {
	r.mu.Lock()
	r.snap = nil
	r.gen++
	r.mu.Unlock()
}

// Reload reads the peers from the store now.
func (r *Registry) Reload(ctx context.Context) error {
	r.Invalidate()
	_, err := r.snapshot(ctx)
	return err
}

// snapshot returns a snapshot no older than RefreshEvery, loading one if
// needed. When a reload fails it returns the previous snapshot if there is
// one (a store hiccup must not unpin every peer), else the error.
func (r *Registry) snapshot(ctx context.Context) (*snapshot, error) {
	fresh := func(s *snapshot) bool { return s != nil && r.clk.Now().Sub(s.loaded) < RefreshEvery }
	r.mu.RLock()
	s := r.snap
	r.mu.RUnlock()
	if fresh(s) {
		return s, nil
	}
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.mu.RLock()
	s, gen := r.snap, r.gen
	r.mu.RUnlock()
	if fresh(s) {
		return s, nil
	}
	ps, err := r.st.Peers(ctx)
	if err != nil {
		if s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("reading the peers: %w", err)
	}
	ns := &snapshot{loaded: r.clk.Now(), byID: map[string]Peer{}, bySPKI: map[string]Peer{}, byName: map[string]Peer{}}
	for _, sp := range ps {
		p := withCard(sp)
		ns.byID[p.IdentityID] = p
		ns.bySPKI[p.TLSSPKI] = p
		ns.byName[p.Name] = p
	}
	r.mu.Lock()
	if r.gen == gen { // not invalidated meanwhile
		r.snap = ns
	}
	r.mu.Unlock()
	return ns, nil
}

func withCard(sp store.Peer) Peer {
	p := Peer{Peer: sp}
	if c, err := card.Parse(sp.Card); err == nil {
		p.Card = c
	}
	return p
}

// lookupCtx bounds the store reads of lookups that have no context of their
// own (a TLS handshake, a signature check).
func lookupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// ByIdentity returns the peer with this identity id.
func (r *Registry) ByIdentity(id string) (Peer, bool) {
	ctx, cancel := lookupCtx()
	defer cancel()
	s, err := r.snapshot(ctx)
	if err != nil {
		return Peer{}, false
	}
	p, ok := s.byID[id]
	return p, ok
}

// ByName returns the peer with this name, from the in-memory snapshot (no
// older than RefreshEvery): the hot paths that name peers (a workflow sent
// to thirty of them) look them up here, and fall back to Get, which reads
// the store, for a name the snapshot does not know.
func (r *Registry) ByName(name string) (Peer, bool) {
	ctx, cancel := lookupCtx()
	defer cancel()
	s, err := r.snapshot(ctx)
	if err != nil {
		return Peer{}, false
	}
	p, ok := s.byName[name]
	return p, ok
}

// BySPKI returns the peer whose pinned federation TLS key has this SHA-256
// (lowercase hex, card.SPKIHash), for the mutual-TLS check.
func (r *Registry) BySPKI(spkiHex string) (Peer, bool) {
	ctx, cancel := lookupCtx()
	defer cancel()
	s, err := r.snapshot(ctx)
	if err != nil {
		return Peer{}, false
	}
	p, ok := s.bySPKI[spkiHex]
	return p, ok
}

// PeerFromConn returns the peer at the other end of a mutual-TLS connection
// (the owner of the certificate it presented), if it is pinned.
func (r *Registry) PeerFromConn(cs *tls.ConnectionState) (Peer, bool) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return Peer{}, false
	}
	return r.BySPKI(card.SPKIHash(cs.PeerCertificates[0]))
}

// SigningKeys implements provenance.KeyResolver: every key signer (this node
// or a pinned peer) ever signed with, oldest first; none for anyone else.
// An error means the store could not be read (retry; it says nothing about
// the object).
func (r *Registry) SigningKeys(signer string) ([]ed25519.PublicKey, error) {
	r.mu.RLock()
	self := r.self
	r.mu.RUnlock()
	if signer != "" && signer == self.IdentityID {
		return self.Keys, nil
	}
	ctx, cancel := lookupCtx()
	defer cancel()
	s, err := r.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	p, ok := s.byID[signer]
	if !ok {
		return nil, nil
	}
	return p.PublicKeys(), nil
}

// Get returns a peer by name or identity id, read from the store. The error
// of an unknown peer wraps ErrNotFound and lists the peers there are.
func (r *Registry) Get(ctx context.Context, nameOrID string) (Peer, error) {
	sp, err := r.st.Peer(ctx, nameOrID)
	if errors.Is(err, store.ErrNotFound) {
		return Peer{}, r.notFound(ctx, nameOrID)
	}
	if err != nil {
		return Peer{}, err
	}
	return withCard(sp), nil
}

func (r *Registry) notFound(ctx context.Context, nameOrID string) error {
	ps, err := r.st.Peers(ctx)
	if err != nil {
		return fmt.Errorf("no peer %q: %w", nameOrID, ErrNotFound)
	}
	if len(ps) == 0 {
		return fmt.Errorf("no peer %q (this node has no peers yet; add one with `entraide peer add`): %w", nameOrID, ErrNotFound)
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return fmt.Errorf("no peer %q (peers: %s): %w", nameOrID, strings.Join(names, ", "), ErrNotFound)
}

// List returns every peer, ordered by name.
func (r *Registry) List(ctx context.Context) ([]Peer, error) {
	sps, err := r.st.Peers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Peer, len(sps))
	for i, sp := range sps {
		out[i] = withCard(sp)
	}
	return out, nil
}

// Remove unpins a peer: its connections are refused from now on (in this
// process at once, in others within RefreshEvery) and its queued deliveries
// fail. It returns the peer as it was.
func (r *Registry) Remove(ctx context.Context, nameOrID string) (Peer, error) {
	p, err := r.Get(ctx, nameOrID)
	if err != nil {
		return p, err
	}
	if err := r.st.RemovePeer(ctx, p.IdentityID); err != nil {
		return p, err
	}
	r.Invalidate()
	return p, nil
}

// Add pins the peer whose card is cardBytes, under the name on the card. See
// AddAs.
func (r *Registry) Add(ctx context.Context, cardBytes []byte, now time.Time) (Peer, error) {
	return r.AddAs(ctx, cardBytes, "", now)
}

// AddAs pins the peer whose card is cardBytes under name ("" for the name on
// the card), after Check. Adding the card of a pinned peer again updates it
// (endpoint, TLS key, contacts — all signed by its pinned key, or by a key
// its rotation chain leads to from the pinned one, whose new keys are then
// pinned too); it keeps the peer's local name unless name is given.
func (r *Registry) AddAs(ctx context.Context, cardBytes []byte, name string, now time.Time) (Peer, error) {
	plan, err := r.check(ctx, cardBytes, name)
	if err != nil {
		return Peer{}, err
	}
	c := plan.card
	sp := store.Peer{
		IdentityID: c.IdentityID, Name: plan.name, Organisation: c.Organisation, Country: c.Country,
		Endpoint: c.FederationEndpoint, TLSSPKI: c.TLSSPKISHA256, Card: c.Raw, Added: now,
	}
	if plan.existing != nil {
		sp.Added, sp.LastContact, sp.LastError, sp.LastErrorAt = plan.existing.Added, plan.existing.LastContact, plan.existing.LastError, plan.existing.LastErrorAt
	}
	for _, k := range c.Keys() {
		sp.Keys = append(sp.Keys, store.PeerKey{Key: k, Added: now})
	}
	if err := r.st.PutPeer(ctx, sp); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Peer{}, fmt.Errorf("pinning %s: %w (another peer was added meanwhile)", plan.name, err)
		}
		return Peer{}, err
	}
	r.Invalidate()
	return r.Get(ctx, c.IdentityID)
}

// Check runs every check of AddAs without pinning anything, and returns the
// parsed card: callers show it to the operator before asking for the
// fingerprint confirmation.
func (r *Registry) Check(ctx context.Context, cardBytes []byte, name string) (*card.Card, error) {
	plan, err := r.check(ctx, cardBytes, name)
	if err != nil {
		return nil, err
	}
	return plan.card, nil
}

type addPlan struct {
	card     *card.Card
	name     string
	existing *store.Peer // the pinned row of this identity, if any
}

func (r *Registry) check(ctx context.Context, cardBytes []byte, name string) (*addPlan, error) {
	c, err := card.Parse(cardBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCard, err)
	}
	r.mu.RLock()
	selfID := r.self.IdentityID
	r.mu.RUnlock()
	if c.IdentityID == selfID {
		return nil, fmt.Errorf("%w: the card of %s is this node's own card; give your partner's card", ErrOwnCard, c.Name)
	}
	plan := &addPlan{card: c, name: name}
	ex, err := r.st.Peer(ctx, c.IdentityID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if ex.IdentityID != c.IdentityID { // the card's identity id is the name of another peer: impossible, names are not ids
			return nil, fmt.Errorf("%w: peer %s is named %s", ErrNameTaken, ex.IdentityID, c.IdentityID)
		}
		plan.existing = &ex
		if plan.name == "" {
			plan.name = ex.Name
		}
		if err := checkKeys(c, ex); err != nil {
			return nil, err
		}
	}
	if plan.name == "" {
		plan.name = c.Name
	}
	if err := card.ValidName(plan.name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(plan.name, "identity--") {
		return nil, fmt.Errorf("peer name %q: a name cannot look like an identity id", plan.name)
	}
	ps, err := r.st.Peers(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.IdentityID == c.IdentityID {
			continue
		}
		if p.Name == plan.name {
			return nil, fmt.Errorf("%w: a peer named %s is pinned already (%s, %s, %s); choose another name with --name",
				ErrNameTaken, plan.name, p.Organisation, p.Country, p.IdentityID)
		}
		if p.TLSSPKI == c.TLSSPKISHA256 {
			return nil, fmt.Errorf("%w: peer %s (%s) has the same federation TLS key as this card: two nodes cannot share one",
				ErrTLSKeyTaken, p.Name, p.IdentityID)
		}
	}
	return plan, nil
}

// checkKeys accepts a new card of a pinned peer only if it is signed by the
// pinned key (and not older than the pinned card) or carries a rotation
// chain that leads from the pinned key to the card's key.
func checkKeys(c *card.Card, ex store.Peer) error {
	pinned := ex.CurrentKey()
	if c.SigningKey.Equal(pinned) {
		if old, err := card.Parse(ex.Card); err == nil && c.Issued.Before(old.Issued) {
			return fmt.Errorf("%w: this card of %s was issued %s, before the pinned one (%s); nothing changed",
				ErrStaleCard, ex.Name, c.Issued.Format(time.RFC3339), old.Issued.Format(time.RFC3339))
		}
		return nil
	}
	keys := c.Keys()
	at := slices.IndexFunc(keys, func(k ed25519.PublicKey) bool { return k.Equal(pinned) })
	if at >= 0 && at < len(keys)-1 {
		return nil // the chain leads on from the pinned key
	}
	for _, k := range ex.Keys {
		if c.SigningKey.Equal(k.Key) {
			return fmt.Errorf("%w: this card of %s is signed with a key the peer has since rotated away from", ErrStaleCard, ex.Name)
		}
	}
	return fmt.Errorf("%w: %s (%s) is pinned with another signing key, and this card carries no rotation from it; "+
		"if the partner really replaced its keys, confirm the new fingerprint with them, remove the peer and add it again",
		ErrKeyMismatch, ex.Name, ex.IdentityID)
}

// ApplyRotation accepts a key rotation of a peer (name or identity id): the
// statement must start from the peer's pinned (newest) key and carry both
// signatures (card.ParseRotation). The new key is pinned; the old keys stay,
// for objects signed before. Applying a rotation already applied changes
// nothing. The federation calls it when a rotation arrives over the wire;
// `entraide peer rotate` when one arrives by hand.
func (r *Registry) ApplyRotation(ctx context.Context, nameOrID string, rotation []byte) (Peer, error) {
	p, err := r.Get(ctx, nameOrID)
	if err != nil {
		return p, err
	}
	rot, err := card.ParseRotation(rotation, p.CurrentKey())
	if err != nil {
		if errors.Is(err, card.ErrNotPinned) {
			for _, k := range p.Keys {
				if old, e := card.ParseRotation(rotation, k.Key); e == nil && old.IdentityID == p.IdentityID &&
					slices.ContainsFunc(p.Keys, func(pk store.PeerKey) bool { return pk.Key.Equal(old.NewKey) }) {
					return p, nil // applied already
				}
			}
		}
		return p, fmt.Errorf("%w for %s: %w", ErrBadRotation, p.Name, err)
	}
	if rot.IdentityID != p.IdentityID {
		return p, fmt.Errorf("%w for %s: the rotation is of %s, not of %s", ErrBadRotation, p.Name, rot.IdentityID, p.IdentityID)
	}
	if err := r.st.AddPeerKey(ctx, p.IdentityID, rot.NewKey, r.clk.Now()); err != nil {
		return p, err
	}
	r.Invalidate()
	return r.Get(ctx, p.IdentityID)
}
