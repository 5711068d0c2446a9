// Package store keeps a node's data: STIX objects with all their versions, the
// collections they were added to (and when), TAXII status resources, and local
// users with their tokens and collection permissions.
//
// One interface, two engines behind it: embedded SQLite (the default, one file
// under the node's data directory) and PostgreSQL (production, and several
// server replicas sharing one database). Both run the same SQL (one dialect,
// $N placeholders, a small Dialect struct for the few differences) and both must
// pass the same conformance suite in storetest; an engine is done when the
// suite passes.
package store

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// Errors have kinds that callers test with errors.Is; the TAXII layer maps them
// onto HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid")
)

// Store is the node's storage. All methods are safe for concurrent use, from
// several goroutines and, on PostgreSQL, from several processes (replicas); on
// SQLite, from several processes on one host (serve and import together).
// Write transactions are serialised across all of them (readers are not
// blocked), which is what makes the guarantees below hold between replicas.
type Store interface {
	// CreateCollection adds a collection. ErrConflict if the id or the alias
	// exists; ErrInvalid if the id is not a UUID or the title is empty.
	CreateCollection(ctx context.Context, c Collection) error
	// Collection returns one collection or ErrNotFound.
	Collection(ctx context.Context, id string) (Collection, error)
	// Collections lists all collections ordered by id.
	Collections(ctx context.Context) ([]Collection, error)

	// AddObjects adds a batch of validated objects (from stix.Parse) to a
	// collection, all stamped with one date_added (now, from the store's clock,
	// microsecond precision, never earlier than a date_added already given in
	// that collection).
	//
	// It is atomic: either every outcome in the returned slice holds, or an
	// error is returned and nothing was written. It is idempotent on (id,
	// version): a version already present with the same Digest is reported as
	// Duplicate (and added to this collection if it was not in it yet, without
	// changing its first date_added there); a version present with another
	// Digest is reported Conflict and not written; a version newer than a
	// revoked version of the same object is reported Conflict (revoked is
	// final, in every collection: revocation is a property of the object).
	// A version older than the latest one is Added but does not become the
	// latest. An unversioned object (Version() == "") is identified by (id,
	// Digest): the first time its content is stored it gets, as its version,
	// the date_added of that first storage (two contents of one id first
	// stored in the same batch therefore share a version string, yet remain
	// two versions). Outcomes are in input order. ErrNotFound if the
	// collection does not exist; ErrInvalid for an object not from stix.Parse.
	AddObjects(ctx context.Context, collection string, objs []*stix.Object) ([]AddResult, error)

	// ListObjects returns the entries of a collection that match q, ordered by
	// (date_added, insertion order) ascending. The page holds at most q.Limit
	// entries; Page.Next is an opaque cursor to pass back as q.Next for the
	// following page, "" when there is no more. Paging is stable: following
	// Next from the first page visits every matching entry that existed when
	// the first page was read exactly once, even when thousands share one
	// date_added, and costs the same whatever the page's depth (no offsets).
	// Entries added meanwhile come after all of them; an entry that stops
	// matching meanwhile (a latest version superseded by a newer one, which
	// then comes at the end) is not returned. A cursor that does not decode,
	// or that was made by a listing of another collection or with other
	// filters (only Limit may change between pages), is ErrInvalid, as are a
	// negative Limit and a match[version] that is neither last, first, all
	// nor a timestamp. ErrNotFound if the collection does not exist. When
	// withRaw is false Entry.Raw is nil (the manifest endpoint needs only the
	// metadata). ListObjects never decrypts: a sealed version comes with
	// Sealed set, Raw nil and (withRaw) its Ciphertext.
	ListObjects(ctx context.Context, collection string, q Query, withRaw bool) (Page, error)

	// DeleteObject removes from a collection the versions of object id that
	// q.Versions and q.SpecVersions select (all versions by default) and
	// returns how many entries it removed. Removing an object from a
	// collection does not remove it from other collections. The node keeps
	// knowing the versions it removed (adding one again is a Duplicate, and
	// a removed revoked version still makes later versions Conflict).
	// ErrNotFound if the collection does not exist or no version matched.
	DeleteObject(ctx context.Context, collection, id string, q Query) (int, error)

	// PutStatus stores a TAXII status resource (insert or replace by ID).
	PutStatus(ctx context.Context, s Status) error
	// Status returns one status resource or ErrNotFound.
	Status(ctx context.Context, id string) (Status, error)

	// PutUser creates or replaces a user (by Name), with its permissions.
	// Replacing keeps the user's tokens and first creation time.
	PutUser(ctx context.Context, u User) error
	// User returns a user by name or ErrNotFound.
	User(ctx context.Context, name string) (User, error)
	// Users lists all users ordered by name.
	Users(ctx context.Context) ([]User, error)
	// AddToken records a bearer token for a user; only the token's SHA-256
	// is stored. ErrNotFound if the user does not exist; ErrConflict if the
	// hash exists.
	AddToken(ctx context.Context, t Token) error
	// TokenUser returns the user owning the token whose SHA-256 is hash, or
	// ErrNotFound. Revoked tokens, tokens past their expiry (by the store's
	// clock; a token expires at its Expires instant) and tokens of a disabled
	// user are not found.
	TokenUser(ctx context.Context, hash [32]byte) (User, error)
	// RevokeToken revokes a token by its ID. ErrNotFound if none.
	RevokeToken(ctx context.Context, id string) error
	// Tokens lists a user's tokens (without hashes' secrets; hashes are
	// not secret but are not needed either).
	Tokens(ctx context.Context, user string) ([]Token, error)

	// Close releases the engine's resources.
	Close() error

	// ---- Federation: peers, communities, provenance, outbox (federation.go) ----

	// PutPeer pins a peer or replaces its row (by IdentityID), keeping its
	// first Added time. The keys in p.Keys that the peer does not have yet
	// are added after its existing ones, in order; keys are never removed
	// (Peer.Keys is every key the peer ever had). ErrConflict if another
	// peer has the same Name or TLSSPKI; ErrInvalid if IdentityID, Name,
	// TLSSPKI or Card is empty, or a key is not 32 bytes.
	PutPeer(ctx context.Context, p Peer) error
	// Peer returns a peer by name or identity id (an identity id match wins),
	// or ErrNotFound.
	Peer(ctx context.Context, nameOrID string) (Peer, error)
	// Peers lists every peer ordered by name, with their keys.
	Peers(ctx context.Context) ([]Peer, error)
	// RemovePeer unpins a peer (by name or identity id) and forgets its keys.
	// Its pending outbox rows become final failures ("peer removed"); its
	// community memberships stay (they are by identity id, and take effect
	// again if the peer is pinned again). ErrNotFound if there is no such peer.
	RemovePeer(ctx context.Context, nameOrID string) error
	// AddPeerKey appends a signing key to a peer's keys (after a rotation). It
	// is idempotent: a key the peer already has is not added twice.
	// ErrNotFound if the peer (name or identity id) does not exist.
	AddPeerKey(ctx context.Context, nameOrID string, key ed25519.PublicKey, at time.Time) error
	// RecordContact records an exchange with a peer at a time: errMsg ""
	// is a success (LastContact = at, LastError cleared), anything else a
	// failure (LastError = errMsg, LastErrorAt = at; LastContact kept).
	// ErrNotFound if the peer does not exist.
	RecordContact(ctx context.Context, nameOrID string, at time.Time, errMsg string) error

	// PutCommunity creates a community or updates one (by Name): MaxTLP,
	// Types and Members are replaced. Creating it also creates, in the same
	// transaction, its TAXII collection (alias = Name, a new UUID) and
	// returns the community as stored, with Collection and Created set.
	// ErrInvalid if the name is not 1–63 lowercase letters, digits and
	// hyphens or MaxTLP is not a level; ErrConflict when creating a community
	// whose name is already the alias of a collection.
	PutCommunity(ctx context.Context, c Community) (Community, error)
	// Community returns a community with its members, or ErrNotFound.
	Community(ctx context.Context, name string) (Community, error)
	// Communities lists every community ordered by name, with their members.
	Communities(ctx context.Context) ([]Community, error)
	// DeleteCommunity removes a community and its memberships. Its
	// collection and the objects in it stay (collections are never deleted)
	// but lose the alias, so that the name can be used again. ErrNotFound if
	// there is no such community.
	DeleteCommunity(ctx context.Context, name string) error
	// SetCommunityMembers replaces a community's members (node identity ids).
	// ErrNotFound if the community does not exist.
	SetCommunityMembers(ctx context.Context, name string, members []string) error

	// AddObjectsWith is AddObjects with what sharing and receiving need, in
	// ONE transaction: the objects are added to collection (whose outcomes
	// are returned) and to every collection of opt.AlsoCollections; the
	// provenance of each object version is recorded (opt.Provenance, parallel
	// to objs: a zero Provenance records nothing for that object; the first
	// provenance recorded for a version is kept forever, later ones are
	// ignored, duplicates within the batch included — except that a later
	// one of the same Origin (the originator sharing the version again)
	// widens the recorded Distribution to the union of both); and outbox rows are
	// written for the items of opt.Outbox whose object's outcome is Added or
	// Duplicate (a duplicate shared again is sent again), in item order, seq
	// strictly increasing. With opt.Sealer, every version the batch stores
	// for the first time whose TLP marking (stix.Object.TLP) is RED is
	// written sealed; a version stored before keeps the form it has. Either
	// all of it is written or nothing is.
	// ErrInvalid if Provenance is neither nil nor as long as objs, or an
	// outbox item has no peer or an ObjectIndex out of range; ErrNotFound if
	// a collection does not exist. AddObjects(ctx, c, objs) is
	// AddObjectsWith(ctx, c, objs, AddOptions{}).
	AddObjectsWith(ctx context.Context, collection string, objs []*stix.Object, opt AddOptions) ([]AddResult, error)
	// PendingOutbox returns at most limit (≤ 0: 1000) rows of peer's outbox
	// that are pending (neither delivered nor finally failed) and due
	// (NextAttempt <= now), ordered by seq, with the object's exact bytes
	// (or, for a sealed version, Sealed and its Ciphertext).
	// A row waiting for a retry does not hold back later rows: delivery is
	// idempotent on the receiving side, and STIX versions order themselves.
	PendingOutbox(ctx context.Context, peer string, now time.Time, limit int) ([]OutboxRow, error)
	// MarkDelivered records that rows were delivered at a time. It is
	// idempotent: a row already delivered keeps its first delivery time;
	// unknown seqs are ignored.
	MarkDelivered(ctx context.Context, seqs []int64, at time.Time) error
	// MarkFailed records a failed attempt of one row: Attempts is
	// incremented and LastError set; with a non-zero retryAt the row stays
	// pending and is due again at retryAt, with a zero retryAt the failure is
	// final (FailedAt = at) and the row is no longer pending. A delivered
	// row is left as it is. ErrNotFound if there is no row seq.
	MarkFailed(ctx context.Context, seq int64, at time.Time, msg string, retryAt time.Time) error
	// OutboxStats returns, per peer identity id, the state of its queue.
	OutboxStats(ctx context.Context) (map[string]QueueStats, error)
	// Provenance returns the recorded provenance of object versions, by
	// reference; versions without a recorded provenance (or not stored) are
	// absent from the map. For an unversioned object, Version is the version
	// the store assigned (AddResult.Version).
	Provenance(ctx context.Context, refs []ObjectRef) (map[ObjectRef]Provenance, error)
	// SharingLog returns what was queued for peers from since on (outbox
	// rows created at or after since), for the transparency report: only
	// peer's rows when peer is not "", ordered by seq, at most limit
	// (≤ 0: 1000) rows.
	SharingLog(ctx context.Context, since time.Time, peer string, limit int) ([]ShareRecord, error)

	SessionStore // the web console's sessions (sessions.go)
}

