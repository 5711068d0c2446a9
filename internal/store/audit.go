package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
)

// The engines keep the audit log (migration 0003): see audit.Storage for the
// contract, which storetest checks.
var _ audit.Storage = (*sqlStore)(nil)

// AuditStorage returns the audit log storage of a store that Open returned.
func AuditStorage(s Store) (audit.Storage, error) {
	if w, ok := s.(sealingStore); ok {
		s = w.Store
	}
	as, ok := s.(audit.Storage)
	if !ok {
		return nil, fmt.Errorf("store: %w: %T keeps no audit log", ErrInvalid, s)
	}
	return as, nil
}

// auditErr returns an error of both kinds: the store's and the audit package's.
func auditErr(kind, akind error, format string, args ...any) error {
	return fmt.Errorf("store: audit: %w (%w): %s", kind, akind, fmt.Sprintf(format, args...))
}

var auditEntryColumns = []string{"seq", "time", "kind", "actor", "peer", "object_id", "object_version",
	"community", "tlp", "reason", "detail"}

const auditEntrySelect = `SELECT seq, time, kind, actor, peer, object_id, object_version, community, tlp, reason, detail
	FROM audit_entries `

// AppendAudit implements audit.Storage.
func (s *sqlStore) AppendAudit(ctx context.Context, build func(audit.Tip, tlog.HashReader) ([]audit.Entry, []tlog.Hash, error)) error {
	// committing holds what the transaction wrote once it has all been
	// written: an error after that is COMMIT's, whose outcome the driver
	// may not know. An error before it rolls the transaction back.
	var committing []audit.Entry
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		committing, err = s.appendAuditTx(ctx, tx, build)
		return err
	})
	if err != nil && len(committing) > 0 && ctx.Err() != nil && s.auditCommitted(context.WithoutCancel(ctx), committing) {
		// The context was cancelled while COMMIT was under way and the
		// driver gave up waiting for its answer, but the database did
		// commit: say so, or the caller would append the entries again.
		return nil
	}
	return err
}

// appendAuditTx is AppendAudit's work in the write transaction tx (also
// AddObjectsWith's, for AddOptions.Audit): it returns the entries written.
func (s *sqlStore) appendAuditTx(ctx context.Context, tx *sql.Tx, build func(audit.Tip, tlog.HashReader) ([]audit.Entry, []tlog.Hash, error)) ([]audit.Entry, error) {
	// Every statement of an append is prepared once on the write
	// connection: appends are small and frequent, and parsing would be
	// a good part of their cost.
	q := func(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
		st, err := s.writeStmt(ctx, query)
		if err != nil {
			return nil, err
		}
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	tip, err := auditTip(ctx, q)
	if err != nil {
		return nil, err
	}
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.readAuditHashes(ctx, q, idx) })
	es, hs, err := build(tip, r)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		if len(hs) != 0 {
			return nil, auditErr(ErrInvalid, audit.ErrInvalid, "%d hashes for no entry", len(hs))
		}
		return nil, nil
	}
	size := tip.Size + int64(len(es))
	base := tlog.StoredHashCount(tip.Size)
	if want := tlog.StoredHashCount(size) - base; int64(len(hs)) != want {
		return nil, auditErr(ErrInvalid, audit.ErrInvalid, "%d hashes for %d entries after %d, want %d", len(hs), len(es), tip.Size, want)
	}
	last := tip.Time
	rows := make([][]any, len(es))
	for i := range es {
		e := &es[i]
		if e.Seq != tip.Size+int64(i) {
			return nil, auditErr(ErrInvalid, audit.ErrInvalid, "entry %d has seq %d, want %d", i, e.Seq, tip.Size+int64(i))
		}
		if e.Time.Before(last) {
			return nil, auditErr(ErrInvalid, audit.ErrInvalid, "entry %d is dated %v, before the entry before it (%v)", e.Seq, e.Time, last)
		}
		last = e.Time
		rows[i] = []any{e.Seq, e.Time.UnixMicro(), string(e.Kind), e.Actor, e.Peer, e.ObjectID, e.ObjectVersion,
			e.Community, e.TLP, e.Reason, audit.EncodeDetail(e.Detail)}
	}
	if err := s.auditInsert(ctx, tx, "audit_entries", auditEntryColumns, rows); err != nil {
		return nil, fmt.Errorf("store: audit: insert entries: %w", err)
	}
	hrows := make([][]any, len(hs))
	for i := range hs {
		hrows[i] = []any{base + int64(i), hs[i][:]}
	}
	if err := s.auditInsert(ctx, tx, "audit_hashes", []string{"idx", "hash"}, hrows); err != nil {
		return nil, fmt.Errorf("store: audit: insert hashes: %w", err)
	}
	st, err := s.writeStmt(ctx, `UPDATE counters SET value = CASE name WHEN 'audit_size' THEN CAST($1 AS BIGINT) ELSE CAST($2 AS BIGINT) END
		WHERE name IN ('audit_size', 'audit_time')`)
	if err != nil {
		return nil, err
	}
	if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, size, last.UnixMicro()); err != nil {
		return nil, err
	}
	return es, nil
}

