package vocab_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/vocab"
)

// vocabularies lists every vocabulary with its lookup, the IDs it must hold
// (records already store them: they can never go), and the form of its IDs.
var vocabularies = []struct {
	name   string
	all    func() []vocab.Term
	get    func(string) (vocab.Term, bool)
	n      int
	sample []string
	form   *regexp.Regexp
}{
	{
		name: "NIS2 sectors", all: vocab.NIS2Sectors, get: vocab.Sector, n: 18,
		sample: []string{
			"energy", "transport", "banking", "financial", "health", "drinking-water", "waste-water",
			"digital-infrastructure", "ict-services", "public-administration", "space",
			"courier", "waste-management", "chemical", "food", "manufacturing", "digital-providers", "research",
		},
		form: regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`),
	},
	{
		name: "RSIT", all: vocab.RSIT, get: vocab.RSITClass, n: 38,
		sample: []string{
			"abusive-content:spam", "malicious-code:infected-system", "malicious-code:c2-server",
			"information-gathering:scanner", "intrusion-attempts:brute-force", "intrusions:system-compromise",
			"availability:ddos", "information-content-security:data-leak", "fraud:phishing",
			"vulnerable:weak-crypto", "other:undetermined",
		},
		form: regexp.MustCompile(`^[a-z]+(-[a-z]+)*:[a-z0-9]+(-[a-z0-9]+)*$`),
	},
	{
		name: "RSIT classes", all: vocab.RSITCategories, get: vocab.RSITCategory, n: 10,
		sample: []string{"abusive-content", "malicious-code", "intrusions", "availability", "fraud", "vulnerable", "other"},
		form:   regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`),
	},
	{
		name: "capabilities", all: vocab.Capabilities, get: vocab.Capability, n: 10,
		sample: []string{
			"incident-response-team", "digital-forensics", "malware-analysis", "threat-hunting",
			"crisis-communication", "legal-support", "vulnerability-assessment", "network-monitoring",
			"reverse-engineering", "recovery-support",
		},
		form: regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`),
	},
}

func TestVocabularies(t *testing.T) {
	for _, v := range vocabularies {
		t.Run(v.name, func(t *testing.T) {
			all := v.all()
			if len(all) != v.n {
				t.Errorf("%d terms, want %d", len(all), v.n)
			}
			seen := map[string]bool{}
			for _, term := range all {
				if term.ID == "" || strings.TrimSpace(term.Label) == "" || strings.TrimSpace(term.Description) == "" {
					t.Errorf("incomplete term %+v", term)
				}
				if !v.form.MatchString(term.ID) {
					t.Errorf("ID %q does not match %s", term.ID, v.form)
				}
				if seen[term.ID] {
					t.Errorf("ID %q appears twice", term.ID)
				}
				seen[term.ID] = true
				if got, ok := v.get(term.ID); !ok || got != term {
					t.Errorf("lookup(%q) = %+v, %v", term.ID, got, ok)
				}
			}
			for _, id := range v.sample {
				if !seen[id] {
					t.Errorf("%q is missing", id)
				}
			}
			for _, id := range []string{"", "test", "test:test", strings.ToUpper(v.sample[0]), " " + v.sample[0]} {
				if term, ok := v.get(id); ok {
					t.Errorf("lookup(%q) found %+v", id, term)
				}
			}
			// Callers get a copy.
			all[0].ID = "changed"
			if v.all()[0].ID == "changed" {
				t.Error("changing the returned slice changed the vocabulary")
			}
		})
	}
}

func TestRSITClassesMatchTypes(t *testing.T) {
	used := map[string]bool{}
	for _, term := range vocab.RSIT() {
		class, _, _ := strings.Cut(term.ID, ":")
		if _, ok := vocab.RSITCategory(class); !ok {
			t.Errorf("%s: class %q is not in RSITCategories", term.ID, class)
		}
		used[class] = true
	}
	for _, c := range vocab.RSITCategories() {
		if !used[c.ID] {
			t.Errorf("class %q has no type", c.ID)
		}
	}
}

func TestSectorTerm(t *testing.T) {
	got, ok := vocab.Sector("ict-services")
	if !ok || got.Label != "ICT service management (business-to-business)" {
		t.Errorf(`Sector("ict-services") = %+v, %v`, got, ok)
	}
	got, ok = vocab.RSITClass("malicious-code:c2-server")
	if !ok || got.Label != "C2 Server" || !strings.HasPrefix(got.Description, "Command and control server") {
		t.Errorf(`RSITClass("malicious-code:c2-server") = %+v, %v`, got, ok)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		all      []vocab.Term
		id, want string
	}{
		{vocab.NIS2Sectors(), "enrgy", "energy"},
		{vocab.NIS2Sectors(), "Energy", "energy"},
		{vocab.NIS2Sectors(), "ENERGY", "energy"},
		{vocab.NIS2Sectors(), "helth", "health"},
		{vocab.NIS2Sectors(), "trasnport", "transport"},
		{vocab.NIS2Sectors(), "drinking_water", "drinking-water"},
		{vocab.NIS2Sectors(), "bank", "banking"},
		{vocab.NIS2Sectors(), "digital", ""}, // digital-infrastructure or digital-providers
		{vocab.NIS2Sectors(), "agriculture", ""},
		{vocab.NIS2Sectors(), "", ""},
		{vocab.NIS2Sectors(), strings.Repeat("energy", 100), ""},
		{vocab.RSIT(), "phishing", "fraud:phishing"},
		{vocab.RSIT(), "phising", "fraud:phishing"},
		{vocab.RSIT(), "ddos", "availability:ddos"},
		{vocab.RSIT(), "malicious-code:c2server", "malicious-code:c2-server"},
		{vocab.RSIT(), "Fraud:Phishing", "fraud:phishing"},
		{vocab.RSIT(), "ransomware", ""},
		{vocab.Capabilities(), "forensics", ""},
		{vocab.Capabilities(), "digital-forensic", "digital-forensics"},
		{vocab.Capabilities(), "malware", "malware-analysis"},
	}
	for _, tt := range tests {
		if got := vocab.Suggest(tt.id, tt.all); got != tt.want {
			t.Errorf("Suggest(%.40q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	if got := vocab.SuggestSector("enrgy"); got != "energy" {
		t.Errorf(`SuggestSector("enrgy") = %q`, got)
	}
}

func TestUnknownError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{vocab.UnknownError("sector", "enrgy", vocab.NIS2Sectors()),
			`unknown sector "enrgy" (did you mean "energy"? see 'entraide vocab sectors')`},
		{vocab.UnknownSector("agriculture"),
			`unknown sector "agriculture" (see 'entraide vocab sectors')`},
		{vocab.UnknownRSIT("phishing"),
			`unknown RSIT class "phishing" (did you mean "fraud:phishing"? see 'entraide vocab rsit')`},
		{vocab.UnknownCapability("malware"),
			`unknown capability "malware" (did you mean "malware-analysis"? see 'entraide vocab capabilities')`},
		{vocab.UnknownError("sector", "a\nb", nil),
			`unknown sector "a\nb" (see 'entraide vocab sectors')`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
	var ut *vocab.UnknownTermError
	if err := vocab.UnknownSector("helth"); !errors.As(err, &ut) || ut.Kind != "sector" || ut.ID != "helth" || ut.Suggestion != "health" {
		t.Errorf("UnknownSector(helth) = %#v", err)
	}
	if msg := vocab.UnknownSector(strings.Repeat("x", 10000)).Error(); len(msg) > 200 {
		t.Errorf("error for a long ID is %d bytes", len(msg))
	}
}

func FuzzSuggest(f *testing.F) {
	for _, s := range []string{"enrgy", "phishing", "bank", "", "fraud:", ":"} {
		f.Add(s)
	}
	all := append(append(vocab.NIS2Sectors(), vocab.RSIT()...), vocab.Capabilities()...)
	ids := map[string]bool{}
	for _, t := range all {
		ids[t.ID] = true
	}
	f.Fuzz(func(t *testing.T, id string) {
		s := vocab.Suggest(id, all)
		if s != "" && !ids[s] {
			t.Fatalf("Suggest(%q) = %q, not an ID", id, s)
		}
		if ids[id] && s != id {
			t.Fatalf("Suggest(%q) = %q for a known ID", id, s)
		}
		_ = vocab.UnknownError("sector", id, all).Error()
	})
}
