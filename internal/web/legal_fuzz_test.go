package web

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/preservation"
)

// An Art. 30 disclosure typed in a form becomes the one element of
// "disclosures", its country in capitals, or a clear refusal when the
// provider's country or name is missing; nothing undeclared passes.
func FuzzDisclosureInput(f *testing.F) {
	f.Add("lv", "Baltic Hosting SIA", "AS 64500")
	f.Add("", "Baltic Hosting SIA", "")
	f.Add(" ", " ", " ")
	f.Add("LV", "", "a note alone")
	f.Add("\x00", "\u00e9", "\n")
	f.Fuzz(func(t *testing.T, country, provider, note string) {
		form := url.Values{"provider_country": {country}, "provider": {provider}, "provider_note": {note},
			"preserved_until": {"90d"}, "disclosures": {`[{"country":"XX"}]`}, "injected": {"x"}}
		for _, action := range []string{"execute", "partial", "disclose"} {
			b, err := actionInput(actionFields["preservation"][action], form)
			c, p, n := strings.TrimSpace(country), strings.TrimSpace(provider), strings.TrimSpace(note)
			if c == "" && p == "" && n == "" {
				if err != nil || strings.Contains(string(b), "disclosures") {
					t.Fatalf("%s, no disclosure typed: %s %v", action, b, err)
				}
				continue
			}
			if c == "" || p == "" {
				if !errors.Is(err, errDisclosureIncomplete) {
					t.Fatalf("%s, country %q provider %q: %s %v, want the incomplete-disclosure error", action, c, p, b, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", action, err)
			}
			var in struct {
				Disclosures []preservation.Disclosure `json:"disclosures"`
				Injected    any                       `json:"injected"`
			}
			if err := json.Unmarshal(b, &in); err != nil {
				t.Fatal(err)
			}
			if len(in.Disclosures) != 1 || in.Injected != nil {
				t.Fatalf("%s: %s", action, b)
			}
			if !utf8.ValidString(c) || !utf8.ValidString(p) || !utf8.ValidString(n) {
				continue // JSON carries U+FFFD instead; the engine refuses such text
			}
			if d := in.Disclosures[0]; d.Country != strings.ToUpper(c) || d.Provider != p || d.Note != n {
				t.Fatalf("%s: %+v from %q %q %q", action, d, country, provider, note)
			}
		}
	})
}
