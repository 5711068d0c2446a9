// Package vocab holds the controlled vocabularies cooperation records are
// written in, so that two nodes mean the same thing by the same word: the
// sectors of the NIS2 directive an incident affects, the RSIT class of an
// incident, and the capabilities one node can lend another under mutual
// assistance.
//
// Sectors and RSIT classes come from the MISP taxonomies (embedded from
// data/, see data/README.md for the source and licence), so their
// identifiers are the machine values MISP, OpenCTI and the CSIRT network
// already exchange. The capability catalogue is Entraide's own. Identifiers
// are stored in records and sent to partners: they never change; labels and
// descriptions are for people and may.
//
// The package depends on the standard library only; the embedded data is
// read once, on first use.
package vocab

import (
	"embed"
	"encoding/json"
	"fmt"
	"sync"
)

// Term is one entry of a vocabulary.
type Term struct {
	ID          string `json:"id"`                    // stable machine value, stored and exchanged
	Label       string `json:"label"`                 // short human name
	Description string `json:"description,omitempty"` // one or more sentences
}

//go:embed data/misp-taxonomy-nis2.json data/misp-taxonomy-rsit.json
var data embed.FS

// taxonomy is the part of a MISP machinetag.json file we read.
type taxonomy struct {
	Namespace  string `json:"namespace"`
	Predicates []struct {
		Value       string `json:"value"`
		Expanded    string `json:"expanded"`
		Description string `json:"description"`
	} `json:"predicates"`
	Values []struct {
		Predicate string `json:"predicate"`
		Entry     []struct {
			Value       string `json:"value"`
			Expanded    string `json:"expanded"`
			Description string `json:"description"`
		} `json:"entry"`
	} `json:"values"`
}

func readTaxonomy(name, namespace string) taxonomy {
	b, err := data.ReadFile("data/" + name)
	if err != nil {
		panic(err)
	}
	var t taxonomy
	if err := json.Unmarshal(b, &t); err != nil {
		panic(fmt.Sprintf("vocab: data/%s: %v", name, err))
	}
	if t.Namespace != namespace {
		panic(fmt.Sprintf("vocab: data/%s: namespace %q, want %q", name, t.Namespace, namespace))
	}
	return t
}

// vocabulary is a list of terms and its index.
type vocabulary struct {
	terms []Term
	byID  map[string]int
}

func newVocabulary(terms []Term) *vocabulary {
	v := &vocabulary{terms: terms, byID: make(map[string]int, len(terms))}
	for i, t := range terms {
		if t.ID == "" || t.Label == "" {
			panic(fmt.Sprintf("vocab: term %d (%q) has no ID or label", i, t.ID))
		}
		if _, dup := v.byID[t.ID]; dup {
			panic(fmt.Sprintf("vocab: term %q appears twice", t.ID))
		}
		v.byID[t.ID] = i
	}
	return v
}

// all returns a copy, so that no caller can change the vocabulary.
func (v *vocabulary) all() []Term { return append([]Term(nil), v.terms...) }

func (v *vocabulary) get(id string) (Term, bool) {
	i, ok := v.byID[id]
	if !ok {
		return Term{}, false
	}
	return v.terms[i], true
}

// sectorsPredicate is the NIS2 predicate that lists the sectors.
const sectorsPredicate = "impact-sectors-impacted"

var sectors = sync.OnceValue(func() *vocabulary {
	t := readTaxonomy("misp-taxonomy-nis2.json", "nis2")
	var terms []Term
	for _, v := range t.Values {
		if v.Predicate != sectorsPredicate {
			continue
		}
		for _, e := range v.Entry {
			terms = append(terms, Term{ID: e.Value, Label: e.Expanded, Description: e.Description})
		}
	}
	if len(terms) == 0 {
		panic("vocab: no " + sectorsPredicate + " in the NIS2 taxonomy")
	}
	return newVocabulary(terms)
})

