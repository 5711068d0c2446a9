package exercise

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of the scoreboard's text")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/exercise -run TestScoreboardText -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is meant, run go test ./internal/exercise -run TestScoreboardText -update and review the diff\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}

func f64(v float64) *float64 { return &v }

func timingOf(n int, med, max float64) Timing {
	return Timing{Samples: n, Median: f64(med), Max: f64(max)}
}

// board is a scoreboard as Score computes it, written by hand so that the
// text is fixed: three nodes, one expectation missed by a person, one
// late by a simulated player, one unknown, overdue and late deadlines.
func board() *Board {
	at := time.Date(2026, 11, 18, 13, 5, 0, 0, time.UTC)
	start := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	return &Board{
		Exercise: "drill-2026", At: at, Start: &start, Speed: 60, Over: true, Seen: []string{"cert-fr"},
		Nodes: []NodeScore{
			{Node: "cert-fr", Opened: 2, Closed: 1, Closure: timingOf(1, 14400, 14400), Met: 1},
			{Node: "cert-ee", Received: 2, Receipt: timingOf(2, 0, 0.4), Acknowledged: 2, Ack: timingOf(2, 450, 600),
				Answered: 1, Answer: timingOf(1, 600, 600), Met: 2},
			{Node: "cert-be", Received: 2, Receipt: timingOf(2, 0.2, 0.3), Acknowledged: 1, Ack: timingOf(1, 1200, 1200),
				Answered: 1, Answer: timingOf(1, 1200, 1200), Late: 1, Missed: 1, Overdue: 1},
		},
		Cases: []CaseScore{
			{ID: "x-entraide-alert--1", Kind: "alert", Title: "Wiper against grid operators", Origin: "cert-fr", Inject: 0, Label: "wiper",
				Opened: start, Status: "closed", ClosedIn: f64(14400), From: "cert-fr", Parties: []PartyScore{
					{Node: "cert-ee", Received: f64(0), Acknowledged: f64(600), Answered: f64(600), Overdue: []string{}, Late: []string{}},
					{Node: "cert-be", Received: f64(0.3), Overdue: []string{"acknowledge, due 2026-11-18T09:10:00Z"}, Late: []string{}},
				}},
			{ID: "x-entraide-ping--2", Kind: "ping", Title: "Ping of csirt-24x7 — a title long enough to be cut at seventy characters", Origin: "cert-fr",
				Inject: 1, Opened: start.Add(time.Hour), Status: "waiting", Open: true, From: "cert-fr", Parties: []PartyScore{
					{Node: "cert-ee", Received: f64(0.4), Acknowledged: f64(300), Overdue: []string{}, Late: []string{}},
					{Node: "cert-be", Received: f64(0.2), Acknowledged: f64(1200), Answered: f64(1200), Overdue: []string{},
						Late: []string{"answer, due 2026-11-18T10:15:00Z"}},
				}},
			{ID: "x-entraide-alert--3", Kind: "alert", Title: "Sent by hand", Origin: "cert-fr", Inject: -1, Opened: start.Add(2 * time.Hour),
				Status: "open", Open: true, From: "cert-fr", Parties: []PartyScore{}},
		},
		Expected: []Expectation{
			{Inject: 0, Label: "wiper", Node: "cert-ee", Action: "ack", Within: "30m", Auto: true, Status: Met, After: f64(600)},
			{Inject: 0, Label: "wiper", Node: "cert-be", Action: "ack", Within: "30m", Status: Missed, Why: "no ack by cert-be within 30m of the alert"},
			{Inject: 1, Node: "cert-be", Action: "answer", Within: "15m", Auto: true, Status: Late, After: f64(1200),
				Why: "20m after the ping was opened; expected within 15m"},
			{Inject: 1, Node: "cert-ee", Action: "answer", Status: Unknown, Why: "only cert-fr's store holds cert-ee's steps on this case"},
		},
	}
}

// The scoreboard's text, as `entraide exercise score` prints it (one
// node's store, every case) and as `entraide demo` prints it (every
// node's store, the run's failed steps, no cases), and without a
// scenario: golden files.
func TestScoreboardText(t *testing.T) {
	sc := &Scenario{Name: "drill-2026", Title: "Wiper drill", Injects: []Inject{{Label: "wiper"}, {}, {Label: "dd"}}}
	var buf bytes.Buffer
	if err := board().WriteText(&buf, TextOptions{Scenario: sc, Cases: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "scoreboard-node.txt", buf.Bytes())

	b := board()
	b.Seen = []string{"cert-fr", "cert-ee", "cert-be"}
	b.Speed = 360
	played := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	rep := &Report{Exercise: "drill-2026", Events: []EventResult{
		{Event: Event{Inject: 0, Expect: -1, Node: "cert-fr", Kind: "alert", Action: "open", Label: "wiper"}, Offset: "+0m", PlayedAt: &played},
		{Event: Event{Inject: 2, Expect: -1, Node: "cert-fr", Kind: "notice", Action: "open"}, Offset: "+1h40m", PlayedAt: &played,
			Error: "not sent to cert-be: the sharing policy refuses TLP:AMBER+STRICT outside its community"},
		{Event: Event{Inject: 2, Expect: 0, Node: "cert-be", Kind: "notice", Action: "respond"}, Offset: "+2h10m",
			Error: "not played: its inject failed"},
	}}
	buf.Reset()
	if err := b.WriteText(&buf, TextOptions{Scenario: sc, Report: rep, Took: 2345 * time.Millisecond, Clock: "on a simulated clock"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "scoreboard-demo.txt", buf.Bytes())

	b = board()
	b.Start, b.Speed, b.Over, b.Expected, b.Cases = nil, 1, false, []Expectation{}, []CaseScore{}
	buf.Reset()
	if err := b.WriteText(&buf, TextOptions{Cases: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "scoreboard-no-scenario.txt", buf.Bytes())
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

// A write error is returned, not lost.
func TestScoreboardTextWriteError(t *testing.T) {
	for _, n := range []int{0, 3, 8} {
		if err := board().WriteText(&failWriter{n: n}, TextOptions{Cases: true}); err == nil || err.Error() != "disk full" {
			t.Errorf("after %d writes: %v; want disk full", n, err)
		}
	}
}
