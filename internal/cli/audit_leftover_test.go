package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditVerifyAfterKeyRotation: a node checkpoints its audit log, rotates
// its signing key, and goes on; `audit verify` still finds the log intact,
// the old checkpoint verifying with the key that signed it.
func TestAuditVerifyAfterKeyRotation(t *testing.T) {
	dir := initNode(t)
	share := func(name string) {
		t.Helper()
		f := filepath.Join(t.TempDir(), "indicator.json")
		os.WriteFile(f, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--`+name+`","created":"2026-11-20T08:00:00.000Z",`+
			`"modified":"2026-11-20T08:00:00.000Z","name":"shared","pattern":"[ipv4-addr:value = '203.0.113.7']","pattern_type":"stix",`+
			`"valid_from":"2026-11-20T08:00:00Z"}`), 0o600)
		mustRun(t, "", "share", "--data", dir, "--tlp", "red", "--red-to", "alice@self", f)
	}
	share("5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
	mustRun(t, "", "audit", "verify", "--data", dir, "--checkpoint")
	mustRun(t, "", "key", "rotate", "--data", dir)
	share("6b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e")

	r := run(t, nil, "", "audit", "verify", "--data", dir, "--checkpoint")
	if r.code != 0 || !strings.Contains(r.stdout, "OK:") || !strings.Contains(r.stdout, "signed checkpoint:") {
		t.Fatalf("audit verify after a key rotation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if v := decode[struct {
		OK          bool `json:"ok"`
		Checkpoints int  `json:"checkpoints"`
	}](t, mustRun(t, "", "audit", "verify", "--data", dir, "--json").stdout); !v.OK || v.Checkpoints != 2 {
		t.Fatalf("audit verify --json after a key rotation: %+v, want ok and 2 checkpoints", v)
	}
}
