package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/entraide/entraide/internal/stix"
)

// DefaultLimit is the page size of a Query whose Limit is 0.
const DefaultLimit = 1000

// selection is a Query's match[version] and match[spec_version], compiled.
type selection struct {
	latest, first, all bool
	keys               []string // normalised keys of specific versions
	specVersions       []string
}

// compileSelection reads q.Versions ("last" when empty and dflt is "last",
// everything when dflt is "all") and q.SpecVersions.
func compileSelection(q *Query, dflt string) (selection, error) {
	var sel selection
	vs := q.Versions
	if len(vs) == 0 {
		vs = []string{dflt}
	}
	for _, v := range vs {
		switch v {
		case "last":
			sel.latest = true
		case "first":
			sel.first = true
		case "all":
			sel.all = true
		default:
			k, err := stix.TimestampKey(v)
			if err != nil {
				return sel, fmt.Errorf("match[version] %q: %w: want last, first, all or a timestamp", v, ErrInvalid)
			}
			sel.keys = append(sel.keys, k)
		}
	}
	sel.specVersions = q.SpecVersions
	return sel, nil
}

// cond returns the SQL condition on entries e that the selection makes.
func (sel *selection) cond(d *Dialect, p *params) []string {
	var conds []string
	if !sel.all {
		var alt []string
		if sel.latest {
			alt = append(alt, "e.is_latest")
		}
		if sel.first {
			alt = append(alt, "e.is_first")
		}
		for _, k := range sel.keys {
			// The key itself, or an unversioned object's key: k~digest.
			alt = append(alt, "(e.version_key >= "+p.add(k)+" AND e.version_key <= "+p.add(k+"~~")+")")
		}
		if len(alt) == 1 {
			conds = append(conds, alt[0])
		} else {
			conds = append(conds, "("+strings.Join(alt, " OR ")+")")
		}
	}
	if len(sel.specVersions) == 1 {
		conds = append(conds, "e.spec_version = "+p.add(sel.specVersions[0]))
	} else if len(sel.specVersions) > 1 {
		conds = append(conds, d.inList("e.spec_version", p.add(d.listArg(sel.specVersions))))
	}
	return conds
}

// cursor is the position after which a listing resumes: the last (date_added,
// seq) returned, and a fingerprint of the query it belongs to.
type cursor struct {
	dateAdded, seq int64
	fp             [8]byte
}

const cursorVersion = 1

