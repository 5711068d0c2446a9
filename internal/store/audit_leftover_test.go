package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/store/storetest"
)

// holdKey is the advisory lock that holds the COMMIT of an append.
const holdKey = 4242

// TestAuditLostCommit makes the race AuditAppendFailingContext hit now and
// then on PostgreSQL happen every time: an append's context is cancelled
// while the server is still busy with its COMMIT (a deferred trigger waits
// for a lock the test holds), so the driver gives up, and the server
// commits a moment later. AppendAudit must report what happened, the
// commit, and not an error that would make the caller append the entries
// again.
func TestAuditLostCommit(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	st, err := store.Open(ctx, dsn, clock.NewFake(storetest.Start))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as, err := store.AuditStorage(st)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(audit.Config{Name: "cert-fr", Key: storetest.AuditKey("cert-fr"), Storage: as})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		// The driver, giving up, also sends a cancel request: the trigger
		// ignores it, as a server past the point where a COMMIT can be
		// cancelled would.
		fmt.Sprintf(`CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				BEGIN PERFORM pg_advisory_lock(%[1]d);
				EXCEPTION WHEN query_canceled THEN PERFORM pg_advisory_lock(%[1]d);
				END;
				PERFORM pg_advisory_unlock(%[1]d);
				RETURN NULL;
			END $$`, holdKey),
		`CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON audit_entries
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	gate, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	if _, err := gate.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, holdKey); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if _, err := gate.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, holdKey); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer release()

	appendCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(appendCtx, []audit.Entry{
			{Kind: audit.KindSend, Actor: "marie", Peer: "cert-ee", ObjectID: "indicator--5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", TLP: "amber"},
			{Kind: audit.KindSend, Actor: "marie", Peer: "cert-de", ObjectID: "indicator--5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", TLP: "amber"},
		})
		done <- err
	}()
	// Wait for the COMMIT to be held; then the client gives up.
	waitUntil(t, "the append's COMMIT to wait for the held lock", func() bool { return waiters(t, db, true) == 1 })
	cancel()
	// The append either answers now, or waits for the outcome of its
	// COMMIT (it takes the write lock, which that transaction holds until
	// it ends): then the COMMIT may go on.
	var appendErr error
	answered := false
	waitUntil(t, "the append to answer or to wait for its COMMIT's outcome", func() bool {
		select {
		case appendErr = <-done:
			answered = true
			return true
		default:
			return waiters(t, db, false) > 0
		}
	})
	release()
	if !answered {
		appendErr = <-done
	}
	// Once a write got the write lock, the held transaction has ended.
	var size int64
	if err := as.AppendAudit(ctx, func(tip audit.Tip, _ tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
		size = tip.Size
		return nil, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	switch {
	case size != 2:
		t.Fatalf("the held COMMIT left a log of %d entries, want 2 (the test no longer loses a COMMIT that succeeds)", size)
	case appendErr != nil:
		t.Fatalf("AppendAudit reported %v, but its entries were committed: a caller would append them again", appendErr)
	}
	if rep, err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify: %v\n%s", err, rep.String())
	}
}

// waiters counts the backends of the test's database waiting for an
// advisory lock: for holdKey, or for any other (the store's write lock).
func waiters(t *testing.T, db *sql.DB, hold bool) int {
	t.Helper()
	op := "<>"
	if hold {
		op = "="
	}
	var n int
	err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND objid `+op+` $1`, holdKey).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitUntil polls the server's state until cond holds: the test waits for
// what it can observe, never for a duration to pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
