package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/web"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
}

// pair is FR and DE, peered, each with its console.
type pair struct {
	fed    *fedtest.Federation
	clk    *clock.Fake
	fr, de *httptest2
}

// httptest2 is a node of the federation with its console.
type httptest2 struct {
	*fedtest.Node
	url string
	t   testing.TB
	srv *web.Server
	b   func() *browser
}

func newPair(t *testing.T) *pair {
	t.Helper()
	clk := clock.NewFake(start)
	fed, nodes := startConsoles(t, clk, "fr", "de")
	return &pair{fed: fed, clk: clk, fr: nodes["fr"], de: nodes["de"]}
}

// startConsoles starts a federation of the named nodes, each with its
// console and a user of each role but admin named after the role.
func startConsoles(t *testing.T, clk *clock.Fake, names ...string) (*fedtest.Federation, map[string]*httptest2) {
	t.Helper()
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: cooperation.Kinds()}, names...)
	nodes := map[string]*httptest2{}
	for _, name := range names {
		n := fed.Node(name)
		w, err := web.New(web.Options{Engine: n.Workflow, Federation: n.Fed, Store: n.Store, Clock: clk,
			Node:      web.NodeInfo{Name: n.Identity.Name, Org: n.Identity.Org, Country: n.Identity.Country},
			Directory: func(ctx context.Context) ([]contact.Node, error) { return contact.Nodes(ctx, n.Node, n.Fed.Registry()) }})
		if err != nil {
			t.Fatal(err)
		}
		srv := newTLSServer(t, w.Handler())
		h := &httptest2{Node: n, url: srv.URL, t: t, srv: w, b: func() *browser { return newBrowser(t, srv) }}
		for _, role := range store.AllRoles {
			if role != store.RoleAdmin {
				addUser(t, n.Store, role, role, nil)
			}
		}
		nodes[name] = h
	}
	return fed, nodes
}

// openAlert has FR open an alert to DE through the engine, and waits
// until DE holds it.
func (p *pair) openAlert(t *testing.T, title, exercise string) string {
	t.Helper()
	in := map[string]any{"to": []string{"cert-de"}, "tlp": "amber", "title": title, "severity": "high", "ack_by": "4h"}
	if exercise != "" {
		in["exercise"] = exercise
	}
	res, err := p.fr.Workflow.Open(context.Background(), "alert", "alice", mustJSON(t, in))
	if err != nil {
		t.Fatal(err)
	}
	p.fed.WaitFor("the alert at DE", 10*time.Second, func() bool {
		_, err := p.de.Workflow.Get(context.Background(), res.ID)
		return err == nil
	})
	return res.ID
}

