package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/workflow"
)

func date(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// A month is a calendar month; a day the next month lacks is its last day.
func TestAddMonth(t *testing.T) {
	for _, c := range []struct{ in, want time.Time }{
		{date(2026, 3, 14, 10, 30), date(2026, 4, 14, 10, 30)},
		{date(2026, 1, 31, 8, 0), date(2026, 2, 28, 8, 0)},
		{date(2028, 1, 31, 8, 0), date(2028, 2, 29, 8, 0)}, // leap year
		{date(2026, 3, 31, 23, 59), date(2026, 4, 30, 23, 59)},
		{date(2026, 12, 15, 0, 0), date(2027, 1, 15, 0, 0)},
		{date(2026, 8, 31, 12, 0), date(2026, 9, 30, 12, 0)},
		{time.Date(2026, 2, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), date(2026, 2, 28, 23, 30)}, // counted in UTC: 31 January 23:30Z
	} {
		if got := incident.AddMonth(c.in); !got.Equal(c.want) {
			t.Errorf("AddMonth(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// The deadlines the fold derives from detection and the reports recorded.
func TestNIS2Deadlines(t *testing.T) {
	detected := t0.Add(-time.Hour)
	sent := func(at time.Duration, report string, sentAt time.Time) workflow.Step {
		return newStep(t, nodeA, at, incident.ActionNIS2Sent, map[string]any{"report": report, "sent_at": workflow.Timestamp(sentAt)})
	}
	closeAt := func(at time.Duration) workflow.Step { return newStep(t, nodeA, at, incident.ActionClose, nil) }
	type dl struct {
		what string
		due  time.Time
		done bool
	}
	notifSent := detected.Add(70 * time.Hour)
	for _, c := range []struct {
		name   string
		props  map[string]any
		steps  []workflow.Step
		want   []dl
		status string
		open   bool
	}{
		{"nothing sent", nil, nil, []dl{
			{"NIS2 early warning", detected.Add(24 * time.Hour), false},
			{"NIS2 notification", detected.Add(72 * time.Hour), false},
			{"NIS2 final report", incident.AddMonth(detected.Add(72 * time.Hour)), false},
		}, "analysis", true},
		{"notification sent: the final report counts from it", nil, []workflow.Step{
			sent(time.Hour, incident.EarlyWarning, detected.Add(20*time.Hour)),
			sent(2*time.Hour, incident.Notification, notifSent),
		}, []dl{
			{"NIS2 early warning", detected.Add(24 * time.Hour), true},
			{"NIS2 notification", detected.Add(72 * time.Hour), true},
			{"NIS2 final report", incident.AddMonth(notifSent), false},
		}, "analysis", true},
		{"progress report, still open: no final deadline yet", nil, []workflow.Step{
			sent(time.Hour, incident.EarlyWarning, t0), sent(time.Hour, incident.Notification, t0),
			sent(2*time.Hour, incident.ProgressReport, t0.Add(time.Hour)),
		}, []dl{
			{"NIS2 early warning", detected.Add(24 * time.Hour), true},
			{"NIS2 notification", detected.Add(72 * time.Hour), true},
		}, "analysis", true},
		{"progress report, closed: one month after closing, still due", nil, []workflow.Step{
			sent(time.Hour, incident.EarlyWarning, t0), sent(time.Hour, incident.Notification, t0),
			sent(2*time.Hour, incident.ProgressReport, t0.Add(time.Hour)), closeAt(40 * 24 * time.Hour),
		}, []dl{
			{"NIS2 early warning", detected.Add(24 * time.Hour), true},
			{"NIS2 notification", detected.Add(72 * time.Hour), true},
			{"NIS2 final report", incident.AddMonth(t0.Add(40 * 24 * time.Hour)), false},
		}, "closed, NIS2 reports pending", true},
		{"all sent and closed", nil, []workflow.Step{
			sent(time.Hour, incident.EarlyWarning, t0), sent(time.Hour, incident.Notification, t0),
			sent(3*time.Hour, incident.FinalReport, t0.Add(2*time.Hour)), closeAt(4 * time.Hour),
		}, []dl{
			{"NIS2 early warning", detected.Add(24 * time.Hour), true},
			{"NIS2 notification", detected.Add(72 * time.Hour), true},
			{"NIS2 final report", incident.AddMonth(t0), true},
		}, "closed", false},
		{"not significant: no clock", map[string]any{"nis2_reporting": false}, []workflow.Step{closeAt(time.Hour)}, nil, "closed", false},
		{"detection corrected by the opener", nil, []workflow.Step{
			newStep(t, nodeA, time.Hour, incident.ActionUpdate, map[string]any{"detected": workflow.Timestamp(t0.Add(-5 * time.Hour))}),
		}, []dl{
			{"NIS2 early warning", t0.Add(19 * time.Hour), false},
			{"NIS2 notification", t0.Add(67 * time.Hour), false},
			{"NIS2 final report", incident.AddMonth(t0.Add(67 * time.Hour)), false},
		}, "analysis", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := incident.Kind.Fold(newCase(t, c.props), c.steps)
			if st.Status != c.status || st.Open != c.open {
				t.Errorf("status %q open %v, want %q %v", st.Status, st.Open, c.status, c.open)
			}
			if len(st.Deadlines) != len(c.want) {
				t.Fatalf("deadlines %+v, want %+v", st.Deadlines, c.want)
			}
			for i, w := range c.want {
				d := st.Deadlines[i]
				if d.What != w.what || !d.Due.Equal(w.due) || (d.DoneAt != nil) != w.done || d.Party != nodeA {
					t.Errorf("deadline %d: %+v, want %+v", i, d, w)
				}
			}
		})
	}
}

// The clock on a running node, moved by a fake clock: what is due, what
// is overdue, what the partner sees waiting on the opener.
func TestNIS2ClockOnTheFakeClock(t *testing.T) {
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Second)
	clk := clock.NewFake(start)
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{incident.Kind}}, "fr", "de")
	fr, de := fed.Node("fr"), fed.Node("de")
	detected := start.Add(-3 * time.Hour)
	res, err := fr.Workflow.Open(ctx, "incident", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "green", "title": "DDoS on the national rail booking system", "severity": "high",
		"rsit": "availability:ddos", "sectors": []string{"transport"}, "detected": workflow.Timestamp(detected),
	}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("de receives the incident", 10*time.Second, func() bool { return view(t, de, id) != nil })
	check := func(what string, overdue bool, next time.Time) {
		t.Helper()
		for _, n := range []*fedtest.Node{fr, de} {
			v := view(t, n, id)
			if v.Overdue != overdue || v.NextDue == nil || !v.NextDue.Equal(next) || len(v.WaitingOn) != 1 || v.WaitingOn[0].ID != fed.ID("fr") {
				t.Fatalf("%s, on %s: overdue %v next %v waiting on %+v; want overdue %v next %v on cert-fr", what, n.Name, v.Overdue, v.NextDue, v.WaitingOn, overdue, next)
			}
		}
	}
	check("at opening", false, detected.Add(24*time.Hour))
	clk.Advance(20*time.Hour + 59*time.Minute)
	check("a minute before the early warning", false, detected.Add(24*time.Hour))
	clk.Advance(2 * time.Minute)
	check("a minute after", true, detected.Add(24*time.Hour))
	if due, err := fr.Workflow.Due(ctx, 0); err != nil || len(due) != 1 || !due[0].Overdue {
		t.Fatalf("due: %+v %v", due, err)
	}
	// The early warning, sent late, is done; the notification is next.
	act(t, fr, id, incident.ActionNIS2Sent, "alice", map[string]any{"report": "early-warning", "sent_to": "national CSIRT"})
	fed.WaitFor("de sees it", 10*time.Second, func() bool { return !view(t, de, id).Overdue })
	check("after the early warning", false, detected.Add(72*time.Hour))
	v := view(t, fr, id)
	if d := v.Deadlines[0]; d.DoneAt == nil || !d.DoneAt.After(d.Due) || d.Overdue {
		t.Fatalf("the late early warning: %+v", d)
	}
	clk.Advance(49 * time.Hour)
	check("the notification is late", true, detected.Add(72*time.Hour))
	// Recorded an hour ago: the final report is due a month after that.
	act(t, fr, id, incident.ActionNIS2Sent, "alice", map[string]any{"report": "notification", "at": "1h ago"})
	sentAt := clk.Now().Add(-time.Hour).Truncate(time.Microsecond)
	fed.WaitFor("de sees the notification", 10*time.Second, func() bool { return !view(t, de, id).Overdue })
	check("after the notification", false, incident.AddMonth(sentAt))
	d := detail(t, view(t, de, id))
	if r := d.NIS2.Reports[2]; r.Report != incident.FinalReport || !strings.Contains(r.Rule, "after the notification was sent") {
		t.Fatalf("final report: %+v", r)
	}
	// Reports cannot be sent in the future, nor before detection.
	for in, want := range map[string]string{"in 2h": "neither", "2099-01-01T00:00:00Z": "in the future", workflow.Timestamp(detected.Add(-time.Minute)): "before the detection"} {
		if _, err := fr.Workflow.Act(ctx, id, incident.ActionNIS2Sent, "alice", mustJSON(t, map[string]any{"report": "final-report", "at": in})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("sent at %q: %v, want %q", in, err, want)
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := date(2026, 3, 14, 12, 0)
	for in, want := range map[string]time.Time{
		"now": now, "90m ago": now.Add(-90 * time.Minute), "5h ago": now.Add(-5 * time.Hour), "2d ago": now.Add(-48 * time.Hour),
		"1w ago": now.Add(-7 * 24 * time.Hour), " 3h  ago ": now.Add(-3 * time.Hour), "2026-03-14T06:10:00Z": date(2026, 3, 14, 6, 10),
		"2026-03-14T07:10:00+01:00": date(2026, 3, 14, 6, 10), "2030-01-01T00:00:00Z": date(2030, 1, 1, 0, 0),
	} {
		got, err := incident.ParseWhen(in, now)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ago", "5 ago", "-5h ago", "0s ago", "yesterday", "5h", "2026-03-14", "in 5h"} {
		if got, err := incident.ParseWhen(in, now); err == nil {
			t.Errorf("ParseWhen(%q) = %v, want an error", in, got)
		}
	}
}

func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"now", "5h ago", "2d ago", "2026-03-14T06:10:00Z", "ago", "-1h ago", "99999999999999999999d ago"} {
		f.Add(s)
	}
	now := date(2026, 3, 14, 12, 0)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := incident.ParseWhen(s, now)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q: %v is not UTC", s, got)
		}
		if strings.HasSuffix(strings.TrimSpace(s), "ago") && !got.Before(now) {
			t.Fatalf("%q: %v is not before now", s, got)
		}
	})
}
