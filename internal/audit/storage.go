package audit

import (
	"context"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors have kinds that callers test with errors.Is.
var (
	// ErrInvalid: input refused (an unknown kind, a malformed checkpoint or
	// request, a bad signature).
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no such entry, hash or checkpoint.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a write lost a race or contradicts what is stored.
	ErrConflict = errors.New("conflict")
	// ErrTampered: Verify found the stored log inconsistent with itself or
	// with its signed checkpoints; the Report says where.
	ErrTampered = errors.New("audit log tampered with")
	// ErrForkDetected: a peer presented a checkpoint inconsistent with one
	// of its checkpoints that we cosigned before: it rewrote its history.
	ErrForkDetected = errors.New("fork detected: the peer's log is inconsistent with a checkpoint we cosigned")
)

// Tip is the state of the log that an append starts from.
type Tip struct {
	Size int64     // the number of entries, which is the next Seq
	Time time.Time // the Time of the last entry (the zero time's Unix epoch when empty)
}

// StoredCheckpoint is one checkpoint this node signed of its own log.
type StoredCheckpoint struct {
	Size int64
	Root tlog.Hash
	Note []byte // the signed note, exactly as signed
	Time time.Time
}

// Cosignature is a peer's cosignature of one of our checkpoints.
type Cosignature struct {
	Peer string // the peer's name, which is its note key name
	Size int64
	Root tlog.Hash
	Note []byte // the checkpoint text with the peer's signature, exactly as received
	Time time.Time
}

// PeerCheckpoint is a checkpoint of a peer's log that this node cosigned.
type PeerCheckpoint struct {
	Peer        string
	Size        int64
	Root        tlog.Hash
	Checkpoint  []byte // the peer's signed note, exactly as received
	Cosignature []byte // our cosignature: the same text with our signature
	Time        time.Time
}

// LatestSize asks AuditPeerCheckpoint for the peer's largest cosigned checkpoint.
const LatestSize = -1

// Storage keeps a log. The store package implements it for SQLite and
// PostgreSQL; storetest checks this contract on both.
//
// All methods are safe for concurrent use, by goroutines and, as the store
// allows, by processes sharing the database. Writes are serialised with
// every other write to the database. Errors wrap ErrNotFound, ErrConflict or
// ErrInvalid where the contract names them.
type Storage interface {
	// AppendAudit appends entries in one write transaction. Inside it, it
	// calls build once with the log's tip and a reader of the stored hashes
	// (valid only during the call), and writes what build returns: entries
	// whose Seq are tip.Size, tip.Size+1, … in order, and the stored hashes
	// that follow the existing ones, from index tlog.StoredHashCount(tip.Size)
	// to tlog.StoredHashCount(tip.Size+len(entries)) excluded. The new tip is
	// (tip.Size+len(entries), Time of the last entry). It is atomic: if build
	// fails, if its result breaks these rules (ErrInvalid) or if the write
	// fails, nothing is written and the tip is unchanged. (A COMMIT whose
	// answer was lost to a cancelled context is checked afterwards, once
	// the transaction has ended in the database, and reported as what
	// happened, so that a caller does not append twice.)
	// Appends never go
	// back: the tip's size only grows, and an entry's Seq is never reused,
	// whatever is done to the entry rows afterwards (the tip is kept apart
	// from them). Time and Detail round-trip exactly (Time to the
	// microsecond, Detail through EncodeDetail).
	AppendAudit(ctx context.Context, build func(tip Tip, hashes tlog.HashReader) ([]Entry, []tlog.Hash, error)) error

	// AuditTip returns the tip as of the last committed append.
	AuditTip(ctx context.Context) (Tip, error)

	// AuditEntries returns at most limit entries (limit > 0) with Seq ≥ from
	// and, unless since is zero, from the first entry whose Time ≥ since
	// onwards (times never decrease along the log), in Seq order. It returns
	// whatever rows are stored, even if they were altered or some are
	// missing: Verify reads through it.
	AuditEntries(ctx context.Context, from int64, since time.Time, limit int) ([]Entry, error)

	// ReadAuditHashes returns the stored hashes at the given indexes, in the
	// order asked; ErrNotFound if one is not stored.
	ReadAuditHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)

	// AddAuditCheckpoint stores a checkpoint of our log. Storing the same
	// checkpoint again is a no-op; another one of the same size is
	// ErrConflict.
	AddAuditCheckpoint(ctx context.Context, c StoredCheckpoint) error
	// AuditCheckpoints lists our checkpoints by increasing size.
	AuditCheckpoints(ctx context.Context) ([]StoredCheckpoint, error)

	// AddAuditCosignature stores a peer's cosignature of one of our
	// checkpoints; storing one again for the same (peer, size) replaces it.
	AddAuditCosignature(ctx context.Context, c Cosignature) error
	// AuditCosignatures lists the cosignatures held, by size then peer.
	AuditCosignatures(ctx context.Context) ([]Cosignature, error)

	// AddAuditPeerCheckpoint stores a peer checkpoint that we cosigned, provided
	// the largest size stored for that peer is still prevSize (0 when none
	// was; a compare-and-set, so that two concurrent cosignings of one peer
	// cannot both extend the same old checkpoint), else ErrConflict. It is
	// also ErrConflict if (peer, size) is stored.
	AddAuditPeerCheckpoint(ctx context.Context, c PeerCheckpoint, prevSize int64) error
	// AuditPeerCheckpoint returns the cosigned checkpoint of peer with that size,
	// or with the largest size for LatestSize; ErrNotFound if none.
	AuditPeerCheckpoint(ctx context.Context, peer string, size int64) (PeerCheckpoint, error)
}
