package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store"
)

// The console's two summaries count every case, however many: the alerts
// chart counts the 2,100 alerts FR sent today and the 40 it received
// three days ago (once, the console read the 2,000 newest alerts and
// stopped: the received ones and 100 sent were left out), not those of
// three weeks ago; the overview counts the 607 open incidents per
// severity, not the closed ones (once, the 500 newest open ones).
func TestSummariesBeyondTheOldBounds(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()
	ws, err := store.Workflows(c.n.Store)
	if err != nil {
		t.Fatal(err)
	}
	self, peer := c.n.Identity.IdentityID, "identity--00000000-0000-5000-8000-0000000000d1"
	today := start.UTC().Truncate(24 * time.Hour)
	n := 0
	put := func(kind, origin string, opened time.Time, severity int, open bool) {
		t.Helper()
		n++
		if err := ws.PutWorkflowCase(ctx, store.WorkflowCase{ID: fmt.Sprintf("x-entraide-%s--00000000-0000-4000-8000-%012d", kind, n),
			Kind: kind, Origin: origin, Title: fmt.Sprintf("case %d", n), Severity: severity, Status: "s", Open: open,
			Opened: opened, Updated: opened}, 1); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		put("alert", peer, today.AddDate(0, 0, -3).Add(12*time.Hour+time.Duration(i)*time.Minute), 2, true)
	}
	for i := range 10 {
		put("alert", self, today.AddDate(0, 0, -20).Add(time.Duration(i)*time.Minute), 2, true) // outside the two weeks
	}
	for i := range 2100 {
		put("alert", self, today.Add(time.Duration(i)*10*time.Second), 3, i%2 == 0)
	}
	for i := range 600 {
		put("incident", self, today.AddDate(0, 0, -30).Add(time.Duration(i)*time.Minute), i%6, true)
	}
	for i := range 7 {
		put("incident", peer, today.Add(time.Duration(i)*time.Minute), -1, true)
	}
	for i := range 50 {
		put("incident", self, today.Add(time.Duration(i)*time.Minute), 4, false) // closed: not counted
	}

	b := c.browser()
	b.login("admin")
	pg := b.get("/console/alerts")
	if pg.status != 200 {
		t.Fatalf("alerts: %d", pg.status)
	}
	tx := text(pg.body)
	for _, want := range []string{"Alerts per day; 2140 in all over the last 14 days.", "sent: 2100", "received: 40"} {
		if !strings.Contains(tx, want) {
			t.Errorf("the alerts chart lacks %q:\n%s", want, tx)
		}
	}
	pg = b.get("/console/")
	if pg.status != 200 {
		t.Fatalf("overview: %d", pg.status)
	}
	tx = text(pg.body)
	if !strings.Contains(pg.body, `data-testid="incidents-count">607<`) || !strings.Contains(tx, "Open incidents by severity; 607 in all.") {
		t.Errorf("the overview's incidents:\n%s", tx)
	}
	for _, want := range []string{"baseline: 100", "low: 100", "medium: 100", "high: 100", "severe: 100", "emergency: 100", "no severity: 7"} {
		if !strings.Contains(tx, want) {
			t.Errorf("the incidents chart lacks %q", want)
		}
	}
}
