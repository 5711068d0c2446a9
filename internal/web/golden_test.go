package web_test

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var (
	uuidRE  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	assetRE = regexp.MustCompile(`\?v=[0-9a-f]{12}`)
)

// normalise takes out of a page what changes from run to run: ids (in
// the order they first appear) and the assets' content hashes.
func normalise(body string) string {
	seen := map[string]string{}
	body = uuidRE.ReplaceAllStringFunc(body, func(u string) string {
		if n, ok := seen[u]; ok {
			return n
		}
		n := "uuid-" + string(rune('A'+len(seen)%26)) + string(rune('a'+len(seen)/26))
		seen[u] = n
		return n
	})
	return assetRE.ReplaceAllString(body, "?v=HASH")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got = normalise(got)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; if the change is meant, run go test ./internal/web -run Golden -update and review the diff\n--- got:\n%s", name, got)
	}
}

// The pages as a person sees them, frozen: the login page in French, an
// empty overview in English, and an alert received at DE, in French, with
// its exercise banner, TLP label and acknowledgement form.
func TestGoldenPages(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	b.lang = "fr"
	golden(t, "login_fr.html", b.get("/console/login").body)
	b.lang = "en"
	b.login("admin")
	golden(t, "overview_en.html", b.get("/console/").body)

	p := newPair(t)
	id := p.openAlert(t, "Rançongiciel dans les hôpitaux", "exercice-2026")
	de := p.de.b()
	de.lang = "fr"
	de.login("liaison")
	golden(t, "alert_de_fr.html", de.get("/console/alerts/"+url.PathEscape(id)).body)
}
