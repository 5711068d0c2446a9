package store_test

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/store/storetest"
)

// redObject is a TLP:RED indicator carrying storetest.RedCanary.
func redObject(t *testing.T) *stix.Object {
	t.Helper()
	return storetest.MustParse(`{"type":"indicator","spec_version":"2.1","id":"indicator--0b6e3c1a-2d4f-4a6b-8c7d-9e0f1a2b3c4d",` +
		`"created":"2026-03-01T10:00:00.000Z","modified":"2026-03-01T10:00:00.000Z","name":"` + storetest.RedCanary + `",` +
		`"pattern":"[ipv4-addr:value = '198.51.100.66']","pattern_type":"stix","valid_from":"2026-03-01T10:00:00.000Z",` +
		`"object_marking_refs":["` + stix.TLPRed.MarkingID() + `"]}`)
}

// TestRedNotOnDisk stores a RED object with a sealer and looks for its text
// in the SQLite file itself (the WAL checkpointed into it, and the WAL), and
// in the PostgreSQL row: it must not be there, while the store still knows
// the row is RED and the node's key opens it.
func TestRedNotOnDisk(t *testing.T) {
	canary := []byte(storetest.RedCanary)
	seal := storetest.FixedSealer("node")
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "entraide.db")
		s, err := store.Open(t.Context(), path, clock.NewFake(storetest.Start))
		if err != nil {
			t.Fatal(err)
		}
		coll := addRed(t, s, seal)
		s.Close()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, canary) {
				t.Fatalf("%s holds the RED object's text", filepath.Base(p))
			}
		}
		// Reopened, it is still RED and opens with the key.
		s, err = store.Open(t.Context(), path, clock.NewFake(storetest.Start))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkOpens(t, s, coll, seal)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		s, err := store.Open(t.Context(), dsn, clock.NewFake(storetest.Start))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		coll := addRed(t, s, seal)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var raw []byte
		var sealed bool
		if err := db.QueryRow(`SELECT raw, sealed FROM objects WHERE id = $1`, redObject(t).ID).Scan(&raw, &sealed); err != nil {
			t.Fatal(err)
		}
		if !sealed || bytes.Contains(raw, canary) {
			t.Fatalf("PostgreSQL row: sealed %v, holds the text %v", sealed, bytes.Contains(raw, canary))
		}
		checkOpens(t, s, coll, seal)
	})
}

func addRed(t *testing.T, s store.Store, seal store.Sealer) string {
	t.Helper()
	coll := "9a1e1c3b-0d4f-4e5a-8b6c-000000000001"
	if err := s.CreateCollection(t.Context(), store.Collection{ID: coll, Title: "RED"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.WithSealer(s, seal).AddObjects(t.Context(), coll, []*stix.Object{redObject(t)}); err != nil {
		t.Fatal(err)
	}
	return coll
}

func checkOpens(t *testing.T, s store.Store, coll string, seal store.Sealer) {
	t.Helper()
	p, err := s.ListObjects(t.Context(), coll, store.Query{}, true)
	if err != nil || len(p.Entries) != 1 {
		t.Fatalf("listing: %v, %d entries", err, len(p.Entries))
	}
	raw, err := store.OpenEntry(seal, p.Entries[0])
	if err != nil || !bytes.Equal(raw, redObject(t).Raw) {
		t.Fatalf("the key does not open the RED object: %v", err)
	}
}