func (c cursor) encode() string {
	b := make([]byte, 0, 25)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.dateAdded))
	b = binary.BigEndian.AppendUint64(b, uint64(c.seq))
	b = append(b, c.fp[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 25 || b[0] != cursorVersion {
		return c, fmt.Errorf("next %q: %w: not a cursor of this server", s, ErrInvalid)
	}
	c.dateAdded = int64(binary.BigEndian.Uint64(b[1:]))
	c.seq = int64(binary.BigEndian.Uint64(b[9:]))
	copy(c.fp[:], b[17:])
	if c.dateAdded < 0 || c.seq <= 0 {
		return c, fmt.Errorf("next %q: %w: not a cursor of this server", s, ErrInvalid)
	}
	return c, nil
}

// fingerprint identifies a listing's collection and filters (not its limit),
// so that a cursor cannot be replayed against another listing.
func fingerprint(collection string, q *Query) [8]byte {
	h := sha256.New()
	field := func(vals ...string) {
		vals = slices.Clone(vals)
		slices.Sort(vals)
		fmt.Fprintf(h, "%d:", len(vals))
		for _, v := range vals {
			fmt.Fprintf(h, "%d:%s", len(v), v)
		}
	}
	field(collection)
	field(strconv.FormatInt(toMicro(q.AddedAfter), 10))
	field(q.IDs...)
	field(q.Types...)
	vs := q.Versions
	if len(vs) == 0 {
		vs = []string{"last"}
	}
	field(vs...)
	field(q.SpecVersions...)
	var fp [8]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

// maxTypeBranches bounds the UNION ALL a match[type] list becomes.
const maxTypeBranches = 16

// listSQL builds the query of one page of a listing: limit+1 rows so that
// the caller knows whether there is a next page.
//
// Each shape is an index range scan on (coll, pos), so that a page costs the
// same at any depth: the latest versions use entries_latest (or
// entries_latest_type for one type), first versions entries_first, all
// versions entries_all. Several types become a UNION ALL of one such scan per
// type, each limited, merged on pos. match[id] starts from the ids, finds
// their versions in the unique (id, version_key) index of objects and their
// entries in the unique (coll, object) index, then sorts what it found (a
// few versions per id). The joins are written CROSS JOIN, which
// makes SQLite keep the written order (PostgreSQL treats them as inner joins).
func (s *sqlStore) listSQL(coll int64, q *Query, sel *selection, after *cursor, limit int, withRaw bool) (string, []any) {
	var p params
	base := []string{"e.coll = " + p.add(coll)}
	base = append(base, sel.cond(s.d, &p)...)
	var from []byte
	if !q.AddedAfter.IsZero() {
		from = position(q.AddedAfter.UnixMicro(), math.MaxInt64)
	}
	if after != nil {
		if c := position(after.dateAdded, after.seq); from == nil || bytes.Compare(c, from) > 0 {
			from = c
		}
	}
	if from != nil {
		base = append(base, "e.pos > "+p.add(from))
	}
	lim := p.add(limit + 1)
	cols := func(a string) string {
		c := a + ".seq, " + a + ".date_added, " + a + ".id, " + a + ".type, " + a + ".spec_version, o.version, o.sealed"
		if withRaw {
			c += ", o.raw"
		}
		return c
	}
	// The index each shape scans (for SQLite's hint).
	index, typeIndex := "", ""
	switch {
	case sel.latest && !sel.first && !sel.all && len(sel.keys) == 0:
		index, typeIndex = "entries_latest", "entries_latest_type"
	case sel.first && !sel.latest && !sel.all && len(sel.keys) == 0:
		index = "entries_first"
	}
	var b strings.Builder
	switch {
	case len(q.IDs) > 0:
		c := slices.Clone(base)
		if len(q.Types) > 0 {
			c = append(c, s.d.inList("e.type", p.add(s.d.listArg(q.Types))))
		}
		fmt.Fprintf(&b, "SELECT %s FROM (SELECT DISTINCT value FROM %s) AS i CROSS JOIN objects o CROSS JOIN entries e "+
			"WHERE o.id = i.value AND e.object = o.pk AND %s ORDER BY e.pos LIMIT %s",
			cols("e"), s.d.listTable(p.add(s.d.listArg(q.IDs))), strings.Join(c, " AND "), lim)
	case len(q.Types) > 1 && len(q.Types) <= maxTypeBranches:
		fmt.Fprintf(&b, "SELECT %s FROM (", cols("u"))
		for i, t := range slices.Compact(slices.Sorted(slices.Values(q.Types))) {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			c := append(slices.Clone(base), "e.type = "+p.add(t))
			fmt.Fprintf(&b, "SELECT * FROM (SELECT e.seq, e.date_added, e.id, e.type, e.spec_version, e.object, e.pos "+
				"FROM entries e%s WHERE %s ORDER BY e.pos LIMIT %s) AS b%d", s.d.indexedBy(typeIndex), strings.Join(c, " AND "), lim, i)
		}
		fmt.Fprintf(&b, ") AS u CROSS JOIN objects o WHERE o.pk = u.object ORDER BY u.pos LIMIT %s", lim)
	default:
		c := slices.Clone(base)
		if len(q.Types) == 1 {
			c = append(c, "e.type = "+p.add(q.Types[0]))
			index = typeIndex
		} else if len(q.Types) > 1 {
			c = append(c, s.d.inList("e.type", p.add(s.d.listArg(q.Types))))
		}
		fmt.Fprintf(&b, "SELECT %s FROM entries e%s CROSS JOIN objects o WHERE o.pk = e.object AND %s ORDER BY e.pos LIMIT %s",
			cols("e"), s.d.indexedBy(index), strings.Join(c, " AND "), lim)
	}
	return b.String(), p.vals
}

// prepareList checks q and returns what listSQL needs.
func (s *sqlStore) prepareList(ctx context.Context, collection string, q *Query) (coll int64, sel selection, after *cursor, limit int, err error) {
	limit = q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 {
		return 0, sel, nil, 0, fmt.Errorf("limit %d: %w", q.Limit, ErrInvalid)
	}
	sel, err = compileSelection(q, "last")
	if err != nil {
		return 0, sel, nil, 0, err
	}
	if q.Next != "" {
		c, err := decodeCursor(q.Next)
		if err != nil {
			return 0, sel, nil, 0, err
		}
		if c.fp != fingerprint(collection, q) {
			return 0, sel, nil, 0, fmt.Errorf("next: %w: the cursor belongs to a listing with other filters", ErrInvalid)
		}
		after = &c
	}
	coll, err = s.collectionPK(ctx, s.db, collection)
	return coll, sel, after, limit, err
}

func (s *sqlStore) ListObjects(ctx context.Context, collection string, q Query, withRaw bool) (Page, error) {
	coll, sel, after, limit, err := s.prepareList(ctx, collection, &q)
	if err != nil {
		return Page{}, err
	}
	query, args := s.listSQL(coll, &q, &sel, after, limit, withRaw)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, err
	}
	defer rows.Close()
	page := Page{Entries: make([]Entry, 0, min(limit, 1024))}
	var last cursor
	for rows.Next() {
		if len(page.Entries) == limit {
			last.fp = fingerprint(collection, &q)
			page.Next = last.encode()
			break
		}
		var (
			e  Entry
			da int64
		)
		dest := []any{&last.seq, &da, &e.ID, &e.Type, &e.SpecVersion, &e.Version, &e.Sealed}
		if withRaw {
			dest = append(dest, &e.Raw)
		}
		if err := rows.Scan(dest...); err != nil {
			return Page{}, err
		}
		if e.Sealed { // never hand out sealed bytes as if they were the object
			e.Raw, e.Ciphertext = nil, e.Raw
		}
		last.dateAdded = da
		e.DateAdded = fromMicro(da)
		e.MediaType = "application/stix+json;version=" + e.SpecVersion
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	return page, nil
}

// explainList returns the engine's plan of the query ListObjects would run.
func (s *sqlStore) explainList(ctx context.Context, collection string, q Query) (string, error) {
	coll, sel, after, limit, err := s.prepareList(ctx, collection, &q)
	if err != nil {
		return "", err
	}
	query, args := s.listSQL(coll, &q, &sel, after, limit, true)
	explain := "EXPLAIN "
	if s.d.Name == "sqlite" {
		explain = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.db.QueryContext(ctx, explain+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		fmt.Fprintln(&b, vals[len(vals)-1])
	}
	return b.String(), rows.Err()
}

func (s *sqlStore) DeleteObject(ctx context.Context, collection, id string, q Query) (int, error) {
	sel, err := compileSelection(&q, "all")
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		coll, err := s.collectionPK(ctx, tx, collection)
		if err != nil {
			return err
		}
		var p params
		c, i := p.add(coll), p.add(id)
		versions := `(SELECT pk FROM objects WHERE id = ` + i + `)`
		conds := append([]string{"e.coll = " + c, "e.object IN " + versions}, sel.cond(s.d, &p)...)
		// Written with a sub-select because SQLite's DELETE takes no alias.
		res, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE coll = `+c+` AND object IN (SELECT e.object FROM entries e WHERE `+
			strings.Join(conds, " AND ")+`)`, p.vals...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("object %s in collection %s: %w", id, collection, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `UPDATE entries SET
			is_latest = (version_key = (SELECT MAX(version_key) FROM entries WHERE coll = $1 AND object IN `+versions+`)),
			is_first = (version_key = (SELECT MIN(version_key) FROM entries WHERE coll = $1 AND object IN `+versions+`))
			WHERE coll = $1 AND object IN `+versions, coll, id)
		return err
	})
	return int(n), err
}
