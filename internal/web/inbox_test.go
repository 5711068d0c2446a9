package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store"
)

// The alert DE sent to FR shows in FR's inbox and on its overview
// (waiting for FR's acknowledgement) however many alerts FR sent since
// with sooner deadlines: more than the 2,000 rows the console once
// scanned to find it. The store finds it by its index.
func TestInboxBeyondTheScanBound(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	res, err := p.de.Workflow.Open(ctx, "alert", "jonas", mustJSON(t, map[string]any{"to": []string{"cert-fr"}, "tlp": "green",
		"title": "The one DE sent", "severity": "low", "ack_by": "72h"}))
	if err != nil {
		t.Fatal(err)
	}
	p.fed.WaitFor("DE's alert at FR", 10*time.Second, func() bool {
		_, err := p.fr.Workflow.Get(ctx, res.ID)
		return err == nil
	})
	// One alert FR sent through the engine, and 2,100 more like it written
	// as folded states: newer than DE's, with sooner deadlines, waiting on
	// DE.
	p.clk.Advance(time.Minute)
	mine, err := p.fr.Workflow.Open(ctx, "alert", "alice", mustJSON(t, map[string]any{"to": []string{"cert-de"}, "tlp": "green",
		"title": "FR's alert", "severity": "low", "ack_by": "4h"}))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := store.Workflows(p.fr.Store)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := ws.WorkflowCase(ctx, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	const sent = 2100
	for i := range sent {
		c := tmpl
		c.ID = fmt.Sprintf("x-entraide-alert--00000000-0000-4000-8000-%012d", i)
		c.Opened = tmpl.Opened.Add(time.Duration(i+1) * time.Second)
		c.Updated = c.Opened
		c.Title = fmt.Sprintf("FR's alert %d", i)
		if err := ws.PutWorkflowCase(ctx, c, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := ws.WorkflowCount(ctx, store.WorkflowQuery{Kind: "alert", Origin: p.fr.Identity.IdentityID}); err != nil || n != sent+1 {
		t.Fatalf("FR sent %d alerts (%v), want %d", n, err, sent+1)
	}

	b := p.fr.b()
	b.login("liaison")
	pg := b.get("/console/alerts")
	if pg.status != 200 || count(pg.body, "alert-row") != 1 || !strings.Contains(pg.body, res.ID) || count(pg.body, "alerts-more") != 0 {
		t.Errorf("FR's inbox: %d rows\n%s", count(pg.body, "alert-row"), pg.body)
	}
	if pg := b.get("/console/alerts?open=1"); count(pg.body, "alert-row") != 1 || !strings.Contains(pg.body, res.ID) {
		t.Errorf("FR's open inbox: %d rows", count(pg.body, "alert-row"))
	}
	pg = b.get("/console/alerts?box=sent")
	if count(pg.body, "alert-row") != 50 || count(pg.body, "alerts-more") != 1 || strings.Contains(pg.body, res.ID) {
		t.Errorf("FR's sent box: %d rows, more link %d", count(pg.body, "alert-row"), count(pg.body, "alerts-more"))
	}
	pg = b.get("/console/")
	if count(pg.body, "pending-alert") != 1 || !strings.Contains(pg.body, res.ID) ||
		!strings.Contains(pg.body, `data-testid="pending-alerts-count">1<`) {
		t.Errorf("FR's overview does not ask for DE's alert:\n%s", pg.body)
	}
}
