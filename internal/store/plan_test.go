package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/store/storetest"
)

// TestListPlans checks, with the engines' own EXPLAIN, that the queries of
// ListObjects are index range scans (and, for the ordered shapes, need no
// sort), on a collection large enough for the planners to care, with and
// without a cursor.
func TestListPlans(t *testing.T) {
	for _, e := range []struct {
		name, driver string
		url          func(t *testing.T) string
	}{
		{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "entraide.db") }},
		{"postgres", "pgx", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := e.url(t)
			clk := clock.NewFake(storetest.Start)
			s, err := store.Open(ctx, url, clk)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			colls := []string{"11111111-2222-4333-8444-555555555551", "11111111-2222-4333-8444-555555555552"}
			for _, c := range colls {
				if err := s.CreateCollection(ctx, store.Collection{ID: c, Title: c}); err != nil {
					t.Fatal(err)
				}
			}
			// Indicators, many with a second version, and observables.
			objs := storetest.Indicators(20000, 5)
			var batch []*stix.Object
			for i, o := range objs {
				batch = append(batch, o)
				if i%3 != 0 {
					v2 := strings.Replace(string(o.Raw), `"modified":"`+o.Modified+`"`, `"modified":"2026-02-01T00:00:00.000Z"`, 1)
					batch = append(batch, storetest.MustParse(v2))
				}
				if i%2 == 0 {
					batch = append(batch, storetest.MustParse(fmt.Sprintf(
						`{"type":"ipv4-addr","spec_version":"2.1","id":"%s","value":"10.9.%d.%d"}`,
						storetest.SCOID("ipv4-addr", fmt.Sprintf(`{"value":"10.9.%d.%d"}`, i/256, i%256)), i/256, i%256)))
				}
				if len(batch) >= 3000 || i == len(objs)-1 {
					clk.Advance(time.Second)
					if _, err := s.AddObjects(ctx, colls[i/3000%2], batch); err != nil {
						t.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			// Planner statistics, as a live database has them.
			db, err := sql.Open(e.driver, url)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
				t.Fatal(err)
			}
			db.Close()

			c := colls[0]
			p, err := s.ListObjects(ctx, c, store.Query{Limit: 100}, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name    string
				q       store.Query
				index   string // the index the scan must use
				ordered bool   // no sort step
			}{
				{"latest", store.Query{Limit: 100}, "entries_latest", true},
				{"latest after a cursor", store.Query{Limit: 100, Next: p.Next}, "entries_latest", true},
				{"latest added_after", store.Query{Limit: 100, AddedAfter: storetest.Start.Add(5 * time.Second)}, "entries_latest", true},
				{"first", store.Query{Versions: []string{"first"}}, "entries_first", true},
				{"all", store.Query{Versions: []string{"all"}}, "", true},
				{"type", store.Query{Types: []string{"indicator"}}, "entries_latest_type", true},
				{"types", store.Query{Types: []string{"indicator", "malware"}}, "entries_latest_type", false},
				{"id", store.Query{IDs: []string{objs[3].ID}}, "", false},
				{"ids", store.Query{IDs: []string{objs[3].ID, objs[7].ID}}, "", false},
			} {
				plan, err := store.ExplainList(ctx, s, c, tc.q)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				t.Logf("%s:\n%s", tc.name, plan)
				if msg := checkPlan(e.name, plan, tc.index, tc.ordered, len(tc.q.IDs) > 0); msg != "" {
					t.Errorf("%s: %s\n%s", tc.name, msg, plan)
				}
			}
		})
	}
}

var (
	sqliteFullScan = regexp.MustCompile(`(?m)^\s*SCAN (e|o|entries|objects)\b`)
	sqliteSearch   = regexp.MustCompile(`SEARCH e USING (?:COVERING )?INDEX (\w+)|SEARCH e USING PRIMARY KEY`)
)

