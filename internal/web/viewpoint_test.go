package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/clock"
)

// row returns the HTML of the table row with data-testid testid and
// data-node node, "" when there is none.
func row(t *testing.T, body, testid, node string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr data-testid="` + regexp.QuoteMeta(testid) + `" data-node="` + regexp.QuoteMeta(node) + `"[^>]*>.*?</tr>`)
	return re.FindString(body)
}

// caseRow returns the HTML of the list row of case id, "" when there is none.
func caseRow(body, testid, id string) string {
	re := regexp.MustCompile(`(?s)<tr data-testid="` + regexp.QuoteMeta(testid) + `" data-case="` + regexp.QuoteMeta(id) + `"[^>]*>.*?</tr>`)
	return re.FindString(body)
}

func isOverdue(row string) bool {
	open, _, _ := strings.Cut(row, ">")
	return strings.Contains(open, "overdue")
}

// An alert seen from each side, past its deadline. FR alerts DE and EE;
// DE acknowledges, EE does not. Acknowledgements go to FR alone, so FR
// counts them (1 of 2 awaited, EE overdue); DE says it acknowledged and
// shows EE's answer as not known here — not missing, not overdue; EE
// says its own acknowledgement is awaited and overdue, and DE's answer is
// not known there. Never does a recipient say "acknowledgements
// awaited", in English or in French.
func TestAlertFromEachSide(t *testing.T) {
	clk := clock.NewFake(start)
	fed, nodes := startConsoles(t, clk, "fr", "de", "ee")
	fr, de, ee := nodes["fr"], nodes["de"], nodes["ee"]
	ctx := context.Background()
	res, err := fr.Workflow.Open(ctx, "alert", "alice", mustJSON(t, map[string]any{"to": []string{"cert-de", "cert-ee"}, "tlp": "amber",
		"title": "Wiper against grid operators", "severity": "high", "ack_by": "4h"}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("the alert at DE and EE", 10*time.Second, func() bool {
		_, e1 := de.Workflow.Get(ctx, id)
		_, e2 := ee.Workflow.Get(ctx, id)
		return e1 == nil && e2 == nil
	})

	deB := de.b()
	deB.login("liaison")
	pg := deB.get("/console/alerts")
	if r := caseRow(pg.body, "alert-row", id); !strings.Contains(text(r), "awaiting your acknowledgement") || isOverdue(r) {
		t.Errorf("DE's inbox before acknowledging: %q", text(r))
	}
	if strings.Contains(text(pg.body), "acknowledgements awaited") {
		t.Errorf("DE's inbox counts acknowledgements it cannot know:\n%s", text(pg.body))
	}
	if pg := deB.post("/console/alerts/"+id+"/ack", map[string][]string{"answer": {"affected"}, "comment": {"Two substations."}}); pg.status != 303 {
		t.Fatalf("DE acknowledges: %d\n%s", pg.status, pg.body)
	}
	fed.WaitFor("DE's acknowledgement at FR", 10*time.Second, func() bool {
		v, err := fr.Workflow.Get(ctx, id)
		return err == nil && len(v.Timeline) == 1
	})
	clk.Advance(5 * time.Hour) // past the deadline: EE never acknowledged
	deB = de.b()               // the idle session has ended meanwhile
	deB.login("liaison")

	// The sender: every recipient's acknowledgement, counted.
	frB := fr.b()
	frB.login("liaison")
	pg = frB.get("/console/alerts/" + id)
	tx := text(pg.body)
	if !strings.Contains(tx, "acknowledgements awaited: 1 of 2") || !strings.Contains(pg.body, `data-testid="ack-count">1/2<`) ||
		count(pg.body, "recipients-unknown") != 0 || count(pg.body, "not-known") != 0 {
		t.Errorf("FR's alert page:\n%s", tx)
	}
	if r := row(t, pg.body, "recipient-row", "cert-ee"); !isOverdue(r) || !strings.Contains(r, `data-known="true"`) || !strings.Contains(text(r), "OVERDUE") {
		t.Errorf("FR: EE's row is not overdue: %q", r)
	}
	if r := row(t, pg.body, "recipient-row", "cert-de"); isOverdue(r) || !strings.Contains(text(r), "affected") {
		t.Errorf("FR: DE's row: %q", text(r))
	}
	pg = frB.get("/console/alerts?box=sent")
	if r := caseRow(pg.body, "alert-row", id); !isOverdue(r) || !strings.Contains(text(r), "1/2") || !strings.Contains(text(r), "acknowledgements awaited: 1 of 2") {
		t.Errorf("FR's sent box: %q", text(r))
	}

	// DE: acknowledged here; EE's answer not known, not overdue.
	pg = deB.get("/console/alerts/" + id)
	tx = text(pg.body)
	if !strings.Contains(pg.body, `data-testid="alert-status">acknowledged by this node<`) || strings.Contains(tx, "acknowledgements awaited") ||
		count(pg.body, "ack-count") != 0 || count(pg.body, "recipients-unknown") != 1 || count(pg.body, "not-known") != 1 {
		t.Errorf("DE's alert page:\n%s", tx)
	}
	if r := row(t, pg.body, "recipient-row", "cert-ee"); isOverdue(r) || !strings.Contains(r, `data-known="false"`) ||
		!strings.Contains(text(r), "not known here") || strings.Contains(text(r), "not acknowledged") || strings.Contains(text(r), "OVERDUE") {
		t.Errorf("DE: EE's row: %q", r)
	}
	if r := row(t, pg.body, "recipient-row", "cert-de"); isOverdue(r) || !strings.Contains(text(r), "affected") || !strings.Contains(text(r), "Two substations.") {
		t.Errorf("DE: its own row: %q", text(r))
	}
	pg = deB.get("/console/alerts")
	if r := caseRow(pg.body, "alert-row", id); isOverdue(r) || !strings.Contains(text(r), "acknowledged by this node") {
		t.Errorf("DE's inbox: %q", text(r))
	}
	// In French too (the session keeps the language it began in).
	deFr := de.b()
	deFr.lang = "fr"
	deFr.login("liaison")
	pg = deFr.get("/console/alerts/" + id)
	tx = text(pg.body)
	if !strings.Contains(tx, "accusé de réception envoyé par ce nœud") || !strings.Contains(tx, "inconnu ici") || strings.Contains(tx, "attendus") {
		t.Errorf("DE's alert page in French:\n%s", tx)
	}

	// EE: its own acknowledgement awaited and overdue; DE's not known.
	eeB := ee.b()
	eeB.lang = "fr"
	eeB.login("liaison")
	pg = eeB.get("/console/alerts/" + id)
	tx = text(pg.body)
	if !strings.Contains(pg.body, `data-testid="alert-status">en attente de votre accusé de réception<`) || strings.Contains(tx, "attendus") ||
		count(pg.body, "ack-form") != 1 || count(pg.body, "not-known") != 1 {
		t.Errorf("EE's alert page:\n%s", tx)
	}
	if r := row(t, pg.body, "recipient-row", "cert-ee"); !isOverdue(r) || !strings.Contains(text(r), "EN RETARD") {
		t.Errorf("EE: its own row is not overdue: %q", text(r))
	}
	if r := row(t, pg.body, "recipient-row", "cert-de"); isOverdue(r) || !strings.Contains(text(r), "inconnu ici") || strings.Contains(text(r), "touché") {
		t.Errorf("EE: DE's row: %q", text(r))
	}
	pg = eeB.get("/console/alerts")
	if r := caseRow(pg.body, "alert-row", id); !isOverdue(r) || !strings.Contains(text(r), "en attente de votre accusé de réception") {
		t.Errorf("EE's inbox: %q", text(r))
	}
}

// An assistance request seen from each side, past its answer deadline.
// FR asks DE and EE; DE offers a team, EE never answers. FR counts the
// answers (1 of 2 awaited, EE overdue); DE says it answered and shows
// EE's answer as not known here, not overdue; EE says its own answer is
// awaited and overdue, and knows DE's offer (DE is peered with it).
func TestAssistanceFromEachSide(t *testing.T) {
	clk := clock.NewFake(start)
	fed, nodes := startConsoles(t, clk, "fr", "de", "ee")
	fr, de, ee := nodes["fr"], nodes["de"], nodes["ee"]
	ctx := context.Background()
	res, err := fr.Workflow.Open(ctx, assistance.KindName, "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de", "cert-ee"}, "tlp": "amber", "title": "Ransomware at a regional hospital group",
		"incident_ref": "incident--0b6a1a39-3f35-4f7a-9b7e-1f1c2b3d4e5f", "capabilities": []string{"digital-forensics"},
		"urgency": "immediate", "severity": "4", "entity_criticality": "essential",
		"mitigation": "Hospital network isolated from the internet; backups taken offline.", "respond_by": "4h"}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("the request at DE and EE", 10*time.Second, func() bool {
		_, e1 := de.Workflow.Get(ctx, id)
		_, e2 := ee.Workflow.Get(ctx, id)
		return e1 == nil && e2 == nil
	})

	deB := de.b()
	deB.login("analyst")
	pg := deB.get("/console/cases/" + id)
	if !strings.Contains(pg.body, `data-testid="case-status">awaiting your answer<`) || count(pg.body, "not-known") != 1 {
		t.Errorf("DE's page before answering:\n%s", text(pg.body))
	}
	if r := row(t, pg.body, "partner-row", "cert-de"); !strings.Contains(text(r), "no answer yet") || isOverdue(r) {
		t.Errorf("DE: its own row before answering: %q", text(r))
	}
	if pg := deB.post("/console/cases/"+id+"/offer", map[string][]string{"capability": {"digital-forensics"}, "team_size": {"3"}}); pg.status != 303 {
		t.Fatalf("DE offers: %d\n%s", pg.status, text(pg.body))
	}
	fed.WaitFor("DE's offer at FR and EE", 10*time.Second, func() bool {
		v1, e1 := fr.Workflow.Get(ctx, id)
		v2, e2 := ee.Workflow.Get(ctx, id)
		return e1 == nil && e2 == nil && len(v1.Timeline) == 1 && len(v2.Timeline) == 1
	})
	clk.Advance(5 * time.Hour) // past respond_by: EE never answered
	deB = de.b()               // the idle session has ended meanwhile
	deB.login("analyst")

	frB := fr.b()
	frB.login("analyst")
	pg = frB.get("/console/cases/" + id)
	if !strings.Contains(pg.body, `data-testid="case-status">offers awaiting the requesting node&#39;s decision: 1, answers awaited: 1 of 2<`) ||
		count(pg.body, "not-known") != 0 || count(pg.body, "partners-unknown") != 0 {
		t.Errorf("FR's page:\n%s", text(pg.body))
	}
	if r := row(t, pg.body, "partner-row", "cert-ee"); !isOverdue(r) || !strings.Contains(text(r), "OVERDUE") {
		t.Errorf("FR: EE's row is not overdue: %q", text(r))
	}
	if r := row(t, pg.body, "partner-row", "cert-de"); isOverdue(r) || !strings.Contains(text(r), "offered help") {
		t.Errorf("FR: DE's row: %q", text(r))
	}

	pg = deB.get("/console/cases/" + id)
	tx := text(pg.body)
	if !strings.Contains(pg.body, `data-testid="case-status">answered by this node, offers awaiting the requesting node&#39;s decision: 1<`) ||
		strings.Contains(tx, "answers awaited") || count(pg.body, "partners-unknown") != 1 || count(pg.body, "not-known") != 1 {
		t.Errorf("DE's page:\n%s", tx)
	}
	if r := row(t, pg.body, "partner-row", "cert-ee"); isOverdue(r) || !strings.Contains(r, `data-known="false"`) ||
		!strings.Contains(text(r), "not known here") || strings.Contains(text(r), "OVERDUE") {
		t.Errorf("DE: EE's row: %q", r)
	}

	eeB := ee.b()
	eeB.lang = "fr"
	eeB.login("analyst")
	pg = eeB.get("/console/cases/" + id)
	tx = text(pg.body)
	if !strings.Contains(tx, "en attente de votre réponse") || strings.Contains(tx, "réponses attendues") || count(pg.body, "not-known") != 0 {
		t.Errorf("EE's page:\n%s", tx)
	}
	if r := row(t, pg.body, "partner-row", "cert-ee"); !isOverdue(r) || !strings.Contains(text(r), "EN RETARD") {
		t.Errorf("EE: its own row is not overdue: %q", text(r))
	}
	if r := row(t, pg.body, "partner-row", "cert-de"); isOverdue(r) || !strings.Contains(text(r), "aide proposée") {
		t.Errorf("EE: DE's row: %q", text(r))
	}
}
