package assistance_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/workflow"
)

func summary(t testing.TB, id string, open bool, sev int, crit, urg string, opened, updated time.Duration) workflow.Summary {
	return workflow.Summary{ID: id, Kind: assistance.KindName, Open: open, Severity: sev, Opened: t0.Add(opened), Updated: t0.Add(updated),
		Detail: mustJSON(t, map[string]any{"entity_criticality": crit, "urgency": urg})}
}

// Concurrent requests: open first, by severity, criticality, urgency, age;
// closed last, the latest updated first.
func TestOrder(t *testing.T) {
	want := []workflow.Summary{
		summary(t, "a", true, 5, "other", "planned", 9*time.Hour, 9*time.Hour),                                                   // the highest severity wins over all else
		summary(t, "b", true, 4, "essential", "planned", 8*time.Hour, 8*time.Hour),                                               // then criticality…
		summary(t, "c", true, 4, "important", "immediate", 1*time.Hour, 1*time.Hour),                                             //
		summary(t, "d", true, 4, "important", "24h", 0, 0),                                                                       // …then urgency…
		summary(t, "e", true, 4, "important", "72h", 2*time.Hour, 2*time.Hour),                                                   //
		summary(t, "f", true, 4, "important", "72h", 3*time.Hour, 3*time.Hour),                                                   // …then age: the oldest first…
		summary(t, "g", true, 4, "important", "72h", 3*time.Hour, 3*time.Hour),                                                   // …then the id
		summary(t, "h", true, 4, "important", "next-week", 0, 0),                                                                 // an unknown urgency after the known ones
		summary(t, "i", true, 4, "systemic", "immediate", 0, 0),                                                                  // an unknown criticality after the known ones
		summary(t, "j", true, 0, "essential", "immediate", 0, 0),                                                                 // baseline severity
		summary(t, "k", false, 5, "essential", "immediate", 0, 20*time.Hour),                                                     // closed: latest update first
		summary(t, "l", false, 5, "essential", "immediate", 0, 10*time.Hour),                                                     //
		{ID: "m", Kind: assistance.KindName, Open: false, Severity: 5, Updated: t0, Opened: t0, Detail: json.RawMessage(`null`)}, // no detail at all
	}
	ids := func(l []workflow.Summary) []string {
		var out []string
		for _, s := range l {
			out = append(out, s.ID)
		}
		return out
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100; i++ {
		l := slices.Clone(want)
		r.Shuffle(len(l), func(a, b int) { l[a], l[b] = l[b], l[a] })
		if got := ids(assistance.Order(l)); !slices.Equal(got, ids(want)) {
			t.Fatalf("shuffle %d: %v, want %v", i, got, ids(want))
		}
	}
	if got := assistance.Order(nil); len(got) != 0 {
		t.Errorf("empty: %v", got)
	}
}

func TestFindOffer(t *testing.T) {
	l := []workflow.Summary{
		{ID: "req-1", Detail: mustJSON(t, map[string]any{"offers": []map[string]any{{"id": "x-entraide-step--1"}}})},
		{ID: "req-2", Detail: json.RawMessage(`{"offers":[{"id":"x-entraide-step--2"},{"id":"x-entraide-step--3"}]}`)},
		{ID: "req-3", Detail: json.RawMessage(`"garbage"`)},
	}
	for offer, want := range map[string]string{"x-entraide-step--1": "req-1", "x-entraide-step--3": "req-2", "x-entraide-step--4": ""} {
		got, ok := assistance.FindOffer(l, offer)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", offer, got, ok, want)
		}
	}
}

func ExampleOrder() {
	list := []workflow.Summary{
		{ID: "phishing-at-a-water-utility", Open: true, Severity: 3, Detail: json.RawMessage(`{"entity_criticality":"essential","urgency":"24h"}`)},
		{ID: "ransomware-at-a-hospital", Open: true, Severity: 4, Detail: json.RawMessage(`{"entity_criticality":"important","urgency":"immediate"}`)},
		{ID: "wiper-at-a-grid-operator", Open: true, Severity: 4, Detail: json.RawMessage(`{"entity_criticality":"essential","urgency":"72h"}`)},
	}
	for _, s := range assistance.Order(list) {
		fmt.Println(s.ID)
	}
	// Output:
	// wiper-at-a-grid-operator
	// ransomware-at-a-hospital
	// phishing-at-a-water-utility
}
