package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix/stixschema"
)

// legalPocLV is the Latvian node's 24/7 point of contact.
const legalPocLV = "role=le-24x7,name=State Police 24/7 point of contact,email=24x7@vp.example"

// legalLyon is the request of docs/workflows/legal.md, as the investigator
// keeps it in a file.
const legalLyon = `{
  "requesting_authority": "Paris public prosecutor, J3 cybercrime section (case 26-331-12)",
  "offence": "extortion by ransomware, art. 312-1 code pénal",
  "facts": "On 28 November 2026 the Lyon university hospital was encrypted. The ransom note gives the mailbox extort@mail.example.ee for negotiations; two messages were exchanged on 29 November.",
  "stored_data": "subscriber data and connection logs (IP addresses, ports, times) of extort@mail.example.ee, 1 to 30 November 2026",
  "relation": "the mailbox received and sent the ransom negotiations",
  "custodian": "Example Mail OÜ, Tallinn",
  "reason": "the provider deletes connection logs after 30 days",
  "mla_intent": "request for the disclosure of the preserved data (Art. 31), to follow within 30 days"
}`

// legalServe runs 'entraide serve' for a node until the test ends, and
// waits for it to stop before the node's directory is removed.
func legalServe(t *testing.T, dir, fedPort string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		done <- runCtx(ctx, t, nil, "", "serve", "--data", dir, "--listen", "127.0.0.1:"+freePortNum(t), "--fed-listen", "127.0.0.1:"+fedPort)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case r := <-done:
			if r.code != 0 {
				t.Errorf("serve %s exited %d:\n%s", filepath.Base(dir), r.code, r.stderr)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve %s did not stop", filepath.Base(dir))
		}
	})
}