// checkPlan returns what is wrong with a plan, or "".
func checkPlan(engine, plan, index string, ordered, byID bool) string {
	switch engine {
	case "sqlite":
		if sqliteFullScan.MatchString(plan) {
			return "a table scan"
		}
		m := sqliteSearch.FindAllStringSubmatch(plan, -1)
		if len(m) == 0 {
			return "no index search on entries"
		}
		for _, x := range m {
			switch {
			case byID && x[1] != "entries_object":
				return "match[id] does not look entries up by (coll, object)"
			case !byID && index != "" && x[1] != index:
				return "not on " + index
			case !byID && index == "" && !strings.Contains(x[0], "PRIMARY KEY"):
				return "not on the primary key"
			}
		}
		if byID && !strings.Contains(plan, "SEARCH o USING INDEX objects_version") {
			return "match[id] does not look versions up by id"
		}
		if ordered && strings.Contains(plan, "TEMP B-TREE") {
			return "a sort"
		}
	case "postgres":
		if strings.Contains(plan, "Seq Scan") {
			return "a sequential scan"
		}
		if byID {
			if !strings.Contains(plan, "objects_version") || !strings.Contains(plan, "entries_object") {
				return "match[id] does not go through the (id, version_key) and (coll, object) indexes"
			}
			break
		}
		want := index
		if want == "" {
			want = "entries_pkey"
		}
		if !strings.Contains(plan, "Index Scan using "+want) && !strings.Contains(plan, "Index Only Scan using "+want) {
			return "not an index scan on " + want
		}
		if ordered && strings.Contains(plan, "Sort") {
			return "a sort"
		}
	}
	return ""
}

// TestSQLiteTwoProcesses writes into one SQLite file from this process and
// from a child process (like serve and import side by side), at once.
func TestSQLiteTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entraide.db")
	ctx := t.Context()
	s, err := store.Open(ctx, path, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const coll = "33333333-2222-4333-8444-555555555555"
	if err := s.CreateCollection(ctx, store.Collection{ID: coll, Title: "shared"}); err != nil {
		t.Fatal(err)
	}
	// A second store in this process, and a child process.
	s2, err := store.Open(ctx, path, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSQLiteWriterProcess$")
	cmd.Env = append(os.Environ(), "ENTRAIDE_STORE_WRITER="+path)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, st := range []store.Store{s, s2} {
		wg.Go(func() {
			if err := writeBatches(st, coll, uint64(100+i)); err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child writer: %v\n%s", err, out.String())
	}
	// 3 writers × batches: every object once, date_added never going back.
	es := 0
	var last time.Time
	seen := map[string]bool{}
	q := store.Query{Limit: 500}
	for {
		p, err := s.ListObjects(ctx, coll, q, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			if seen[e.ID] {
				t.Fatalf("%s listed twice", e.ID)
			}
			seen[e.ID] = true
			if e.DateAdded.Before(last) {
				t.Fatalf("date_added goes back: %v after %v", e.DateAdded, last)
			}
			last = e.DateAdded
			es++
		}
		if p.Next == "" {
			break
		}
		q.Next = p.Next
	}
	if want := 3 * writerBatches * writerBatch; es != want {
		t.Errorf("%d objects, want %d", es, want)
	}
}

const writerBatches, writerBatch = 20, 150

func writeBatches(s store.Store, coll string, seed uint64) error {
	for b := range writerBatches {
		res, err := s.AddObjects(context.Background(), coll, storetest.Indicators(writerBatch, seed*1000+uint64(b)))
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Outcome != store.Added {
				return fmt.Errorf("%s: %v", r.ID, r.Outcome)
			}
		}
	}
	return nil
}

// TestSQLiteWriterProcess is the child of TestSQLiteTwoProcesses.
func TestSQLiteWriterProcess(t *testing.T) {
	path := os.Getenv("ENTRAIDE_STORE_WRITER")
	if path == "" {
		t.Skip("run by TestSQLiteTwoProcesses")
	}
	s, err := store.Open(t.Context(), path, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := writeBatches(s, "33333333-2222-4333-8444-555555555555", 300); err != nil {
		t.Fatal(err)
	}
}
