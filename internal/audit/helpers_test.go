package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: the format is frozen.\ngot:  %s\nwant: %s", name, got, want)
	}
}

// Start is the fake clock's start in every test.
var Start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// An engine is a database the log runs on; every log test runs on both.
type engine struct {
	name   string
	driver string
	url    func(t testing.TB) string
}

var engines = []engine{
	{"sqlite", "sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "entraide.db") }},
	{"postgres", "pgx", func(t testing.TB) string { return pgtest.DSN(t) }},
}

// forEngines runs fn on each engine, in parallel subtests.
func forEngines(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			fn(t, e)
		})
	}
}

// node is one node's log on a real store, with a raw connection to its
// database for tampering.
type node struct {
	t   testing.TB
	ctx context.Context
	log *audit.Log
	st  store.Store
	db  *sql.DB
	clk *clock.Fake
}

func newNode(t testing.TB, e engine, name string) *node {
	t.Helper()
	ctx := t.Context()
	url := e.url(t)
	clk := clock.NewFake(Start)
	st, err := store.Open(ctx, url, clk)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	as, err := store.AuditStorage(st)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(audit.Config{Name: name, Key: storetest.AuditKey(name), Storage: as, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	dsn := url
	if e.driver == "sqlite" {
		dsn += "?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(e.driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &node{t: t, ctx: ctx, log: l, st: st, db: db, clk: clk}
}

// entries returns n varied entries.
func entries(n int, tag string) []audit.Entry {
	kinds := []audit.Kind{audit.KindSend, audit.KindReceive, audit.KindRefuse, audit.KindPolicyDeny, audit.KindRedAccess, audit.KindShare}
	es := make([]audit.Entry, n)
	for i := range es {
		k := kinds[i%len(kinds)]
		e := audit.Entry{Kind: k, Actor: "cert-ee", Peer: "cert-ee", ObjectID: fmt.Sprintf("indicator--%08x-6a3c-4d3f-9d7c-3c0d6f1e2a11", i),
			ObjectVersion: "2026-01-01T00:00:00.000Z", Community: "fr-ee", TLP: "amber", Detail: map[string]string{"tag": tag}}
		switch k {
		case audit.KindRefuse:
			e.Reason = "signature does not verify"
		case audit.KindPolicyDeny:
			e.Reason = "TLP:RED may not leave the node"
			e.TLP = "red"
		case audit.KindRedAccess:
			e.Actor, e.Peer, e.TLP = "marie", "", "red"
		}
		es[i] = e
	}
	return es
}

// fill appends n entries in batches, the clock moving a millisecond per batch.
func (n *node) fill(count, batch int) {
	n.t.Helper()
	for done := 0; done < count; done += batch {
		b := min(batch, count-done)
		if _, err := n.log.Append(n.ctx, entries(b, fmt.Sprint(done))); err != nil {
			n.t.Fatalf("Append: %v", err)
		}
		n.clk.Advance(time.Millisecond)
	}
}

func (n *node) checkpoint() []byte {
	n.t.Helper()
	cp, err := n.log.Checkpoint(n.ctx)
	if err != nil {
		n.t.Fatalf("Checkpoint: %v", err)
	}
	return cp
}

// exec runs SQL on the node's database behind the store's back.
func (n *node) exec(query string, args ...any) {
	n.t.Helper()
	if _, err := n.db.ExecContext(n.ctx, query, args...); err != nil {
		n.t.Fatalf("%s: %v", query, err)
	}
}

// all returns every entry row.
func (n *node) all() []audit.Entry {
	n.t.Helper()
	var all []audit.Entry
	for {
		es, err := n.log.Entries(n.ctx, audit.Query{From: int64(len(all)), Limit: 10000})
		if err != nil {
			n.t.Fatal(err)
		}
		if len(es) == 0 {
			return all
		}
		all = append(all, es...)
	}
}

// rewriteHashes recomputes the whole hash table from the entry rows, as a
// node rewriting its history would after editing entries.
func (n *node) rewriteHashes() {
	n.t.Helper()
	var hs []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hs[x]
		}
		return out, nil
	})
	for _, e := range n.all() {
		h, err := tlog.StoredHashes(e.Seq, e.Leaf(), r)
		if err != nil {
			n.t.Fatal(err)
		}
		hs = append(hs, h...)
	}
	tx, err := n.db.BeginTx(n.ctx, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(n.ctx, `DELETE FROM audit_hashes`); err != nil {
		n.t.Fatal(err)
	}
	for i, h := range hs {
		if _, err := tx.ExecContext(n.ctx, `INSERT INTO audit_hashes (idx, hash) VALUES ($1, $2)`, int64(i), h[:]); err != nil {
			n.t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		n.t.Fatal(err)
	}
}

// storeOf returns the audit storage under n's log.
func storeOf(n *node) (audit.Storage, error) { return store.AuditStorage(n.st) }

// keyOf returns n's signing key.
func keyOf(n *node) ed25519.PrivateKey { return storetest.AuditKey(n.log.Name()) }
