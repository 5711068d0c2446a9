package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store/pgtest"
)

// workflowFixture opens a store holding sent cases of self (each waiting
// on a peer) and a few received (waiting on self), as on a node that
// alerts far more than it is alerted, with planner statistics.
func workflowFixture(tb testing.TB, driver, url string, sent, received int) *sqlStore {
	tb.Helper()
	ctx := tb.Context()
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	st, err := Open(ctx, url, clock.NewFake(start))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	s := st.(*sqlStore)
	err = s.write(ctx, func(tx *sql.Tx) error {
		for i := range sent + received {
			at := start.Add(time.Duration(i) * time.Second)
			c := WorkflowCase{ID: fmt.Sprintf("x-entraide-alert--00000000-0000-4000-8000-%012d", i), Kind: "alert",
				Origin: "identity--self", Open: i%3 != 0, NextDue: at.Add(4 * time.Hour), WaitingOn: []string{"identity--peer"},
				Opened: at, Updated: at, State: []byte(`{"state":{"view":{}}}`)}
			if i%(sent/received+1) == 0 {
				c.Origin, c.WaitingOn, c.Open = fmt.Sprintf("identity--peer%d", i%7), []string{"identity--self"}, true
			}
			if i%5 == 0 {
				c.Kind = "incident"
			}
			if err := putWorkflowCase(ctx, tx, c, int64(i+1)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open(driver, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
	return s
}

func (s *sqlStore) explainWorkflow(ctx context.Context, q WorkflowQuery) (string, error) {
	query, args := workflowCasesSQL(q)
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

// TestWorkflowQueryPlans checks, with the engines' own EXPLAIN on a node
// of 5,000 cases that sent nearly all of them, that the console's
// questions are index range scans: the cases received (NotOrigin: two
// ranges of the origin index), those sent (Origin), those waiting on this
// node (WaitingOn: its range of workflow_waiting, in deadline order, with
// no sort for one kind) — never a scan of every case.
func TestWorkflowQueryPlans(t *testing.T) {
	const self = "identity--self"
	for _, e := range []struct {
		name, driver string
		url          func(t *testing.T) string
	}{
		{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "entraide.db") }},
		{"postgres", "pgx", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := workflowFixture(t, e.driver, e.url(t), 5000, 10)
			for _, tc := range []struct {
				name   string
				q      WorkflowQuery
				want   int
				sqlite []string // in the plan, and no table scan
				pg     string   // an index the plan uses, and no sequential scan
			}{
				{"received", WorkflowQuery{Kind: "alert", NotOrigin: self, Limit: 51}, 8,
					[]string{"workflow_cases_origin (kind=? AND origin<?)", "workflow_cases_origin (kind=? AND origin>?)"}, "workflow_cases_origin"},
				{"received, open", WorkflowQuery{Kind: "alert", NotOrigin: self, OpenOnly: true, Limit: 51}, 8,
					[]string{"workflow_cases_origin (kind=? AND origin<?)", "workflow_cases_origin (kind=? AND origin>?)"}, "workflow_cases_origin"},
				{"sent", WorkflowQuery{Kind: "alert", Origin: self, Limit: 51}, 51,
					[]string{"workflow_cases_origin (kind=? AND origin=?)"}, ""},
				{"waiting on us", WorkflowQuery{Kind: "alert", WaitingOn: self, NotOrigin: self, Limit: 15, NoState: true}, 8,
					[]string{"SEARCH w USING COVERING INDEX workflow_waiting_node (node=? AND kind=?)"}, "workflow_waiting_node"},
				{"waiting on us, any kind", WorkflowQuery{WaitingOn: self, Limit: 15}, 10,
					[]string{"SEARCH w USING COVERING INDEX workflow_waiting_node (node=?)"}, "workflow_waiting_node"},
			} {
				plan, err := s.explainWorkflow(t.Context(), tc.q)
				if err != nil {
					t.Fatal(err)
				}
				t0 := time.Now()
				cs, err := s.WorkflowCases(t.Context(), tc.q)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d cases in %v\n%s", tc.name, len(cs), time.Since(t0), plan)
				if len(cs) != tc.want {
					t.Errorf("%s: %d cases, want %d", tc.name, len(cs), tc.want)
				}
				switch e.name {
				case "sqlite":
					if strings.Contains(plan, "SCAN c") || strings.Contains(plan, "SCAN w") {
						t.Errorf("%s: a table scan:\n%s", tc.name, plan)
					}
					for _, w := range tc.sqlite {
						if !strings.Contains(plan, w) {
							t.Errorf("%s: the plan lacks %q:\n%s", tc.name, w, plan)
						}
					}
					if tc.q.WaitingOn != "" && tc.q.Kind != "" && strings.Contains(plan, "TEMP B-TREE") {
						t.Errorf("%s: a sort:\n%s", tc.name, plan)
					}
				case "postgres":
					if strings.Contains(plan, "Seq Scan") {
						t.Errorf("%s: a sequential scan:\n%s", tc.name, plan)
					}
					if tc.pg != "" && !strings.Contains(plan, tc.pg) {
						t.Errorf("%s: the plan does not use %s:\n%s", tc.name, tc.pg, plan)
					}
				}
			}
		})
	}
}

// TestWorkflowWaitingMigration writes case states into a database at the
// schema before migration 0010, then opens it: the cases waiting on each
// node are found from the index the migration filled (open cases with an
// open deadline, each node once), and it follows new states afterwards.
func TestWorkflowWaitingMigration(t *testing.T) {
	beforeMigration(t, "0010_", func(t *testing.T, ctx context.Context, db *sql.DB, url string) {
		start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
		h := func(n int) int64 { return start.Add(time.Duration(n) * time.Hour).UnixMicro() }
		for _, c := range []struct {
			n       int
			kind    string
			open    bool
			due     int64
			waiting string
		}{
			{1, "alert", true, h(10), `["identity--a","identity--b"]`},
			{2, "alert", true, h(5), `["identity--a","identity--a"]`},
			{3, "alert", false, h(1), `["identity--a"]`}, // closed
			{4, "notice", true, 0, `[]`},                 // no deadline
			{5, "notice", true, h(7), `["identity--b"]`},
		} {
			if _, err := db.ExecContext(ctx, `INSERT INTO workflow_cases (id, kind, origin, title, severity, status, open, next_due,
					waiting_on, opened, updated, state, folded_seq) VALUES ($1, $2, 'identity--o', 't', -1, 's', $3, $4, $5, $6, $6, '{}', 1)`,
				fmt.Sprintf("x-a--00000000-0000-4000-8000-00000000000%d", c.n), c.kind, c.open, c.due, c.waiting, h(c.n)); err != nil {
				t.Fatal(err)
			}
		}
		st, err := Open(ctx, url, clock.NewFake(start))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ws, _ := Workflows(st)
		ids := func(q WorkflowQuery) string {
			t.Helper()
			cs, err := ws.WorkflowCases(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range cs {
				out = append(out, c.ID[len(c.ID)-1:])
			}
			return strings.Join(out, " ")
		}
		for q, want := range map[WorkflowQuery]string{
			{WaitingOn: "identity--a"}:                "2 1",
			{WaitingOn: "identity--b"}:                "5 1",
			{WaitingOn: "identity--b", Kind: "alert"}: "1",
			{WaitingOn: "identity--c"}:                "",
			{Kind: "alert", NotOrigin: "identity--a"}: "3 2 1",
			{Kind: "notice", Origin: "identity--o"}:   "5 4",
		} {
			if got := ids(q); got != want {
				t.Errorf("after the migration, %+v: %q, want %q", q, got, want)
			}
		}
		// A new state of case 1: it waits on b alone now.
		if err := ws.PutWorkflowCase(ctx, WorkflowCase{ID: "x-a--00000000-0000-4000-8000-000000000001", Kind: "alert", Origin: "identity--o",
			Open: true, NextDue: time.UnixMicro(h(10)), WaitingOn: []string{"identity--b"}, Opened: time.UnixMicro(h(1)), Updated: time.UnixMicro(h(2))}, 2); err != nil {
			t.Fatal(err)
		}
		if got := ids(WorkflowQuery{WaitingOn: "identity--a"}); got != "2" {
			t.Errorf("after a new state: %q, want 2", got)
		}
	})
}
