package assistance_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

func TestCapabilitiesFile(t *testing.T) {
	dir := t.TempDir()
	d, err := assistance.LoadCapabilities(dir)
	if err != nil || len(d.Capabilities) != 0 || !d.Updated.IsZero() {
		t.Fatalf("no file: %+v, %v", d, err)
	}
	now := time.Date(2026, 11, 30, 8, 0, 0, 5e8, time.UTC)
	saved, err := assistance.SaveCapabilities(dir, []string{"malware-analysis", " digital-forensics", "malware-analysis"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(saved.Capabilities, []string{"malware-analysis", "digital-forensics"}) || !saved.Updated.Equal(now.Truncate(time.Second)) {
		t.Fatalf("saved: %+v", saved)
	}
	d, err = assistance.LoadCapabilities(dir)
	if err != nil || !slices.Equal(d.Capabilities, saved.Capabilities) || !d.Updated.Equal(saved.Updated) {
		t.Fatalf("loaded: %+v, %v", d, err)
	}
	// An unknown id changes nothing.
	_, err = assistance.SaveCapabilities(dir, []string{"malware-analysys"}, now)
	var ut *vocab.UnknownTermError
	if !errors.Is(err, workflow.ErrInput) || !errors.As(err, &ut) || ut.Suggestion != "malware-analysis" {
		t.Fatalf("unknown capability: %v", err)
	}
	if d2, _ := assistance.LoadCapabilities(dir); !slices.Equal(d2.Capabilities, saved.Capabilities) {
		t.Fatalf("after a refused save: %+v", d2)
	}
	// Declaring nothing is allowed.
	if d, err := assistance.SaveCapabilities(dir, nil, now); err != nil || len(d.Capabilities) != 0 {
		t.Fatalf("empty: %+v, %v", d, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// A hand-edited file with a mistake is reported with its path.
	os.WriteFile(filepath.Join(dir, assistance.CapabilitiesFile), []byte(`{"capabilities":["threat-hunting","forensic"]}`), 0o644)
	if _, err := assistance.LoadCapabilities(dir); err == nil || !strings.Contains(err.Error(), assistance.CapabilitiesFile) || !strings.Contains(err.Error(), `"forensic"`) {
		t.Fatalf("bad file: %v", err)
	}
}

func TestParseCapabilities(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{`{"capabilities":["threat-hunting"],"updated":"2026-11-30T08:00:00Z"}`, ""},
		{`{"capabilities":[]}`, ""},
		{`{}`, ""},
		{`{"capabilities":["threat-hunting"],"team":3}`, `unknown field "team"`},
		{`{"capabilities":"threat-hunting"}`, "cannot unmarshal"},
		{`{"capabilities":["Threat-Hunting"]}`, `did you mean "threat-hunting"`},
		{`{"capabilities":[]} {}`, "trailing data"},
		{`{"updated":"yesterday"}`, "cannot parse"},
		{``, "EOF"},
	} {
		_, err := assistance.ParseCapabilities([]byte(c.in))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzParseCapabilities(f *testing.F) {
	f.Add([]byte(`{"capabilities":["threat-hunting","malware-analysis"],"updated":"2026-11-30T08:00:00Z"}`))
	f.Add([]byte(`{"capabilities":["threat-hunting","threat-hunting"]}`))
	f.Add([]byte(`{"capabilities":[""]}`))
	f.Add([]byte(`{"capabilities":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := assistance.ParseCapabilities(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range d.Capabilities {
			if _, ok := vocab.Capability(c); !ok || seen[c] {
				t.Fatalf("accepted %q in %s", c, b)
			}
			seen[c] = true
		}
		// What parses writes back to the same declaration.
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := assistance.ParseCapabilities(out)
		if err != nil || !slices.Equal(d.Capabilities, d2.Capabilities) || !d.Updated.Equal(d2.Updated) {
			t.Fatalf("round trip of %s: %+v, %v", out, d2, err)
		}
	})
}

// Opening is the parser of a person's request: whatever it is given, it
// either refuses with an input error or returns every required property.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"incident_ref":"incident--0b6a1a39-3f35-4f7a-9b7e-1f1c2b3d4e5f","capabilities":["digital-forensics"],"urgency":"immediate","severity":"4","entity_criticality":"essential","mitigation":"isolated"}`))
	f.Add([]byte(`{"incident_ref":"incident--0b6a1a39-3f35-4f7a-9b7e-1f1c2b3d4e5f","capabilities":["digital-forensics"],"urgency":"planned","severity":"high","entity_criticality":"other","mitigation":"x","respond_by":"3d","title":"t","sectors":["energy"],"countries":["ee"]}`))
	f.Add([]byte(`{"capabilities":[""],"urgency":"","mitigation":"\u0000"}`))
	f.Add([]byte(`[]`))
	env := &workflow.Env{Self: nodeFR, Now: t0}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := assistance.Kind.Open(env, in)
		if err != nil {
			if !errors.Is(err, workflow.ErrInput) {
				t.Fatalf("%s: not an input error: %v", in, err)
			}
			return
		}
		for _, p := range []string{"name", "incident_ref", "capabilities", "urgency", "common_severity", "entity_criticality", "mitigation", "respond_by"} {
			if _, ok := d.Props[p]; !ok {
				t.Fatalf("%s: no %s in %v", in, p, d.Props)
			}
		}
		if caps := d.Props["capabilities"].([]string); len(caps) == 0 {
			t.Fatalf("%s: no capability", in)
		}
		if m, _ := d.Props["mitigation"].(string); strings.TrimSpace(m) == "" {
			t.Fatalf("%s: empty mitigation", in)
		}
		for _, p := range []string{"sectors", "countries"} { // STIX lists are never empty
			if l, ok := d.Props[p]; ok && len(l.([]string)) == 0 {
				t.Fatalf("%s: empty %s", in, p)
			}
		}
	})
}
