package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/entraide/entraide/internal/stix"
)

// Conflict messages, shown to the sender in TAXII status resources.
const (
	msgVersionExists = "a different object with this id and version already exists"
	msgRevoked       = "object was revoked"
)

// params collects the arguments of a statement and names them $1, $2, …,
// or "?" when anon is set (see Dialect.anonParams).
type params struct {
	vals []any
	anon bool
}

func (p *params) add(v any) string {
	p.vals = append(p.vals, v)
	if p.anon {
		return "?"
	}
	return "$" + strconv.Itoa(len(p.vals))
}

// version is one version of one object as AddObjects sees it: stored before
// the batch, or new in it.
type version struct {
	pk          int64 // 0 until the row is inserted
	id          string
	key         string
	version     string
	typ         string
	specVersion string
	digest      [32]byte
	revoked     bool
	obj         *stix.Object // set for versions new in this batch

	inColl    bool  // has an entry in the batch's collection
	dateAdded int64 // that entry's date_added
}

// objectState is what AddObjects knows of one object id.
type objectState struct {
	versions   map[string]*version   // by version key
	byDigest   map[[32]byte]*version // unversioned contents
	minRevoked string                // lowest key of a revoked version, "" if none

	// Entries of the batch's collection.
	latestKey, firstKey string
	latestObj, firstObj int64 // object pk of those entries, 0 when none
	touched             bool  // the batch adds an entry for this id
}

func specVersionOf(o *stix.Object) string {
	if o.SpecVersion == "" {
		return "2.1"
	}
	return o.SpecVersion
}

// unversionedKey is the version key of an unversioned object first stored at
// date_added da; see migrations/0001_init.sql.
func unversionedKey(da int64, digest [32]byte) (key, ver string) {
	ver = stix.FormatTimestamp(fromMicro(da))
	k, _ := stix.TimestampKey(ver)
	return k + "~" + hex.EncodeToString(digest[:8]), ver
}

func (s *sqlStore) AddObjects(ctx context.Context, collection string, objs []*stix.Object) ([]AddResult, error) {
	return s.AddObjectsWith(ctx, collection, objs, AddOptions{})
}

