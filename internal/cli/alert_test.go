package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAlertFromTheCommandLine is the README's alert walk-through: FR sends
// an alert to EE, EE lists it and acknowledges it, FR sees the answer per
// recipient; bad input is a usage error (exit 2) that writes nothing.
func TestAlertFromTheCommandLine(t *testing.T) {
	frPort, eePort := freePortNum(t), freePortNum(t)
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", frPort, pocFR)
	ee := fedNode(t, "cert-ee", "CERT-EE", "EE", eePort, pocEE)
	frCard, eeCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "ee.card")
	mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	mustRun(t, "", "card", "export", "--data", ee, "--out", eeCard)
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", eeCard)
	mustRun(t, "", "peer", "add", "--data", ee, "--yes", frCard)

	// Mistakes are usage errors and leave nothing behind.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "cert-ee", "--tlp", "amber", "--title", "t"}, "--severity is required"},
		{[]string{"--tlp", "amber", "--severity", "3", "--title", "t"}, "at least one --to or --community"},
		{[]string{"--to", "cert-ee", "--tlp", "amber", "--severity", "3", "--title", "t", "--sector", "enrgy"}, `did you mean "energy"`},
		{[]string{"--to", "cert-ee", "--tlp", "amber", "--severity", "3", "--title", "t", "--ack-by", "2020-01-01T00:00:00Z"}, "in the past"},
		{[]string{"--to", "cert-xx", "--tlp", "amber", "--severity", "3", "--title", "t"}, `no peer "cert-xx"`},
		{[]string{"--to", "cert-ee", "--tlp", "red", "--severity", "3", "--title", "t"}, "cannot be TLP:RED"},
	} {
		r := run(t, nil, "", append([]string{"alert", "send", "--data", fr}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("alert send %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if r := mustRun(t, "", "alert", "list", "--data", fr, "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("refused sends left alerts: %s", r.stdout)
	}

	// Sent while nobody serves: queued; delivered once both serve.
	r := mustRun(t, "", "alert", "send", "--data", fr, "--to", "cert-ee", "--tlp", "amber", "--severity", "severe",
		"--title", "Wiper campaign against grid operators", "--sector", "energy", "--country", "FR", "--ack-by", "4h", "--as", "alice")
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "x-entraide-alert--") {
		t.Fatalf("alert send printed %q, want the alert's id", r.stdout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, n := range []struct{ dir, port string }{{fr, frPort}, {ee, eePort}} {
		go func() {
			runCtx(ctx, t, nil, "", "serve", "--data", n.dir, "--listen", "127.0.0.1:"+freePortNum(t), "--fed-listen", "127.0.0.1:"+n.port)
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(run(t, nil, "", "alert", "list", "--data", ee).stdout, id) {
		if time.Now().After(deadline) {
			t.Fatalf("EE never received the alert; FR status:\n%s", run(t, nil, "", "status", "--data", fr).stdout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var list []struct {
		ID       string `json:"id"`
		Severity int    `json:"severity"`
		Origin   struct {
			Name string `json:"name"`
		} `json:"origin"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "", "alert", "list", "--data", ee, "--json").stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Severity != 4 || list[0].Origin.Name != "cert-fr" {
		t.Fatalf("EE's list: %+v", list)
	}
	if st := mustRun(t, "", "status", "--data", ee); !strings.Contains(st.stdout, "1 item(s) due") || !strings.Contains(st.stdout, id) {
		t.Fatalf("EE's status does not show the acknowledgement due:\n%s", st.stdout)
	}
	if r := run(t, nil, "", "alert", "ack", "--data", ee, id, "--answer", "maybe"); r.code != 2 {
		t.Fatalf("bad answer: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "", "alert", "ack", "--data", ee, id, "--answer", "affected", "--comment", "two substations hit", "--as", "eve")
	deadline = time.Now().Add(20 * time.Second)
	for {
		out := run(t, nil, "", "alert", "show", "--data", fr, id).stdout
		if strings.Contains(out, "affected") && strings.Contains(out, "two substations hit") && strings.Contains(out, "eve") {
			if !strings.Contains(out, "1 of 1 acknowledged") {
				t.Fatalf("FR's view:\n%s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FR never saw EE's answer:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var v struct {
		Parties []struct {
			Name        string     `json:"name"`
			DeliveredAt *time.Time `json:"delivered_at"`
		} `json:"parties"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "", "alert", "show", "--data", fr, id, "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	delivered := false
	for _, p := range v.Parties {
		delivered = delivered || (p.Name == "cert-ee" && p.DeliveredAt != nil)
	}
	if !delivered || v.Status != "acknowledged" {
		t.Fatalf("FR's JSON view: %+v", v)
	}
	// EE sees its own acknowledgement, not a count of the others'.
	if out := mustRun(t, "", "alert", "show", "--data", ee, id).stdout; !strings.Contains(out, "(acknowledged by this node)") || strings.Contains(out, "of 1 acknowledged") {
		t.Fatalf("EE's view:\n%s", out)
	}
	// EE cannot close FR's alert.
	if r := run(t, nil, "", "alert", "close", "--data", ee, id); r.code == 0 {
		t.Fatal("EE closed FR's alert")
	}
	if r := run(t, nil, "", "alert", "show", "--data", fr, "x-entraide-alert--00000000-0000-4000-8000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "no alert") {
		t.Fatalf("unknown alert: exit %d %s", r.code, r.stderr)
	}
}
