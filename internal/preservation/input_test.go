package preservation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/workflow"
)

func TestOpenNamesTheMissingParagraph(t *testing.T) {
	for _, c := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"no authority", with(request(), "requesting_authority", nil), "Art. 29(2)(a) requesting authority: required"},
		{"blank authority", with(request(), "requesting_authority", "  "), "Art. 29(2)(a) requesting authority: required"},
		{"no offence", with(request(), "offence", ""), "Art. 29(2)(b) offence: required"},
		{"no facts", with(request(), "facts", nil), "Art. 29(2)(b) summary of facts: required"},
		{"no stored data", with(request(), "stored_data", nil), "Art. 29(2)(c) stored data: required"},
		{"no relation", with(request(), "relation", nil), "Art. 29(2)(c) relation to the offence: required"},
		{"no custodian nor location", with(request(), "custodian", nil), "Art. 29(2)(d) custodian or location: required"},
		{"no reason", with(request(), "reason", nil), "Art. 29(2)(e) necessity of preservation: required"},
		{"no MLA intent", with(request(), "mla_intent", nil), "Art. 29(2)(f) intent to submit a mutual assistance request: required"},
		{"MLA intent false", with(request(), "mla_intent", false), "Art. 29(2)(f) intent to submit a mutual assistance request: false"},
		{"MLA intent empty", with(request(), "mla_intent", " "), "Art. 29(2)(f) intent to submit a mutual assistance request is required"},
		{"MLA intent a number", with(request(), "mla_intent", 42), "want true or a text"},
		{"facts too long", with(request(), "facts", strings.Repeat("x", 20001)), "Art. 29(2)(b) summary of facts: 20001 characters long; at most 20000"},
		{"no target country", with(request(), "target_country", nil), "target_country: required"},
		{"unknown target country", with(request(), "target_country", "XX"), `unknown country code "XX"`},
		{"ack deadline in the past", with(request(), "ack_by", "2020-01-01T00:00:00Z"), "in the past"},
		{"bad ack deadline", with(request(), "ack_by", "tomorrow"), "neither a duration"},
		{"reminder too late", with(request(), "remind_before", "60d"), "from 1d to 59d"},
		{"reminder in hours", with(request(), "remind_before", "12h"), "from 1d to 59d"},
		{"bad ref", with(request(), "refs", []string{"report--nope"}), "reference"},
		{"chain half given", with(request(), "chained_from_ref", "x-entraide-step--6f3a3c3e-1d7b-4d0c-9a59-0d4f1b1c9a11"), "go together"},
		{"chain from an alert", with(request(), "chained_from_ref", "x-entraide-alert--6f3a3c3e-1d7b-4d0c-9a59-0d4f1b1c9a11",
			"chained_from_case_ref", "x-entraide-preservation-request--6f3a3c3e-1d7b-4d0c-9a59-0d4f1b1c9a12"), "want an object of type"},
		{"unknown field", with(request(), "urgency", "high"), `unknown field "urgency"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := preservation.Kind.Open(env(frID, t0), mustJSON(t, c.in))
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an input error with %q", err, c.want)
			}
		})
	}
}

// Errors name the field, so that the command line can name its flag.
func TestErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		in    map[string]any
		field string
	}{
		{with(request(), "stored_data", nil), "stored_data"},
		{with(request(), "custodian", nil), "custodian"},
		{with(request(), "mla_intent", false), "mla_intent"},
		{with(request(), "target_country", "XX"), "target_country"},
		{with(request(), "remind_before", "1y"), "remind_before"},
	} {
		_, err := preservation.Kind.Open(env(frID, t0), mustJSON(t, c.in))
		var fe *preservation.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, workflow.ErrInput) {
			t.Errorf("%v: want a field error on %s", err, c.field)
		}
	}
	w := open(t, request())
	_, err := w.act(eeID, time.Hour, "execute", map[string]any{"preserved_until": "30d"})
	var fe *preservation.FieldError
	if !errors.As(err, &fe) || fe.Field != "preserved_until" {
		t.Errorf("execute: %v", err)
	}
	_, err = w.act(eeID, time.Hour, "refuse", map[string]any{"ground": "security"})
	if !errors.As(err, &fe) || fe.Field != "explanation" {
		t.Errorf("refuse: %v", err)
	}
}

func TestOpenKeepsTheRequest(t *testing.T) {
	in := with(request(), "custodian", nil, "location", "servers in Tallinn, AS 64500", "mla_intent", true, "remind_before", "14d", "ack_by", "4h")
	d, err := preservation.Kind.Open(env(frID, t0), mustJSON(t, in))
	if err != nil {
		t.Fatal(err)
	}
	p := d.Props
	if p["target_country"] != "EE" || p["mla_intent"] != true || p["remind_days"] != 14 || p["location"] != "servers in Tallinn, AS 64500" ||
		!stamped(p["ack_by"], t0.Add(4*time.Hour)) || p["custodian"] != nil || !strings.HasPrefix(p["name"].(string), "Preservation request to EE: extortion") {
		t.Fatalf("props: %v", p)
	}
	// Default deadlines: acknowledgement within 24 hours, reminder 10 days ahead.
	d, err = preservation.Kind.Open(env(frID, t0), mustJSON(t, request()))
	if err != nil {
		t.Fatal(err)
	}
	if !stamped(d.Props["ack_by"], t0.Add(day)) || d.Props["remind_days"] != 10 {
		t.Fatalf("defaults: %v", d.Props)
	}
}

func stamped(v any, want time.Time) bool {
	s, _ := v.(string)
	got, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && got.Equal(want)
}

func TestActRefusesBadAnswers(t *testing.T) {
	until := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	for _, c := range []struct {
		name   string
		setup  func(w *world)
		node   string
		action string
		in     map[string]any
		want   string
		forbid bool // a not-a-party refusal from Allowed rather than an input error
	}{
		{name: "execute without date", node: eeID, action: "execute", in: map[string]any{"reference": "R1"}, want: "preserved_until required"},
		{name: "execute 59 days", node: eeID, action: "execute", in: map[string]any{"reference": "R1", "preserved_until": "59d"}, want: "less than 60 days ahead"},
		{name: "execute date too close", node: eeID, action: "execute", in: map[string]any{"reference": "R1", "preserved_until": "2027-01-15"}, want: "Art. 29(7)"},
		{name: "execute in the past", node: eeID, action: "execute", in: map[string]any{"reference": "R1", "preserved_until": "2020-01-01"}, want: "in the past"},
		{name: "execute nonsense date", node: eeID, action: "execute", in: map[string]any{"reference": "R1", "preserved_until": "soon"}, want: "neither a duration"},
		{name: "execute without reference", node: eeID, action: "execute", in: map[string]any{"preserved_until": "90d"}, want: "reference required"},
		{name: "execute with a ground", node: eeID, action: "execute", in: map[string]any{"preserved_until": "90d", "reference": "R", "ground": "security"}, want: "execute takes no ground"},
		{name: "partial without what", node: eeID, action: "partial", in: map[string]any{"preserved_until": "90d", "reference": "R", "not_preserved": "x"}, want: "partial: preserved required"},
		{name: "partial without what not", node: eeID, action: "partial", in: map[string]any{"preserved_until": "90d", "reference": "R", "preserved": "x"}, want: "partial: not_preserved required"},
		{name: "refuse without ground", node: eeID, action: "refuse", in: map[string]any{"explanation": "no"}, want: "refuse: ground required: political-offence (Art. 29(5)(a)), sovereignty"},
		{name: "refuse unknown ground", node: eeID, action: "refuse", in: map[string]any{"ground": "workload", "explanation": "no"}, want: `unknown ground "workload"`},
		{name: "refuse without explanation", node: eeID, action: "refuse", in: map[string]any{"ground": "security"}, want: "refuse: explanation required"},
		{name: "disclose nothing", node: eeID, action: "disclose", in: map[string]any{}, want: "at least one disclosure"},
		{name: "disclose own country", node: eeID, action: "disclose", in: map[string]any{"disclosures": []map[string]any{{"country": "ee", "provider": "P"}}}, want: "another State"},
		{name: "disclose bad country", node: eeID, action: "disclose", in: map[string]any{"disclosures": []map[string]any{{"country": "Latvia", "provider": "P"}}}, want: "unknown country code"},
		{name: "disclose no provider", node: eeID, action: "disclose", in: map[string]any{"disclosures": []map[string]any{{"country": "LV"}}}, want: "disclosure 1: provider is required"},
		{name: "ack twice", setup: func(w *world) { w.must(eeID, time.Hour, "acknowledge", nil) }, node: eeID, action: "acknowledge", want: "already acknowledged"},
		{name: "execute twice", setup: func(w *world) {
			w.must(eeID, time.Hour, "execute", map[string]any{"reference": "R", "preserved_until": "90d"})
		}, node: eeID, action: "execute", in: map[string]any{"preserved_until": "120d"}, want: "already executed"},
		{name: "refuse after execution", setup: func(w *world) {
			w.must(eeID, time.Hour, "execute", map[string]any{"reference": "R", "preserved_until": "90d"})
		}, node: eeID, action: "refuse", in: map[string]any{"ground": "security", "explanation": "x"}, want: "cannot be refused now"},
		{name: "extend before execution", node: frID, action: "extend", in: map[string]any{"preserved_until": "200d"}, want: "not been executed yet"},
		{name: "extend to an earlier date", setup: func(w *world) {
			w.must(eeID, time.Hour, "execute", map[string]any{"reference": "R", "preserved_until": until(90 * day)})
		}, node: frID, action: "extend", in: map[string]any{"preserved_until": until(80 * day)}, want: "not after the current expiry"},
		{name: "extend twice", setup: func(w *world) {
			w.must(eeID, time.Hour, "execute", map[string]any{"reference": "R", "preserved_until": "90d"})
			w.must(frID, time.Hour, "extend", map[string]any{"preserved_until": "150d"})
		}, node: frID, action: "extend", in: map[string]any{"preserved_until": "180d"}, want: "not decided yet"},
		{name: "grant nothing", node: eeID, action: "extend-granted", want: "no extension is waiting"},
		{name: "decline without why", setup: func(w *world) {
			w.must(eeID, time.Hour, "execute", map[string]any{"reference": "R", "preserved_until": "90d"})
			w.must(frID, time.Hour, "extend", map[string]any{"preserved_until": "150d"})
		}, node: eeID, action: "extend-declined", want: "explanation required"},
		{name: "mla without reference", node: frID, action: "mla-sent", want: "mla_reference required"},
		{name: "mla sent tomorrow", node: frID, action: "mla-sent", in: map[string]any{"mla_reference": "M", "sent_on": "2026-12-02"}, want: "in the future"},
		{name: "mla twice", setup: func(w *world) { w.must(frID, time.Hour, "mla-sent", map[string]any{"mla_reference": "M1"}) },
			node: frID, action: "mla-sent", in: map[string]any{"mla_reference": "M2"}, want: "already recorded"},
		{name: "answer a withdrawn request", setup: func(w *world) { w.must(frID, time.Hour, "withdraw", nil) },
			node: eeID, action: "acknowledge", want: "withdrawn"},
		{name: "answer a refused request", setup: func(w *world) {
			w.must(eeID, time.Hour, "refuse", map[string]any{"ground": "ordre-public", "explanation": "x"})
		}, node: frID, action: "mla-sent", in: map[string]any{"mla_reference": "M"}, want: "refused"},
		{name: "requester executes", node: frID, action: "execute", in: map[string]any{"reference": "R", "preserved_until": "90d"}, want: "only the requested Party", forbid: true},
		{name: "third node acknowledges", node: lvID, action: "acknowledge", want: "only the requested Party", forbid: true},
		{name: "target withdraws", node: eeID, action: "withdraw", want: "only the requesting Party", forbid: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := open(t, request())
			if c.setup != nil {
				c.setup(w)
			}
			_, err := w.act(c.node, time.Hour, c.action, c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			if errors.Is(err, workflow.ErrInput) == c.forbid {
				t.Fatalf("%v: input error %v, want %v", err, !c.forbid, c.forbid)
			}
		})
	}
}

func TestAllowedWantsOneRecipient(t *testing.T) {
	w := open(t, request(), eeID, lvID)
	if err := preservation.Kind.Allowed(w.c, eeID, "acknowledge"); err == nil || !strings.Contains(err.Error(), "goes to one node") {
		t.Fatalf("two recipients: %v", err)
	}
	if st := w.state(); len(st.Deadlines) != 0 || !strings.Contains(strings.Join(w.view().Warnings, ";"), "this one goes to 2") {
		t.Fatalf("state of a request to two nodes: %+v", st)
	}
}

func TestUntil(t *testing.T) {
	now := t0
	for _, c := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"", time.Time{}, ""},
		{"90d", now.Add(90 * day), ""},
		{"12w", now.Add(84 * day), ""},
		{"2000h", now.Add(2000 * time.Hour), ""},
		{"2027-03-01", time.Date(2027, 3, 1, 23, 59, 59, 0, time.UTC), ""},
		{"2027-03-01T10:00:00+02:00", time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC), ""},
		{"-3d", time.Time{}, "not in the future"},
		{"0d", time.Time{}, "not in the future"},
		{"2026-11-30", time.Time{}, "in the past"},
		{"1.5d", time.Time{}, "neither"},
		{"March", time.Time{}, "neither"},
	} {
		got, err := preservation.Until(now, c.in)
		if c.err != "" {
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Until(%q): %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("Until(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if got, err := preservation.SentOn(now, ""); err != nil || !got.Equal(now) {
		t.Errorf("SentOn empty: %v %v", got, err)
	}
	if got, err := preservation.SentOn(now, "2026-11-20"); err != nil || !got.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("SentOn date: %v %v", got, err)
	}
}