func (s *sqlStore) AddObjectsWith(ctx context.Context, collection string, objs []*stix.Object, opt AddOptions) ([]AddResult, error) {
	for i, o := range objs {
		if o == nil || o.ID == "" || o.Type == "" || len(o.Raw) == 0 {
			return nil, fmt.Errorf("object %d of the batch: %w: not parsed", i, ErrInvalid)
		}
	}
	if err := opt.check(len(objs)); err != nil {
		return nil, err
	}
	keys := make([]string, len(objs))
	for i, o := range objs {
		if o.Version() == "" {
			continue
		}
		k, err := stix.TimestampKey(o.Version())
		if err != nil {
			return nil, fmt.Errorf("object %s: %w: %v", o.ID, ErrInvalid, err)
		}
		keys[i] = k
	}
	colls := []string{collection}
	for _, c := range opt.AlsoCollections {
		if !slices.Contains(colls, c) {
			colls = append(colls, c)
		}
	}
	var results []AddResult
	err := s.write(ctx, func(tx *sql.Tx) error {
		var vers []*version
		for i, c := range colls {
			res, vs, err := s.addTo(ctx, tx, c, objs, keys, opt.Sealer)
			if err != nil {
				return err
			}
			if i == 0 {
				results, vers = res, vs
			}
		}
		return s.addWith(ctx, tx, objs, results, vers, opt)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// addTo adds a batch to one collection, in the write transaction tx, and
// returns the outcomes and, per input object, its stored version (nil for a
// conflict).
func (s *sqlStore) addTo(ctx context.Context, tx *sql.Tx, collection string, objs []*stix.Object, keys []string, seal Sealer) ([]AddResult, []*version, error) {
	var pk, last int64
	err := tx.QueryRowContext(ctx, `SELECT pk, last_added FROM collections WHERE id = $1`, collection).Scan(&pk, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("collection %q: %w", collection, ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	da := max(s.clk.Now().UnixMicro(), last)
	results, vers, err := s.addBatch(ctx, tx, pk, da, objs, keys, seal)
	if err != nil {
		return nil, nil, err
	}
	if da != last {
		_, err = tx.ExecContext(ctx, `UPDATE collections SET last_added = $1 WHERE pk = $2`, da, pk)
	}
	return results, vers, err
}

func (s *sqlStore) addBatch(ctx context.Context, tx *sql.Tx, coll, da int64, objs []*stix.Object, keys []string, seal Sealer) ([]AddResult, []*version, error) {
	results := make([]AddResult, len(objs))
	vers := make([]*version, len(objs))
	if len(objs) == 0 {
		return results, vers, nil
	}
	state, err := s.loadStates(ctx, tx, coll, objs)
	if err != nil {
		return nil, nil, err
	}

	var (
		fresh   []*version // object rows to insert
		entries []*version // entries to insert, in input order
	)
	enter := func(v *version) {
		v.inColl, v.dateAdded = true, da
		entries = append(entries, v)
	}
	for i, o := range objs {
		st := state[o.ID]
		r := &results[i]
		r.ID = o.ID
		var existing *version
		if o.Version() == "" {
			existing = st.byDigest[o.Digest]
			if existing == nil {
				key, ver := unversionedKey(da, o.Digest)
				if st.versions[key] != nil { // 64 bits of digest collide: refuse rather than overwrite
					r.Version, r.Outcome, r.Message = ver, Conflict, msgVersionExists
					continue
				}
				v := &version{id: o.ID, key: key, version: ver, typ: o.Type, specVersion: specVersionOf(o), digest: o.Digest, obj: o}
				st.versions[key], st.byDigest[o.Digest] = v, v
				fresh = append(fresh, v)
				enter(v)
				st.touched = true
				vers[i] = v
				r.Version, r.Outcome, r.DateAdded = ver, Added, fromMicro(da)
				continue
			}
		} else {
			key := keys[i]
			r.Version = o.Version()
			existing = st.versions[key]
			if existing != nil && existing.digest != o.Digest {
				r.Outcome, r.Message = Conflict, msgVersionExists
				continue
			}
			if existing == nil {
				if st.minRevoked != "" && key > st.minRevoked {
					r.Outcome, r.Message = Conflict, msgRevoked
					continue
				}
				v := &version{id: o.ID, key: key, version: o.Version(), typ: o.Type, specVersion: specVersionOf(o),
					digest: o.Digest, revoked: o.Revoked, obj: o}
				st.versions[key] = v
				if o.Revoked && (st.minRevoked == "" || key < st.minRevoked) {
					st.minRevoked = key
				}
				fresh = append(fresh, v)
				enter(v)
				st.touched = true
				vers[i] = v
				r.Outcome, r.DateAdded = Added, fromMicro(da)
				continue
			}
		}
		// The same content is stored: a duplicate, which joins this
		// collection if it was not in it yet.
		r.Version, r.Outcome = existing.version, Duplicate
		vers[i] = existing
		if !existing.inColl {
			enter(existing)
			st.touched = true
		}
		r.DateAdded = fromMicro(existing.dateAdded)
	}

	if err := s.insertObjects(ctx, tx, fresh, seal); err != nil {
		return nil, nil, err
	}

	// Move the latest and first marks of the ids that gain entries.
	var unLatest, unFirst []int64
	newLatest := make(map[string]string)
	newFirst := make(map[string]string)
	for id, st := range state {
		if !st.touched {
			continue
		}
		lk, fk := st.latestKey, st.firstKey
		for k, v := range st.versions {
			if !v.inColl {
				continue
			}
			if lk == "" || k > lk {
				lk = k
			}
			if fk == "" || k < fk {
				fk = k
			}
		}
		newLatest[id], newFirst[id] = lk, fk
		if st.latestObj != 0 && lk != st.latestKey {
			unLatest = append(unLatest, st.latestObj)
		}
		if st.firstObj != 0 && fk != st.firstKey {
			unFirst = append(unFirst, st.firstObj)
		}
	}
	for _, u := range []struct {
		col  string
		objs []int64
	}{{"is_latest", unLatest}, {"is_first", unFirst}} {
		if len(u.objs) == 0 {
			continue
		}
		var p params
		q := `UPDATE entries SET ` + u.col + ` = FALSE WHERE coll = ` + p.add(coll) + ` AND ` +
			s.d.inList("object", p.add(s.d.listArg(u.objs)))
		if _, err := tx.ExecContext(ctx, q, p.vals...); err != nil {
			return nil, nil, err
		}
	}
	if err := s.insertEntries(ctx, tx, coll, da, entries, newLatest, newFirst); err != nil {
		return nil, nil, err
	}
	return results, vers, nil
}

// loadStates reads what is stored of the batch's ids: their versions, and
// their entries in collection coll.
func (s *sqlStore) loadStates(ctx context.Context, tx *sql.Tx, coll int64, objs []*stix.Object) (map[string]*objectState, error) {
	state := make(map[string]*objectState)
	var ids []string
	for _, o := range objs {
		if state[o.ID] == nil {
			state[o.ID] = &objectState{versions: map[string]*version{}, byDigest: map[[32]byte]*version{}}
			ids = append(ids, o.ID)
		}
	}
	// Every stored version of the batch's ids, with its entry in coll if any.
	var p params
	rows, err := tx.QueryContext(ctx, `SELECT o.pk, o.id, o.version_key, o.version, o.type, o.spec_version, o.digest, o.revoked,
			e.date_added, e.is_latest, e.is_first
		FROM objects o LEFT JOIN entries e ON e.coll = `+p.add(coll)+` AND e.object = o.pk
		WHERE `+s.d.inList("o.id", p.add(s.d.listArg(ids))), p.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			v               version
			digest          []byte
			da              sql.NullInt64
			latest, isFirst sql.NullBool
		)
		if err := rows.Scan(&v.pk, &v.id, &v.key, &v.version, &v.typ, &v.specVersion, &digest, &v.revoked,
			&da, &latest, &isFirst); err != nil {
			return nil, err
		}
		copy(v.digest[:], digest)
		st := state[v.id]
		st.versions[v.key] = &v
		if strings.Contains(v.key, "~") {
			st.byDigest[v.digest] = &v
		}
		if v.revoked && (st.minRevoked == "" || v.key < st.minRevoked) {
			st.minRevoked = v.key
		}
		if da.Valid {
			v.inColl, v.dateAdded = true, da.Int64
			if latest.Bool {
				st.latestKey, st.latestObj = v.key, v.pk
			}
			if isFirst.Bool {
				st.firstKey, st.firstObj = v.key, v.pk
			}
		}
	}
	return state, rows.Err()
}

// copyRows is insertRows' COPY, on PostgreSQL.
func (s *sqlStore) copyRows(ctx context.Context, table string, cols []string, rows [][]any) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	// When ctx is cancelled during the transaction, database/sql rolls it
	// back from another goroutine and closes the write connection; a
	// Conn.Raw racing with that close can be handed the connection's
	// driver side already gone (nil) and dereference it. That is the
	// cancellation, not a bug here: report it as such. (The conformance
	// suite cancels AddObjectsWith at every step: it crashed now and then.)
	defer func() {
		if r := recover(); r != nil {
			if ctx.Err() == nil {
				panic(r)
			}
			err = ctx.Err()
		}
	}()
	return s.wconn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: COPY needs a pgx connection, not %T", dc)
		}
		n, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		if err == nil && n != int64(len(rows)) {
			err = fmt.Errorf("store: COPY into %s wrote %d rows of %d", table, n, len(rows))
		}
		return err
	})
}

