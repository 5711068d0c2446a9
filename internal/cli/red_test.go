package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShareRedAndExport: a RED share names its people (--red-to), and a
// bulk export leaves RED out, says so, and the database holds no RED text.
func TestShareRedAndExport(t *testing.T) {
	dir := initNode(t)
	const canary = "RED canary 71e2 for alice only"
	red := filepath.Join(t.TempDir(), "red.json")
	os.WriteFile(red, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f","created":"2026-11-20T08:00:00.000Z","modified":"2026-11-20T08:00:00.000Z","name":"`+canary+`","pattern":"[ipv4-addr:value = '203.0.113.99']","pattern_type":"stix","valid_from":"2026-11-20T08:00:00Z"}`), 0o600)
	amber := filepath.Join(t.TempDir(), "amber.json")
	os.WriteFile(amber, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a","created":"2026-11-20T08:00:00.000Z","modified":"2026-11-20T08:00:00.000Z","name":"AMBER","pattern":"[ipv4-addr:value = '203.0.113.98']","pattern_type":"stix","valid_from":"2026-11-20T08:00:00Z","object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}`), 0o600)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tlp", "red", red}, "--red-to"},
		{[]string{"--tlp", "amber", "--red-to", "alice@self", amber}, "for --tlp red only"},
		{[]string{"--tlp", "red", "--red-to", "alice", red}, "USER@NODE"},
	} {
		r := run(t, nil, "", append([]string{"share", "--data", dir}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("share %v: exit %d, want 2 and %q:\n%s", c.args, r.code, c.want, r.stderr)
		}
	}
	mustRun(t, "", "share", "--data", dir, "--tlp", "red", "--red-to", "alice@self", red)
	mustRun(t, "", "import", "--data", dir, amber)

	r := mustRun(t, "", "export", "--data", dir)
	if strings.Contains(r.stdout, "indicator--1c2d3e4f") || !strings.Contains(r.stdout, "indicator--2d3e4f5a") {
		t.Fatalf("export must hold the AMBER object and not the RED one:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "1 TLP:RED objects withheld") {
		t.Fatalf("export does not say it withheld RED:\n%s", r.stderr)
	}
	for _, f := range []string{"entraide.db", "entraide.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err == nil && bytes.Contains(b, []byte(canary)) {
			t.Fatalf("%s holds the RED object's text", f)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "keys", "data.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("data key: %v", err)
	}
}
