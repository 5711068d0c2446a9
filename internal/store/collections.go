package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// MediaTypeSTIX21 is the media type of STIX 2.1 objects, the default of a
// collection.
const MediaTypeSTIX21 = "application/stix+json;version=2.1"

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (s *sqlStore) CreateCollection(ctx context.Context, c Collection) error {
	if !uuidRE.MatchString(c.ID) {
		return fmt.Errorf("collection id %q: %w: must be a UUID", c.ID, ErrInvalid)
	}
	if c.Title == "" {
		return fmt.Errorf("collection %s: %w: a title is required", c.ID, ErrInvalid)
	}
	if len(c.MediaTypes) == 0 {
		c.MediaTypes = []string{MediaTypeSTIX21}
	}
	mt, err := json.Marshal(c.MediaTypes)
	if err != nil {
		return err
	}
	if c.Created.IsZero() {
		c.Created = s.clk.Now()
	}
	var alias any
	if c.Alias != "" {
		alias = c.Alias
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		return insertCollection(ctx, tx, c, alias, string(mt))
	})
}

// insertCollection inserts a checked collection in a write transaction.
func insertCollection(ctx context.Context, tx *sql.Tx, c Collection, alias any, mediaTypes string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections WHERE id = $1 OR alias = $2`,
		c.ID, alias).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("collection %s (alias %q): %w: id or alias exists", c.ID, c.Alias, ErrConflict)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO collections (id, title, description, alias, media_types, created, last_added)
		VALUES ($1, $2, $3, $4, $5, $6, 0)`,
		c.ID, c.Title, c.Description, alias, mediaTypes, c.Created.UnixMicro())
	return err
}

const collectionColumns = `id, title, description, COALESCE(alias, ''), media_types, created`

func scanCollection(sc interface{ Scan(...any) error }) (Collection, error) {
	var (
		c       Collection
		mt      string
		created int64
	)
	if err := sc.Scan(&c.ID, &c.Title, &c.Description, &c.Alias, &mt, &created); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(mt), &c.MediaTypes); err != nil {
		return c, fmt.Errorf("collection %s: media types: %w", c.ID, err)
	}
	c.Created = fromMicro(created)
	return c, nil
}

func (s *sqlStore) Collection(ctx context.Context, id string) (Collection, error) {
	c, err := scanCollection(s.db.QueryRowContext(ctx, `SELECT `+collectionColumns+` FROM collections WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("collection %q: %w", id, ErrNotFound)
	}
	return c, err
}

func (s *sqlStore) Collections(ctx context.Context) ([]Collection, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+collectionColumns+` FROM collections ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []Collection
	for rows.Next() {
		c, err := scanCollection(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// fromMicro is the inverse of time.Time.UnixMicro, in UTC; 0 is the zero Time.
func fromMicro(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func toMicro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