// insertRows inserts rows (each with a value per column, in order) into
// table, in the write transaction tx (on s.wconn).
//
// On PostgreSQL it is one binary COPY, run on pgx's connection under
// database/sql (the transaction is the connection's). On SQLite it is a
// multi-row INSERT … VALUES with at most 500 rows, under SQLite's limit of
// 32766 parameters, per statement.
func (s *sqlStore) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if s.d.copyFrom {
		return s.copyRows(ctx, table, cols, rows)
	}
	head := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES `
	tuple := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	per := min(500, s.d.MaxParams/len(cols))
	for len(rows) > 0 {
		chunk := rows[:min(per, len(rows))]
		rows = rows[len(chunk):]
		var b strings.Builder
		b.Grow(len(head) + len(chunk)*(len(tuple)+1))
		b.WriteString(head)
		args := make([]any, 0, len(cols)*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(tuple)
			args = append(args, r...)
		}
		query := b.String()
		if len(chunk) == per { // the same text every time: prepare it once
			st, err := s.writeStmt(ctx, query)
			if err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// writeStmt returns query prepared on the write connection.
func (s *sqlStore) writeStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := s.wstmts[query]; st != nil {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.wstmts == nil {
		s.wstmts = map[string]*sql.Stmt{}
	}
	s.wstmts[query] = st
	return st, nil
}

// allocate hands out n numbers from the named counter and returns the first.
func allocate(ctx context.Context, tx *sql.Tx, counter string, n int) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + $1 WHERE name = $2 RETURNING value`,
		n, counter).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("store: allocate %d from %s: %w", n, counter, err)
	}
	return last - int64(n) + 1, nil
}

