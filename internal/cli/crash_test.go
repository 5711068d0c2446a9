package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
)

// buildBinary compiles the entraide command once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "entraide")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/entraide/entraide/cmd/entraide")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestImportSurvivesKill9 kills an import with SIGKILL in the middle and
// checks that the store holds only whole objects, then that running the same
// import again completes it with nothing lost and nothing doubled.
func TestImportSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and imports 300,000 objects")
	}
	bin := buildBinary(t)
	dir := initNode(t)
	src := filepath.Join(t.TempDir(), "big.json")
	f, _ := os.Create(src)
	const total = 300_000
	if err := GenerateIndicators(f, total, 3, false); err != nil {
		t.Fatal(err)
	}
	f.Close()

	cmd := exec.Command(bin, "import", "--data", dir, src)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) until some batches are committed, then kill -9.
	deadline := time.Now().Add(60 * time.Second)
	before := false
	for time.Now().Before(deadline) && !before {
		time.Sleep(20 * time.Millisecond)
		before = hasObjects(t, dir)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !before {
		t.Fatalf("import stored nothing within 60 s before the kill:\n%s", out.String())
	}
	killed := countObjects(t, dir, "")
	if killed == total {
		t.Fatalf("import finished before the kill; the test proves nothing (make the input bigger)")
	}
	if killed%importBatch != 0 {
		t.Fatalf("after kill -9 the store holds %d objects: not a whole number of %d-object batches, so a batch was half-written", killed, importBatch)
	}
	// Every stored object is whole: it parses and validates again.
	verifyAllParse(t, dir)

	cmd = exec.Command(bin, "import", "--data", dir, src)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("second import: %v\n%s", err, b)
	}
	if n := countObjects(t, dir, ""); n != total {
		t.Fatalf("after resuming the store holds %d objects, want %d", n, total)
	}
	if !strings.Contains(string(b), "already present") {
		t.Fatalf("second import summary: %s", b)
	}
}

// hasObjects reports cheaply (one row) whether the default collection holds anything.
func hasObjects(t *testing.T, dir string) bool {
	t.Helper()
	st, err := store.Open(context.Background(), node.DBURL(dir, ""), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := resolveCollection(context.Background(), st, "default")
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.ListObjects(context.Background(), c.ID, store.Query{Limit: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Entries) > 0
}

func verifyAllParse(t *testing.T, dir string) {
	t.Helper()
	st, err := store.Open(context.Background(), node.DBURL(dir, ""), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := resolveCollection(context.Background(), st, "default")
	if err != nil {
		t.Fatal(err)
	}
	q := store.Query{Versions: []string{"all"}, Limit: 1000}
	for {
		p, err := st.ListObjects(context.Background(), c.ID, q, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			if _, err := stix.Parse(e.Raw); err != nil {
				t.Fatalf("stored object %s does not parse after the kill: %v", e.ID, err)
			}
		}
		if p.Next == "" {
			return
		}
		q.Next = p.Next
	}
}

// TestPostgresNode runs init, import and export against a real PostgreSQL
// database.
func TestPostgresNode(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := initNode(t, "--db", dsn)
	src := attackBundle(t, "attack-mobile-17.1.json")
	r := run(t, nil, "", "import", "--data", dir, src)
	if r.code != 0 || !strings.Contains(r.stdout, "0 rejected") {
		t.Fatalf("import on PostgreSQL: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, node.DBFile)); err == nil {
		t.Fatal("a SQLite file was created although the node uses PostgreSQL")
	}
	if n := countObjects(t, dir, dsn); n == 0 {
		t.Fatal("no objects in PostgreSQL after import")
	}
	r = run(t, nil, "", "export", "--data", dir, "--type", "malware")
	if r.code != 0 || !strings.Contains(r.stdout, `"type":"malware"`) {
		t.Fatalf("export from PostgreSQL: %d %.300s %s", r.code, r.stdout, r.stderr)
	}
}
