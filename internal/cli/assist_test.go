package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/stix/stixschema"
	"github.com/entraide/entraide/internal/workflow"
)

// assistView is 'entraide assist show --json'.
type assistView struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"`
	Open     bool            `json:"open"`
	TLP      string          `json:"tlp"`
	Detail   assistance.View `json:"detail"`
	Object   json.RawMessage `json:"object"`
	Timeline []struct {
		ID     string                `json:"id"`
		Actor  string                `json:"actor"`
		Action string                `json:"action"`
		Node   struct{ Name string } `json:"node"`
		Object json.RawMessage       `json:"object"`
	} `json:"timeline"`
}

// TestAssistFromTheCommandLine is the mutual assistance walk-through
// (docs/workflows/assist.md), command by command: EE declares what it can
// lend; FR asks EE for two capabilities on a ransomware incident, saying
// what it has already done; EE sees the request, the most pressing first,
// and offers a team for each; FR accepts one and declines the other; EE
// withdraws the accepted one and FR sees the capability uncovered; FR
// closes with a report that EE reads. Mistakes are usage errors (exit 2)
// that send nothing, an unknown capability with the nearest one suggested;
// a step by the wrong party is refused (exit 1).
func TestAssistFromTheCommandLine(t *testing.T) {
	frPort, eePort := freePortNum(t), freePortNum(t)
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", frPort, pocFR)
	ee := fedNode(t, "cert-ee", "CERT-EE", "EE", eePort, pocEE)
	frCard, eeCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "ee.card")
	mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	mustRun(t, "", "card", "export", "--data", ee, "--out", eeCard)
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", eeCard)
	mustRun(t, "", "peer", "add", "--data", ee, "--yes", frCard)

	// EE declares what it can lend; an unknown id changes nothing.
	if r := run(t, nil, "", "assist", "capabilities", "set", "--data", ee, "digital-forensics", "malware-analysys"); r.code != 2 ||
		!strings.Contains(r.stderr, `unknown capability "malware-analysys" (did you mean "malware-analysis"?`) {
		t.Errorf("capabilities set with a typo: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(ee, assistance.CapabilitiesFile)); err == nil {
		t.Errorf("a refused declaration was written")
	}
	r := mustRun(t, "", "assist", "capabilities", "set", "--data", ee, "digital-forensics", "malware-analysis", "threat-hunting")
	legalWants(t, "capabilities set", r.stdout, "This node declares 3 of 10 capabilities (set ", "DECLARED  ID                        LABEL",
		"-         incident-response-team    Incident response team", "yes       digital-forensics         Digital forensics",
		"yes       threat-hunting            Threat hunting", "What each covers: 'entraide vocab capabilities'.")
	var decl struct {
		Declared []string `json:"declared"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "", "assist", "capabilities", "--data", ee, "--json").stdout), &decl); err != nil ||
		strings.Join(decl.Declared, ",") != "digital-forensics,malware-analysis,threat-hunting" {
		t.Errorf("EE's declaration: %v %+v", err, decl)
	}

	// FR's mistakes are usage errors and send nothing.
	const incident = "incident--4f0c2a6e-9a53-4d1e-b0a4-6d2f1c9b7e21"
	const mitigation = "Hospital network cut from the internet at 06:10 UTC; domain admin passwords reset; backups taken offline."
	request := func(extra ...string) []string {
		return append([]string{"assist", "request", "--data", fr, "--as", "alice", "--to", "cert-ee", "--tlp", "amber",
			"--incident", incident, "--title", "Ransomware at a regional hospital group",
			"--urgency", "immediate", "--severity", "4", "--criticality", "essential", "--sector", "health", "--country", "FR"}, extra...)
	}
	mitFile := filepath.Join(t.TempDir(), "mitigation.txt")
	if err := os.WriteFile(mitFile, []byte(mitigation+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--capability", "forensics", "--mitigation", mitigation}, `unknown capability "forensics"`},
		{[]string{"--capability", "digital-forensic", "--mitigation", mitigation}, `unknown capability "digital-forensic" (did you mean "digital-forensics"? see 'entraide vocab capabilities')`},
		{[]string{"--capability", "malware", "--mitigation", mitigation}, `did you mean "malware-analysis"?`},
		{[]string{"--mitigation", mitigation}, "give at least one --capability"},
		{[]string{"--capability", "digital-forensics"}, "--mitigation is required: say what has already been done to contain the incident before asking partners for help"},
		{[]string{"--capability", "digital-forensics", "--mitigation", "  "}, "--mitigation is required"},
		{[]string{"--capability", "digital-forensics", "--mitigation", mitigation, "--mitigation-file", mitFile}, "give --mitigation or --mitigation-file, not both"},
		{[]string{"--capability", "digital-forensics", "--mitigation", mitigation, "--respond-by", "2020-01-01T00:00:00Z"}, "--respond-by: 2020-01-01T00:00:00Z is in the past"},
		{[]string{"--capability", "digital-forensics", "--mitigation", mitigation, "--urgency", "now"}, `urgency "now": want immediate, 24h, 72h, planned`},
		{[]string{"--capability", "digital-forensics", "--mitigation", mitigation, "--criticality", "vital"}, `--criticality "vital": want essential, important, other`},
		{[]string{"--capability", "digital-forensics", "--mitigation", mitigation, "--incident", "indicator--4f0c2a6e-9a53-4d1e-b0a4-6d2f1c9b7e21"}, "want an object of type incident"},
		{[]string{"--capability", "digital-forensics", "--mitigation", mitigation, "--tlp", "red"}, "cannot be TLP:RED"},
		{[]string{"--capability", "digital-forensics", "--mitigation", mitigation, "--to", "cert-xx"}, `no peer "cert-xx"`},
	} {
		r := run(t, nil, "", request(c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("assist request %v: exit %d, stdout %q, stderr %q; want exit 2 with %q", c.args, r.code, r.stdout, r.stderr, c.want)
		}
	}
	if r := mustRun(t, "", "assist", "list", "--data", fr, "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("refused requests left requests: %s", r.stdout)
	}

	// FR asks, while nobody serves: queued, delivered once both serve. The
	// id alone goes to standard output; a note says EE sees the incident's
	// id only.
	r = mustRun(t, "", request("--capability", "digital-forensics", "--capability", "malware-analysis", "--mitigation", mitigation, "--respond-by", "4h")...)
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, assistance.Type+"--") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("assist request printed %q, want the request's id alone", r.stdout)
	}
	if !strings.Contains(r.stderr, "note: this node holds no object "+incident+": recipients see its id only") {
		t.Errorf("no note about the incident FR does not hold: %q", r.stderr)
	}
	legalServe(t, fr, frPort)
	legalServe(t, ee, eePort)

	// EE sees the request and what it declares of it.
	out := legalWait(t, "EE receiving the request", legalContains(id), "assist", "list", "--data", ee)
	legalWants(t, "EE's list", out, "ID ", "FROM     SEVERITY  ENTITY     URGENCY    NEEDS                               STATUS                       NEXT DEADLINE       TITLE",
		id+"  cert-fr  4 severe  essential  immediate  digital-forensics,malware-analysis  awaiting this node's answer  in 3h5", "(cert-ee)  Ransomware at a regional hospital group")
	legalWants(t, "EE's show", mustRun(t, "", "assist", "show", "--data", ee, id).stdout,
		"  incident     "+incident+"  (not held on this node)",
		"  urgency      immediate: help is needed now: an ongoing incident is disrupting services",
		"  entity       essential entity (NIS2)", "  sectors      health", "  countries    FR", "(0 of 1 answered)",
		"Mitigation already taken:\n  "+mitigation,
		"CAPABILITY         OFFERED  ACCEPTED  PEOPLE  THIS NODE DECLARES", "digital-forensics  0        0         0       yes",
		"malware-analysis   0        0         0       yes",
		"'entraide assist offer "+id+" --capability ID --team-size N', or 'entraide assist decline "+id+"' if you cannot help.")
	if st := mustRun(t, "", "status", "--data", ee); !strings.Contains(st.stdout, id) {
		t.Errorf("EE's status does not show the answer due:\n%s", st.stdout)
	}

	// EE offers one team per capability asked for.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{id, "--capability", "legal-support", "--team-size", "3"}, "capability legal-support was not requested: the request asks for digital-forensics, malware-analysis"},
		{[]string{id, "--capability", "digital-forensics", "--team-size", "501"}, "--team-size 501: want 1 to 500 people"},
		{[]string{id, "--capability", "digital-forensics"}, "--team-size is required"},
		{[]string{id, "--team-size", "3"}, "--capability is required"},
		{[]string{id, "--capability", "digital-forensics", "--team-size", "3", "--until", "2020-01-01T00:00:00Z"}, "--until: 2020-01-01T00:00:00Z is in the past"},
		{[]string{"x-entraide-step--8f930000-0000-4000-8000-000000007ea9", "--capability", "digital-forensics", "--team-size", "3"}, "offer takes the request's id"},
	} {
		r := run(t, nil, "", append([]string{"assist", "offer", "--data", ee}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("assist offer %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	r = mustRun(t, "", "assist", "offer", "--data", ee, "--as", "eve", id, "--capability", "digital-forensics", "--team-size", "3",
		"--until", "5d", "--note", "Two analysts on site in Lyon by 18:00 UTC, one remote; call the CERT-EE duty desk.")
	offer := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(offer, workflow.StepType+"--") || r.stderr != "" {
		t.Fatalf("assist offer printed %q, %q; want the offer's id alone", r.stdout, r.stderr)
	}
	offered := time.Now()
	offer2 := strings.TrimSpace(mustRun(t, "", "assist", "offer", "--data", ee, "--as", "eve", id, "--capability", "malware-analysis", "--team-size", "1", "--from", "2h").stdout)
	if r := run(t, nil, "", "assist", "offer", "--data", ee, id, "--capability", "digital-forensics", "--team-size", "2"); r.code != 2 ||
		!strings.Contains(r.stderr, "already has a pending offer of digital-forensics ("+offer+"): withdraw it first") {
		t.Errorf("a second offer of the same capability: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "", "assist", "decline", "--data", ee, id, "--reason", "No forensic team available this week."); r.code != 2 ||
		!strings.Contains(r.stderr, "has offers in force") {
		t.Errorf("no-offer with offers in force: exit %d %s", r.code, r.stderr)
	}

	// FR sees both offers under OFFER, and the decisions due.
	out = legalWait(t, "FR seeing EE's offers", legalContains(offer2), "assist", "show", "--data", fr, id)
	legalWants(t, "FR's show of the offers", out, "status    2 offers to decide", "(1 of 1 answered)",
		"OFFER ", "FROM     CAPABILITY         TEAM  AVAILABLE", offer+"  cert-ee  digital-forensics  3     from ",
		"pending  Two analysts on site in Lyon by 18:00 UTC, one remote; call…", offer2+"  cert-ee  malware-analysis   1     from ",
		"answer (offer or no-offer)                         cert-ee", "decide on the digital-forensics offer (team of 3)  cert-fr",
		"decide on the malware-analysis offer (team of 1)   cert-fr", "Decide on each pending offer")
	if st := mustRun(t, "", "status", "--data", fr); !strings.Contains(st.stdout, id) {
		t.Errorf("FR's status does not show the decisions due:\n%s", st.stdout)
	}
	var v assistView
	if err := json.Unmarshal([]byte(mustRun(t, "", "assist", "show", "--data", fr, id, "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	if o := v.Detail.Offers; len(o) != 2 || o[0].ID != offer || o[0].TeamSize != 3 || o[0].AvailableUntil == nil ||
		o[0].AvailableUntil.Sub(*o[0].AvailableFrom) != 5*24*time.Hour || o[1].ID != offer2 || o[1].AvailableFrom == nil ||
		o[1].AvailableFrom.Before(offered.Add(2*time.Hour-time.Second)) || o[1].Status != assistance.StatusPending {
		t.Fatalf("FR's JSON view of the offers: %+v", v.Detail.Offers)
	}

	// FR decides on each; only FR decides, once.
	for _, c := range []struct {
		dir  string
		args []string
		code int
		want string
	}{
		{ee, []string{"accept", offer}, 1, "not a party: only the requesting node accepts or declines offers"},
		{fr, []string{"decline", offer2}, 2, "--reason is required to decline an offer"},
		{fr, []string{"accept", id}, 2, "is not an offer: give the offer's id"},
		{fr, []string{"accept", "x-entraide-step--8f930000-0000-4000-8000-000000007ea9"}, 1, "no offer x-entraide-step--8f930000-0000-4000-8000-000000007ea9 on this node"},
	} {
		r := run(t, nil, "", append([]string{"assist", c.args[0], "--data", c.dir}, c.args[1:]...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("assist %v on %s: exit %d, stderr %q; want exit %d with %q", c.args, filepath.Base(c.dir), r.code, r.stderr, c.code, c.want)
		}
	}
	r = mustRun(t, "", "assist", "accept", "--data", fr, "--as", "alice", offer, "--note", "Report to the crisis cell, Lyon HQ, 3rd floor; ask for Alice.")
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), workflow.StepType+"--") {
		t.Errorf("accept printed %q, want the decision's id", r.stdout)
	}
	if r := run(t, nil, "", "assist", "accept", "--data", fr, offer); r.code != 2 || !strings.Contains(r.stderr, "offer "+offer+" was already accepted") {
		t.Errorf("accepting twice: exit %d %s", r.code, r.stderr)
	}
	var res workflow.Result
	if err := json.Unmarshal([]byte(mustRun(t, "", "assist", "decline", "--data", fr, "--as", "alice", offer2,
		"--reason", "Malware analysis is covered by our national lab.", "--json").stdout), &res); err != nil ||
		res.ID != id || !strings.HasPrefix(res.Object, workflow.StepType+"--") || res.Queued != 1 || len(res.Refused) != 0 {
		t.Errorf("decline --json: %v %+v", err, res)
	}
	legalWants(t, "FR's list after the decisions", mustRun(t, "", "assist", "list", "--data", fr).stdout,
		"digital-forensics*,malware-analysis  1 accepted")
	out = legalWait(t, "EE seeing FR's decisions", legalContains("declined: Malware analysis"), "assist", "show", "--data", ee, id)
	legalWants(t, "EE's show of the decisions", out, "digital-forensics  1        1         3       yes",
		"accepted: Report to the crisis cell, Lyon HQ, 3rd floor; as…", "declined: Malware analysis is covered by our national lab.",
		"alice  accept", "alice  decline")

	// EE withdraws its accepted offer: FR sees the capability uncovered.
	if r := run(t, nil, "", "assist", "withdraw", "--data", fr, offer); r.code != 1 || !strings.Contains(r.stderr, "not a party") {
		t.Errorf("FR withdrawing EE's offer: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "", "assist", "withdraw", "--data", ee, "--as", "eve", offer, "--reason", "Team recalled for a national incident.")
	legalWait(t, "FR seeing the offer withdrawn", legalContains("withdrawn: Team recalled for a national incident."), "assist", "show", "--data", fr, id)
	legalWants(t, "FR's list after the withdrawal", mustRun(t, "", "assist", "list", "--data", fr).stdout,
		"digital-forensics,malware-analysis  no offer in force")

	// FR closes with a report read from standard input; EE reads it.
	for _, c := range []struct {
		dir  string
		args []string
		code int
		want string
	}{
		{fr, []string{id}, 2, "--report is required: a short account of the help received and the outcome"},
		{fr, []string{offer, "--report", "done"}, 2, "close takes the request's id"},
		{ee, []string{id, "--report", "done"}, 1, "not a party: only the requesting node closes an assistance request"},
	} {
		r := run(t, nil, "", append([]string{"assist", "close", "--data", c.dir}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("assist close %v on %s: exit %d, stderr %q; want exit %d with %q", c.args, filepath.Base(c.dir), r.code, r.stderr, c.code, c.want)
		}
	}
	const report = "CERT-EE imaged 14 servers; the intrusion came through an unpatched VPN appliance.\nServices restored on day 3. Lessons: MFA on remote access.\n"
	mustRun(t, report, "assist", "close", "--data", fr, "--as", "alice", id, "--report-file", "-")
	out = legalWait(t, "EE seeing the request closed", legalContains("status    closed"), "assist", "show", "--data", ee, id)
	legalWants(t, "EE's show of the closed request", out, "by alice\n",
		"Closing report:\n  CERT-EE imaged 14 servers; the intrusion came through an unpatched VPN appliance.\n  Services restored on day 3. Lessons: MFA on remote access.\n",
		"withdrawn: Team recalled for a national incident.", "cert-ee  eve    withdraw", "cert-fr  alice  close")
	if strings.Contains(out, "Answer by") || strings.Contains(out, "Decide on") {
		t.Errorf("a closed request still says what to do:\n%s", out)
	}
	if r := run(t, nil, "", "assist", "offer", "--data", ee, id, "--capability", "digital-forensics", "--team-size", "2"); r.code != 2 ||
		!strings.Contains(r.stderr, "the request is closed") {
		t.Errorf("an offer after the close: exit %d %s", r.code, r.stderr)
	}
	v = assistView{}
	if err := json.Unmarshal([]byte(mustRun(t, "", "assist", "show", "--data", ee, id, "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	var history []string
	for _, e := range v.Timeline {
		history = append(history, e.Node.Name+" "+e.Actor+" "+e.Action)
		stixschema.Validate(t, e.Object)
	}
	stixschema.Validate(t, v.Object)
	d := v.Detail
	if v.Open || v.Status != "closed" || v.TLP != "amber" || d.ClosedBy != "alice" || d.Report != strings.TrimSpace(report) && d.Report != report ||
		len(d.Offers) != 2 || d.Offers[0].Status != assistance.StatusWithdrawn || d.Offers[0].Decision != "accepted" ||
		d.Offers[1].Status != assistance.StatusDeclined || d.Mitigation != mitigation || d.Urgency != "immediate" || d.Criticality != "essential" {
		t.Errorf("EE's JSON view of the closed request: %+v", v)
	}
	if got := strings.Join(history, ", "); got != "cert-ee eve offer, cert-ee eve offer, cert-fr alice accept, cert-fr alice decline, cert-ee eve withdraw, cert-fr alice close" {
		t.Errorf("EE's history: %s", got)
	}
	if out := mustRun(t, "", "assist", "list", "--data", fr, "--open").stdout; strings.TrimSpace(out) != "no assistance requests" {
		t.Errorf("FR's open requests after the close:\n%s", out)
	}
	if r := run(t, nil, "", "assist", "show", "--data", fr, assistance.Type+"--00000000-0000-4000-8000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "no assist") {
		t.Errorf("unknown request: exit %d %s", r.code, r.stderr)
	}
}
