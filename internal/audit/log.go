package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/clock"
)

// Config is what a Log needs.
type Config struct {
	Name string             // the node's name: the log's origin and the note key name
	Key  ed25519.PrivateKey // the node's current signing key: it signs every new checkpoint
	// PastKeys are the signing keys the node had before rotating to Key
	// (node.Node.Keys; Key's public half among them is ignored). The
	// checkpoints signed before a rotation carry one of them: Verify
	// accepts a checkpoint signed by Key or by one of these, and no other.
	PastKeys []ed25519.PublicKey
	Storage  Storage
	Clock    clock.Clock // stamps entries and checkpoints; the system clock if nil
}

// Log is a node's audit log. Safe for concurrent use.
type Log struct {
	name     string
	signer   note.Signer
	verifier note.Verifier
	// known verifies our stored checkpoints: verifier, then one per past key.
	known []note.Verifier
	st    Storage
	clk   clock.Clock
}

// New returns the log kept in cfg.Storage.
func New(cfg Config) (*Log, error) {
	if cfg.Storage == nil {
		return nil, fmt.Errorf("%w: audit log without storage", ErrInvalid)
	}
	s, v, err := NewSigner(cfg.Name, cfg.Key)
	if err != nil {
		return nil, err
	}
	known := []note.Verifier{v}
	seen := []ed25519.PublicKey{cfg.Key.Public().(ed25519.PublicKey)}
	for i, k := range cfg.PastKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: past key %d: Ed25519 public key of %d bytes", ErrInvalid, i+1, len(k))
		}
		// The same key twice would make its key hash ambiguous to
		// note.Open, which then refuses every note signed with it.
		if slices.ContainsFunc(seen, func(s ed25519.PublicKey) bool { return s.Equal(k) }) {
			continue
		}
		pv, err := NewVerifier(cfg.Name, k)
		if err != nil {
			return nil, err
		}
		seen = append(seen, k)
		known = append(known, pv)
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.System{}
	}
	return &Log{name: cfg.Name, signer: s, verifier: v, known: known, st: cfg.Storage, clk: clk}, nil
}

// Name returns the node's name, the log's origin.
func (l *Log) Name() string { return l.name }

// Verifier returns the verifier of the log's checkpoints and of this node's
// cosignatures, to give to partners: the current key's (checkpoints signed
// before a key rotation carry a past key; see Config.PastKeys).
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Append adds entries to the log, atomically: either all are appended, with
// consecutive Seq in input order and one Time (the clock's, never earlier
// than the last entry's), or an error is returned and none is. It returns
// the assigned Seq. The input's Seq and Time are ignored.
//
// Its cost does not grow with the log: it reads O(log n) stored hashes (the
// right edge of the tree, in one query) and writes each entry with about two
// hashes; callers with many events append them in batches.
func (l *Log) Append(ctx context.Context, entries []Entry) ([]int64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	build, err := l.Prepare(entries)
	if err != nil {
		return nil, err
	}
	var first int64
	err = l.st.AppendAudit(ctx, func(tip Tip, r tlog.HashReader) ([]Entry, []tlog.Hash, error) {
		first = tip.Size
		return build(tip, r)
	})
	if err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	seqs := make([]int64, len(entries))
	for i := range seqs {
		seqs[i] = first + int64(i)
	}
	return seqs, nil
}

