package storetest

import (
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/store"
)

// testAddWithAudit checks AddOptions.Audit: the entries built from the
// batch's outcomes are appended to the audit log in the transaction that
// stores the objects — a call that fails at any step leaves neither objects
// nor entries, the call that succeeds leaves both, and the log verifies; a
// nil build appends nothing; a build that fails fails the batch.
func testAddWithAudit(t *testing.T, e *env) {
	as, err := store.AuditStorage(e.s)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(audit.Config{Name: "cert-fr", Key: AuditKey("cert-fr"), Storage: as, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	receipts := func(results []store.AddResult) store.AuditBuild {
		var es []audit.Entry
		for _, r := range results {
			es = append(es, audit.Entry{Kind: audit.KindReceive, Actor: "cert-ee", Peer: peerEE, ObjectID: r.ID,
				ObjectVersion: r.Version, Detail: map[string]string{"outcome": r.Outcome.String()}})
		}
		build, err := l.Prepare(es)
		if err != nil {
			t.Errorf("Prepare: %v", err)
			return nil
		}
		return build
	}
	tip := func() int64 {
		t.Helper()
		tp, err := as.AuditTip(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tp.Size
	}
	c := e.collection()
	// The build sees the outcomes.
	objs := Indicators(3, 1401)
	e.addWith(c, objs, store.AddOptions{Audit: receipts}, "added added added")
	e.addWith(c, objs[:1], store.AddOptions{Audit: receipts}, "duplicate")
	es, err := l.Entries(e.ctx, audit.Query{Limit: 10})
	if err != nil || len(es) != 4 || es[0].ObjectID != objs[0].ID || es[3].Detail["outcome"] != "duplicate" {
		t.Fatalf("entries after two batches: %+v, %v", es, err)
	}
	// Nothing to append: nothing appended.
	e.addWith(c, Indicators(1, 1402), store.AddOptions{Audit: func([]store.AddResult) store.AuditBuild { return nil }}, "added")
	if n := tip(); n != 4 {
		t.Fatalf("a nil build appended: log of %d entries", n)
	}
	// A build that fails fails the batch.
	failing := Indicators(1, 1403)
	_, err = e.s.AddObjectsWith(e.ctx, c, failing, store.AddOptions{Audit: func([]store.AddResult) store.AuditBuild {
		return func(audit.Tip, tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
			return nil, nil, errors.New("no")
		}
	}})
	if err == nil || len(e.list(c, store.Query{IDs: []string{failing[0].ID}})) != 0 {
		t.Fatalf("a failed audit build: %v, and the object was stored", err)
	}

	// Atomicity: fail the call at every step of its work.
	counter := newFailingContext(1 << 62)
	if _, err := e.s.AddObjectsWith(counter, e.collection(), Indicators(40, 1404), store.AddOptions{Audit: receipts}); err != nil {
		t.Fatal(err)
	}
	steps := counter.calls.Load()
	target := e.collection()
	batch := Indicators(40, 1405)
	before := tip()
	failures := 0
	for n := int64(0); n < 2*steps+50; n++ {
		_, err := e.s.AddObjectsWith(newFailingContext(n), target, batch, store.AddOptions{Audit: receipts})
		// A write of nothing waits for a COMMIT the cancelled call stopped
		// waiting for (see testAddWithFold).
		if err := e.s.RecordContact(e.ctx, "no such peer", Start, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		stored, size := len(e.list(target, store.Query{})), tip()
		none := stored == 0 && size == before
		all := stored == len(batch) && size == before+int64(len(batch))
		switch {
		case err == nil && !all:
			t.Fatalf("n=%d: after the call that succeeded: %d objects, log of %d entries (was %d)", n, stored, size, before)
		case !none && !all:
			t.Fatalf("n=%d: a failed call (%v) left %d objects and a log of %d entries (was %d): objects without their entries, or entries without them",
				n, err, stored, size, before)
		case err != nil:
			failures++
		}
		if all {
			break
		}
	}
	if failures < 5 {
		t.Errorf("%d failed attempts (a call checks its context %d times): the test does not exercise the transaction", failures, steps)
	}
	if rep, err := l.Verify(e.ctx); err != nil || !rep.OK() {
		t.Fatalf("Verify: %v\n%s", err, rep.String())
	}
}
