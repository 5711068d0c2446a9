package store

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store/pgtest"
)

// explainSQL returns the engine's plan of a query.
func (s *sqlStore) explainSQL(t *testing.T, query string, args []any) string {
	t.Helper()
	explain := "EXPLAIN "
	if s.d.Name == "sqlite" {
		explain = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.db.QueryContext(t.Context(), explain+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.TrimSpace(stringOf(vals[len(vals)-1])) + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// TestWorkflowCountByPlans checks, with the engines' own EXPLAIN on a
// node of 5,000 cases, that the console's summaries are answered from
// the indexes: the alerts of two weeks per day, sent (Origin) and
// received (NotOrigin), from an index range (on SQLite the origin index
// alone, which holds the opening time: no row is read); the open
// incidents per severity from the kind index — never a scan of every
// case.
func TestWorkflowCountByPlans(t *testing.T) {
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
			start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
			since, before := start.Add(10*time.Minute), start.Add(20*time.Minute) // an eighth of the cases
			for _, tc := range []struct {
				name   string
				q      WorkflowQuery
				by     WorkflowGroup
				sqlite []string // in the plan, and no table scan
				pg     []string // indexes of which the plan uses one, and no sequential scan
			}{
				{"alerts sent per day", WorkflowQuery{Kind: "alert", Origin: self, OpenedSince: since, OpenedBefore: before}, GroupOpenedDay,
					[]string{"COVERING INDEX workflow_cases_origin (kind=? AND origin=? AND opened>? AND opened<?)"}, []string{"workflow_cases_origin", "workflow_cases_kind"}},
				{"alerts received per day", WorkflowQuery{Kind: "alert", NotOrigin: self, OpenedSince: since, OpenedBefore: before}, GroupOpenedDay,
					[]string{"COVERING INDEX workflow_cases_origin (kind=? AND origin<?)", "COVERING INDEX workflow_cases_origin (kind=? AND origin>?)"}, []string{"workflow_cases_origin", "workflow_cases_kind"}},
				{"open incidents per severity", WorkflowQuery{Kind: "incident", OpenOnly: true}, GroupSeverity,
					[]string{"workflow_cases_kind (kind=?)"}, []string{"workflow_cases_kind"}},
			} {
				query, args, err := workflowCountBySQL(tc.q, tc.by)
				if err != nil {
					t.Fatal(err)
				}
				plan := s.explainSQL(t, query, args)
				t0 := time.Now()
				counts, err := s.WorkflowCountBy(t.Context(), tc.q, tc.by)
				if err != nil {
					t.Fatal(err)
				}
				took := time.Since(t0)
				n := 0
				for _, c := range counts {
					n += c
				}
				t.Logf("%s: %d cases in %d groups in %v\n%s", tc.name, n, len(counts), took, plan)
				if total, err := s.WorkflowCount(t.Context(), tc.q); err != nil || total != n || n == 0 {
					t.Errorf("%s: %d counted by group, %d in all (%v)", tc.name, n, total, err)
				}
				switch e.name {
				case "sqlite":
					if strings.Contains(plan, "SCAN c") {
						t.Errorf("%s: a table scan:\n%s", tc.name, plan)
					}
					for _, w := range tc.sqlite {
						if !strings.Contains(plan, w) {
							t.Errorf("%s: the plan lacks %q:\n%s", tc.name, w, plan)
						}
					}
				case "postgres":
					if strings.Contains(plan, "Seq Scan") {
						t.Errorf("%s: a sequential scan:\n%s", tc.name, plan)
					}
					if !slices.ContainsFunc(tc.pg, func(ix string) bool { return strings.Contains(plan, ix) }) {
						t.Errorf("%s: the plan uses none of %v:\n%s", tc.name, tc.pg, plan)
					}
				}
			}
		})
	}
}
