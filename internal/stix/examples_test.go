package stix

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// stixDataDir holds the STIX sample data shared by the project's tests: the
// OASIS schemas and examples and the MITRE ATT&CK bundles. STIX_DATA_DIR
// overrides it.
func stixDataDir() string {
	if d := os.Getenv("STIX_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "data", "stix")
}

// exampleFiles lists the files of STIX content the package must accept. The
// interop directory of the OASIS repository holds JSON schemas of the interop
// profile, not objects, so it is used by the schema test instead.
func exampleFiles(t testing.TB) []string {
	t.Helper()
	dir := stixDataDir()
	var files []string
	for _, pat := range []string{"oasis/examples/*.json", "oasis/examples/*/*.json", "attack-*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) < 10 {
		t.Fatalf("found %d example files under %s; set STIX_DATA_DIR", len(files), dir)
	}
	return files
}

// knownInvalid lists official examples that break the specification, with the
// reason. Each entry must still be refused, so that the list cannot go stale.
var knownInvalid = map[string]string{
	"infrastructure.json#relationship--81f12913-1372-4c96-85ec-E9034ac98aba": "uppercase hex in the UUID: identifiers are compared as strings, " +
		"RFC 4122 says UUIDs are written in lowercase and STIX literals are lowercase (specification 2.9, 3.1)",
}

// readAll reads every object of a file through Reader.
func readAll(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f)
	var out [][]byte
	for {
		raw, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, raw)
	}
	if r.Count() != len(out) {
		t.Fatalf("%s: Count() = %d, read %d", path, r.Count(), len(out))
	}
	return out
}

func TestExamplesParse(t *testing.T) {
	total := 0
	for _, path := range exampleFiles(t) {
		objs := readAll(t, path)
		if len(objs) == 0 {
			t.Errorf("%s: no objects", path)
		}
		for i, raw := range objs {
			o, err := Parse(raw)
			var ie *InvalidError
			id := ""
			if errors.As(err, &ie) {
				id = ie.ID
			}
			if why, known := knownInvalid[filepath.Base(path)+"#"+id]; known {
				if err == nil {
					t.Errorf("%s object %d: listed as invalid (%s) but accepted", path, i, why)
				}
				t.Logf("refused as expected: %v", err)
				continue
			}
			if err != nil {
				t.Errorf("%s object %d: %v", filepath.Base(path), i, err)
				continue
			}
			compact, _ := Compact(raw)
			if !bytes.Equal(o.Raw, compact) {
				t.Errorf("%s: Raw is not the compacted input", o.ID)
			}
			total++
		}
	}
	t.Logf("%d objects accepted", total)
}

func sortStrings(s []string) { sort.Strings(s) }