var objectColumns = []string{"pk", "id", "version_key", "version", "type", "spec_version", "revoked", "digest", "raw", "sealed"}

// insertObjects inserts new object versions and sets their pk. With a
// sealer, TLP:RED versions are written sealed (see sealRaw).
func (s *sqlStore) insertObjects(ctx context.Context, tx *sql.Tx, vs []*version, seal Sealer) error {
	if len(vs) == 0 {
		return nil
	}
	pk, err := allocate(ctx, tx, "object_pk", len(vs))
	if err != nil {
		return err
	}
	rows := make([][]any, len(vs))
	for i, v := range vs {
		v.pk = pk
		pk++
		raw, sealed, err := sealRaw(seal, v.obj, v.version)
		if err != nil {
			return err
		}
		rows[i] = []any{v.pk, v.id, v.key, v.version, v.typ, v.specVersion, v.revoked, v.digest[:], raw, sealed}
	}
	return s.insertRows(ctx, tx, "objects", objectColumns, rows)
}

// position is the 16-byte key of (date_added, seq) that listings are ordered
// and paged by: both big-endian, so that byte order is numeric order.
func position(dateAdded, seq int64) []byte {
	b := make([]byte, 0, 16)
	b = binary.BigEndian.AppendUint64(b, uint64(dateAdded))
	return binary.BigEndian.AppendUint64(b, uint64(seq))
}

var entryColumns = []string{"coll", "pos", "seq", "date_added", "object", "id", "type", "spec_version", "version_key",
	"is_latest", "is_first"}

// insertEntries inserts entries with seq numbers following input order.
func (s *sqlStore) insertEntries(ctx context.Context, tx *sql.Tx, coll, da int64, vs []*version, latest, first map[string]string) error {
	if len(vs) == 0 {
		return nil
	}
	seq, err := allocate(ctx, tx, "entry_seq", len(vs))
	if err != nil {
		return err
	}
	rows := make([][]any, len(vs))
	for i, v := range vs {
		rows[i] = []any{coll, position(da, seq), seq, da, v.pk, v.id, v.typ, v.specVersion, v.key,
			latest[v.id] == v.key, first[v.id] == v.key}
		seq++
	}
	return s.insertRows(ctx, tx, "entries", entryColumns, rows)
}
