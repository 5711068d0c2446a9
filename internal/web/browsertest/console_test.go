package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// deliveryTime bounds the wait for a node's object to reach the other
// (the delivery workers poll every 20 ms here).
const deliveryTime = 20 * time.Second

// A working morning across two national CSIRTs, in their browsers: FR's
// analyst sends an alert with the form; at DE the liaison officer sees it
// on the overview, acknowledges it with an answer, and the answer reaches
// FR through the engine (FR's console shows it too). FR's liaison officer
// pings DE's 24/7 desk; DE types the code back (a wrong code is refused
// first) and FR sees the ping answered. FR's analyst opens an incident
// with DE; DE's analyst confirms taking part. DE's liaison officer
// switches to French, then logs out, and the console no longer lets the
// browser in.
func TestConsoleStory(t *testing.T) {
	needChromium(t) // before the federation: no browser, no test
	t.Parallel()
	w := newWorld(t)
	b := startBrowser(t, w.fr.cert, w.de.cert)
	dir := shots(t)
	// Yesterday's incident, still open: the morning does not start empty.
	wiper := w.fr.open(t, "incident", "marc", map[string]any{"to": []string{"cert-de"}, "tlp": "amber",
		"title": "Wiper at a regional grid operator", "severity": "high", "sectors": []string{"energy"}, "countries": []string{"FR", "DE"}})
	w.fed.WaitFor("the grid incident at DE", deliveryTime, func() bool { return w.de.holds(wiper) })

	// FR sends an alert to DE with the console's form.
	marc := b.person("marc", w.fr.url)
	marc.login(password)
	marc.click("nav-alerts")
	marc.click("alert-new")
	marc.do("filling in the alert",
		chromedp.SendKeys(chromedp.ID("f-title"), "Ransomware against hospitals"),
		chromedp.SetValue(chromedp.ID("f-description"), "LockBit affiliate, initial access through an unpatched VPN appliance; three hospitals in Île-de-France encrypted overnight."),
		chromedp.SetValue(chromedp.ID("f-severity"), "4"),
		chromedp.SetValue(chromedp.ID("f-tlp"), "amber"),
		chromedp.SetValue(chromedp.ID("f-ackby"), "4h"),
		chromedp.SendKeys(chromedp.ID("f-sectors"), "health"),
		chromedp.SendKeys(chromedp.ID("f-countries"), "FR, DE"),
		chromedp.Click(testid("to-cert-de")))
	marc.click("alert-submit")
	alertID := eval[string](marc, "reading the alert's id", `document.querySelector('[data-testid="alert"]').dataset.case`)
	marc.must(strings.HasPrefix(alertID, "x-entraide-alert--") && marc.count("flash") == 1, "the alert page after sending: id %q", alertID)
	marc.must(marc.countWith(`[data-testid="recipient-row"][data-node="cert-de"]`) == 1, "cert-de is not among the recipients")
	marc.must(marc.countWith(`[data-testid="tlp"][data-tlp="TLP:AMBER"]`) >= 1, "no TLP:AMBER label on the alert")
	w.fed.WaitFor("the alert at DE", deliveryTime, func() bool { return w.de.holds(alertID) })
	w.clk.Advance(12 * time.Minute)

	// DE's liaison officer sees it on the overview and acknowledges it.
	lea := b.person("lea", w.de.url)
	lea.login(password)
	lea.must(lea.path() == "/console/", "after login lea is at %s", lea.path())
	lea.must(eval[string](lea, "reading the role", `document.querySelector('[data-testid="whoami"]').dataset.role`) == "liaison", "lea is not shown as liaison")
	lea.must(lea.countWith(fmt.Sprintf(`[data-testid="pending-alert"][data-case=%q]`, alertID)) == 1, "the alert is not waiting on DE's overview")
	lea.must(lea.countWith(`[data-testid="peer-row"][data-peer="cert-fr"]`) == 1, "FR is not in the federation's health")
	lea.must(lea.countWith(fmt.Sprintf(`[data-testid="due-row"][data-case=%q]`, alertID)) == 1, "the acknowledgement's deadline is not on DE's overview")
	lea.screenshot(dir, "overview")
	lea.click("nav-alerts")
	lea.must(lea.countWith(fmt.Sprintf(`[data-testid="alert-row"][data-case=%q]`, alertID)) == 1, "the alert is not in DE's inbox")
	lea.screenshot(dir, "alerts")
	lea.load("opening the alert", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="alert-row"][data-case=%q] [data-testid="alert-link"]`, alertID))))
	lea.must(lea.count("ack-form") == 1 && lea.count("close-form") == 0, "DE's liaison officer is not offered to acknowledge (and only that)")
	w.clk.Advance(8 * time.Minute)
	lea.do("answering",
		chromedp.Click(testid("answer-affected")),
		chromedp.SetValue(testid("ack-comment"), "Two hospitals in Bavaria run the same VPN appliance; isolating them."))
	lea.click("ack-submit")
	lea.must(lea.path() == "/console/alerts/"+alertID+"?done=ack" && lea.count("flash") == 1, "after the acknowledgement lea is at %s", lea.path())
	lea.must(strings.Contains(lea.pageText(), "Two hospitals in Bavaria"), "the comment is not on DE's alert page")
	lea.screenshot(dir, "alert")

	// The answer reaches FR's node through the engine, signed by DE, with
	// lea as the actor; FR's console shows it.
	de := w.de.Identity.IdentityID
	var ours alert.Recipient
	w.fed.WaitFor("DE's acknowledgement at FR", deliveryTime, func() bool {
		ours = recipient(t, w.fr.Workflow, alertID, de)
		return ours.AcknowledgedAt != nil
	})
	if ours.Answer != "affected" || ours.Actor != "lea" || !strings.Contains(ours.Comment, "Bavaria") {
		t.Fatalf("FR holds DE's acknowledgement as %+v", ours)
	}
	marc.open("/console/alerts/" + alertID)
	row := `[data-testid="recipient-row"][data-node="cert-de"]`
	marc.must(eval[string](marc, "reading DE's answer", `document.querySelector('`+row+` [data-testid="answer"]').innerText.trim()`) == "affected",
		"FR's alert page does not show DE's answer")

	// FR's liaison officer pings DE's 24/7 desk from the console.
	luc := b.person("luc", w.fr.url)
	luc.login(password)
	luc.click("nav-contacts")
	luc.must(luc.countWith(`[data-testid="poc-row"][data-node="cert-de"]`) >= 1, "DE is not in FR's directory")
	luc.do("filling in the ping",
		chromedp.SetValue(testid("ping-to"), "cert-de"),
		chromedp.SetValue(testid("ping-role"), "csirt-24x7"),
		chromedp.SendKeys(chromedp.ID("p-msg"), "Monthly test of the 24/7 desk"))
	luc.click("ping-submit")
	luc.must(strings.HasPrefix(luc.path(), "/console/contacts?done=pinged"), "after pinging luc is at %s", luc.path())
	pingID := eval[string](luc, "reading the ping's id", `(e => e ? e.dataset.case : "")(document.querySelector('[data-testid="ping-sent-row"]'))`)
	luc.must(strings.HasPrefix(pingID, "x-entraide-ping--"), "no ping in FR's sent pings (%q)", pingID)
	w.fed.WaitFor("the ping at DE", deliveryTime, func() bool { return w.de.holds(pingID) })
	w.clk.Advance(6 * time.Minute)

	// DE answers it by typing the code it reads; a wrong code is refused.
	lea.click("nav-contacts")
	waiting := fmt.Sprintf(`[data-testid="ping-to-answer"][data-case=%q]`, pingID)
	lea.must(lea.countWith(waiting) == 1, "the ping does not wait at DE")
	code := eval[string](lea, "reading the code", `document.querySelector('`+waiting+` [data-testid="challenge"]').innerText.trim()`)
	lea.must(len(code) == 9, "the code to type is %q", code)
	lea.do("typing a wrong code", chromedp.SendKeys(chromedp.CSS(waiting+` [data-testid="ping-challenge"]`), "0000-0000"))
	if st := lea.load("answering with a wrong code", chromedp.Click(chromedp.CSS(waiting+` [data-testid="ping-answer-submit"]`))); st != 400 {
		lea.fail("answering with a wrong code", fmt.Errorf("HTTP %d, want 400", st))
	}
	lea.must(lea.count("form-error") == 1 && lea.countWith(waiting) == 1, "a wrong code is not refused on the page")
	lea.must(eval[string](lea, "reading the code field", `document.querySelector('`+waiting+` [data-testid="ping-challenge"]').value`) == "",
		"the refused code is still in the field")
	lea.do("typing the code",
		chromedp.SendKeys(chromedp.CSS(waiting+` [data-testid="ping-challenge"]`), strings.ToLower(code)),
		chromedp.SendKeys(chromedp.CSS(waiting+` [data-testid="ping-comment"]`), "Duty officer here, all well"))
	lea.load("answering the ping", chromedp.Click(chromedp.CSS(waiting+` [data-testid="ping-answer-submit"]`)))
	lea.must(lea.path() == "/console/contacts?done=answered" && lea.count("ping-to-answer") == 0, "after answering lea is at %s", lea.path())

	w.fed.WaitFor("DE's answer at FR", deliveryTime, func() bool { return hasStep(t, w.fr.Workflow, pingID, contact.ActionAnswer, "lea") })
	luc.click("nav-contacts")
	luc.must(luc.countWith(fmt.Sprintf(`[data-testid="ping-sent-row"][data-case=%q][data-outcome="answered"]`, pingID)) == 1,
		"FR's console does not show the ping answered")
	luc.screenshot(dir, "contacts")

	// FR's analyst opens an incident with DE; DE's analyst takes part.
	w.clk.Advance(25 * time.Minute)
	marc.click("nav-incidents")
	marc.click("incident-new")
	marc.do("filling in the incident",
		chromedp.SendKeys(chromedp.ID("i-title"), "Ransomware at hospitals in FR and DE"),
		chromedp.SetValue(chromedp.ID("i-description"), "Same affiliate, same VPN appliance; coordinated response."),
		chromedp.SetValue(chromedp.ID("i-severity"), "4"),
		chromedp.SetValue(chromedp.ID("i-tlp"), "amber"),
		chromedp.SetValue(chromedp.ID("i-impact"), "Emergency departments diverting patients."),
		chromedp.SendKeys(chromedp.ID("i-sectors"), "health"),
		chromedp.SendKeys(chromedp.ID("i-countries"), "FR DE"),
		chromedp.Click(testid("to-cert-de")))
	if eval[bool](marc, "reading the NIS2 box", `document.getElementById("i-nis2").checked`) != true {
		marc.do("ticking NIS2", chromedp.Click(testid("i-nis2")))
	}
	marc.click("incident-submit")
	incID := eval[string](marc, "reading the incident's id", `(e => e ? e.dataset.case : "")(document.querySelector('[data-testid="incident"]'))`)
	marc.must(strings.HasPrefix(incID, "incident--") && strings.HasSuffix(marc.path(), "?done=opened"), "after opening the incident marc is at %s", marc.path())
	marc.must(marc.count("participant-row") == 2 && marc.count("nis2-row") == 3, "the incident page lacks participants or the NIS2 clock")
	w.fed.WaitFor("the incident at DE", deliveryTime, func() bool { return w.de.holds(incID) })
	w.clk.Advance(9 * time.Minute)

	anna := b.person("anna", w.de.url)
	anna.login(password)
	anna.click("nav-incidents")
	anna.load("opening the incident", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="incident-row"][data-case=%q] [data-testid="incident-link"]`, incID))))
	anna.must(anna.count("join-form") == 1, "DE's analyst is not offered to take part")
	anna.do("writing a note", chromedp.SendKeys(chromedp.ID("join-note"), "CERT-DE takes part: two hospitals affected"))
	anna.click("join-submit")
	anna.must(anna.count("join-form") == 0, "the join form is still offered after taking part")
	w.fed.WaitFor("DE taking part, at FR", deliveryTime, func() bool { return hasStep(t, w.fr.Workflow, incID, "join", "anna") })
	marc.open("/console/incidents/" + incID)
	marc.must(strings.Contains(marc.pageText(), "CERT-DE takes part"), "FR's incident page does not show DE's note")
	marc.screenshot(dir, "incident")

	// DE's liaison officer switches to French: the console speaks French
	// on this browser from then on.
	fr := catalogue(t, "fr")
	en := catalogue(t, "en")
	lea.open("/console/alerts")
	lea.click("lang-fr")
	lea.must(lea.path() == "/console/alerts", "the language switch sent lea to %s", lea.path())
	lea.must(eval[string](lea, "reading the language", `document.documentElement.lang`) == "fr", "the page is not marked French")
	for id, key := range map[string]string{"nav-overview": "nav.overview", "nav-alerts": "nav.alerts", "nav-contacts": "nav.contacts", "logout": "layout.logout"} {
		got := lea.text(id)
		lea.must(got == fr[key] && got != en[key], "%s reads %q in French, want %q", id, got, fr[key])
	}
	lea.must(eval[string](lea, "reading the title", `document.querySelector("main h1").innerText.trim()`) == fr["alerts.title"], "the alerts page's title is not French")
	lea.click("nav-overview")
	lea.must(eval[string](lea, "reading the title", `document.querySelector("main h1").innerText.trim()`) == fr["overview.title"], "the overview's title is not French")

	// And logs out: the console is closed to this browser again.
	lea.click("logout")
	lea.must(lea.count("login-form") == 1 && lea.count("whoami") == 0, "after logging out lea is at %s", lea.path())
	lea.open("/console/alerts")
	lea.must(strings.HasPrefix(lea.path(), "/console/login") && lea.count("login-form") == 1 && lea.count("alerts-table") == 0,
		"after logging out the alerts page shows at %s", lea.path())
	lea.must(eval[string](lea, "reading the language", `document.documentElement.lang`) == "fr", "the login page forgot the language chosen")
}