// Prepare checks entries and returns the build function that appends them,
// as Storage.AppendAudit calls it (Seq and Time assigned as Append does),
// for a storage transaction that writes them with what they record: the
// store appends the entries of a received or shared batch in the
// transaction that stores its objects (store.AddOptions.Audit). The build
// function may be called more than once (a retried transaction); each call
// starts afresh from the tip it is given.
func (l *Log) Prepare(entries []Entry) (func(Tip, tlog.HashReader) ([]Entry, []tlog.Hash, error), error) {
	in := make([]Entry, len(entries))
	for i := range entries {
		if err := entries[i].validate(); err != nil {
			return nil, fmt.Errorf("audit: entry %d: %w", i, err)
		}
		in[i] = entries[i]
		if len(in[i].Detail) == 0 {
			in[i].Detail = nil
		}
	}
	return func(tip Tip, r tlog.HashReader) ([]Entry, []tlog.Hash, error) {
		if len(in) == 0 {
			return nil, nil, nil
		}
		es := slices.Clone(in)
		now := l.clk.Now().UTC().Truncate(time.Microsecond)
		if now.Before(tip.Time) {
			now = tip.Time
		}
		edge, err := newEdgeReader(tip.Size, r)
		if err != nil {
			return nil, nil, err
		}
		var leaf []byte
		for i := range es {
			es[i].Seq = tip.Size + int64(i)
			es[i].Time = now
			leaf = es[i].appendLeaf(leaf[:0])
			hs, err := tlog.StoredHashesForRecordHash(es[i].Seq, tlog.RecordHash(leaf), edge)
			if err != nil {
				return nil, nil, err
			}
			edge.add(hs)
		}
		return es, edge.added, nil
	}, nil
}

// edgeReader serves tlog the hashes an append needs: the roots of the
// complete subtrees of the tree of size n (its right edge, read once) and
// the hashes the append computed since.
type edgeReader struct {
	base  int64 // tlog.StoredHashCount(n): the index of added[0]
	old   map[int64]tlog.Hash
	r     tlog.HashReader
	added []tlog.Hash
}

func newEdgeReader(n int64, r tlog.HashReader) (*edgeReader, error) {
	e := &edgeReader{base: tlog.StoredHashCount(n), old: map[int64]tlog.Hash{}, r: r}
	idx := rightEdge(n)
	if len(idx) > 0 {
		hs, err := r.ReadHashes(idx)
		if err != nil {
			return nil, err
		}
		for i, x := range idx {
			e.old[x] = hs[i]
		}
	}
	return e, nil
}

// rightEdge returns the stored-hash indexes of the roots of the maximal
// complete subtrees of a tree of size n, left to right: the only old hashes
// that appending to it needs.
func rightEdge(n int64) []int64 {
	var idx []int64
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	return idx
}

func (e *edgeReader) add(hs []tlog.Hash) { e.added = append(e.added, hs...) }

func (e *edgeReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	for i, x := range indexes {
		if x >= e.base {
			if x-e.base >= int64(len(e.added)) {
				return nil, fmt.Errorf("audit: hash %d not computed yet", x)
			}
			out[i] = e.added[x-e.base]
			continue
		}
		h, ok := e.old[x]
		if !ok {
			miss = append(miss, x)
			continue
		}
		out[i] = h
	}
	if len(miss) == 0 {
		return out, nil
	}
	// Not reached with the right edge preloaded; kept so that a mistake
	// costs a query rather than a wrong hash.
	hs, err := e.r.ReadHashes(miss)
	if err != nil {
		return nil, err
	}
	for i, x := range miss {
		e.old[x] = hs[i]
	}
	for i, x := range indexes {
		if x < e.base {
			out[i] = e.old[x]
		}
	}
	return out, nil
}

// Query selects entries for Entries.
type Query struct {
	From  int64     // the first Seq
	Since time.Time // entries from this time on; zero for no bound
	Limit int       // at most this many; 0 means 1000, and at most 10000
}

// Entries lists the log's entries that q selects, in Seq order. To page,
// pass the last Seq + 1 as the next From. Entries are the stored rows: only
// Verify proves they were not altered.
func (l *Log) Entries(ctx context.Context, q Query) ([]Entry, error) {
	if q.From < 0 || q.Limit < 0 {
		return nil, fmt.Errorf("audit: entries: %w: negative from or limit", ErrInvalid)
	}
	if q.Limit == 0 {
		q.Limit = 1000
	}
	q.Limit = min(q.Limit, 10000)
	es, err := l.st.AuditEntries(ctx, q.From, q.Since, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: entries: %w", err)
	}
	return es, nil
}