// auditCommitDeadline bounds how long auditCommitted waits for the fate of
// an append whose answer was lost.
const auditCommitDeadline = time.Minute

// auditCommitted reports whether entries, as an append built them, are in
// the log: its first and last, with their Seq, are stored as built.
//
// The append's transaction may still be running on the server when its
// client gave up: PostgreSQL goes on with a COMMIT it received after the
// driver stopped waiting (and aborts an open transaction only when it
// notices the connection is gone). A plain read could come before that and
// answer "not committed" for entries committed a moment later. So the read
// is a write transaction: the engine's write lock (WriteLock, or SQLite's
// immediate transaction) is held by that transaction until it commits or
// aborts, and taking it waits for the outcome.
func (s *sqlStore) auditCommitted(ctx context.Context, built []audit.Entry) bool {
	ctx, cancel := context.WithTimeout(ctx, auditCommitDeadline)
	defer cancel()
	first, last := built[0], built[len(built)-1]
	var es []audit.Entry
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		es, err = auditEntries(ctx, tx.QueryContext, first.Seq, time.Time{}, len(built))
		return err
	})
	if err != nil || len(es) != len(built) || es[0].Seq != first.Seq || es[len(es)-1].Seq != last.Seq {
		return false
	}
	return string(es[0].Leaf()) == string(first.Leaf()) && string(es[len(es)-1].Leaf()) == string(last.Leaf())
}

// auditSmall is the most rows auditInsert writes with one prepared INSERT.
const auditSmall = 32

// auditInsert inserts rows like insertRows, but a few rows (the usual append
// of one entry and its hashes) go through an INSERT prepared once on the
// write connection: a COPY costs PostgreSQL round trips that a few rows do
// not repay, and SQLite would otherwise parse the statement every time.
func (s *sqlStore) auditInsert(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 || len(rows) > auditSmall {
		return s.insertRows(ctx, tx, table, cols, rows)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*len(cols))
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			if s.d.anonParams {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(len(args)+j+1))
			}
		}
		b.WriteByte(')')
		args = append(args, r...)
	}
	st, err := s.writeStmt(ctx, b.String())
	if err != nil {
		return err
	}
	_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	return err
}

// auditQuery runs a query: on the pool, or prepared in the write transaction.
type auditQuery func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

func auditTip(ctx context.Context, q auditQuery) (audit.Tip, error) {
	rows, err := q(ctx, `SELECT name, value FROM counters WHERE name IN ('audit_size', 'audit_time')`)
	if err != nil {
		return audit.Tip{}, fmt.Errorf("store: audit tip: %w", err)
	}
	defer rows.Close()
	var tip audit.Tip
	n := 0
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return audit.Tip{}, err
		}
		n++
		if name == "audit_size" {
			tip.Size = v
		} else {
			tip.Time = time.UnixMicro(v).UTC()
		}
	}
	if err := rows.Err(); err != nil {
		return audit.Tip{}, err
	}
	if n != 2 {
		return audit.Tip{}, fmt.Errorf("store: audit tip: the audit counters are missing")
	}
	return tip, nil
}

// AuditTip implements audit.Storage.
func (s *sqlStore) AuditTip(ctx context.Context) (audit.Tip, error) {
	return auditTip(ctx, s.db.QueryContext)
}

// AuditEntries implements audit.Storage.
func (s *sqlStore) AuditEntries(ctx context.Context, from int64, since time.Time, limit int) ([]audit.Entry, error) {
	return auditEntries(ctx, s.db.QueryContext, from, since, limit)
}

