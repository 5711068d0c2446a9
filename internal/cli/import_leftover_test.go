package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// TestImportSealsRed: a TLP:RED object loaded with `entraide import` is
// stored sealed under the node's data key (the database holds no trace of
// its text, and the key opens it back to the exact bytes), while an AMBER
// object of the same file is stored in clear; importing again finds both
// already present.
func TestImportSealsRed(t *testing.T) {
	dir := initNode(t)
	const canary = "RED canary 5c1e imported from a file"
	red := `{"type":"indicator","spec_version":"2.1","id":"indicator--3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b","created":"2026-11-20T08:00:00.000Z",` +
		`"modified":"2026-11-20T08:00:00.000Z","name":"` + canary + `","pattern":"[ipv4-addr:value = '203.0.113.97']","pattern_type":"stix",` +
		`"valid_from":"2026-11-20T08:00:00Z","object_marking_refs":["` + stix.TLPRed.MarkingID() + `"]}`
	amber := `{"type":"indicator","spec_version":"2.1","id":"indicator--4f5a6b7c-8d9e-4f0a-9b1c-2d3e4f5a6b7c","created":"2026-11-20T08:00:00.000Z",` +
		`"modified":"2026-11-20T08:00:00.000Z","name":"AMBER","pattern":"[ipv4-addr:value = '203.0.113.96']","pattern_type":"stix",` +
		`"valid_from":"2026-11-20T08:00:00Z","object_marking_refs":["` + stix.TLPAmber.MarkingID() + `"]}`
	f := filepath.Join(t.TempDir(), "objects.ndjson")
	if err := os.WriteFile(f, []byte(red+"\n"+amber+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, "", "import", "--data", dir, f); !strings.Contains(r.stdout, "2 added") {
		t.Fatalf("import:\n%s", r.stdout)
	}

	ctx := context.Background()
	n, err := node.Open(ctx, dir, func(string) string { return "" }, nil, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sealer, err := n.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := resolveCollection(ctx, n.Store, node.DefaultCollectionAlias)
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.Store.ListObjects(ctx, c.ID, store.Query{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(p.Entries))
	}
	for _, e := range p.Entries {
		isRed := strings.HasPrefix(e.ID, "indicator--3e4f")
		switch {
		case isRed && (!e.Sealed || e.Raw != nil || bytes.Contains(e.Ciphertext, []byte(canary))):
			t.Errorf("the RED object is not stored sealed: sealed %v, raw %q", e.Sealed, e.Raw)
		case !isRed && (e.Sealed || e.Raw == nil):
			t.Errorf("the AMBER object is not stored in clear: sealed %v", e.Sealed)
		}
		if !isRed {
			continue
		}
		got, err := store.OpenEntry(sealer, e)
		if err != nil || string(got) != red {
			t.Errorf("the sealed RED object does not open to its bytes: %v\n%s", err, got)
		}
	}
	for _, name := range []string{node.DBFile, node.DBFile + "-wal"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s holds the RED object's text", name)
		}
	}

	if r := mustRun(t, "", "import", "--data", dir, f); !strings.Contains(r.stdout, "0 added, 2 already present") {
		t.Errorf("import again:\n%s", r.stdout)
	}
}
