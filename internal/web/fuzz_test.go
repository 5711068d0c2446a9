package web

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/workflow"
)

// A session cookie is only ever worth something when the server made it:
// no value an attacker sends finds a session, and none makes the parser
// fail.
func FuzzSessionCookie(f *testing.F) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ss := newSessions(clk, time.Hour, 12*time.Hour)
	good, err := ss.create("alice")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", good, good[:42], good + "A", strings.Repeat("A", 43), "%%%", strings.Repeat("-", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := ss.lookup(v)
		if v == good {
			if got == nil || got.user != "alice" {
				t.Fatalf("the real cookie finds %+v", got)
			}
			return
		}
		if got != nil {
			t.Fatalf("cookie %q finds the session of %s", v, got.user)
		}
	})
}

// Forms become the engine's JSON: lists never hold empty items, and only
// the fields an action declares pass.
func FuzzActionInput(f *testing.F) {
	f.Add("energy, health", "FR ee", "note")
	f.Add(",,, ;\n", "", "")
	f.Add("a\tb\r\nc", "x;y", "\x00")
	f.Fuzz(func(t *testing.T, sectors, countries, note string) {
		for _, w := range words(sectors) {
			if w == "" || strings.ContainsAny(w, ",; \n\r\t") {
				t.Fatalf("words(%q) holds %q", sectors, w)
			}
		}
		form := url.Values{"add_sectors": {sectors}, "add_countries": {countries}, "note": {note}, "injected": {"x"}}
		b, err := actionInput(actionFields["incident"]["update"], form)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "injected") {
			t.Fatalf("an undeclared field passed: %s", b)
		}
	})
}

func TestActionInputNumber(t *testing.T) {
	fs := actionFields["assist"]["offer"]
	b, err := actionInput(fs, url.Values{"capability": {"forensics"}, "team_size": {"3"}, "note": {""}})
	if err != nil || string(b) != `{"capability":"forensics","team_size":3}` {
		t.Fatalf("offer: %s %v", b, err)
	}
	if _, err := actionInput(fs, url.Values{"team_size": {"three"}}); !errors.Is(err, workflow.ErrInput) {
		t.Fatalf("a team of three in letters: %v", err)
	}
}
