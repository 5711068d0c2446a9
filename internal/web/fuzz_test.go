package web

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/workflow"
)

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
