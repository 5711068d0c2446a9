package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// An incident in the console of two nodes: FR opens it with DE; at DE an
// analyst confirms taking part and adds a task, a viewer and a liaison
// officer may not act on it; at FR an analyst raises the severity, and
// the severity history shows both values; the NIS2 clock is FR's.
func TestIncidentStory(t *testing.T) {
	p := newPair(t)
	frAnalyst := p.fr.b()
	frAnalyst.login("analyst")
	if pg := frAnalyst.get("/console/incidents/new"); pg.status != 200 || count(pg.body, "incident-form") != 1 {
		t.Fatalf("new incident form: %d", pg.status)
	}
	pg := frAnalyst.post("/console/incidents", url.Values{"title": {"Wiper at a grid operator"}, "severity": {"3"}, "tlp": {"amber"},
		"status": {"analysis"}, "sectors": {"energy"}, "countries": {"fr de"}, "nis2": {"1"}, "to": {"cert-de"}, "exercise": {"grid-2026"},
		"rsit": {"nonsense-class"}})
	if pg.status != http.StatusBadRequest || count(pg.body, "form-error") != 1 || !strings.Contains(pg.body, "Wiper at a grid operator") {
		t.Fatalf("an unknown RSIT class: %d\n%s", pg.status, pg.body)
	}
	pg = frAnalyst.post("/console/incidents", url.Values{"title": {"Wiper at a grid operator"}, "severity": {"3"}, "tlp": {"amber"},
		"status": {"analysis"}, "sectors": {"energy"}, "countries": {"fr de"}, "nis2": {"1"}, "to": {"cert-de"}, "exercise": {"grid-2026"}})
	if pg.status != http.StatusSeeOther || !strings.HasSuffix(pg.location(), "?done=opened") {
		t.Fatalf("open: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(pg.location(), "/console/incidents/"), "?done=opened")
	p.fed.WaitFor("the incident at DE", 10*time.Second, func() bool {
		_, err := p.de.Workflow.Get(context.Background(), id)
		return err == nil
	})

	deAnalyst := p.de.b()
	deAnalyst.login("analyst")
	pg = deAnalyst.get("/console/incidents")
	if pg.status != 200 || count(pg.body, "incident-row") != 1 || count(pg.body, "exercise-badge") != 1 {
		t.Fatalf("DE's incident list:\n%s", pg.body)
	}
	pg = deAnalyst.get("/console/incidents/" + id)
	if pg.status != 200 || count(pg.body, "participant-row") != 2 || count(pg.body, "join-form") != 1 ||
		count(pg.body, "nis2-form") != 0 || count(pg.body, "exercise-banner") != 1 || count(pg.body, "severity-row") != 1 {
		t.Fatalf("DE's incident page:\n%s", pg.body)
	}
	// The generic case page sends to the incident's own.
	if pg := deAnalyst.get("/console/cases/" + id); pg.status != http.StatusSeeOther || pg.location() != "/console/incidents/"+id {
		t.Errorf("case page of an incident: %d %q", pg.status, pg.location())
	}
	p.clk.Advance(10 * time.Minute)
	pg = deAnalyst.post("/console/cases/"+id+"/join", url.Values{"note": {"CERT-DE on it"}})
	if pg.status != http.StatusSeeOther || pg.location() != "/console/incidents/"+id+"?done=acted" {
		t.Fatalf("join: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	p.clk.Advance(10 * time.Minute)
	pg = deAnalyst.post("/console/cases/"+id+"/task-add", url.Values{"title": {"Collect the wiper sample"}, "due": {"4h"}})
	if pg.status != http.StatusSeeOther {
		t.Fatalf("task-add: %d\n%s", pg.status, pg.body)
	}
	pg = deAnalyst.get("/console/incidents/" + id)
	if count(pg.body, "task-row") != 1 || count(pg.body, "join-form") != 0 || !strings.Contains(pg.body, "Collect the wiper sample") {
		t.Fatalf("DE's page after join and task:\n%s", pg.body)
	}
	// A refused input comes back to the page with the engine's words.
	pg = deAnalyst.post("/console/cases/"+id+"/task-add", url.Values{"title": {""}})
	if pg.status != http.StatusBadRequest || count(pg.body, "form-error") != 1 || count(pg.body, "incident") < 1 {
		t.Fatalf("task without a title: %d\n%s", pg.status, pg.body)
	}
	if pg := deAnalyst.post("/console/cases/"+id+"/nonsense", url.Values{}); pg.status != http.StatusNotFound {
		t.Errorf("unknown action: %d", pg.status)
	}

	for _, who := range []string{"viewer", "liaison"} {
		b := p.de.b()
		b.login(who)
		pg := b.get("/console/incidents/" + id)
		if pg.status != 200 || count(pg.body, "update-form") != 0 || count(pg.body, "task-add-form") != 0 || count(pg.body, "task-done-form") != 0 {
			t.Errorf("%s sees forms on the incident:\n%s", who, pg.body)
		}
		if pg := b.post("/console/cases/"+id+"/update", url.Values{"note": {"x"}}); pg.status != http.StatusForbidden {
			t.Errorf("%s updates the incident: %d", who, pg.status)
		}
	}

	p.clk.Advance(10 * time.Minute)
	frAnalyst.login("analyst") // idle meanwhile
	pg = frAnalyst.post("/console/cases/"+id+"/update", url.Values{"severity": {"4"}, "status": {"containment"}, "note": {"Spreading to substations."}})
	if pg.status != http.StatusSeeOther {
		t.Fatalf("FR update: %d\n%s", pg.status, pg.body)
	}
	pg = frAnalyst.get("/console/incidents/" + id)
	checkStrict(t, "incident page", pg)
	if count(pg.body, "severity-row") != 2 || count(pg.body, "nis2-row") != 3 || count(pg.body, "nis2-form") != 1 ||
		!strings.Contains(text(pg.body), "containment") || !strings.Contains(pg.body, `data-level="4"`) {
		t.Fatalf("FR's page after the update:\n%s", pg.body)
	}
	// DE's join and task reach FR.
	p.fed.WaitFor("DE's task at FR", 10*time.Second, func() bool {
		return strings.Contains(frAnalyst.get("/console/incidents/"+id).body, "Collect the wiper sample")
	})
	v, err := p.fr.Workflow.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, e := range v.Timeline {
		actors = append(actors, e.Action+":"+e.Actor)
	}
	if strings.Join(actors, " ") != "join:analyst task-add:analyst update:analyst" || v.Exercise != "grid-2026" {
		t.Errorf("the signed steps: %v", actors)
	}
}
