package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store/pgtest"
)

// migrateUpTo applies the first n migrations to db, as migrate does.
// beforeMigration runs f on each engine, SQLite and PostgreSQL, in
// parallel subtests, with a new database migrated up to the migration
// whose name starts with prefix, not included: a migration test fills it
// as an older binary would, then opens it.
func beforeMigration(t *testing.T, prefix string, f func(t *testing.T, ctx context.Context, db *sql.DB, url string)) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	before := slices.IndexFunc(ms, func(m migration) bool { return strings.HasPrefix(m.name, prefix) })
	if before < 0 {
		t.Fatalf("no migration %s", prefix)
	}
	for _, e := range []struct {
		name, driver string
		d            *Dialect
		url          func(t *testing.T) string
	}{
		{"sqlite", "sqlite", &SQLite, func(t *testing.T) string { return filepath.Join(t.TempDir(), "entraide.db") }},
		{"postgres", "pgx", &Postgres, func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := e.url(t)
			db, err := sql.Open(e.driver, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			migrateUpTo(ctx, t, db, e.d, before)
			f(t, ctx, db, url)
		})
	}
}

func migrateUpTo(ctx context.Context, t *testing.T, db *sql.DB, d *Dialect, n int) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:n] {
		var b bytes.Buffer
		if err := template.Must(template.New(m.name).Option("missingkey=error").Parse(m.src)).Execute(&b, d); err != nil {
			t.Fatal(err)
		}
		for _, stmt := range splitStatements(b.String()) {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v\n%s", m.name, err, stmt)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
}

// oldOutboxStats is OutboxStats as it was before migration 0008: one
// GROUP BY over every row.
func oldOutboxStats(ctx context.Context, db *sql.DB) (map[string]QueueStats, error) {
	rows, err := db.QueryContext(ctx, `SELECT peer,
			COUNT(CASE WHEN delivered_at = 0 AND failed_at = 0 THEN 1 END),
			MIN(CASE WHEN delivered_at = 0 AND failed_at = 0 THEN created END),
			COUNT(CASE WHEN delivered_at <> 0 THEN 1 END),
			COUNT(CASE WHEN delivered_at = 0 AND failed_at <> 0 THEN 1 END),
			MAX(delivered_at)
		FROM outbox GROUP BY peer`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]QueueStats{}
	for rows.Next() {
		var (
			peer         string
			q            QueueStats
			oldest, last sql.NullInt64
		)
		if err := rows.Scan(&peer, &q.Pending, &oldest, &q.Delivered, &q.Failed, &last); err != nil {
			return nil, err
		}
		q.OldestPending, q.LastDelivered = fromMicro(oldest.Int64), fromMicro(last.Int64)
		out[peer] = q
	}
	return out, rows.Err()
}

// TestOutboxTotalsMigration fills the outbox of a database at schema 7 with
// rows in every state, then opens it (migration 0008 fills the per-peer
// totals from them): OutboxStats says what the old query over every row
// says, and keeps saying it as rows are settled afterwards.
func TestOutboxTotalsMigration(t *testing.T) {
	beforeMigration(t, "0008_", func(t *testing.T, ctx context.Context, db *sql.DB, url string) {
		// Rows of four peers: one with every state, one only pending,
		// one only delivered, one only failed (one of them delivered
		// after a final failure, which counts as delivered).
		start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
		rng := rand.New(rand.NewPCG(8, 8))
		seq := int64(0)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		insert := func(peer string, created, delivered, failed int64) {
			seq++
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (seq, peer, object, community, tlp, created, attempts, next_attempt,
					delivered_at, failed_at, last_error) VALUES ($1, $2, $3, '', 'amber', $4, 1, $4, $5, $6, '')`,
				seq, peer, seq, created, delivered, failed); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 300 {
			created := start + int64(rng.IntN(1_000_000_000))
			switch i % 4 {
			case 0:
				insert("identity--all", created, 0, 0)
			case 1:
				insert("identity--all", created, created+int64(rng.IntN(1_000_000)), 0)
			case 2:
				insert("identity--all", created, 0, created+5)
			case 3:
				insert("identity--all", created, created+7, created+5)
			}
			insert("identity--pending", created, 0, 0)
			insert("identity--delivered", created, created+int64(rng.IntN(1_000_000)), 0)
			insert("identity--failed", created, 0, created+1)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		want, err := oldOutboxStats(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 4 {
			t.Fatalf("the old query sees %d peers, want 4", len(want))
		}
		s, err := Open(ctx, url, clock.NewFake(time.UnixMicro(start).UTC()))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if v, err := schemaVersion(ctx, db); err != nil || v < 8 {
			t.Fatalf("schema version %d after Open, %v", v, err)
		}
		got, err := s.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after migration:\n got %+v\nwant %+v", got, want)
		}
		// Settling rows afterwards keeps both in step.
		var seqs []int64
		for k := int64(1); k <= seq; k += 3 {
			seqs = append(seqs, k)
		}
		if err := s.MarkDelivered(ctx, seqs, time.UnixMicro(start+2_000_000_000).UTC()); err != nil {
			t.Fatal(err)
		}
		for k := int64(2); k <= seq; k += 7 {
			if err := s.MarkFailed(ctx, k, time.UnixMicro(start).UTC(), "refused", time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RemovePeer(ctx, "identity--pending"); err == nil {
			t.Fatal("RemovePeer of a peer that was never pinned succeeded")
		}
		want, err = oldOutboxStats(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = s.OutboxStats(ctx); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after settling rows:\n got %+v\nwant %+v", got, want)
		}
	})
}

func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return v, err
}

// outboxFixture opens a store (at url, through driver for direct access
// too) whose outbox holds delivered rows for 5 peers and 50 pending ones,
// as on the node of the status benchmark.
func outboxFixture(tb testing.TB, driver, url string, delivered int) (Store, *sql.DB) {
	ctx := tb.Context()
	clk := clock.NewFake(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC))
	s, err := Open(ctx, url, clk)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	db, err := sql.Open(driver, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	// The rows are written directly (OutboxStats does not read the
	// objects), then settled through the store so that the totals are
	// kept as in service.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	now := clk.Now().UnixMicro()
	var seqs []int64
	for i := range delivered + 50 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (seq, peer, object, community, tlp, created, attempts, next_attempt,
			delivered_at, failed_at, last_error) VALUES ($1, $2, $1, '', 'amber', $3, 0, $3, 0, 0, '')`,
			i+1, fmt.Sprintf("identity--peer-%d", i%5), now+int64(i)); err != nil {
			tb.Fatal(err)
		}
		if i < delivered {
			seqs = append(seqs, int64(i+1))
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	for len(seqs) > 0 {
		n := min(500, len(seqs))
		if err := s.MarkDelivered(ctx, seqs[:n], clk.Now()); err != nil {
			tb.Fatal(err)
		}
		seqs = seqs[n:]
	}
	// Planner statistics, as a live database has them (PostgreSQL's
	// autovacuum would also have run).
	if _, err := db.ExecContext(ctx, map[string]string{"sqlite": "ANALYZE", "pgx": "VACUUM ANALYZE"}[driver]); err != nil {
		tb.Fatal(err)
	}
	want, err := oldOutboxStats(ctx, db)
	if err != nil {
		tb.Fatal(err)
	}
	got, err := s.OutboxStats(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		tb.Fatalf("OutboxStats:\n got %+v\nwant %+v", got, want)
	}
	return s, db
}

// TestOutboxStatsPlan checks with the engines' EXPLAIN that OutboxStats
// reads the pending rows from the outbox_pending index, one peer's range at
// a time, and never scans the outbox (20,000 delivered rows) nor walks
// another index through it.
func TestOutboxStatsPlan(t *testing.T) {
	for _, e := range []struct {
		name, driver string
		url          func(t *testing.T) string
	}{
		{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "entraide.db") }},
		{"postgres", "pgx", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s, db := outboxFixture(t, e.driver, e.url(t), 20000)
			q := s.(*sqlStore).outboxStatsQuery()
			explain := map[string]string{"sqlite": "EXPLAIN QUERY PLAN ", "pgx": "EXPLAIN "}[e.driver]
			rows, err := db.QueryContext(t.Context(), explain+q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var plan []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			scansOutbox := regexp.MustCompile(`(?i)(seq scan on outbox |SCAN outbox($| )|outbox_created|outbox_pkey)`)
			if !strings.Contains(text, "outbox_pending") || scansOutbox.MatchString(text) {
				t.Errorf("OutboxStats does not read only the pending index:\n%s", text)
			}
		})
	}
}

// BenchmarkOutboxStats compares, on one database, OutboxStats with the
// query it replaced (a GROUP BY over every row), at 30,000 delivered rows
// for 5 peers and 50 pending ones, as on the node of the status benchmark
// (ENTRAIDE_BENCH_ROWS changes the number of delivered rows).
func BenchmarkOutboxStats(b *testing.B) {
	rowsN := 30000
	if v := os.Getenv("ENTRAIDE_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		rowsN = n
	}
	for _, e := range []struct {
		name, driver string
		url          func(b *testing.B) string
	}{
		{"sqlite", "sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "entraide.db") }},
		{"postgres", "pgx", func(b *testing.B) string { return pgtest.DSN(b) }},
	} {
		b.Run(e.name, func(b *testing.B) {
			ctx := b.Context()
			s, _ := outboxFixture(b, e.driver, e.url(b), rowsN)
			b.Run("old", func(b *testing.B) {
				for b.Loop() {
					if _, err := oldOutboxStats(ctx, s.(*sqlStore).db); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("new", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.OutboxStats(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