// Collection is a TAXII collection.
type Collection struct {
	ID          string // a UUID, as TAXII requires
	Title       string
	Description string
	Alias       string   // optional, unique when set
	MediaTypes  []string // defaults to the STIX 2.1 media type
	Created     time.Time
}

// AddOutcome says what AddObjects did with one object.
type AddOutcome int

const (
	Added     AddOutcome = iota + 1 // a new version was stored
	Duplicate                       // that version was already stored with the same content
	Conflict                        // that version exists with other content, or the object was revoked
)

func (o AddOutcome) String() string {
	switch o {
	case Added:
		return "added"
	case Duplicate:
		return "duplicate"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// AddResult is the outcome for one object of an AddObjects batch.
type AddResult struct {
	ID        string
	Version   string // the version as stored (assigned for unversioned objects)
	Outcome   AddOutcome
	Message   string    // why, for Conflict
	DateAdded time.Time // date_added in this collection
}

// Query selects entries of a collection. The zero value selects the latest
// version of every object. It mirrors TAXII's filters.
type Query struct {
	AddedAfter   time.Time // exclusive; zero means no bound
	IDs          []string  // match[id]: any of
	Types        []string  // match[type]: any of
	Versions     []string  // match[version]: "last", "first", "all", or timestamps; empty means "last"
	SpecVersions []string  // match[spec_version]: any of; empty means the latest spec version of each object version
	Limit        int       // at most this many entries (the caller bounds it); 0 means the store's default of 1000
	Next         string    // cursor from a previous Page
}

// Entry is one object version in one collection.
type Entry struct {
	ID          string
	Type        string
	SpecVersion string
	Version     string // as the object spells it (or as assigned, for unversioned objects)
	DateAdded   time.Time
	MediaType   string // "application/stix+json;version=2.1"
	Raw         []byte // the object's exact JSON, nil when not requested or Sealed
	// Sealed says the version is stored sealed (a TLP:RED object; see
	// Sealer). It is set in every listing, with or without bodies, so that
	// a filter knows an entry is RED without opening it. Raw is then nil;
	// when bodies were requested Ciphertext holds the sealed bytes, which
	// only OpenEntry (with the node's Sealer) turns back into the object.
	Sealed     bool
	Ciphertext []byte
}

// Page is one page of a listing.
type Page struct {
	Entries []Entry
	Next    string // "" when this is the last page
}

// Status is a TAXII status resource.
type Status struct {
	ID               string
	Owner            string // the user who made the request; only they (and admins) may read it
	Status           string // "pending" or "complete"
	RequestTimestamp time.Time
	Successes        []StatusDetail
	Failures         []StatusDetail
	Pendings         []StatusDetail
	TotalCount       int
}

// StatusDetail is one object's line in a status resource.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// User is a local user of the node.
type User struct {
	Name         string
	PasswordHash string                // argon2id, PHC string format; "" means no password login
	Admin        bool                  // may read and write every collection and manage the node
	Permissions  map[string]Permission // by collection id
	Created      time.Time
	Disabled     bool
}

// Permission is what a user may do with one collection.
type Permission struct {
	Read  bool
	Write bool
}

// Token is a bearer token of a user. The secret itself is never stored.
type Token struct {
	ID      string
	User    string
	Hash    [32]byte
	Label   string
	Created time.Time
	Expires time.Time // zero means no expiry
	Revoked bool
}
