package preservation_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/workflow"
)

func TestMedian(t *testing.T) {
	h := time.Hour
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5 * h}, 5 * h},
		{[]time.Duration{3 * h, 1 * h}, 2 * h},
		{[]time.Duration{9 * h, 1 * h, 4 * h}, 4 * h},
		{[]time.Duration{1, 2, 3, 100}, 2},                    // (2+3)/2, rounded down
		{[]time.Duration{h, 3 * h, 3 * h, 7 * h}, 3 * h},      // ties
		{[]time.Duration{1 << 62, 1 << 62}, 1 << 62},          // no overflow
		{[]time.Duration{10 * h, 2 * h, 6 * h, 4 * h}, 5 * h}, // unsorted, even
	} {
		in := append([]time.Duration{}, c.in...)
		if got := preservation.Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("Median reordered its argument")
			}
		}
	}
	s := preservation.Summarise([]time.Duration{90 * time.Minute, 30 * time.Minute, time.Hour})
	if s.Samples != 3 || *s.Median != time.Hour || *s.Max != 90*time.Minute || *s.MedianSeconds != 3600 || *s.MaxSeconds != 5400 {
		t.Fatalf("Summarise: %+v", s)
	}
	if s := preservation.Summarise(nil); s.Samples != 0 || s.Median != nil || s.MaxSeconds != nil {
		t.Fatalf("Summarise(nil): %+v", s)
	}
}

// The report from requests with known step times: to EE, three requests
// (acknowledged after 1h, 3h and 2h; executed after 5h and 9h, one still
// pending); to LV, one refused after 30 minutes on sovereignty and one
// refused on security after 2h, one withdrawn before any answer.
func TestReport(t *testing.T) {
	var views []preservation.View
	add := func(w *world) { views = append(views, w.view()) }
	ee := func(ack, exec time.Duration) {
		w := open(t, request())
		w.must(eeID, ack, "acknowledge", nil)
		if exec > 0 {
			w.must(eeID, exec-ack, "execute", map[string]any{"reference": "R", "preserved_until": "90d"})
		}
		add(w)
	}
	ee(time.Hour, 5*time.Hour)
	ee(3*time.Hour, 9*time.Hour)
	ee(2*time.Hour, 0)
	lv := func(after time.Duration, ground string) {
		w := open(t, with(request(), "target_country", "LV"), lvID)
		w.must(lvID, after, "refuse", map[string]any{"ground": ground, "explanation": "x"})
		add(w)
	}
	lv(30*time.Minute, "sovereignty")
	lv(2*time.Hour, "security")
	w := open(t, with(request(), "target_country", "LV"), lvID)
	w.must(frID, time.Hour, "withdraw", nil)
	add(w)

	r := preservation.Build(views)
	if len(r.Countries) != 2 || r.Countries[0].Country != "EE" || r.Countries[1].Country != "LV" {
		t.Fatalf("countries: %+v", r.Countries)
	}
	e, l := r.Countries[0], r.Countries[1]
	if e.Requests != 3 || e.Executed != 2 || e.Pending != 1 || e.Refused != 0 ||
		e.Acknowledge.Samples != 3 || *e.Acknowledge.Median != 2*time.Hour || *e.Acknowledge.Max != 3*time.Hour ||
		e.Answer.Samples != 2 || *e.Answer.Median != 7*time.Hour || *e.Answer.Max != 9*time.Hour {
		t.Errorf("EE: %+v", e)
	}
	if l.Requests != 3 || l.Refused != 2 || l.Withdrawn != 1 || l.Pending != 0 || l.RefusalsByGround["sovereignty"] != 1 || l.RefusalsByGround["security"] != 1 ||
		*l.Acknowledge.Median != 75*time.Minute || *l.Answer.Max != 2*time.Hour {
		t.Errorf("LV: %+v", l)
	}
	if r.Total.Requests != 6 || r.Total.Acknowledge.Samples != 5 || *r.Total.Acknowledge.Median != 2*time.Hour || r.Total.Refused != 2 {
		t.Errorf("total: %+v", r.Total)
	}
	// JSON: seconds, null without samples.
	b, _ := json.Marshal(preservation.Build(views[2:3]))
	if !strings.Contains(string(b), `"time_to_answer":{"samples":0,"median_seconds":null,"max_seconds":null}`) ||
		!strings.Contains(string(b), `"time_to_acknowledge":{"samples":1,"median_seconds":7200,"max_seconds":7200}`) {
		t.Errorf("JSON: %s", b)
	}
	if r := preservation.Build(nil); len(r.Countries) != 0 || r.Total.Requests != 0 {
		t.Errorf("empty: %+v", r)
	}
}

// Art. 30: FR chains a request to LV from EE's disclosure.
func TestChain(t *testing.T) {
	w := history(t)
	exec, disclose := w.steps[1], w.steps[2]
	in, err := preservation.Chain(w.c, w.steps, exec.ID, "lv")
	if err != nil {
		t.Fatal(err)
	}
	if in.TargetCountry != "LV" || in.Custodian != "Balt Relay SIA" || in.ChainedFromRef != exec.ID || in.ChainedFromCase != w.c.ID ||
		in.Facts != request()["facts"] || in.StoredData != "the traffic data Balt Relay SIA holds on the transmission of the communication that EE disclosed (Art. 30); the request to EE concerned: "+request()["stored_data"].(string) || in.Offence != request()["offence"] || in.RemindBefore != "10d" ||
		!strings.Contains(in.Relation, "the mailbox received the ransom negotiations\n\nArt. 30: on ") ||
		!strings.Contains(in.Relation, "EE disclosed that the service provider Balt Relay SIA in LV was involved in the transmission of the communication: SMTP relay 192.0.2.7.") {
		t.Fatalf("chained input: %+v", in)
	}
	// The prefilled request opens as it is.
	d, err := preservation.Kind.Open(env(frID, w.now), mustJSON(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if d.Props["chained_from_ref"] != exec.ID || d.Props["mla_intent"] != request()["mla_intent"] {
		t.Fatalf("opened: %v", d.Props)
	}
	// From the case: the one disclosure in DE.
	if in, err := preservation.Chain(w.c, w.steps, w.c.ID, "DE"); err != nil || in.ChainedFromRef != disclose.ID || in.Custodian != "Hosting GmbH" {
		t.Fatalf("from the case: %+v %v", in, err)
	}
	for _, c := range []struct{ from, country, want string }{
		{exec.ID, "PL", "discloses providers in LV, not in PL"},
		{w.steps[0].ID, "LV", "discloses no service provider"},
		{w.c.ID, "PL", "discloses providers in LV, DE, not in PL"},
		{w.c.ID, "EE", "was sent to EE already"},
		{"x-entraide-step--6f3a3c3e-1d7b-4d0c-9a59-0d4f1b1c9a11", "LV", "neither"},
	} {
		_, err := preservation.Chain(w.c, w.steps, c.from, c.country)
		if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Chain(%s, %s): %v, want %q", c.from, c.country, err, c.want)
		}
	}
	// Two steps disclosing providers in the same country: say which.
	w.must(eeID, time.Hour, "disclose", map[string]any{"disclosures": []map[string]any{{"country": "LV", "provider": "Other SIA"}}})
	if _, err := preservation.Chain(w.c, w.steps, w.c.ID, "LV"); err == nil || !strings.Contains(err.Error(), "chain from one of them") {
		t.Errorf("ambiguous: %v", err)
	}
}