// A viewer reads and never acts: on every page the navigation offers,
// no form acts on anything (only the language switch and logging out)
// and no button leads to one; a step posted anyway — an alert's
// acknowledgement, an incident's update, a ping's answer with the right
// code — is refused (403), and nothing changes on the node.
func TestConsoleViewerCannotAct(t *testing.T) {
	needChromium(t) // before the federation: no browser, no test
	t.Parallel()
	w := newWorld(t)
	alertID := w.fr.open(t, "alert", "marc", map[string]any{"to": []string{"cert-de"}, "tlp": "amber",
		"title": "Credential stuffing against ministries", "severity": "high", "ack_by": "6h"})
	incID := w.fr.open(t, "incident", "marc", map[string]any{"to": []string{"cert-de"}, "tlp": "amber",
		"title": "Wiper at a grid operator", "severity": "3", "sectors": []string{"energy"}})
	code, err := contact.NewChallenge(nil)
	if err != nil {
		t.Fatal(err)
	}
	pingID := w.fr.open(t, "ping", "luc", map[string]any{"to": []string{"cert-de"}, "tlp": "green", "role": "csirt-24x7", "challenge": code})
	w.fed.WaitFor("the cases at DE", deliveryTime, func() bool { return w.de.holds(alertID) && w.de.holds(incID) && w.de.holds(pingID) })

	b := startBrowser(t, w.de.cert)
	victor := b.person("victor", w.de.url)
	victor.login(password)
	victor.must(eval[string](victor, "reading the role", `document.querySelector('[data-testid="whoami"]').dataset.role`) == "viewer", "victor is not shown as a viewer")
	for _, hidden := range []string{"nav-legal", "nav-peers", "nav-sharing", "nav-audit"} {
		victor.must(victor.count(hidden) == 0, "the navigation offers a viewer %s", hidden)
	}

	// Every page the navigation offers, and the three cases' pages.
	pages := eval[[]string](victor, "reading the navigation", `Array.from(document.querySelectorAll('#nav a')).map(a => a.getAttribute("href"))`)
	victor.must(len(pages) >= 5, "the navigation offers %v", pages)
	pages = append(pages, "/console/alerts/"+alertID, "/console/incidents/"+incID)
	for _, path := range pages {
		victor.open(path)
		acting := eval[[]string](victor, "listing the forms", `Array.from(document.querySelectorAll('form')).
			filter(f => (f.getAttribute("method") || "get").toLowerCase() === "post").
			map(f => f.getAttribute("action")).filter(a => a !== "/console/lang" && a !== "/console/logout")`)
		victor.must(len(acting) == 0, "%s offers a viewer the forms %v", path, acting)
		for _, button := range []string{"alert-new", "incident-new", "ack-form", "close-form", "update-form", "task-add-form", "join-form",
			"ping-form", "ping-answer-form", "task-done-form", "nis2-form"} {
			victor.must(victor.count(button) == 0, "%s offers a viewer %s", path, button)
		}
	}
	victor.open("/console/contacts")
	victor.must(victor.countWith(fmt.Sprintf(`[data-testid="ping-to-answer"][data-case=%q]`, pingID)) == 1, "the viewer does not see the ping waiting")

	// Posted anyway, from the browser: refused, nothing done.
	for _, post := range []struct {
		path   string
		fields map[string]string
	}{
		{"/console/alerts/" + alertID + "/ack", map[string]string{"answer": "affected", "comment": "viewer was here"}},
		{"/console/cases/" + incID + "/update", map[string]string{"note": "viewer was here", "severity": "5"}},
		{"/console/cases/" + incID + "/join", map[string]string{"note": "viewer was here"}},
		{"/console/pings/" + pingID + "/answer", map[string]string{"challenge": code, "comment": "viewer was here"}},
		{"/console/alerts", map[string]string{"title": "viewer was here", "to": "cert-fr", "severity": "4", "tlp": "amber"}},
		{"/console/incidents", map[string]string{"title": "viewer was here", "to": "cert-fr", "severity": "4", "tlp": "amber"}},
		{"/console/pings", map[string]string{"to": "cert-fr", "role": "csirt-24x7"}},
	} {
		if st := victor.post(post.path, post.fields); st != 403 {
			victor.fail("posting to "+post.path, fmt.Errorf("HTTP %d, want 403", st))
		}
		victor.must(victor.countWith(`[data-testid="error"][data-status="403"]`) == 1, "the refusal of %s is not said on the page", post.path)
		victor.must(!strings.Contains(victor.pageText(), "viewer was here"), "the refused input is echoed back")
		victor.open("/console/")
	}
	for _, id := range []string{alertID, incID, pingID} {
		v, err := w.de.Workflow.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Timeline) != 0 {
			t.Errorf("%s has steps after the viewer's posts: %+v", id, v.Timeline)
		}
	}
	for _, kind := range []string{"alert", "incident", "ping"} {
		list, err := w.de.Workflow.List(context.Background(), kind, false, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.Origin.ID == w.de.Identity.IdentityID {
				t.Errorf("DE opened a %s after the viewer's posts: %s", kind, s.ID)
			}
		}
	}
}

