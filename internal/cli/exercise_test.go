package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/exercise"
)

// cliDrill: cert-fr alerts cert-ee and pings its CSIRT, whose simulated
// player answers both; then a due-diligence notice that nobody at cert-ee
// answers in time. At 600 times real time the whole drill lasts 0.3 s.
const cliDrill = `{
  "name": "cli-drill",
  "title": "Command-line drill",
  "speed": 600,
  "participants": ["cert-fr", "cert-ee"],
  "injects": [
    {"label": "wiper", "at": "+0m", "from": "cert-fr", "kind": "alert",
     "input": {"to": ["cert-ee"], "tlp": "amber", "title": "Wiper against grid operators", "severity": "4"},
     "expect": [{"node": "cert-ee", "action": "ack", "within": "1h", "auto": {"after": "1m", "input": {"answer": "affected"}}}]},
    {"label": "ping", "at": "+2m", "from": "cert-fr", "kind": "ping",
     "input": {"to": ["cert-ee"], "tlp": "green", "role": "csirt-24x7", "challenge": "CLI-TEST"},
     "expect": [{"node": "cert-ee", "action": "answer", "within": "1h", "auto": {"after": "1m", "input": {"challenge": "CLI-TEST"}}}]},
    {"label": "dd", "at": "+3m", "from": "cert-fr", "kind": "notice",
     "input": {"to": ["cert-ee"], "tlp": "amber", "title": "C2 server in Estonia", "activity": ["malicious-code:c2-server"],
               "indicators": ["198.51.100.45"], "requested_action": "take it down"},
     "expect": [{"node": "cert-ee", "action": "respond", "within": "2m"}]}
  ]
}`

