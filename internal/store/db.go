package store

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/entraide/entraide/internal/clock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered SQL file of migrations/.
type migration struct {
	version int
	name    string
	src     string
}

// migrations returns the embedded migrations in order. Their numbers must be
// 1, 2, 3, … without gaps: the schema version is the number of the last one.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_what.sql", base)
		}
		src, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, src: string(src)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migration %s: want number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this binary migrates databases to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// ErrSchemaTooNew says the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary knows")

// Open opens (creating and migrating if needed) the store at url:
// "postgres://…" or "postgresql://…" is a PostgreSQL database; anything else
// is the path of a SQLite file, optionally written "sqlite:PATH". Open refuses
// a database whose schema is newer than the binary (ErrSchemaTooNew). The
// clock stamps date_added, creation times and token expiry checks.
func Open(ctx context.Context, url string, clk clock.Clock) (Store, error) {
	if clk == nil {
		clk = clock.System{}
	}
	var (
		d   *Dialect
		db  *sql.DB
		err error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		d = &Postgres
		db, err = sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
	default:
		p := strings.TrimPrefix(url, "sqlite:")
		if p == "" || strings.ContainsAny(p, "?#") || p == ":memory:" {
			return nil, fmt.Errorf("store: %w: SQLite database path %q: want a file path without ? or #", ErrInvalid, p)
		}
		d = &SQLite
		dsn := p + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
			"&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32768)" +
			"&_pragma=wal_autocheckpoint(10000)&_txlock=immediate"
		db, err = sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", p, err)
		}
		// Writers are serialised anyway; readers each want a connection
		// (WAL lets them read while one writes).
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s database: %w", d.Name, err)
	}
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, err
	}
	return &sqlStore{db: db, d: d, clk: clk, wsem: make(chan struct{}, 1), collPK: map[string]int64{}}, nil
}

// migrate brings the schema up to date. On PostgreSQL it holds an advisory
// lock meanwhile so that replicas starting together migrate once; on SQLite
// each migration's BEGIN IMMEDIATE does the same job. Either way every
// migration runs in its own transaction that first re-reads the version, so
// it is applied exactly once and completely or not at all.
func migrate(ctx context.Context, db *sql.DB, d *Dialect) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	// The usual case, a schema already up to date, costs one query: no
	// lock, no transaction per migration (on PostgreSQL those round trips
	// were most of what opening a node took, and `entraide status` opens
	// one). A database behind, or without the table yet, takes the path
	// below, which re-reads the version under the lock.
	var cur int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err == nil {
		switch {
		case cur > len(ms):
			return fmt.Errorf("store: %w: database at version %d, this binary knows up to %d; upgrade entraide",
				ErrSchemaTooNew, cur, len(ms))
		case cur == len(ms):
			return nil
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if d.MigrateLock != "" {
		if _, err := conn.ExecContext(ctx, d.MigrateLock); err != nil {
			return fmt.Errorf("store: migrate: take lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), d.MigrateUnlock)
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`
	if err := inTx(ctx, conn, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, create)
		return err
	}); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, m := range ms {
		err := inTx(ctx, conn, func(tx *sql.Tx) error {
			var cur int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return err
			}
			if cur > len(ms) {
				return fmt.Errorf("%w: database at version %d, this binary knows up to %d; upgrade entraide",
					ErrSchemaTooNew, cur, len(ms))
			}
			if cur >= m.version {
				return nil
			}
			var b bytes.Buffer
			t, err := template.New(m.name).Option("missingkey=error").Parse(m.src)
			if err != nil {
				return err
			}
			if err := t.Execute(&b, d); err != nil {
				return err
			}
			for _, stmt := range splitStatements(b.String()) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w\n%s", m.name, err, stmt)
				}
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, clock.System{}.Now().UnixMicro())
			return err
		})
		if err != nil {
			if errors.Is(err, ErrSchemaTooNew) {
				return fmt.Errorf("store: %w", err)
			}
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return nil
}

func inTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqlStore is the Store of both engines.
type sqlStore struct {
	db  *sql.DB
	d   *Dialect
	clk clock.Clock

	// wsem serialises this process's write transactions before they take
	// the engine's write lock, so that waiting is a channel receive rather
	// than SQLite's busy-retry sleeps (other processes still wait that way).
	wsem   chan struct{}
	wconn  *sql.Conn            // held while holding wsem; nil until the first write
	wstmts map[string]*sql.Stmt // prepared on wconn

	mu     sync.Mutex
	collPK map[string]int64 // collection id → pk; collections are never deleted
}

var _ Store = (*sqlStore)(nil)

// Close releases the engine's resources. Later calls fail.
func (s *sqlStore) Close() error {
	s.wsem <- struct{}{}
	s.dropWriteConn()
	<-s.wsem
	return s.db.Close()
}

// write runs fn in a write transaction: serialised with every other writer of
// the database (in this process and others), committed if fn returns nil,
// rolled back otherwise.
//
// Writes go through one dedicated connection, whose page cache (SQLite) and
// prepared statements (PostgreSQL) stay warm from one batch to the next. After
// a failed transaction the connection is given back to the pool (a cancelled
// context may have broken it) and a fresh one is taken next time.
func (s *sqlStore) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wsem }()
	if s.wconn == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		s.wconn = c
	}
	err := s.writeTx(ctx, s.wconn, fn)
	if err != nil {
		s.dropWriteConn()
	}
	return err
}

// dropWriteConn gives the write connection back to the pool; called with wsem held.
func (s *sqlStore) dropWriteConn() {
	for _, st := range s.wstmts {
		st.Close()
	}
	s.wstmts = nil
	if s.wconn != nil {
		s.wconn.Close()
		s.wconn = nil
	}
}

func (s *sqlStore) writeTx(ctx context.Context, conn *sql.Conn, fn func(tx *sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if s.d.WriteLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.WriteLock); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// collectionPK returns the pk of collection id, or ErrNotFound.
func (s *sqlStore) collectionPK(ctx context.Context, q querier, id string) (int64, error) {
	s.mu.Lock()
	pk, ok := s.collPK[id]
	s.mu.Unlock()
	if ok {
		return pk, nil
	}
	err := q.QueryRowContext(ctx, `SELECT pk FROM collections WHERE id = $1`, id).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("collection %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.collPK[id] = pk
	s.mu.Unlock()
	return pk, nil
}
