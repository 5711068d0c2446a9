package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNoticeFromTheCommandLine is the notice walk-through
// (docs/workflows/notice.md): FR notifies DE of C2 servers listed in a
// file; DE sees the notice, answers investigating then action-taken; FR
// sees the answer, the delays and the history, cannot remind anybody, and
// closes; DE sees it closed. Mistakes are usage errors (exit 2) that write
// nothing; a recipient cannot close, the sender cannot respond.
func TestNoticeFromTheCommandLine(t *testing.T) {
	frPort, dePort := freePortNum(t), freePortNum(t)
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", frPort, pocFR)
	de := fedNode(t, "cert-de", "CERT-Bund", "DE", dePort, pocEE)
	frCard, deCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "de.card")
	mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	mustRun(t, "", "card", "export", "--data", de, "--out", deCard)
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", deCard)
	mustRun(t, "", "peer", "add", "--data", de, "--yes", frCard)

	list := filepath.Join(t.TempDir(), "c2.txt")
	if err := os.WriteFile(list, []byte("# C2 servers\n198.51.100.7   # since 06:00\n203.0.113.0/24\nhxxp://c2[.]example[.]net/gate.php\nAS64500\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"notice", "send", "--data", fr, "--to", "cert-de", "--tlp", "amber", "--title", "DDoS from C2 hosted in DE",
		"--activity", "availability:ddos", "--request", "Take the C2 hosts offline."}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("198.51.100.7\n\nevil..example\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--indicator", "10.0.0.1"}, `indicator "10.0.0.1" is a private address`},
		{[]string{"--indicators-file", bad}, "bad.txt: line 3: indicator \"evil..example\" is not a domain name"},
		{[]string{"--indicator", "198.51.100.7", "--activity", "availability"}, "is an RSIT class: give one of its types"},
		{[]string{"--indicator", "198.51.100.7", "--respond-by", "2020-01-01T00:00:00Z"}, "in the past"},
		{[]string{"--indicator", "198.51.100.7", "--tlp", "red"}, "cannot be TLP:RED"},
		{[]string{"--indicator", "198.51.100.7", "--to", "cert-xx"}, `no peer "cert-xx"`},
		{[]string{}, "--indicator (repeatable) or --indicators-file"},
	} {
		r := run(t, nil, "", append(append([]string{}, base...), c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("notice send %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if r := run(t, nil, "", "notice", "send", "--data", fr, "--to", "cert-de", "--tlp", "amber", "--title", "t", "--activity", "availability:ddos", "--indicator", "198.51.100.7"); r.code != 2 || !strings.Contains(r.stderr, "--request is required") {
		t.Errorf("no --request: exit %d %s", r.code, r.stderr)
	}
	if r := mustRun(t, "", "notice", "list", "--data", fr, "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("refused sends left notices: %s", r.stdout)
	}

	// Sent while nobody serves: queued; delivered once both serve. A URL
	// with a comma stays whole.
	r := mustRun(t, "", append(append([]string{}, base...), "--indicators-file", list, "--indicator", "http://c2.example.net/a,b", "--as", "alice")...)
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "x-entraide-notice--") {
		t.Fatalf("notice send printed %q, want the notice's id", r.stdout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, n := range []struct{ dir, port string }{{fr, frPort}, {de, dePort}} {
		go func() {
			runCtx(ctx, t, nil, "", "serve", "--data", n.dir, "--listen", "127.0.0.1:"+freePortNum(t), "--fed-listen", "127.0.0.1:"+n.port)
		}()
	}
	waitOut := func(what string, args []string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			out := run(t, nil, "", args...).stdout
			if ok(out) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened:\n%s\nFR status:\n%s", what, out, run(t, nil, "", "status", "--data", fr).stdout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitOut("DE receiving the notice", []string{"notice", "list", "--data", de}, func(s string) bool { return strings.Contains(s, id) })
	show := mustRun(t, "", "notice", "show", "--data", de, id).stdout
	for _, want := range []string{"availability:ddos", "198.51.100.7", "203.0.113.0/24", "http://c2.example.net/gate.php", "http://c2.example.net/a,b", "AS64500",
		"5 indicator(s)", "Take the C2 hosts offline.", "Answers go to the sender alone", "due in 2d 23h"} {
		if !strings.Contains(show, want) {
			t.Errorf("DE's show lacks %q:\n%s", want, show)
		}
	}
	if st := mustRun(t, "", "status", "--data", de); !strings.Contains(st.stdout, id) {
		t.Errorf("DE's status does not show the response due:\n%s", st.stdout)
	}
	if r := mustRun(t, "", "notice", "list", "--data", de, "--sent"); !strings.Contains(r.stdout, "no notices") {
		t.Errorf("DE sent nothing:\n%s", r.stdout)
	}

	// DE answers; bad answers are usage errors.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--answer", "maybe"}, "--answer is required: action-taken, investigating or no-action"},
		{[]string{"--answer", "action-taken"}, "needs --action-taken"},
		{[]string{"--answer", "no-action"}, "needs --reason"},
		{[]string{"--answer", "investigating", "--reason", "x"}, "--reason goes with --answer no-action"},
	} {
		r := run(t, nil, "", append([]string{"notice", "respond", "--data", de, id}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("notice respond %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	step := mustRun(t, "", "notice", "respond", "--data", de, id, "--answer", "investigating", "--comment", "Provider contacted.", "--as", "bernd")
	if !strings.HasPrefix(strings.TrimSpace(step.stdout), "x-entraide-step--") {
		t.Fatalf("respond printed %q, want the step's id", step.stdout)
	}
	mustRun(t, "", "notice", "respond", "--data", de, id, "--answer", "action-taken", "--action-taken", "Two servers seized.", "--as", "bernd")

	out := waitOut("FR seeing DE's action", []string{"notice", "show", "--data", fr, id}, func(s string) bool { return strings.Contains(s, "Two servers seized.") })
	for _, want := range []string{"1 of 1 recipient(s) responded, 1 with a final answer", "Provider contacted.", "investigating", "action-taken", "bernd", "after "} {
		if !strings.Contains(out, want) {
			t.Errorf("FR's show lacks %q:\n%s", want, out)
		}
	}
	var sum []struct {
		ID     string          `json:"id"`
		Status string          `json:"status"`
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "", "notice", "list", "--data", fr, "--json").stdout), &sum); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Recipients []struct {
			Answer     string `json:"answer"`
			FirstDelay *int64 `json:"first_response_delay_seconds"`
			FinalDelay *int64 `json:"final_answer_delay_seconds"`
			History    []any  `json:"history"`
		} `json:"recipients"`
	}
	if len(sum) != 1 || sum[0].ID != id || sum[0].Status != "answered" || json.Unmarshal(sum[0].Detail, &d) != nil ||
		len(d.Recipients) != 1 || d.Recipients[0].Answer != "action-taken" || d.Recipients[0].FirstDelay == nil ||
		d.Recipients[0].FinalDelay == nil || *d.Recipients[0].FinalDelay < *d.Recipients[0].FirstDelay || len(d.Recipients[0].History) != 2 {
		t.Fatalf("FR's JSON list: %+v %s", sum, sum[0].Detail)
	}

	// Only the sender reminds and closes; only a recipient responds.
	if r := run(t, nil, "", "notice", "remind", "--data", fr, id); r.code != 2 || !strings.Contains(r.stderr, "nobody to remind") {
		t.Errorf("remind: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "", "notice", "close", "--data", de, id, "--outcome", "x"); r.code != 1 || !strings.Contains(r.stderr, "only the sender") {
		t.Errorf("DE closes: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "", "notice", "respond", "--data", fr, id, "--answer", "investigating"); r.code != 1 || !strings.Contains(r.stderr, "does not respond") {
		t.Errorf("FR responds: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "", "notice", "close", "--data", fr, id); r.code != 2 || !strings.Contains(r.stderr, "--outcome is required") {
		t.Errorf("close without outcome: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "", "notice", "close", "--data", fr, id, "--outcome", "C2 seized in DE.", "--as", "alice")
	waitOut("DE seeing the notice closed", []string{"notice", "show", "--data", de, id}, func(s string) bool {
		return strings.Contains(s, "status    closed") && strings.Contains(s, "C2 seized in DE.")
	})
	if r := run(t, nil, "", "notice", "show", "--data", fr, "x-entraide-notice--00000000-0000-4000-8000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "no notice") {
		t.Fatalf("unknown notice: exit %d %s", r.code, r.stderr)
	}
}