func auditEntries(ctx context.Context, q auditQuery, from int64, since time.Time, limit int) ([]audit.Entry, error) {
	if limit <= 0 {
		return nil, auditErr(ErrInvalid, audit.ErrInvalid, "limit %d", limit)
	}
	var (
		rows *sql.Rows
		err  error
	)
	if since.IsZero() {
		rows, err = q(ctx, auditEntrySelect+`WHERE seq >= $1 ORDER BY seq LIMIT $2`, from, limit)
	} else {
		// Times never decrease along seq: since starts at the first entry
		// dated since or later, found on the time index.
		rows, err = q(ctx, auditEntrySelect+`WHERE seq >= $1 AND seq >= (
			SELECT seq FROM audit_entries WHERE time >= $3 ORDER BY time, seq LIMIT 1)
			ORDER BY seq LIMIT $2`, from, limit, since.UnixMicro())
	}
	if err != nil {
		return nil, fmt.Errorf("store: audit entries: %w", err)
	}
	defer rows.Close()
	var es []audit.Entry
	for rows.Next() {
		var (
			e      audit.Entry
			us     int64
			kind   string
			detail string
		)
		if err := rows.Scan(&e.Seq, &us, &kind, &e.Actor, &e.Peer, &e.ObjectID, &e.ObjectVersion,
			&e.Community, &e.TLP, &e.Reason, &detail); err != nil {
			return nil, fmt.Errorf("store: audit entries: %w", err)
		}
		e.Time = time.UnixMicro(us).UTC()
		e.Kind = audit.Kind(kind)
		if e.Detail, err = audit.DecodeDetail(detail); err != nil {
			// Altered beyond decoding: return it under the empty key, which
			// no appended entry has, so that Verify names this entry.
			e.Detail = map[string]string{"": detail}
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit entries: %w", err)
	}
	return es, nil
}

// ReadAuditHashes implements audit.Storage.
func (s *sqlStore) ReadAuditHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return s.readAuditHashes(ctx, s.db.QueryContext, indexes)
}

func (s *sqlStore) readAuditHashes(ctx context.Context, q auditQuery, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	contiguous := true
	for i := 1; i < len(indexes); i++ {
		if indexes[i] != indexes[i-1]+1 {
			contiguous = false
			break
		}
	}
	var (
		rows *sql.Rows
		err  error
	)
	if contiguous {
		rows, err = q(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx >= $1 AND idx <= $2`,
			indexes[0], indexes[len(indexes)-1])
	} else {
		rows, err = q(ctx, `SELECT idx, hash FROM audit_hashes WHERE `+s.d.inList("idx", "$1"),
			s.d.listArg(indexes))
	}
	if err != nil {
		return nil, fmt.Errorf("store: audit hashes: %w", err)
	}
	defer rows.Close()
	got := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var (
			x int64
			b []byte
			h tlog.Hash
		)
		if err := rows.Scan(&x, &b); err != nil {
			return nil, fmt.Errorf("store: audit hashes: %w", err)
		}
		copy(h[:], b) // a value of another length was altered: it will not match
		got[x] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := got[x]
		if !ok {
			return nil, auditErr(ErrNotFound, audit.ErrNotFound, "stored hash %d", x)
		}
		out[i] = h
	}
	return out, nil
}

// AddAuditCheckpoint implements audit.Storage.
func (s *sqlStore) AddAuditCheckpoint(ctx context.Context, c audit.StoredCheckpoint) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var note []byte
		err := tx.QueryRowContext(ctx, `SELECT note FROM audit_checkpoints WHERE size = $1`, c.Size).Scan(&note)
		switch {
		case err == nil && string(note) == string(c.Note):
			return nil
		case err == nil:
			return auditErr(ErrConflict, audit.ErrConflict, "another checkpoint of size %d is stored", c.Size)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, root, note, created) VALUES ($1, $2, $3, $4)`,
			c.Size, c.Root[:], c.Note, c.Time.UnixMicro())
		return err
	})
}