// The sharing rules hold in the browser as everywhere: FR shares with DE
// an AMBER indicator, and a TLP:RED one for alice at DE only. Alice sees
// both (RED labelled, its named recipients shown); bob, who reads the
// same collection, and DE's administrator see the AMBER one only — the
// RED one is in no list, no search, and its own address answers as an
// object that does not exist; nadia, who may read no collection, sees no
// object at all. No page of the console shows the RED object to those
// the rules withhold it from.
func TestConsoleSharingRules(t *testing.T) {
	needChromium(t) // before the federation: no browser, no test
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	redID := share(t, w.fr, fedtest.Indicator("Implant at the ministry, codename NIGHTJAR"), stix.TLPRed, nil, []string{"alice@cert-de"})
	amberID := share(t, w.fr, fedtest.Indicator("Phishing kit hitting banks"), stix.TLPAmber, []string{"cert-de"}, nil)
	greenID := share(t, w.fr, fedtest.Indicator("Scanner of VPN appliances"), stix.TLPGreen, []string{"cert-de"}, nil)
	w.fed.WaitFor("the objects at DE", deliveryTime, func() bool {
		return w.fed.Has("de", redID) && w.fed.Has("de", amberID) && w.fed.Has("de", greenID)
	})
	// A case, so that the workflow pages have something to show.
	alertID := w.fr.open(t, "alert", "marc", map[string]any{"to": []string{"cert-de"}, "tlp": "green",
		"title": "Scanning of VPN appliances", "severity": "medium", "refs": []string{greenID}})
	w.fed.WaitFor("the alert at DE", deliveryTime, func() bool { return w.de.holds(alertID) })

	b := startBrowser(t, w.de.cert)
	dir := shots(t)
	inbox := "/console/intel?coll=" + federation.InboxAlias

	// Alice, named: both, through the collection and search filters.
	alice := b.person("alice", w.de.url)
	alice.login(password)
	alice.click("nav-intel")
	alice.do("choosing the inbox", chromedp.SetValue(chromedp.ID("i-coll"), federation.InboxAlias))
	alice.click("intel-search")
	for id, tlp := range map[string]string{redID: "TLP:RED", amberID: "TLP:AMBER", greenID: "TLP:GREEN"} {
		alice.must(alice.countWith(fmt.Sprintf(`[data-testid="intel-row"][data-id=%q] [data-testid="tlp"][data-tlp=%q]`, id, tlp)) == 1,
			"alice's list lacks %s as %s", id, tlp)
	}
	alice.screenshot(dir, "intel")
	alice.load("opening the RED object", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="intel-row"][data-id=%q] [data-testid="intel-link"]`, redID))))
	alice.must(alice.count("object") == 1 && alice.count("red-recipients") == 1 && alice.count("provenance") == 1 &&
		strings.Contains(alice.pageText(), "NIGHTJAR"), "alice's page of the RED object")

	// Bob and the administrator: not named.
	unknown := "indicator--00000000-0000-4000-8000-000000000000"
	told := map[string]string{} // what each is told about the entries read, by the list of the inbox's indicators
	for _, name := range []string{"bob", "admin"} {
		p := b.person(name, w.de.url)
		p.login(password)
		p.open(inbox + "&type=indicator")
		p.must(p.count("intel-row") == 2 && p.countWith(fmt.Sprintf(`[data-testid="intel-row"][data-id=%q]`, amberID)) == 1 &&
			p.countWith(fmt.Sprintf(`[data-testid="intel-row"][data-id=%q]`, greenID)) == 1, "%s's list of the inbox's indicators", name)
		told[name] = p.text("intel-scanned")
		p.do("searching", chromedp.SendKeys(testid("intel-q"), "nightjar"))
		p.click("intel-search")
		p.must(p.count("intel-row") == 0, "%s's search finds the RED object", name)
		red := p.load("opening the RED object's address", chromedp.Navigate(p.base+"/console/intel/"+federation.InboxAlias+"/"+redID))
		redText := strings.ReplaceAll(p.pageText(), redID, "ID")
		none := p.load("opening an unknown object's address", chromedp.Navigate(p.base+"/console/intel/"+federation.InboxAlias+"/"+unknown))
		noneText := strings.ReplaceAll(p.pageText(), unknown, "ID")
		p.must(red == 404 && none == 404 && redText == noneText, "%s: the RED object's address answers %d %q, an unknown one %d %q", name, red, redText, none, noneText)
		// Nowhere in the console.
		pages := eval[[]string](p, "reading the navigation", `Array.from(document.querySelectorAll('#nav a')).map(a => a.getAttribute("href"))`)
		pages = append(pages, inbox, inbox+"&q=ministry", "/console/alerts/"+alertID, "/console/intel?type=indicator&coll="+federation.InboxAlias)
		for _, path := range pages {
			p.open(path)
			html := p.html()
			p.must(!strings.Contains(strings.ToLower(html), "nightjar"), "%s shows %s the RED object's content", path, name)
			// The audit log (administrators) records every RED decision,
			// refusals included, by the object's id: that is its purpose.
			p.must(path == "/console/audit" || !strings.Contains(html, redID), "%s shows %s the RED object's id", path, name)
		}
	}

	// Nor does the list say how many entries it left out: two indicators
	// shown, two read, as far as bob and the administrator can tell.
	t.Run("withheld entries not counted", func(t *testing.T) {
		for name, text := range told {
			if n := regexp.MustCompile(`\d+`).FindString(text); n != "2" {
				t.Fatalf("%s is shown 2 indicators and told %q: the difference reveals the RED object withheld from them", name, text)
			}
		}
	})

	// Nadia may read no collection: no object at all, not even by address.
	nadia := b.person("nadia", w.de.url)
	nadia.login(password)
	nadia.click("nav-intel")
	nadia.must(nadia.count("intel-noaccess") == 1 && nadia.count("intel-row") == 0 && nadia.countWith("#i-coll option") == 0,
		"nadia's intelligence page")
	for _, path := range []string{inbox, "/console/intel/" + federation.InboxAlias + "/" + amberID, "/console/intel/default/" + amberID} {
		if st := nadia.load("opening "+path, chromedp.Navigate(nadia.base+path)); st != 404 {
			nadia.fail("opening "+path, fmt.Errorf("HTTP %d, want 404", st))
		}
		nadia.must(!strings.Contains(nadia.html(), "Phishing kit"), "%s shows nadia an object", path)
	}

	// Every RED decision was DE's and is in its audit log: served to
	// alice, refused to bob and the administrator.
	es, err := w.de.Fed.Audit().Entries(ctx, audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	served, refused := map[string]bool{}, map[string]bool{}
	for _, e := range es {
		if e.ObjectID != redID {
			continue
		}
		switch e.Kind {
		case audit.KindRedAccess:
			served[e.Actor] = true
		case audit.KindPolicyDeny:
			refused[e.Actor] = true
		}
	}
	if !served["alice"] || served["bob"] || served["admin"] || !refused["bob"] || !refused["admin"] {
		t.Errorf("DE's audit log: RED served to %v, refused to %v", served, refused)
	}
}

// share has a node share one object at a marking: RED to named people,
// other levels to peers.
func share(t *testing.T, s *site, obj []byte, tlp stix.TLP, nodes, redTo []string) string {
	t.Helper()
	res, err := s.Fed.Share(context.Background(), federation.ShareRequest{Objects: [][]byte{obj}, TLP: tlp, Nodes: nodes, RedTo: redTo, Actor: "admin"})
	if err != nil {
		t.Fatalf("%s shares: %v", s.Identity.Name, err)
	}
	return res.Objects[0].ID
}

// recipient is a recipient's acknowledgement of an alert as a node's
// engine holds it.
func recipient(t *testing.T, wf *workflow.Engine, alertID, node string) alert.Recipient {
	t.Helper()
	v, err := wf.Get(context.Background(), alertID)
	if err != nil {
		t.Fatal(err)
	}
	var d alert.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Recipients {
		if r.Node == node {
			return r
		}
	}
	t.Fatalf("%s is not a recipient of %s", node, alertID)
	return alert.Recipient{}
}

// hasStep reports whether a node's engine holds a step of a case, by
// action and actor.
func hasStep(t *testing.T, wf *workflow.Engine, id, action, actor string) bool {
	t.Helper()
	v, err := wf.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(v.Timeline, func(e workflow.EventView) bool { return e.Action == action && e.Actor == actor })
}

// catalogue reads one of the console's message catalogues.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "messages", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return m
}
