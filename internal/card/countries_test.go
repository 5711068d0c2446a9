package card

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/entraide/entraide/internal/stix/stixschema"
)

// TestCountryCodes checks the country codes against the list the project
// ships in shared/data/vocab.
func TestCountryCodes(t *testing.T) {
	dir, err := stixschema.Dir() // …/shared/data/stix/oasis
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "..", "vocab", "misp-galaxy-country.json"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	var galaxy struct {
		Values []struct {
			Meta struct {
				ISO string `json:"ISO"`
			} `json:"meta"`
		} `json:"values"`
	}
	if err := json.Unmarshal(b, &galaxy); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"EU": true}
	for _, v := range galaxy.Values {
		want[v.Meta.ISO] = true
	}
	for c := range want {
		if !countries[c] {
			t.Errorf("%s is missing", c)
		}
	}
	for c := range countries {
		if !want[c] {
			t.Errorf("%s is not in the shared list", c)
		}
	}
	if len(countries) < 250 {
		t.Errorf("only %d codes", len(countries))
	}
}
