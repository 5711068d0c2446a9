package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A ping in the console: FR's liaison officer pings DE's CSIRT 24/7 desk;
// at DE an analyst reads the code and types it back (a wrong code is
// refused with the engine's words), a viewer sees the ping but cannot
// answer; FR sees the answer, who gave it and how fast; FR's analyst may
// not ping.
func TestPingStory(t *testing.T) {
	p := newPair(t)
	frLiaison := p.fr.b()
	frLiaison.login("liaison")
	pg := frLiaison.get("/console/contacts")
	if pg.status != 200 || count(pg.body, "ping-form") != 1 || count(pg.body, "directory") != 1 ||
		!strings.Contains(pg.body, `data-node="cert-de" data-role="csirt-24x7"`) {
		t.Fatalf("FR's contacts page:\n%s", pg.body)
	}
	pg = frLiaison.post("/console/pings", url.Values{"to": {"cert-de"}, "role": {"csirt-24x7"}, "message": {"Monthly test"}})
	if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.location(), "/console/contacts?done=pinged") {
		t.Fatalf("ping: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	list, err := p.fr.Workflow.List(context.Background(), "ping", false, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("FR's pings: %v %v", list, err)
	}
	id := list[0].ID
	p.fed.WaitFor("the ping at DE", 10*time.Second, func() bool {
		_, err := p.de.Workflow.Get(context.Background(), id)
		return err == nil
	})

	deViewer := p.de.b()
	deViewer.login("viewer")
	pg = deViewer.get("/console/contacts")
	if count(pg.body, "ping-to-answer") != 1 || count(pg.body, "ping-answer-form") != 0 || count(pg.body, "ping-form") != 0 {
		t.Fatalf("DE viewer's contacts page:\n%s", pg.body)
	}
	if pg := deViewer.post("/console/pings/"+id+"/answer", url.Values{"challenge": {"X"}}); pg.status != http.StatusForbidden {
		t.Fatalf("viewer answers: %d", pg.status)
	}

	deAnalyst := p.de.b()
	deAnalyst.login("analyst")
	pg = deAnalyst.get("/console/contacts")
	code := between(pg.body, `data-testid="challenge">`, `<`)
	if count(pg.body, "ping-answer-form") != 1 || len(code) != 9 || !strings.Contains(pg.body, "Monthly test") {
		t.Fatalf("DE analyst's contacts page (code %q):\n%s", code, pg.body)
	}
	pg = deAnalyst.post("/console/pings/"+id+"/answer", url.Values{"challenge": {"0000-0000"}})
	if pg.status != http.StatusBadRequest || count(pg.body, "form-error") != 1 {
		t.Fatalf("wrong code: %d\n%s", pg.status, pg.body)
	}
	p.clk.Advance(7 * time.Minute)
	pg = deAnalyst.post("/console/pings/"+id+"/answer", url.Values{"challenge": {strings.ToLower(code)}, "comment": {"Duty desk here"}})
	if pg.status != http.StatusSeeOther || pg.location() != "/console/contacts?done=answered" {
		t.Fatalf("answer: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	if pg := deAnalyst.get("/console/contacts"); count(pg.body, "ping-to-answer") != 0 {
		t.Fatal("the answered ping still waits at DE")
	}

	p.fed.WaitFor("DE's answer at FR", 10*time.Second, func() bool {
		return strings.Contains(frLiaison.get("/console/contacts").body, `data-outcome="answered"`)
	})
	pg = frLiaison.get("/console/contacts")
	if !strings.Contains(text(pg.body), "7 min") || !strings.Contains(pg.body, ">analyst<") || count(pg.body, "chart-responsiveness") != 1 {
		t.Fatalf("FR's contacts page after the answer:\n%s", pg.body)
	}
	checkStrict(t, "contacts", pg)

	frAnalyst := p.fr.b()
	frAnalyst.login("analyst")
	if pg := frAnalyst.get("/console/contacts"); count(pg.body, "ping-form") != 0 {
		t.Error("an analyst is offered the ping form")
	}
	if pg := frAnalyst.post("/console/pings", url.Values{"to": {"cert-de"}, "role": {"csirt-24x7"}}); pg.status != http.StatusForbidden {
		t.Errorf("an analyst pings: %d", pg.status)
	}
}
