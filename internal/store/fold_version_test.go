package store

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
)

// TestFoldVersionMigration writes a case state into a database at the
// schema before migration 0011, then opens it: the state reads as folded
// before versions were recorded (0), so the engine finds it stale.
func TestFoldVersionMigration(t *testing.T) {
	beforeMigration(t, "0011_", func(t *testing.T, ctx context.Context, db *sql.DB, url string) {
		const id = "x-a--00000000-0000-4000-8000-000000000001"
		if _, err := db.ExecContext(ctx, `INSERT INTO workflow_cases (id, kind, origin, title, severity, status, open, next_due,
				waiting_on, opened, updated, state, folded_seq) VALUES ($1, 'alert', 'identity--o', 't', -1, 's', TRUE, 0, '[]', 1, 1, '{}', 1)`, id); err != nil {
			t.Fatal(err)
		}
		st, err := Open(ctx, url, clock.NewFake(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ws, _ := Workflows(st)
		if c, err := ws.WorkflowCase(ctx, id); err != nil || c.FoldVersion != 0 {
			t.Fatalf("after the migration: %+v, %v", c, err)
		}
		if ids, err := ws.StaleWorkflowCases(ctx, "alert", 1, "", 0); err != nil || !slices.Equal(ids, []string{id}) {
			t.Fatalf("stale after the migration: %v, %v", ids, err)
		}
	})
}
