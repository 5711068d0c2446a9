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

// Whatever a person or a script sends, opening a request either succeeds
// with a complete request or fails with an input error — never a panic,
// never another kind of error.
func FuzzOpen(f *testing.F) {
	b, _ := json.Marshal(request())
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"mla_intent": 1e999}`))
	f.Add([]byte(`{"mla_intent": true, "target_country": "ee", "refs": null}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := preservation.Kind.Open(env(frID, t0), in)
		if err != nil {
			if !errors.Is(err, workflow.ErrInput) {
				t.Fatalf("not an input error: %v", err)
			}
			return
		}
		for _, p := range []string{"requesting_authority", "offence", "facts", "stored_data", "relation", "reason", "mla_intent", "target_country", "ack_by", "name"} {
			if d.Props[p] == nil {
				t.Fatalf("opened without %s: %v", p, d.Props)
			}
		}
	})
}

// Every action's input is checked the same way.
func FuzzAct(f *testing.F) {
	f.Add("execute", []byte(`{"preserved_until":"90d","reference":"R"}`))
	f.Add("refuse", []byte(`{"ground":"security","explanation":"x"}`))
	f.Add("disclose", []byte(`{"disclosures":[{"country":"lv","provider":"P"}]}`))
	f.Add("extend", []byte(`{"preserved_until":"2028-01-01"}`))
	f.Add("mla-sent", []byte(`{"mla_reference":"M","sent_on":"2026-11-30"}`))
	f.Add("partial", []byte(`{"preserved":"a","not_preserved":"b","preserved_until":"61d","reference":"R","comment":null}`))
	f.Fuzz(func(t *testing.T, action string, in []byte) {
		w := open(t, request())
		w.must(eeID, time.Hour, "execute", map[string]any{"preserved_until": "90d", "reference": "R"})
		node := eeID
		if action == "extend" || action == "mla-sent" || action == "withdraw" {
			node = frID
		}
		if preservation.Kind.Allowed(w.c, node, action) != nil {
			return
		}
		st := w.state()
		_, err := preservation.Kind.Act(env(node, w.now), w.c, &st, action, in)
		if err != nil && !errors.Is(err, workflow.ErrInput) {
			t.Fatalf("%s %s: not an input error: %v", action, in, err)
		}
	})
}

func FuzzUntil(f *testing.F) {
	for _, s := range []string{"90d", "2027-03-01", "2027-03-01T10:00:00Z", "-1d", "9999999999999d", "1e9h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := preservation.Until(t0, s)
		if err != nil {
			if !errors.Is(err, workflow.ErrInput) {
				t.Fatalf("Until(%q): %v", s, err)
			}
			return
		}
		if strings.TrimSpace(s) != "" && !u.After(t0) {
			t.Fatalf("Until(%q) = %v, not in the future", s, u)
		}
		if _, err := preservation.SentOn(t0, s); err != nil && !errors.Is(err, workflow.ErrInput) {
			t.Fatalf("SentOn(%q): %v", s, err)
		}
	})
}
