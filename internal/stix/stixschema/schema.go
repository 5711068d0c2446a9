// Package stixschema checks JSON against the official STIX 2.1 JSON schemas
// (OASIS cti-stix2-json-schemas, draft 2020-12), for tests.
//
// Every STIX object the project emits must validate against those schemas
// (docs: DESIGN.md, "Reference material"). A package that builds objects — the
// TLP markings in stix, alerts, incidents — calls Validate in its tests on what
// it builds. The package is meant for _test.go files only: it imports testing
// and the schema compiler, neither of which belongs in the binary.
//
// The schemas are read from the shared reference data: $STIX_DATA_DIR, or the
// first shared/data/stix found walking up from the working directory. The
// schemas refer to each other by their published URLs; a loader maps those to
// the local files, so nothing is fetched from the network.
package stixschema

import (
	"bytes"

	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The URL prefixes under which the schemas publish their $id and $ref.
var prefixes = []string{
	"http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/",
	"https://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/",
}

// Validate fails the test unless raw, one STIX object, validates against the
// official schema of its type. A type without an official schema (a custom
// or extension-defined type) is checked against the common core schema: SDO
// core when it has created, else cyber-observable core.
func Validate(t testing.TB, raw []byte) {
	t.Helper()
	if err := Check(raw); err != nil {
		t.Errorf("%v\n%s", err, raw)
	}
}

// Check is Validate returning the error, for tests that expect a refusal.
func Check(raw []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("stixschema: not JSON: %v", err)
	}
	obj, ok := inst.(map[string]any)
	if !ok {
		return fmt.Errorf("stixschema: not a JSON object")
	}
	typ, _ := obj["type"].(string)
	rel, ok := schemaPaths[typ]
	if !ok {
		rel = "schemas/common/cyber-observable-core.json"
		if _, versioned := obj["created"]; versioned {
			rel = "schemas/common/core.json"
		}
	}
	sch, err := compile(rel)
	if err != nil {
		return err
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("stixschema: %s %v does not validate against %s: %v", typ, obj["id"], rel, err)
	}
	return nil
}

// SchemaFor returns the path, relative to the schema repository, of the
// official schema for a STIX type, and false for a type without one.
func SchemaFor(typ string) (string, bool) {
	p, ok := schemaPaths[typ]
	return p, ok
}

var schemaPaths = map[string]string{
	"marking-definition":   "schemas/common/marking-definition.json",
	"language-content":     "schemas/common/language-content.json",
	"extension-definition": "schemas/common/extension-definition.json",
	"bundle":               "schemas/common/bundle.json",
}

func init() {
	for _, t := range []string{"attack-pattern", "campaign", "course-of-action", "grouping", "identity",
		"incident", "indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis",
		"note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability"} {
		schemaPaths[t] = "schemas/sdos/" + t + ".json"
	}
	for _, t := range []string{"relationship", "sighting"} {
		schemaPaths[t] = "schemas/sros/" + t + ".json"
	}
	for _, t := range []string{"artifact", "autonomous-system", "directory", "domain-name", "email-addr",
		"email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
		"software", "url", "user-account", "windows-registry-key", "x509-certificate"} {
		schemaPaths[t] = "schemas/observables/" + t + ".json"
	}
}

var (
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled = map[string]*jsonschema.Schema{}
	rootDir  string
	rootErr  error
	findOnce sync.Once
)

// Dir returns the directory that holds the OASIS schema repository's files
// (schemas/, examples/, interop/).
func Dir() (string, error) {
	findOnce.Do(func() {
		if d := os.Getenv("STIX_DATA_DIR"); d != "" {
			rootDir = filepath.Join(d, "oasis")
			return
		}
		wd, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for d := wd; ; d = filepath.Dir(d) {
			cand := filepath.Join(d, "shared", "data", "stix", "oasis")
			if st, err := os.Stat(filepath.Join(cand, "schemas")); err == nil && st.IsDir() {
				rootDir = cand
				return
			}
			if filepath.Dir(d) == d {
				rootErr = fmt.Errorf("stixschema: no shared/data/stix/oasis/schemas above %s; set STIX_DATA_DIR", wd)
				return
			}
		}
	})
	return rootDir, rootErr
}

// compile returns the compiled schema at rel (relative to the repository).
func compile(rel string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[rel]; ok {
		return s, nil
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	if compiler == nil {
		compiler = jsonschema.NewCompiler()
		compiler.UseLoader(localLoader{dir: dir})
	}
	s, err := compiler.Compile(prefixes[0] + rel)
	if err != nil {
		return nil, fmt.Errorf("stixschema: compiling %s: %v", rel, err)
	}
	compiled[rel] = s
	return s, nil
}

// localLoader serves the schema URLs from the local copy and refuses anything
// else, so a test never reaches the network.
type localLoader struct{ dir string }

func (l localLoader) Load(url string) (any, error) {
	for _, p := range prefixes {
		if rel, ok := strings.CutPrefix(url, p); ok {
			f, err := os.Open(filepath.Join(l.dir, filepath.FromSlash(rel)))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return jsonschema.UnmarshalJSON(f)
		}
	}
	return nil, fmt.Errorf("stixschema: refusing to load %s: only the local STIX schemas are available", url)
}
