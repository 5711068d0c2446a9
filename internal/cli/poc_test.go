package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/contact"
)

// TestPocFromTheCommandLine is the README's points-of-contact walk-through:
// EE publishes its contacts, FR pins the new card and sees them in the
// directory, pings EE's CSIRT; EE's duty officer finds the ping in status,
// answers with the challenge code; FR sees who answered and how fast.
// Mistakes are usage errors (exit 2) that change nothing.
func TestPocFromTheCommandLine(t *testing.T) {
	frPort, eePort := freePortNum(t), freePortNum(t)
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", frPort, pocFR)
	ee := fedNode(t, "cert-ee", "CERT-EE", "EE", eePort, pocEE)

	// EE publishes its points of contact.
	r := mustRun(t, "", "poc", "set", "--data", ee, "--role", "csirt-24x7", "--name", "CERT-EE duty officer", "--unit", "RIA",
		"--email", "cert@ria.example", "--phone", "+372 663 0299", "--language", "et,EN", "--language", "ru", "--hours", "24x7",
		"--channel", "signal=+372 5555 0000", "--channel", "pgp=0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567")
	if !strings.Contains(r.stdout, "csirt-24x7: CERT-EE duty officer (RIA), cert@ria.example, +372 663 0299, signal +372 5555 0000") ||
		!strings.Contains(r.stdout, "announces the new card to every peer") || !strings.Contains(r.stdout, "'entraide poc list --peer cert-ee'") {
		t.Errorf("poc set:\n%s", r.stdout)
	}
	mustRun(t, "", "poc", "set", "--data", ee, "--role", "diplomatic", "--name", "Cyber diplomacy desk", "--email", "cyber@vm.example",
		"--hours", "mon-fri 9:00-17:00 Europe/Tallinn")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--role", "csirt", "--name", "x", "--email", "a@ria.example"}, `did you mean "csirt-24x7"`},
		{[]string{"--role", "technical", "--name", "x", "--email", "a@ria.example", "--language", "estonian"}, `"estonian" is not an ISO 639-1`},
		{[]string{"--role", "technical", "--name", "x", "--email", "a@ria.example", "--hours", "Mon-Fri 09:00-17:00 EET"}, `time zone "EET"`},
		{[]string{"--role", "technical", "--name", "x", "--email", "a@ria.example", "--channel", "telegram=@x"}, `channel type "telegram"`},
		{[]string{"--role", "technical", "--name", "x"}, "give an email or a phone"},
	} {
		r := run(t, nil, "", append([]string{"poc", "set", "--data", ee}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("poc set %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if r := run(t, nil, "", "poc", "remove", "--data", ee, "--role", "technical"); r.code != 2 || !strings.Contains(r.stderr, "no technical contact") {
		t.Errorf("remove a role without contacts: exit %d %s", r.code, r.stderr)
	}
	var own contact.Directory
	if err := json.Unmarshal([]byte(mustRun(t, "", "poc", "list", "--data", ee, "--json", "--peer", "self").stdout), &own); err != nil {
		t.Fatal(err)
	}
	if len(own.Nodes) != 1 || !own.Nodes[0].Self || len(own.Nodes[0].Roles) != 2 || own.Nodes[0].Roles[0].Contacts[0].Languages[1] != "en" {
		t.Fatalf("EE's own directory: %+v", own)
	}

	// The partners exchange their cards; FR sees EE's contacts.
	frCard, eeCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "ee.card")
	mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	mustRun(t, "", "card", "export", "--data", ee, "--out", eeCard)
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", eeCard)
	mustRun(t, "", "peer", "add", "--data", ee, "--yes", frCard)
	r = mustRun(t, "", "poc", "list", "--data", fr)
	for _, want := range []string{"cert-ee  CERT-EE (EE)", "CERT-EE duty officer, RIA", "signal +372 5555 0000",
		"languages et, en, ru; hours 24/7 (on duty now)", "Mon-Fri 09:00-17:00 Europe/Tallinn", "no contact for le-24x7, technical, crisis-liaison"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("poc list lacks %q:\n%s", want, r.stdout)
		}
	}

	// Ping mistakes are usage errors and send nothing.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--role", "csirt-24x7"}, "at least one --to or --community"},
		{[]string{"--to", "cert-ee", "--role", "police"}, `did you mean "le-24x7"`},
		{[]string{"--to", "cert-ee", "--role", "csirt-24x7", "--answer-by", "2020-01-01T00:00:00Z"}, "in the past"},
		{[]string{"--to", "cert-ee", "--role", "csirt-24x7", "--challenge", "A"}, "use 4 to 32"},
		{[]string{"--to", "cert-ee", "--role", "csirt-24x7", "--challenge", "ABCD", "--no-challenge"}, "not both"},
		{[]string{"--to", "cert-xx", "--role", "csirt-24x7"}, `no peer "cert-xx"`},
		{[]string{"--to", "cert-ee", "--role", "csirt-24x7", "--tlp", "red"}, "cannot be TLP:RED"},
	} {
		r := run(t, nil, "", append([]string{"poc", "ping", "--data", fr}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("poc ping %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if r := mustRun(t, "", "poc", "pings", "--data", fr, "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("refused pings left pings: %s", r.stdout)
	}

	// FR pings EE's CSIRT while nobody serves: queued, delivered once both serve.
	r = mustRun(t, "", "poc", "ping", "--data", fr, "--to", "cert-ee", "--role", "csirt-24x7", "--message", "Quarterly ping test", "--as", "alice")
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, contact.Type+"--") || !strings.Contains(r.stderr, "challenge: ") {
		t.Fatalf("poc ping printed %q, %q", r.stdout, r.stderr)
	}
	code := strings.TrimSpace(strings.SplitN(strings.SplitN(r.stderr, "challenge: ", 2)[1], " ", 2)[0])
	r = mustRun(t, "", "poc", "ping", "--data", fr, "--to", "cert-ee", "--role", "technical", "--no-challenge", "--answer-by", "1d")
	if !strings.Contains(r.stderr, "lists no technical contact") {
		t.Errorf("no note for a role the card lacks: %q", r.stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := func(dir, port string) (stop func()) {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			runCtx(ctx, t, nil, "", "serve", "--data", dir, "--listen", "127.0.0.1:"+freePortNum(t), "--fed-listen", "127.0.0.1:"+port)
		}()
		return func() { cancel(); <-done }
	}
	serve(fr, frPort)
	stopEE := serve(ee, eePort)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(run(t, nil, "", "poc", "pings", "--data", ee, "--received").stdout, id) {
		if time.Now().After(deadline) {
			t.Fatalf("EE never received the ping; FR status:\n%s", run(t, nil, "", "status", "--data", fr).stdout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// EE adds a technical desk while its node is stopped; started again,
	// the node announces its new card to FR, which pins it: FR's
	// directory shows the desk without any card sent by hand.
	stopEE()
	r = mustRun(t, "", "poc", "set", "--data", ee, "--role", "technical", "--name", "RIA SOC", "--email", "soc@ria.example")
	if !strings.Contains(r.stdout, "announces the new card to every peer") {
		t.Errorf("poc set:\n%s", r.stdout)
	}
	serve(ee, eePort)
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(run(t, nil, "", "poc", "list", "--data", fr, "--peer", "cert-ee", "--role", "technical").stdout, "soc@ria.example") {
		if time.Now().After(deadline) {
			t.Fatalf("FR never pinned EE's card with its technical desk:\n%s", run(t, nil, "", "poc", "list", "--data", fr, "--peer", "cert-ee").stdout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := mustRun(t, "", "status", "--data", ee); !strings.Contains(st.stdout, id) {
		t.Fatalf("EE's status does not show the ping due:\n%s", st.stdout)
	}
	r = mustRun(t, "", "poc", "show", "--data", ee, id)
	for _, want := range []string{"challenge  " + code, "Quarterly ping test", "To answer: entraide poc answer --data " + ee + " " + id + " --challenge CODE"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("EE's poc show lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := run(t, nil, "", "poc", "answer", "--data", ee, id, "--challenge", "WRONG-CODE", "--as", "Eve Tamm"); r.code != 2 || !strings.Contains(r.stderr, "not the ping's code") {
		t.Fatalf("wrong code: exit %d %s", r.code, r.stderr)
	}
	r = mustRun(t, "", "poc", "answer", "--data", ee, id, "--challenge", strings.ToLower(code), "--as", "Eve Tamm", "--comment", "loud and clear")
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), "x-entraide-step--") {
		t.Errorf("poc answer printed %q", r.stdout)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		out := run(t, nil, "", "poc", "pings", "--data", fr, "--sent").stdout
		if strings.Contains(out, "answered by Eve Tamm in") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FR never saw EE's answer:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var dir contact.Directory
	if err := json.Unmarshal([]byte(mustRun(t, "", "poc", "list", "--data", fr, "--json", "--peer", "cert-ee", "--role", "csirt-24x7").stdout), &dir); err != nil {
		t.Fatal(err)
	}
	if len(dir.Nodes) != 1 || len(dir.Nodes[0].Roles) != 1 {
		t.Fatalf("filtered directory: %+v", dir)
	}
	st := dir.Nodes[0].Roles[0].Pings
	if st.Pings != 1 || st.OnTime != 1 || st.AnswerRate == nil || *st.AnswerRate != 1 || st.Last == nil || st.Last.AnsweredBy != "Eve Tamm" {
		t.Fatalf("FR's statistics of EE's CSIRT: %+v", st)
	}
	var rows []pingRow
	if err := json.Unmarshal([]byte(mustRun(t, "", "poc", "pings", "--data", fr, "--json").stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Direction != "sent" {
		t.Fatalf("FR's pings: %+v", rows)
	}
	// EE cannot close FR's ping; FR closes the technical one.
	if r := run(t, nil, "", "poc", "close", "--data", ee, id); r.code == 0 {
		t.Fatal("EE closed FR's ping")
	}
	var technical string
	for _, row := range rows {
		if row.Role == "technical" {
			technical = row.ID
		}
	}
	mustRun(t, "", "poc", "close", "--data", fr, technical, "--comment", "no technical contact yet")
	if out := mustRun(t, "", "poc", "pings", "--data", fr, "--open").stdout; strings.TrimSpace(out) != "no pings" {
		t.Errorf("open pings after the close and the answer:\n%s", out)
	}
	// A node keeps at least one contact.
	if r := run(t, nil, "", "poc", "remove", "--data", fr, "--role", "csirt-24x7"); r.code != 2 || !strings.Contains(r.stderr, "last point of contact") {
		t.Errorf("removing the last contact: exit %d %s", r.code, r.stderr)
	}
	cs := decode[[]card.Contact](t, mustRun(t, "", "poc", "remove", "--data", ee, "--role", "diplomatic", "--json").stdout)
	if len(cs) != 2 || cs[0].Role != "csirt-24x7" || cs[1].Role != "technical" {
		t.Errorf("EE's contacts after removing the diplomatic one: %+v", cs)
	}
}