// NIS2Sectors returns the sectors of the NIS2 directive, as the MISP NIS2
// taxonomy lists them under its predicate "impact-sectors-impacted" (tag
// nis2:impact-sectors-impacted="energy"), in the taxonomy's order: the
// sectors of high criticality of Annex I (energy, transport, banking,
// financial, health, drinking-water, waste-water, digital-infrastructure,
// ict-services, public-administration, space) then the other critical
// sectors of Annex II (courier, waste-management, chemical, food,
// manufacturing, digital-providers, research). The ID is the taxonomy's
// value. Subsectors ("impact-subsectors-impacted") and the taxonomy's
// second, differently spelt list of Annex II sectors ("important-entities")
// are left out, so that each sector has one identifier.
func NIS2Sectors() []Term { return sectors().all() }

// Sector returns the NIS2 sector with this ID (exact, lower case).
func Sector(id string) (Term, bool) { return sectors().get(id) }

// rsitTestPredicate is RSIT's class for testing tools, which the taxonomy
// says to ignore.
const rsitTestPredicate = "test"

var rsit = sync.OnceValues(func() (classes, types *vocabulary) {
	t := readTaxonomy("misp-taxonomy-rsit.json", "rsit")
	var cs, ts []Term
	for _, p := range t.Predicates {
		if p.Value != rsitTestPredicate {
			cs = append(cs, Term{ID: p.Value, Label: p.Expanded, Description: p.Description})
		}
	}
	for _, v := range t.Values {
		if v.Predicate == rsitTestPredicate {
			continue
		}
		for _, e := range v.Entry {
			ts = append(ts, Term{ID: v.Predicate + ":" + e.Value, Label: e.Expanded, Description: e.Description})
		}
	}
	return newVocabulary(cs), newVocabulary(ts)
})

// RSIT returns the incident types of the Reference Security Incident
// Classification Taxonomy, in the taxonomy's order. The ID is the value of
// the MISP machine tag: rsit:"malicious-code:c2-server" has the ID
// "malicious-code:c2-server", that is class:type. The taxonomy's "test"
// class, meant for testing tools, is left out.
func RSIT() []Term {
	_, types := rsit()
	return types.all()
}

// RSITClass returns the RSIT incident type with this ID
// ("intrusions:system-compromise").
func RSITClass(id string) (Term, bool) {
	_, types := rsit()
	return types.get(id)
}

// RSITCategories returns the ten classes of RSIT ("malicious-code",
// "availability", …), the part of an RSIT ID before the colon.
func RSITCategories() []Term {
	classes, _ := rsit()
	return classes.all()
}

// RSITCategory returns the RSIT class with this ID ("fraud").
func RSITCategory(id string) (Term, bool) {
	classes, _ := rsit()
	return classes.get(id)
}

var capabilities = sync.OnceValue(func() *vocabulary {
	return newVocabulary([]Term{
		{"incident-response-team", "Incident response team", "A team deployed, on site or remotely, to contain and handle an incident alongside the requesting CSIRT."},
		{"digital-forensics", "Digital forensics", "Acquisition and analysis of disks, memory and logs with a chain of custody that can stand as evidence."},
		{"malware-analysis", "Malware analysis", "Static and dynamic analysis of samples to extract behaviour, indicators and detection rules."},
		{"threat-hunting", "Threat hunting", "Searching networks and hosts for an intruder's activity that existing detection has not flagged."},
		{"crisis-communication", "Crisis communication", "Help with public, press and stakeholder communication during a major incident."},
		{"legal-support", "Legal support", "Advice on the legal framework of a response: evidence, data protection, mutual legal assistance, notification duties."},
		{"vulnerability-assessment", "Vulnerability assessment", "Scanning and review of exposed systems to find the weaknesses an attacker could use."},
		{"network-monitoring", "Network monitoring", "Sensors, capture and analysis of network traffic to detect and follow malicious activity."},
		{"reverse-engineering", "Reverse engineering", "Disassembly of binaries, firmware or protocols to understand how they work and how to defeat them."},
		{"recovery-support", "Recovery support", "Restoration of systems and services from clean backups and rebuilding of compromised infrastructure."},
	})
})

// Capabilities returns the mutual-assistance capability catalogue: what a
// node can ask a partner for, or offer, under mutual assistance (the EU
// cybersecurity reserve, CERT-to-CERT agreements). It is Entraide's own
// list, not a MISP taxonomy; its IDs are stored in assistance requests and
// offers and never change.
func Capabilities() []Term { return capabilities().all() }

// Capability returns the capability with this ID ("malware-analysis").
func Capability(id string) (Term, bool) { return capabilities().get(id) }