// legalWait runs a command until its output satisfies ok, for 20 seconds.
func legalWait(t *testing.T, what string, ok func(string) bool, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := run(t, nil, "", args...).stdout
		if ok(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened; last output of %s:\n%s", what, strings.Join(args, " "), out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func legalContains(s string) func(string) bool {
	return func(out string) bool { return strings.Contains(out, s) }
}

// legalWants reports each of wants that out lacks.
func legalWants(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// TestLegalFromTheCommandLine is the expedited preservation walk-through
// (docs/workflows/legal.md), command by command, between three nodes: FR
// asks EE to preserve a mailbox's logs (Art. 29); EE acknowledges, then
// executes for at least 60 days and discloses a relay in LV (Art. 30); FR
// sees the answers and chains a request to LV while LV's node is down; LV,
// back, refuses with its ground; FR asks an extension, EE grants a shorter
// one, FR records the MLA request; the report gives each country's times,
// computed from the signed answers. Mistakes are usage errors (exit 2)
// that write nothing and name the paragraph and the flag; a step by the
// wrong party is refused (exit 1).
func TestLegalFromTheCommandLine(t *testing.T) {
	frPort, eePort, lvPort := freePortNum(t), freePortNum(t), freePortNum(t)
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", frPort, pocFR)
	ee := fedNode(t, "cert-ee", "CERT-EE", "EE", eePort, pocEE)
	lv := fedNode(t, "cert-lv", "CERT.LV", "LV", lvPort, legalPocLV)
	cards := map[string]string{}
	for name, dir := range map[string]string{"fr": fr, "ee": ee, "lv": lv} {
		cards[name] = filepath.Join(t.TempDir(), name+".card")
		mustRun(t, "", "card", "export", "--data", dir, "--out", cards[name])
	}
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", cards["ee"])
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", cards["lv"])
	mustRun(t, "", "peer", "add", "--data", ee, "--yes", cards["fr"])
	mustRun(t, "", "peer", "add", "--data", lv, "--yes", cards["fr"])
	lyon := filepath.Join(t.TempDir(), "lyon.json")
	if err := os.WriteFile(lyon, []byte(legalLyon), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"offence": "extortion", "sentence": "5 years"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	// Mistakes are refused before anything is written, naming the item's
	// paragraph of Art. 29(2) and its flag.
	items := []string{"--authority", "Paris public prosecutor", "--offence", "extortion", "--facts", "…", "--stored-data", "mailbox logs",
		"--relation", "…", "--custodian", "Example Mail OÜ", "--reason", "logs deleted after 30 days", "--mla-intent", "true"}
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(items); i += 2 {
			if items[i] != flag {
				out = append(out, items[i], items[i+1])
			}
		}
		return out
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		// The doc's example: every item but (c).
		{without("--stored-data"), "Art. 29(2)(c) stored data: required (the stored computer data to be preserved) — flag --stored-data"},
		{without("--authority"), "Art. 29(2)(a)"},
		{without("--facts"), "— flag --facts"},
		{without("--custodian"), "Art. 29(2)(d) custodian or location: required"},
		{without("--mla-intent"), "Art. 29(2)(f)"},
		{append(without("--mla-intent"), "--mla-intent", "false"), "without that intent, ask through another channel — flag --mla-intent"},
		// Flags override the file's items.
		{[]string{"--request", lyon, "--stored-data", ""}, "Art. 29(2)(c) stored data: required"},
		{[]string{"--request", bad}, `unknown field "sentence"`},
		{[]string{"--request", lyon, "--ack-by", "2020-01-01T00:00:00Z"}, "in the past"},
		{[]string{"--request", lyon, "--remind-before", "70d"}, "— flag --remind-before"},
		{[]string{"--request", lyon, "--tlp", "red"}, "cannot be TLP:RED"},
		{[]string{"--request", lyon, "--to", "cert-lv"}, "give exactly one --to"},
		{[]string{"--request", lyon, "--chain", "x-entraide-step--8ea7d264-7a16-4a95-ae60-bf915b164f1b"}, "give --chain or --request, not both"},
	} {
		r := run(t, nil, "", append([]string{"legal", "preserve", "--data", fr, "--to", "cert-ee"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("legal preserve %v: exit %d, stdout %q, stderr %q; want exit 2 with %q", c.args, r.code, r.stdout, r.stderr, c.want)
		}
	}
	for _, c := range []struct{ to, want string }{
		{"cert-xx", `no peer "cert-xx"`},
		{"cert-fr", "--to cert-fr is this node"},
	} {
		if r := run(t, nil, "", "legal", "preserve", "--data", fr, "--to", c.to, "--request", lyon); r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("legal preserve --to %s: exit %d, stderr %q; want exit 2 with %q", c.to, r.code, r.stderr, c.want)
		}
	}
	if r := mustRun(t, "", "legal", "list", "--data", fr, "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("refused requests left requests: %s", r.stdout)
	}

	// 1. FR asks EE, while nobody serves: queued, delivered once both serve.
	preserveStart := time.Now()
	r := mustRun(t, "", "legal", "preserve", "--data", fr, "--to", "cert-ee", "--request", lyon, "--as", "Lt. Martin")
	preserveEnd := time.Now()
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, preservation.Type+"--") || strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
		t.Fatalf("legal preserve printed %q, %q; want the request's id alone", r.stdout, r.stderr)
	}
	legalServe(t, fr, frPort)
	legalServe(t, ee, eePort)

	// 2. EE sees it, acknowledges, then executes and discloses a relay in LV.
	out := legalWait(t, "EE receiving the request", legalContains(id), "legal", "list", "--data", ee)
	legalWants(t, "EE's list", out, "FROM     TO          STATUS                    NEXT DEADLINE", "cert-fr  EE cert-ee  awaiting acknowledgement  in 23h",
		"(cert-ee)  extortion by ransomware, art. 312-1 code pénal")
	legalWants(t, "EE's show", mustRun(t, "", "legal", "show", "--data", ee, id).stdout,
		"marking   TLP:AMBER+STRICT", "(a) authority   Paris public prosecutor, J3 cybercrime section (case 26-331-12)",
		"(d) custodian   Example Mail OÜ, Tallinn", "(e) necessity   the provider deletes connection logs after 30 days", "acknowledge by")
	if st := mustRun(t, "", "status", "--data", ee); !strings.Contains(st.stdout, id) {
		t.Errorf("EE's status does not show the acknowledgement due:\n%s", st.stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"maybe", id}, `unknown action "maybe": want acknowledge, execute, partial, refuse, disclose, extend-granted, extend-declined`},
		{[]string{"extend", id}, "extend is the requesting Party's"},
		{[]string{"acknowledge", id, "--explanation", "y"}, "acknowledge does not take --explanation"},
		{[]string{"execute", id, "--until", "90d", "--ground", "sovereignty"}, "execute does not take --ground"},
		{[]string{"execute", id, "--until", "90d"}, "execute: reference required"},
		{[]string{"disclose", id, "--provider", "Balt Relay SIA"}, "needs --provider-country and --provider"},
		{[]string{"acknowledge"}, "give ACTION and ID"},
	} {
		r := run(t, nil, "", append([]string{"legal", "respond", "--data", ee}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("legal respond %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if r := run(t, nil, "", "legal", "respond", "--data", fr, "acknowledge", id); r.code != 1 || !strings.Contains(r.stderr, "not a party: only the requested Party's node answers") {
		t.Errorf("FR answering its own request: exit %d %s", r.code, r.stderr)
	}
	ackStart := time.Now()
	r = mustRun(t, "", "legal", "respond", "--data", ee, "acknowledge", id, "--reference", "EE-2026-113", "--as", "Insp. Tamm")
	ackEnd := time.Now()
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), "x-entraide-step--") {
		t.Fatalf("acknowledge printed %q, want the step's id", r.stdout)
	}
	r = run(t, nil, "", "legal", "respond", "--data", ee, "execute", id, "--until", "30d")
	if r.code != 2 || !strings.Contains(r.stderr, "is less than 60 days ahead: Art. 29(7) requires preservation for at least 60 days") || !strings.Contains(r.stderr, "— flag --until") {
		t.Errorf("execute for 30 days: exit %d %s", r.code, r.stderr)
	}
	until := time.Now().UTC().AddDate(0, 0, 120).Format(time.DateOnly)
	execStart := time.Now()
	r = mustRun(t, "", "legal", "respond", "--data", ee, "execute", id, "--until", until, "--as", "Insp. Tamm",
		"--provider-country", "LV", "--provider", "Balt Relay SIA",
		"--provider-note", "the messages of 29 Nov were relayed by smtp.baltrelay.example (192.0.2.7), 03:12 UTC")
	execEnd := time.Now()
	disclosed := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(disclosed, "x-entraide-step--") {
		t.Fatalf("execute printed %q, want the step's id", r.stdout)
	}

	// 3. FR sees the answer and the Art. 30 disclosure, with the command
	// that chains a request from it.
	out = legalWait(t, "FR seeing EE's execution", legalContains("Balt Relay SIA"), "legal", "show", "--data", fr, id)
	legalWants(t, "FR's show", out, "status    preserved until "+until, "marking   TLP:AMBER+STRICT", "requested       EE (cert-ee)",
		"until           "+until+" 23:59:59Z", "reference       EE-2026-113", "Art. 30 disclosures:",
		"LV       Balt Relay SIA  the messages of 29 Nov were relayed by smtp.baltr…  "+disclosed,
		"chain: entraide legal preserve --chain "+disclosed+" --to cert-lv",
		"send the MLA request or ask an extension: preservation ends "+until, "Insp. Tamm  acknowledge", "Insp. Tamm  execute")
	var v struct {
		ID       string            `json:"id"`
		Status   string            `json:"status"`
		TLP      string            `json:"tlp"`
		Open     bool              `json:"open"`
		Detail   preservation.View `json:"detail"`
		Object   json.RawMessage   `json:"object"`
		Timeline []struct {
			ID     string          `json:"id"`
			Actor  string          `json:"actor"`
			Action string          `json:"action"`
			Object json.RawMessage `json:"object"`
		} `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "", "legal", "show", "--data", fr, id, "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	d := v.Detail
	if v.ID != id || !v.Open || d.TargetCountry != "EE" || d.Answer != preservation.AnswerExecuted || d.Reference != "EE-2026-113" ||
		d.AcknowledgedAt == nil || d.AnsweredAt == nil || d.AnsweredAt.Before(*d.AcknowledgedAt) || d.PreservedUntil == nil ||
		d.PreservedUntil.Format(time.RFC3339) != until+"T23:59:59Z" || d.PreservedUntil.Before(d.Opened.AddDate(0, 0, 60)) ||
		len(d.Disclosures) != 1 || d.Disclosures[0].Country != "LV" || d.Disclosures[0].Provider != "Balt Relay SIA" || d.Disclosures[0].Step != disclosed {
		t.Fatalf("FR's JSON view of the answers: %+v", v)
	}
	if len(v.Timeline) != 2 || v.Timeline[0].Action != "acknowledge" || v.Timeline[1].Action != "execute" || v.Timeline[1].ID != disclosed ||
		v.Timeline[0].Actor != "Insp. Tamm" {
		t.Fatalf("FR's timeline: %+v", v.Timeline)
	}
	stixschema.Validate(t, v.Object)
	for _, e := range v.Timeline {
		stixschema.Validate(t, e.Object)
	}

	// 4. FR chains a request to LV, whose node is down. Only the requesting
	// node chains, and only to the country of a provider disclosed.
	if r := run(t, nil, "", "legal", "preserve", "--data", fr, "--chain", disclosed, "--to", "cert-ee"); r.code != 2 || !strings.Contains(r.stderr, "was sent to EE already") {
		t.Errorf("chaining back to EE: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "", "legal", "preserve", "--data", ee, "--chain", disclosed, "--to", "cert-fr"); r.code != 1 || !strings.Contains(r.stderr, "only the requesting node chains") {
		t.Errorf("EE chaining: exit %d %s", r.code, r.stderr)
	}
	chainStart := time.Now()
	r = mustRun(t, "", "legal", "preserve", "--data", fr, "--chain", disclosed, "--to", "cert-lv", "--as", "Lt. Martin")
	chainEnd := time.Now()
	lvID := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(lvID, preservation.Type+"--") || lvID == id {
		t.Fatalf("legal preserve --chain printed %q", r.stdout)
	}
	if want := "chained from " + disclosed + " (Art. 30), in " + id; !strings.Contains(r.stderr, want) {
		t.Errorf("chain: stderr %q, want %q", r.stderr, want)
	}
	legalWants(t, "FR's show of the chained request", mustRun(t, "", "legal", "show", "--data", fr, lvID).stdout,
		"Preservation request to LV: extortion by ransomware", "requested       LV (cert-lv)",
		"(a) authority   Paris public prosecutor, J3 cybercrime section (case 26-331-12)",
		"(c) data        the traffic data Balt Relay SIA holds on the transmission of the",
		"Art. 30: on "+time.Now().UTC().Format(time.DateOnly)+", EE disclosed that the service provider",
		"(d) custodian   Balt Relay SIA", "(e) necessity   the provider deletes connection logs after 30 days",
		"chained from    "+disclosed+" in", id+"\n                  (Art. 30)")
	st := legalWait(t, "FR's status showing LV unreachable", legalContains("cert-lv  unreachable"), "status", "--data", fr)
	legalWants(t, "FR's status", st, "2 item(s) due, 0 overdue", "(cert-lv)  preservation  "+lvID+"  awaiting acknowledgement",
		"(cert-fr)    preservation  "+id+"  preserved until "+until)

	// 5. LV, back, receives it (exactly once) and refuses, with its ground.
	lvUp := time.Now()
	legalServe(t, lv, lvPort)
	legalWait(t, "LV receiving the chained request", legalContains(lvID), "legal", "list", "--data", lv)
	if r := run(t, nil, "", "legal", "respond", "--data", lv, "refuse", lvID, "--explanation", "…"); r.code != 2 ||
		!strings.Contains(r.stderr, "refuse: ground required: political-offence (Art. 29(5)(a)), sovereignty (Art. 29(5)(b))") ||
		!strings.Contains(r.stderr, "dual-criminality (Art. 29(4)) — flag --ground") {
		t.Errorf("refusal without a ground: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "", "legal", "respond", "--data", lv, "refuse", lvID, "--ground", "sovereignty", "--as", "Capt. Ozols",
		"--explanation", "Balt Relay SIA operates the relay for a state authority; its traffic data cannot be preserved at a foreign request.")
	refuseEnd := time.Now()
	out = legalWait(t, "FR seeing LV's refusal", legalContains("refused (sovereignty)"), "legal", "list", "--data", fr)
	legalWants(t, "FR's list", out, lvID+"  cert-fr  LV cert-lv  refused (sovereignty)       -",
		id+"  cert-fr  EE cert-ee  preserved until "+until+"  in ")
	if r := run(t, nil, "", "legal", "withdraw", "--data", ee, id); r.code != 1 || !strings.Contains(r.stderr, "not a party: only the requesting Party's node may withdraw") {
		t.Errorf("EE withdrawing FR's request: exit %d %s", r.code, r.stderr)
	}
	if out := mustRun(t, "", "legal", "list", "--data", fr, "--open").stdout; !strings.Contains(out, id) || strings.Contains(out, lvID) {
		t.Errorf("FR's open requests:\n%s", out)
	}
	if r := run(t, nil, "", "legal", "list", "--data", lv, "--received", "--json"); r.code != 0 || strings.Count(r.stdout, `"id": "`+preservation.Type) != 1 {
		t.Errorf("LV's requests received: exit %d\n%s", r.code, r.stdout)
	}

	// 6. An extension asked, granted for less than asked; the MLA request.
	asked := time.Now().UTC().AddDate(0, 0, 180).Format(time.DateOnly)
	granted := time.Now().UTC().AddDate(0, 0, 150).Format(time.DateOnly)
	mustRun(t, "", "legal", "extend", "--data", fr, id, "--until", asked, "--comment", "the MLA request is being translated", "--as", "Lt. Martin")
	legalWait(t, "EE seeing the extension asked", legalContains("decide on the extension to "+asked), "legal", "show", "--data", ee, id)
	mustRun(t, "", "legal", "respond", "--data", ee, "extend-granted", id, "--until", granted,
		"--comment", "the provider can keep the logs until mid-May", "--as", "Insp. Tamm")
	legalWait(t, "FR seeing the extension granted", legalContains("preserved until "+granted), "legal", "show", "--data", fr, id)
	if r := run(t, nil, "", "legal", "mla-sent", "--data", fr, id); r.code != 2 || !strings.Contains(r.stderr, "--reference is required") {
		t.Errorf("mla-sent without a reference: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "", "legal", "mla-sent", "--data", fr, id, "--reference", "FR-EE-MLA-2026-0042", "--as", "Lt. Martin")
	legalWants(t, "FR's show after the MLA request", mustRun(t, "", "legal", "show", "--data", fr, id).stdout,
		"status    preserved until "+granted+", MLA request FR-EE-MLA-2026-0042 sent",
		"Extensions:", asked+" 23:59:59Z  granted", granted+" 23:59:59Z",
		"Requests chained from this one:", lvID+"  LV cert-lv  refused (sovereignty)",
		"send the MLA request or ask an extension: preservation ends "+granted)
	legalWait(t, "EE seeing the MLA request", legalContains("MLA request     FR-EE-MLA-2026-0042"), "legal", "show", "--data", ee, id)

	// 7. How long each country took, from the times of the signed answers:
	// LV's include the time its node was down; its refusal acknowledged.
	out = mustRun(t, "", "legal", "report", "--data", fr).stdout
	legalWants(t, "FR's report", out, "COUNTRY  REQUESTS  PENDING  EXECUTED  PARTIAL  REFUSED  WITHDRAWN  ACK MEDIAN  ACK MAX  ANSWER MEDIAN  ANSWER MAX",
		"EE       1         0        1         0        0        0 ", "LV       1         0        0         0        1        0 ",
		"all      2         0        1         0        1        0 ", "Refusals by ground:\n  LV  sovereignty                1")
	var rep struct {
		Countries []legalCountry `json:"countries"`
	}
	raw := mustRun(t, "", "legal", "report", "--data", fr, "--json").stdout
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Countries) != 2 || rep.Countries[0].Country != "EE" || rep.Countries[1].Country != "LV" {
		t.Fatalf("FR's JSON report:\n%s", raw)
	}
	eeR, lvR := rep.Countries[0], rep.Countries[1]
	if c := eeR.counts(); c != [...]int{1, 0, 1, 0, 1, 0, 1, 1} || len(eeR.Grounds) != 0 {
		t.Errorf("EE's figures %v %v, want 1 request executed, 1 disclosure, 1 extension granted, 1 MLA request:\n%s", c, eeR.Grounds, raw)
	}
	if c := lvR.counts(); c != [...]int{1, 0, 0, 1, 0, 1, 0, 0} || len(lvR.Grounds) != 1 || lvR.Grounds["sovereignty"] != 1 {
		t.Errorf("LV's figures %v %v, want 1 chained request refused on sovereignty:\n%s", c, lvR.Grounds, raw)
	}
	eeR.Ack.within(t, "EE's time to acknowledge", ackStart.Sub(preserveEnd), ackEnd.Sub(preserveStart))
	eeR.Answer.within(t, "EE's time to answer", execStart.Sub(preserveEnd), execEnd.Sub(preserveStart))
	lvR.Ack.within(t, "LV's time to acknowledge", lvUp.Sub(chainEnd), refuseEnd.Sub(chainStart))
	if lvR.Ack.Median == nil || lvR.Answer.Median == nil || *lvR.Ack.Median != *lvR.Answer.Median {
		t.Errorf("LV's refusal, its first answer, is not its acknowledgement: %+v %+v", lvR.Ack, lvR.Answer)
	}
	// EE's own answers, from its side.
	raw = mustRun(t, "", "legal", "report", "--data", ee, "--received", "--json").stdout
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Countries) != 1 || rep.Countries[0].Country != "EE" || rep.Countries[0].Ack.Samples != 1 {
		t.Errorf("EE's report of its own answers:\n%s", raw)
	}
	if r := run(t, nil, "", "legal", "show", "--data", fr, disclosed); r.code != 1 || !strings.Contains(r.stderr, "is a step, not a request") {
		t.Errorf("show of a step: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "", "legal", "show", "--data", fr, preservation.Type+"--00000000-0000-4000-8000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "no preservation request") {
		t.Errorf("unknown request: exit %d %s", r.code, r.stderr)
	}
}

// legalCountry is a country's figures in 'legal report --json'.
type legalCountry struct {
	Country     string         `json:"country"`
	Requests    int            `json:"requests"`
	Pending     int            `json:"pending"`
	Executed    int            `json:"executed"`
	Refused     int            `json:"refused"`
	Disclosures int            `json:"disclosures"`
	Chained     int            `json:"chained"`
	Granted     int            `json:"extensions_granted"`
	MLASent     int            `json:"mla_sent"`
	Grounds     map[string]int `json:"refusals_by_ground"`
	Ack         legalTiming    `json:"time_to_acknowledge"`
	Answer      legalTiming    `json:"time_to_answer"`
}

// counts are requests, pending, executed, refused, disclosures, chained,
// extensions granted and MLA requests sent.
func (c legalCountry) counts() [8]int {
	return [...]int{c.Requests, c.Pending, c.Executed, c.Refused, c.Disclosures, c.Chained, c.Granted, c.MLASent}
}

// legalTiming is a timing of 'legal report --json'.
type legalTiming struct {
	Samples int      `json:"samples"`
	Median  *float64 `json:"median_seconds"`
	Max     *float64 `json:"max_seconds"`
}

// within checks a single sample lies between lo and hi (to the
// millisecond the report keeps).
func (tm legalTiming) within(t *testing.T, what string, lo, hi time.Duration) {
	t.Helper()
	if tm.Samples != 1 || tm.Median == nil || tm.Max == nil || *tm.Median != *tm.Max {
		t.Errorf("%s: %+v, want one sample", what, tm)
		return
	}
	got := time.Duration(*tm.Median * float64(time.Second))
	if got < lo-2*time.Millisecond || got > hi+2*time.Millisecond {
		t.Errorf("%s: %v, want between %v and %v", what, got, lo, hi)
	}
}