// Size returns the number of entries appended.
func (l *Log) Size(ctx context.Context) (int64, error) {
	tip, err := l.st.AuditTip(ctx)
	return tip.Size, err
}

// storedHashes reads committed stored hashes for tlog's functions.
func (l *Log) storedHashes(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return l.st.ReadAuditHashes(ctx, idx)
	})
}

// Checkpoint signs and stores a checkpoint of the log as it is now, and
// returns the signed note (see FormatCheckpoint). It refuses (ErrTampered) to
// sign a tree that is not consistent with the latest checkpoint it signed
// before, so that a node whose stored hashes were altered does not sign a
// fork itself. An empty log has no checkpoint (ErrInvalid).
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	tip, err := l.st.AuditTip(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if tip.Size == 0 {
		return nil, fmt.Errorf("audit: checkpoint: %w: the log is empty", ErrInvalid)
	}
	r := l.storedHashes(ctx)
	root, err := tlog.TreeHash(tip.Size, r)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	cps, err := l.st.AuditCheckpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if len(cps) > 0 {
		last := cps[len(cps)-1]
		if last.Size == tip.Size && last.Root == root {
			return last.Note, nil
		}
		if err := l.consistent(r, last, tip.Size, root); err != nil {
			return nil, fmt.Errorf("audit: checkpoint: %w", err)
		}
	}
	text := FormatCheckpoint(l.name, tlog.Tree{N: tip.Size, Hash: root})
	signed, err := note.Sign(&note.Note{Text: string(text)}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	c := StoredCheckpoint{Size: tip.Size, Root: root, Note: signed, Time: l.clk.Now().UTC().Truncate(time.Microsecond)}
	if err := l.st.AddAuditCheckpoint(ctx, c); err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	return signed, nil
}

// consistent checks that the tree (n, root) read through r extends the
// checkpoint c.
func (l *Log) consistent(r tlog.HashReader, c StoredCheckpoint, n int64, root tlog.Hash) error {
	if c.Size > n {
		return fmt.Errorf("%w: the log has %d entries, fewer than the %d of the checkpoint signed %s",
			ErrTampered, n, c.Size, c.Time.Format(time.RFC3339))
	}
	p, err := tlog.ProveTree(n, c.Size, r)
	if err == nil {
		err = tlog.CheckTree(p, n, root, c.Size, c.Root)
	}
	if err != nil {
		return fmt.Errorf("%w: the tree of size %d is not consistent with the checkpoint of size %d signed %s: %v",
			ErrTampered, n, c.Size, c.Time.Format(time.RFC3339), err)
	}
	return nil
}

// ConsistencyProof proves that the log's tree of size oldSize is a prefix of
// its tree of size newSize (0 < oldSize ≤ newSize ≤ the log's size), from
// the stored hashes.
func (l *Log) ConsistencyProof(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error) {
	tip, err := l.st.AuditTip(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: proof: %w", err)
	}
	if oldSize < 1 || oldSize > newSize || newSize > tip.Size {
		return nil, fmt.Errorf("audit: proof: %w: sizes %d → %d in a log of %d", ErrInvalid, oldSize, newSize, tip.Size)
	}
	p, err := tlog.ProveTree(newSize, oldSize, l.storedHashes(ctx))
	if err != nil {
		return nil, fmt.Errorf("audit: proof: %w", err)
	}
	return p, nil
}

// LatestCheckpoint returns our latest signed checkpoint, ErrNotFound if none.
func (l *Log) LatestCheckpoint(ctx context.Context) (StoredCheckpoint, error) {
	cps, err := l.st.AuditCheckpoints(ctx)
	if err != nil {
		return StoredCheckpoint{}, fmt.Errorf("audit: %w", err)
	}
	if len(cps) == 0 {
		return StoredCheckpoint{}, fmt.Errorf("audit: %w: no checkpoint yet", ErrNotFound)
	}
	return cps[len(cps)-1], nil
}