// The alert story in the console of two nodes: an analyst at FR sends an
// exercise alert with the form; at DE the liaison officer sees it on the
// overview and acknowledges it with an answer, in French; a viewer there
// sees it but can do nothing with it; FR sees who answered what, and
// closes it.
func TestAlertStory(t *testing.T) {
	p := newPair(t)
	frAnalyst := p.fr.b()
	frAnalyst.login("analyst")
	form := url.Values{"title": {"Ransomware against hospitals"}, "description": {"LockBit affiliate, initial access by VPN."},
		"severity": {"4"}, "tlp": {"amber"}, "ack_by": {"6h"}, "sectors": {"health"}, "countries": {"fr, de"},
		"to": {"cert-de"}, "exercise": {"blue-lagoon"}}
	pg := frAnalyst.post("/console/alerts", form)
	if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.location(), "/console/alerts/x-entraide-alert--") ||
		!strings.HasSuffix(pg.location(), "?done=sent") {
		t.Fatalf("send: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(pg.location(), "/console/alerts/"), "?done=sent")
	pg = frAnalyst.get(pg.location())
	if pg.status != 200 || count(pg.body, "flash") != 1 || count(pg.body, "exercise-banner") != 1 ||
		!strings.Contains(pg.body, `data-tlp="TLP:AMBER"`) || count(pg.body, "recipient-row") != 1 ||
		!strings.Contains(text(pg.body), "acknowledgements awaited: 1 of 1") || count(pg.body, "close-form") != 1 || count(pg.body, "ack-form") != 0 {
		t.Fatalf("FR's alert page:\n%s", pg.body)
	}
	// The signed case names the analyst.
	v, err := p.fr.Workflow.Get(context.Background(), id)
	if err != nil || v.Exercise != "blue-lagoon" {
		t.Fatalf("the case: %+v %v", v, err)
	}
	p.fed.WaitFor("the alert at DE", 10*time.Second, func() bool {
		_, err := p.de.Workflow.Get(context.Background(), id)
		return err == nil
	})

	// DE's viewer sees it, with no form, and may not acknowledge.
	deViewer := p.de.b()
	deViewer.login("viewer")
	pg = deViewer.get("/console/alerts/" + id)
	if pg.status != 200 || count(pg.body, "ack-form") != 0 || count(pg.body, "close-form") != 0 || count(pg.body, "exercise-banner") != 1 {
		t.Fatalf("DE viewer's alert page: %d\n%s", pg.status, pg.body)
	}
	if pg := deViewer.post("/console/alerts/"+id+"/ack", url.Values{"answer": {"affected"}}); pg.status != http.StatusForbidden {
		t.Fatalf("viewer acknowledges: %d", pg.status)
	}
	if pg := deViewer.get("/console/alerts/new"); pg.status != http.StatusForbidden {
		t.Fatalf("viewer opens the alert form: %d", pg.status)
	}

	// DE's liaison officer, in French: the overview asks for the
	// acknowledgement; a bad answer comes back to the form; then affected.
	deLiaison := p.de.b()
	deLiaison.lang = "fr-FR,fr;q=0.9"
	deLiaison.login("liaison")
	pg = deLiaison.get("/console/")
	if pg.status != 200 || count(pg.body, "pending-alert") != 1 || !strings.Contains(pg.body, `<html lang="fr">`) ||
		!strings.Contains(pg.body, "Ransomware against hospitals") || count(pg.body, "exercise-badge") < 1 {
		t.Fatalf("DE liaison overview:\n%s", pg.body)
	}
	pg = deLiaison.post("/console/alerts/"+id+"/ack", url.Values{"answer": {"maybe"}, "comment": {"checking"}})
	if pg.status != http.StatusBadRequest || count(pg.body, "form-error") != 1 || !strings.Contains(pg.body, "checking") {
		t.Fatalf("bad answer: %d\n%s", pg.status, pg.body)
	}
	p.clk.Advance(20 * time.Minute)
	pg = deLiaison.post("/console/alerts/"+id+"/ack", url.Values{"answer": {"affected"}, "comment": {"Two hospitals in Bavaria."}})
	if pg.status != http.StatusSeeOther || pg.location() != "/console/alerts/"+id+"?done=ack" {
		t.Fatalf("ack: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	pg = deLiaison.get(pg.location())
	if !strings.Contains(text(pg.body), "touché") || !strings.Contains(text(pg.body), "Votre accusé de réception est enregistré") {
		t.Fatalf("DE's page after the ack (fr):\n%s", pg.body)
	}
	if pg := deLiaison.get("/console/"); count(pg.body, "pending-alert") != 0 {
		t.Fatalf("the acknowledged alert is still pending on DE's overview")
	}

	// FR sees DE's answer and who gave it.
	p.fed.WaitFor("DE's acknowledgement at FR", 10*time.Second, func() bool {
		pg := frAnalyst.get("/console/alerts/" + id)
		return strings.Contains(text(pg.body), "affected") && strings.Contains(text(pg.body), "Two hospitals in Bavaria.")
	})
	pg = frAnalyst.get("/console/alerts/" + id)
	if !strings.Contains(pg.body, ">liaison<") || !strings.Contains(text(pg.body), "acknowledged by every recipient") {
		t.Fatalf("FR's page after DE's ack:\n%s", pg.body)
	}
	pg = frAnalyst.get("/console/alerts?box=sent")
	if count(pg.body, "alert-row") != 1 || !strings.Contains(text(pg.body), "1/1") {
		t.Fatalf("FR's sent box:\n%s", pg.body)
	}

	// FR's viewer may not close it; the analyst does.
	frViewer := p.fr.b()
	frViewer.login("viewer")
	if pg := frViewer.post("/console/alerts/"+id+"/close", nil); pg.status != http.StatusForbidden {
		t.Fatalf("viewer closes: %d", pg.status)
	}
	p.clk.Advance(40 * time.Minute)
	pg = frAnalyst.post("/console/alerts/"+id+"/close", url.Values{"comment": {"Contained."}})
	if pg.status != http.StatusSeeOther {
		t.Fatalf("close: %d\n%s", pg.status, pg.body)
	}
	v, _ = p.fr.Workflow.Get(context.Background(), id)
	if v.Open {
		t.Fatal("the alert is still open")
	}
	var actors []string
	for _, e := range v.Timeline {
		actors = append(actors, e.Action+":"+e.Actor)
	}
	if !slices.Equal(actors, []string{"ack:liaison", "close:analyst"}) {
		t.Fatalf("the signed steps name %v", actors)
	}
	// What people did in the console is audited as done in the console.
	consoleShares(t, p.fr.Fed, "analyst", 2) // the alert, its closure
	consoleShares(t, p.de.Fed, "liaison", 1) // the acknowledgement
}

// consoleShares checks that the audit log holds at least n shares made by
// actor, and that each says it was asked for in the console.
func consoleShares(t *testing.T, fed *federation.Federation, actor string, n int) {
	t.Helper()
	es, err := fed.Audit().Entries(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, e := range es {
		if e.Kind != audit.KindShare || e.Actor != actor {
			continue
		}
		got++
		if e.Detail["path"] != string(policy.PathConsole) {
			t.Errorf("%s's share of %s is audited with path %q, want console", actor, e.ObjectID, e.Detail["path"])
		}
	}
	if got < n {
		t.Errorf("%d shares by %s in the audit log, want at least %d", got, actor, n)
	}
}

// roleRoute is a page or an action and the capability the table gives it.
type roleRoute struct {
	method, path string
	cap          web.Cap
}

// Every page and every action refuses the roles that may not see or do
// it (403, nothing done), and lets the others through; the navigation
// shows exactly what the role may open.
func TestRolesEnforced(t *testing.T) {
	p := newPair(t)
	id := p.openAlert(t, "Role check", "")
	// DE received it: DE's roles are the ones tested (ack is possible there).
	routes := []roleRoute{
		{"GET", "/console/", web.CapOverview},
		{"GET", "/console/alerts", web.CapAlerts},
		{"GET", "/console/alerts?box=sent", web.CapAlerts},
		{"GET", "/console/alerts/" + id, web.CapAlerts},
		{"GET", "/console/alerts/new", web.CapAlertsAct},
		{"POST", "/console/alerts", web.CapAlertsAct},
		{"POST", "/console/alerts/" + id + "/ack", web.CapAlertsAct},
		{"POST", "/console/alerts/" + id + "/close", web.CapAlertsAct},
		{"GET", "/console/intel", web.CapIntel},
		{"POST", "/console/intel/default/indicator--00000000-0000-4000-8000-000000000000/share", web.CapIntelAct},
		{"GET", "/console/incidents", web.CapIncidents},
		{"GET", "/console/incidents/new", web.CapIncidentsAct},
		{"POST", "/console/incidents", web.CapIncidentsAct},
		{"GET", "/console/contacts", web.CapContacts},
		{"POST", "/console/pings", web.CapPingSend},
		{"GET", "/console/peers", web.CapPeers},
		{"GET", "/console/sharing", web.CapSharing},
		{"GET", "/console/audit", web.CapAudit},
		{"GET", "/console/audit?verify=1", web.CapAudit},
		{"GET", "/console/kinds/assist", web.CapAssist},
		{"GET", "/console/kinds/preservation", web.CapLegal},
		{"POST", "/console/cases/" + id + "/chain", web.CapLegalAct},
		{"GET", "/console/kinds/notice", web.CapNotices},
	}
	navCaps := map[string]web.Cap{"overview": web.CapOverview, "alerts": web.CapAlerts, "intel": web.CapIntel, "incidents": web.CapIncidents, "contacts": web.CapContacts,
		"peers": web.CapPeers, "sharing": web.CapSharing, "audit": web.CapAudit,
		"assist": web.CapAssist, "legal": web.CapLegal, "notices": web.CapNotices}
	for _, role := range store.AllRoles {
		b := p.de.b()
		b.login(role)
		for _, rt := range routes {
			var pg page
			if rt.method == "GET" {
				pg = b.get(rt.path)
			} else {
				// An empty form: what matters is whether the role gets past
				// the console's check (the engine then refuses the empty
				// input, or DE closing FR's alert, in its own words).
				pg = b.post(rt.path, url.Values{})
			}
			allowed := web.Can(role, rt.cap)
			switch {
			case allowed && pg.status == http.StatusForbidden && rt.method == "GET":
				t.Errorf("%s %s %s: 403, but the role holds %s", role, rt.method, rt.path, rt.cap)
			case allowed && pg.status == http.StatusForbidden && !strings.Contains(pg.body, `id="error-detail"`) && count(pg.body, "form-error") == 0:
				t.Errorf("%s %s %s: refused by the console, but the role holds %s", role, rt.method, rt.path, rt.cap)
			case !allowed && pg.status != http.StatusForbidden:
				t.Errorf("%s %s %s: %d, want 403 (the role lacks %s)", role, rt.method, rt.path, pg.status, rt.cap)
			case !allowed && strings.Contains(pg.body, "Role check") && rt.method == "GET":
				t.Errorf("%s %s %s: the refusal shows the alert", role, rt.method, rt.path)
			}
		}
		pg := b.get("/console/")
		for item, c := range navCaps {
			if got, want := count(pg.body, "nav-"+item), web.Can(role, c); (got == 1) != want {
				t.Errorf("%s: nav item %s shown %d times, want shown=%v", role, item, got, want)
			}
		}
	}
	// No role's refused POST acknowledged or closed anything.
	v, err := p.de.Workflow.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range v.Timeline {
		if e.Action == "close" || e.Actor == store.RoleViewer {
			t.Errorf("a refused request left a step: %+v", e)
		}
	}
}

// Every table row of the capabilities names real roles, and the table
// says what the documentation says: viewers act on nothing, only admins
// read the audit log.
func TestRoleTable(t *testing.T) {
	for _, c := range web.Caps {
		n := 0
		for _, r := range store.AllRoles {
			if web.Can(r, c) {
				n++
			}
		}
		if !web.Can(store.RoleAdmin, c) {
			t.Errorf("admin lacks %s", c)
		}
		if strings.HasSuffix(string(c), ".act") || strings.HasPrefix(string(c), "ping.") {
			if web.Can(store.RoleViewer, c) {
				t.Errorf("viewer holds the action %s", c)
			}
		}
		if n == 0 {
			t.Errorf("%s: no role", c)
		}
	}
	if web.Can(store.RoleAnalyst, web.CapAudit) || web.Can(store.RoleLiaison, web.CapAudit) || web.Can(store.RoleViewer, web.CapAudit) {
		t.Error("only admins read the audit log")
	}
	if web.Can("root", web.CapOverview) || web.Can(store.RoleAdmin, "nonsense") {
		t.Error("an unknown role or capability holds something")
	}
}

var (
	inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`)
	inlineStyle  = regexp.MustCompile(`(?i)<style|\sstyle\s*=`)
	inlineEvent  = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

// checkStrict fails when a page holds what the Content-Security-Policy
// would block: an inline script, an inline style, an event attribute.
func checkStrict(t *testing.T, what string, pg page) {
	t.Helper()
	csp := pg.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %s", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("%s: CSP %q allows unsafe sources", what, csp)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if pg.header.Get(h) == "" {
			t.Errorf("%s: no %s", what, h)
		}
	}
	for _, m := range inlineScript.FindAllString(pg.body, -1) {
		if !strings.Contains(m, "src=") {
			t.Errorf("%s: inline script %q", what, m)
		}
	}
	if m := inlineStyle.FindString(pg.body); m != "" {
		t.Errorf("%s: inline style %q", what, m)
	}
	if m := inlineEvent.FindString(pg.body); m != "" {
		t.Errorf("%s: event attribute %q", what, m)
	}
}

// Every answer carries the strict CSP, and no page needs more.
func TestContentSecurityPolicy(t *testing.T) {
	p := newPair(t)
	id := p.openAlert(t, "CSP check", "ex-1")
	b := p.fr.b()
	checkStrict(t, "login", b.get("/console/login"))
	checkStrict(t, "redirect to login", b.get("/console/"))
	b.login("admin")
	for _, path := range []string{"/console/", "/console/alerts", "/console/alerts?box=sent", "/console/alerts/" + id,
		"/console/alerts/new", "/console/cases/" + id, "/console/intel", "/console/intel?q=x&type=indicator", "/console/incidents", "/console/incidents?all=1", "/console/contacts", "/console/nothing-here", "/console/alerts/x-entraide-alert--00000000-0000-4000-8000-000000000000"} {
		pg := b.get(path)
		checkStrict(t, path, pg)
		if pg.status == 200 && !strings.Contains(pg.header.Get("Cache-Control"), "no-store") {
			t.Errorf("%s: Cache-Control %q", path, pg.header.Get("Cache-Control"))
		}
	}
	pg := b.get("/console/nothing-here")
	if pg.status != 404 || count(pg.body, "error") != 1 {
		t.Errorf("unknown page: %d", pg.status)
	}
	// Assets: named by their content, cached for good, same headers.
	css := regexp.MustCompile(`/console/static/console\.css\?v=[0-9a-f]+`).FindString(b.get("/console/").body)
	if css == "" {
		t.Fatal("no stylesheet link")
	}
	pg = b.get(css)
	if pg.status != 200 || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/css") ||
		!strings.Contains(pg.header.Get("Cache-Control"), "immutable") || pg.header.Get("Content-Security-Policy") == "" {
		t.Errorf("stylesheet: %d %v", pg.status, pg.header)
	}
	if pg := b.get("/console/static/console.css?v=old"); strings.Contains(pg.header.Get("Cache-Control"), "immutable") {
		t.Error("an asset asked with a stale version is cached for good")
	}
	if pg := b.get("/console/static/nope.js"); pg.status != 404 {
		t.Errorf("unknown asset: %d", pg.status)
	}
}

// The language switch: a cookie, kept, and the page comes back.
func TestLanguageSwitch(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	b.lang = "fr"
	if pg := b.get("/console/login"); !strings.Contains(pg.body, `<html lang="fr">`) || !strings.Contains(pg.body, "Se connecter") {
		t.Fatalf("Accept-Language fr: %s", pg.body)
	}
	b.login("admin")
	pg := b.post("/console/lang", url.Values{"lang": {"en"}, "back": {"/console/alerts?box=sent"}})
	if pg.status != http.StatusSeeOther || pg.location() != "/console/alerts?box=sent" || !strings.Contains(pg.header.Get("Set-Cookie"), "__Host-entraide-lang=en") {
		t.Fatalf("switch: %d %q %q", pg.status, pg.location(), pg.header.Get("Set-Cookie"))
	}
	if pg := b.get("/console/"); !strings.Contains(pg.body, `<html lang="en">`) || pg.header.Get("Content-Language") != "en" {
		t.Fatalf("after the switch, the browser still asking for fr: %s", pg.body[:200])
	}
	if pg := b.post("/console/lang", url.Values{"lang": {"de"}}); pg.status != http.StatusBadRequest {
		t.Fatalf("unknown language: %d", pg.status)
	}
	if pg := b.post("/console/lang", url.Values{"lang": {"fr"}, "back": {"https://evil.example/"}}); pg.location() != "/console/" {
		t.Fatalf("switch back to elsewhere: %q", pg.location())
	}
}

// Legal requests are law-enforcement matters: a viewer sees neither the
// list, nor the case, nor its deadline on the overview; a liaison
// officer sees all three.
func TestLegalHiddenFromViewers(t *testing.T) {
	p := newPair(t)
	res, err := p.fr.Workflow.Open(context.Background(), "preservation", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber", "requesting_authority": "Parquet de Paris, J3 cybercrime section",
		"offence": "Extortion by ransomware (Art. 312-1 Code pénal)", "facts": "Hospital encrypted on 1 March; ransom note names a leak site.",
		"stored_data": "Subscriber data and access logs of the leak site's hosting account", "relation": "The site published the stolen records",
		"custodian": "Example Hosting GmbH", "reason": "Logs are kept 7 days", "mla_intent": true, "target_country": "DE"}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	p.fed.WaitFor("the request at DE", 10*time.Second, func() bool {
		_, err := p.de.Workflow.Get(context.Background(), id)
		return err == nil
	})
	viewer := p.de.b()
	viewer.login("viewer")
	if pg := viewer.get("/console/cases/" + id); pg.status != http.StatusForbidden || strings.Contains(pg.body, "Parquet") {
		t.Errorf("viewer, the legal request: %d", pg.status)
	}
	if pg := viewer.get("/console/kinds/preservation"); pg.status != http.StatusForbidden {
		t.Errorf("viewer, the legal requests: %d", pg.status)
	}
	if pg := viewer.get("/console/"); strings.Contains(pg.body, id) || count(pg.body, "nav-legal") != 0 {
		t.Errorf("viewer's overview shows the legal request or its menu:\n%s", pg.body)
	}
	liaison := p.de.b()
	liaison.login("liaison")
	if pg := liaison.get("/console/kinds/preservation"); pg.status != 200 || count(pg.body, "case-row") != 1 {
		t.Errorf("liaison, the legal requests: %d\n%s", pg.status, pg.body)
	}
	pg := liaison.get("/console/cases/" + id)
	if pg.status != 200 || count(pg.body, "deadline-row") == 0 {
		t.Errorf("liaison, the legal request: %d\n%s", pg.status, pg.body)
	}
	checkStrict(t, "legal request", pg)
	if pg := liaison.get("/console/"); !strings.Contains(pg.body, id) {
		t.Errorf("liaison's overview lacks the request's deadline:\n%s", pg.body)
	}
	if pg := liaison.get("/console/kinds/nonsense"); pg.status != http.StatusNotFound {
		t.Errorf("unknown kind: %d", pg.status)
	}
}

// The inbox and the overview find the alert a partner sent among more
// alerts this node sent since than a page shows.
func TestInboxAmongManySent(t *testing.T) {
	p := newPair(t)
	res, err := p.de.Workflow.Open(context.Background(), "alert", "jonas", mustJSON(t, map[string]any{"to": []string{"cert-fr"}, "tlp": "green",
		"title": "The one DE sent", "severity": "low", "ack_by": "48h"}))
	if err != nil {
		t.Fatal(err)
	}
	p.fed.WaitFor("DE's alert at FR", 10*time.Second, func() bool {
		_, err := p.fr.Workflow.Get(context.Background(), res.ID)
		return err == nil
	})
	for i := range 130 {
		p.clk.Advance(time.Second)
		if _, err := p.fr.Workflow.Open(context.Background(), "alert", "alice", mustJSON(t, map[string]any{"to": []string{"cert-de"},
			"tlp": "green", "title": "FR's alert " + strconv.Itoa(i), "severity": "low", "ack_by": "4h"})); err != nil {
			t.Fatal(err)
		}
	}
	b := p.fr.b()
	b.login("liaison")
	if pg := b.get("/console/alerts"); count(pg.body, "alert-row") != 1 || !strings.Contains(pg.body, res.ID) {
		t.Errorf("FR's inbox: %d rows\n%s", count(pg.body, "alert-row"), pg.body)
	}
	pg := b.get("/console/alerts?box=sent")
	if count(pg.body, "alert-row") != 50 || count(pg.body, "alerts-more") != 1 {
		t.Errorf("FR's sent box: %d rows, more link %d", count(pg.body, "alert-row"), count(pg.body, "alerts-more"))
	}
	if pg := b.get("/console/alerts?box=sent&limit=200"); count(pg.body, "alert-row") != 130 || count(pg.body, "alerts-more") != 0 {
		t.Errorf("FR's sent box, all: %d rows", count(pg.body, "alert-row"))
	}
	pg = b.get("/console/")
	if count(pg.body, "pending-alert") != 1 || !strings.Contains(pg.body, res.ID) ||
		!strings.Contains(pg.body, `data-testid="pending-alerts-count">1<`) {
		t.Errorf("FR's overview:\n%s", pg.body)
	}
}

// A due-diligence notice on the generic case page: DE's liaison officer
// is offered only what a recipient may do (respond), answers with the
// form; a viewer is offered nothing and refused; FR, the sender, is
// offered the reminder and the closure.
func TestNoticeActions(t *testing.T) {
	p := newPair(t)
	res, err := p.fr.Workflow.Open(context.Background(), "notice", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber", "title": "DDoS on the tax portal from hosts in DE",
		"activity": []string{"availability:ddos"}, "indicators": []string{"198.51.100.7"}, "requested_action": "Take the C2 hosts offline."}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	p.fed.WaitFor("the notice at DE", 10*time.Second, func() bool {
		_, err := p.de.Workflow.Get(context.Background(), id)
		return err == nil
	})
	viewer := p.de.b()
	viewer.login("viewer")
	pg := viewer.get("/console/cases/" + id)
	if pg.status != 200 || strings.Contains(pg.body, `data-testid="act-`) {
		t.Fatalf("viewer's notice page: %d\n%s", pg.status, pg.body)
	}
	if pg := viewer.post("/console/cases/"+id+"/respond", url.Values{"answer": {"investigating"}}); pg.status != http.StatusForbidden {
		t.Errorf("viewer responds: %d", pg.status)
	}
	liaison := p.de.b()
	liaison.login("liaison")
	pg = liaison.get("/console/cases/" + id)
	if count(pg.body, "act-respond-form") != 1 || count(pg.body, "act-remind-form") != 0 || count(pg.body, "act-close-form") != 0 {
		t.Fatalf("DE liaison's notice page:\n%s", pg.body)
	}
	checkStrict(t, "notice", pg)
	p.clk.Advance(30 * time.Minute)
	pg = liaison.post("/console/cases/"+id+"/respond", url.Values{"answer": {"investigating"}, "comment": {"Hosting provider contacted."}})
	if pg.status != http.StatusSeeOther || pg.location() != "/console/cases/"+id+"?done=acted" {
		t.Fatalf("respond: %d %q\n%s", pg.status, pg.location(), pg.body)
	}
	v, err := p.de.Workflow.Get(context.Background(), id)
	if err != nil || len(v.Timeline) != 1 || v.Timeline[0].Actor != "liaison" || v.Timeline[0].Action != "respond" {
		t.Fatalf("DE's timeline: %+v %v", v, err)
	}
	frLiaison := p.fr.b()
	frLiaison.login("liaison")
	pg = frLiaison.get("/console/cases/" + id)
	if count(pg.body, "act-respond-form") != 0 || count(pg.body, "act-remind-form") != 1 || count(pg.body, "act-close-form") != 1 {
		t.Fatalf("FR liaison's notice page:\n%s", pg.body)
	}
	// A list takes no POST.
	if pg := frLiaison.post("/console/kinds/notice", nil); pg.status != http.StatusMethodNotAllowed && pg.status != http.StatusNotFound {
		t.Errorf("POST on a list: %d", pg.status)
	}
}