// AuditCheckpoints implements audit.Storage.
func (s *sqlStore) AuditCheckpoints(ctx context.Context) ([]audit.StoredCheckpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT size, root, note, created FROM audit_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("store: audit checkpoints: %w", err)
	}
	defer rows.Close()
	var cs []audit.StoredCheckpoint
	for rows.Next() {
		var (
			c    audit.StoredCheckpoint
			root []byte
			us   int64
		)
		if err := rows.Scan(&c.Size, &root, &c.Note, &us); err != nil {
			return nil, fmt.Errorf("store: audit checkpoints: %w", err)
		}
		copy(c.Root[:], root)
		c.Time = time.UnixMicro(us).UTC()
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// AddAuditCosignature implements audit.Storage.
func (s *sqlStore) AddAuditCosignature(ctx context.Context, c audit.Cosignature) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_cosignatures (peer, size, root, note, received) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (peer, size) DO UPDATE SET root = excluded.root, note = excluded.note, received = excluded.received`,
			c.Peer, c.Size, c.Root[:], c.Note, c.Time.UnixMicro())
		return err
	})
}

// AuditCosignatures implements audit.Storage.
func (s *sqlStore) AuditCosignatures(ctx context.Context) ([]audit.Cosignature, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT peer, size, root, note, received FROM audit_cosignatures ORDER BY size, peer`)
	if err != nil {
		return nil, fmt.Errorf("store: audit cosignatures: %w", err)
	}
	defer rows.Close()
	var cs []audit.Cosignature
	for rows.Next() {
		var (
			c    audit.Cosignature
			root []byte
			us   int64
		)
		if err := rows.Scan(&c.Peer, &c.Size, &root, &c.Note, &us); err != nil {
			return nil, fmt.Errorf("store: audit cosignatures: %w", err)
		}
		copy(c.Root[:], root)
		c.Time = time.UnixMicro(us).UTC()
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// AddAuditPeerCheckpoint implements audit.Storage.
func (s *sqlStore) AddAuditPeerCheckpoint(ctx context.Context, c audit.PeerCheckpoint, prevSize int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var latest int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(size), 0) FROM audit_peer_checkpoints WHERE peer = $1`,
			c.Peer).Scan(&latest); err != nil {
			return err
		}
		if latest != prevSize {
			return auditErr(ErrConflict, audit.ErrConflict, "%s's latest cosigned size is %d, not %d", c.Peer, latest, prevSize)
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM audit_peer_checkpoints WHERE peer = $1 AND size = $2`, c.Peer, c.Size).Scan(&one)
		if err == nil {
			return auditErr(ErrConflict, audit.ErrConflict, "%s's checkpoint of size %d is stored", c.Peer, c.Size)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_peer_checkpoints (peer, size, root, checkpoint, cosignature, created)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.Peer, c.Size, c.Root[:], c.Checkpoint, c.Cosignature, c.Time.UnixMicro())
		return err
	})
}

// AuditPeerCheckpoint implements audit.Storage.
func (s *sqlStore) AuditPeerCheckpoint(ctx context.Context, peer string, size int64) (audit.PeerCheckpoint, error) {
	const cols = `SELECT peer, size, root, checkpoint, cosignature, created FROM audit_peer_checkpoints `
	var row *sql.Row
	if size == audit.LatestSize {
		row = s.db.QueryRowContext(ctx, cols+`WHERE peer = $1 ORDER BY size DESC LIMIT 1`, peer)
	} else {
		row = s.db.QueryRowContext(ctx, cols+`WHERE peer = $1 AND size = $2`, peer, size)
	}
	var (
		c    audit.PeerCheckpoint
		root []byte
		us   int64
	)
	err := row.Scan(&c.Peer, &c.Size, &root, &c.Checkpoint, &c.Cosignature, &us)
	if errors.Is(err, sql.ErrNoRows) {
		return c, auditErr(ErrNotFound, audit.ErrNotFound, "no cosigned checkpoint of %s of size %d", peer, size)
	}
	if err != nil {
		return c, fmt.Errorf("store: audit peer checkpoint: %w", err)
	}
	copy(c.Root[:], root)
	c.Time = time.UnixMicro(us).UTC()
	return c, nil
}

// Fork is what the audit log recorded of a peer's log seen forked.
type Fork struct {
	Count int       // fork-detected entries
	Last  time.Time // the latest one
}

// AuditForks returns, per peer name, the forks of its audit log this node
// detected (audit entries of kind fork-detected).
func AuditForks(ctx context.Context, s Store) (map[string]Fork, error) {
	if w, ok := s.(sealingStore); ok {
		s = w.Store
	}
	ss, ok := s.(*sqlStore)
	if !ok {
		return nil, fmt.Errorf("store: %w: %T keeps no audit log", ErrInvalid, s)
	}
	rows, err := ss.db.QueryContext(ctx, `SELECT peer, COUNT(*), MAX(time) FROM audit_entries WHERE kind = $1 GROUP BY peer`, string(audit.KindForkDetected))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Fork{}
	for rows.Next() {
		var (
			peer string
			f    Fork
			last int64
		)
		if err := rows.Scan(&peer, &f.Count, &last); err != nil {
			return nil, err
		}
		f.Last = fromMicro(last)
		out[peer] = f
	}
	return out, rows.Err()
}
