package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/store/storetest"
)

func openSQLite(t *testing.T, clk *clock.Fake) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "entraide.db"), clk)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func openPostgres(t *testing.T, clk *clock.Fake) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), pgtest.DSN(t), clk)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// engines are the engines every engine-level test runs against.
var engines = []struct {
	name string
	open storetest.Opener
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func TestConformance(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, e.open)
		})
	}
}

// TestSchemaTooNew checks that a binary refuses a database migrated by a
// newer one, and says so.
func TestSchemaTooNew(t *testing.T) {
	for _, e := range []struct {
		name, driver string
		url          func(t *testing.T) string
	}{
		{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "entraide.db") }},
		{"postgres", "pgx", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			ctx := t.Context()
			url := e.url(t)
			s, err := store.Open(ctx, url, clock.NewFake(storetest.Start))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := sql.Open(e.driver, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future.sql', 0)`,
				store.SchemaVersion()+1); err != nil {
				t.Fatal(err)
			}
			_, err = store.Open(ctx, url, clock.NewFake(storetest.Start))
			if !errors.Is(err, store.ErrSchemaTooNew) {
				t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
			}
			t.Logf("error: %v", err)
		})
	}
}

// TestPostgresMigrationLock opens a fresh database from several goroutines at
// once, like replicas starting together: all must succeed (without the lock
// the losers would fail creating tables that exist) and the migrations must
// be recorded once.
func TestPostgresMigrationLock(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := t.Context()
	const n = 4
	errs := make(chan error, n)
	stores := make(chan store.Store, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			s, err := store.Open(ctx, dsn, clock.NewFake(storetest.Start))
			if err == nil {
				stores <- s
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	close(stores)
	for s := range stores {
		s.Close()
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, maxv int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&rows, &maxv); err != nil {
		t.Fatal(err)
	}
	if rows != store.SchemaVersion() || maxv != store.SchemaVersion() {
		t.Errorf("schema_migrations: %d rows up to %d, want each of %d once", rows, maxv, store.SchemaVersion())
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, url := range []string{"", "sqlite:", ":memory:", "data.db?mode=ro"} {
		if _, err := store.Open(context.Background(), url, nil); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Open(%q): %v, want ErrInvalid", url, err)
		}
	}
}