// TestExerciseFromTheCommandLine: the exercise director validates the
// drill; cert-fr and cert-ee each run it with the same start while their
// nodes serve; every case is marked; cert-fr's scoreboard shows cert-ee's
// times and the notice it missed; mistakes are usage errors.
func TestExerciseFromTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "drill.json")
	if err := os.WriteFile(file, []byte(cliDrill), 0o600); err != nil {
		t.Fatal(err)
	}

	// Validate: the timeline, and what people must do.
	r := mustRun(t, "", "exercise", "validate", file)
	for _, want := range []string{"cli-drill: valid", "2 participants: cert-fr, cert-ee", "3 injects, 3 expected responses (2 played by simulated players)",
		"+1m     +0.1s  cert-ee  ack @wiper", "+3m     +0.3s  cert-fr  open notice   @dd", "Expected of people (no simulated player):\n  cert-ee respond @dd within 2m"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := mustRun(t, "", "exercise", "validate", "builtin"); !strings.Contains(r.stdout, exercise.BuiltinName+": valid") {
		t.Errorf("validate builtin:\n%s", r.stdout)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(strings.Replace(strings.Replace(cliDrill, `"kind": "ping"`, `"kind": "poc"`, 1), `"from": "cert-fr", "kind": "notice"`, `"from": "cert-xx", "kind": "notice"`, 1)), 0o600)
	r = run(t, nil, "", "exercise", "validate", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "2 problems in the scenario:") || !strings.Contains(r.stderr, `injects[1] (@ping).kind: "poc": the workflow is called "ping"`) ||
		!strings.Contains(r.stderr, `injects[2] (@dd).from: "cert-xx" is not a participant`) {
		t.Errorf("validate a bad scenario: exit %d\n%s", r.code, r.stderr)
	}

	frPort, eePort := freePortNum(t), freePortNum(t)
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", frPort, pocFR)
	ee := fedNode(t, "cert-ee", "CERT-EE", "EE", eePort, pocEE)
	lv := fedNode(t, "cert-lv", "CERT-LV", "LV", freePortNum(t), pocEE)

	// Mistakes change nothing.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", fr, file}, `cli-drill starts "now": the participating nodes must share its start; give --start`},
		{[]string{"--data", lv, file, "--start", "now"}, "this node (cert-lv) is not a participant of cli-drill"},
		{[]string{"--data", fr, file, "--start", "now"}, "participant cert-ee is not a peer of this node"},
		{[]string{"--data", fr, bad, "--start", "now"}, "2 problems in the scenario"},
		{[]string{"--data", fr, file, "--start", "tomorrow"}, `--start "tomorrow": want an RFC 3339 time`},
		{[]string{"--data", fr, file, "--speed", "0.5"}, "--speed 0.5: want a number from 1 to 86400"},
	} {
		r := run(t, nil, "", append([]string{"exercise", "run"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("exercise run %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if r := mustRun(t, "", "exercise", "list", "--data", fr); strings.TrimSpace(r.stdout) != "no exercise" {
		t.Errorf("list before: %q", r.stdout)
	}

	frCard, eeCard := filepath.Join(dir, "fr.card"), filepath.Join(dir, "ee.card")
	mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	mustRun(t, "", "card", "export", "--data", ee, "--out", eeCard)
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", eeCard)
	mustRun(t, "", "peer", "add", "--data", ee, "--yes", frCard)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, n := range []struct{ dir, port string }{{fr, frPort}, {ee, eePort}} {
		go func() {
			runCtx(ctx, t, nil, "", "serve", "--data", n.dir, "--listen", "127.0.0.1:"+freePortNum(t), "--fed-listen", "127.0.0.1:"+n.port)
		}()
	}

	// Both nodes run the drill from the same start.
	start := time.Now().UTC().Add(2 * time.Second).Format(time.RFC3339Nano)
	var wg sync.WaitGroup
	results := map[string]result{}
	var mu sync.Mutex
	for name, d := range map[string]string{"fr": fr, "ee": ee} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := run(t, nil, "", "exercise", "run", "--data", d, file, "--start", start, "--wait", "30s")
			mu.Lock()
			results[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	for name, r := range results {
		if r.code != 0 {
			t.Fatalf("%s: exercise run: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
	}
	frOut, eeOut := results["fr"].stdout, results["ee"].stdout
	for _, want := range []string{"*** EXERCISE cli-drill — not real traffic ***", "cert-fr plays 3 of the 5 events", "+0m      open alert             @wiper",
		"+3m      open notice            @dd", "3 events played here, 0 failed. Scoreboard: entraide exercise score --data " + fr + " cli-drill"} {
		if !strings.Contains(frOut, want) {
			t.Errorf("fr's run lacks %q:\n%s", want, frOut)
		}
	}
	for _, want := range []string{"cert-ee plays 2 of the 5 events", "+1m      ack alert", "+3m      answer ping", "2 events played here, 0 failed"} {
		if !strings.Contains(eeOut, want) {
			t.Errorf("ee's run lacks %q:\n%s", want, eeOut)
		}
	}
	if _, err := os.Stat(filepath.Join(fr, "exercises", "cli-drill.json")); err != nil {
		t.Errorf("the played scenario is not kept: %v", err)
	}

	// Everything is marked: the lists show EXERCISE, show has the banner.
	r = mustRun(t, "", "alert", "list", "--data", ee)
	if !strings.Contains(r.stdout, "[EXERCISE] Wiper against grid operators") {
		t.Errorf("ee's alert list:\n%s", r.stdout)
	}
	id := strings.Fields(strings.Split(r.stdout, "\n")[1])[0]
	if r := mustRun(t, "", "alert", "show", "--data", ee, id); !strings.Contains(r.stdout, "*** EXERCISE cli-drill — not real traffic ***") {
		t.Errorf("alert show:\n%s", r.stdout)
	}

	// fr's scoreboard, once ee's answers are back: ee acknowledged the
	// alert and answered the ping, missed the notice.
	deadline := time.Now().Add(20 * time.Second)
	var board exercise.Board
	for {
		board = decode[exercise.Board](t, mustRun(t, "", "exercise", "score", "--data", fr, "cli-drill", "--json").stdout)
		var eeScore exercise.NodeScore
		for _, n := range board.Nodes {
			if n.Node == "cert-ee" {
				eeScore = n
			}
		}
		if eeScore.Acknowledged == 2 && eeScore.Met+eeScore.Late == 2 && eeScore.Missed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fr's scoreboard never complete: %+v", board)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(board.Cases) != 3 || board.Start == nil || !board.Over || board.Speed != 600 {
		t.Errorf("board: %d cases, start %v, over %v, speed %v", len(board.Cases), board.Start, board.Over, board.Speed)
	}
	r = mustRun(t, "", "exercise", "score", "--data", fr, "cli-drill")
	for _, want := range []string{"*** EXERCISE cli-drill — scoreboard from cert-fr's store", "at speed 600; over", "MISSED  cert-ee respond on @dd (a person): no respond by cert-ee within 2m of the notice",
		"@wiper  alert from cert-fr: Wiper against grid operators", "cert-ee    received "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("score lacks %q:\n%s", want, r.stdout)
		}
	}
	// ee's own scoreboard: its own times; nothing it cannot see is judged.
	r = mustRun(t, "", "exercise", "score", "--data", ee, "cli-drill")
	if !strings.Contains(r.stdout, "scoreboard from cert-ee's store") || !strings.Contains(r.stdout, "MISSED  cert-ee respond on @dd") {
		t.Errorf("ee's score:\n%s", r.stdout)
	}
	r = mustRun(t, "", "exercise", "list", "--data", ee)
	if !strings.Contains(r.stdout, "cli-drill") || !strings.Contains(r.stdout, "alert 1, notice 1, ping 1") {
		t.Errorf("list:\n%s", r.stdout)
	}
	if r := run(t, nil, "", "exercise", "score", "--data", fr, "no-such-drill"); r.code != 1 || !strings.Contains(r.stderr, `no case of exercise "no-such-drill"`) {
		t.Errorf("score of an unknown exercise: exit %d %s", r.code, r.stderr)
	}
}
