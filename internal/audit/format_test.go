package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store/storetest"
)

// goldenEntries exercise every rule of the leaf encoding: absent fields,
// escapes, non-ASCII text, detail keys whose UTF-16 order differs from
// their UTF-8 order.
var goldenEntries = []audit.Entry{
	{Seq: 0, Time: Start, Kind: audit.KindRedAccess, Actor: "marie"},
	{Seq: 1, Time: Start.Add(123456 * time.Microsecond), Kind: audit.KindSend, Actor: "cert-fr", Peer: "cert-ee",
		ObjectID: "indicator--6f0c3d2e-1b4a-4c5d-8e9f-0a1b2c3d4e5f", ObjectVersion: "2026-01-01T00:00:00.000Z",
		Community: "fr-ee", TLP: "amber+strict"},
	{Seq: 2, Time: Start.Add(time.Second), Kind: audit.KindRefuse, Actor: "cert-ee", Peer: "cert-ee",
		Reason: "signature \"invalide\" \\ ligne\nsuivante\t\x01 — « refusé » 🛡", Detail: map[string]string{
			"z": "last", "a": "first", "é": "e-acute", "\U0001F600": "astral (UTF-16 surrogates sort before U+FB01)", "\ufb01": "ligature",
		}},
	{Seq: 1 << 40, Time: time.Date(2031, 12, 31, 23, 59, 59, 999999000, time.FixedZone("CET", 3600)), Kind: audit.KindPeerRotate,
		Actor: "admin", Peer: "cert-lt", Detail: map[string]string{"old_key": "AAAA", "new_key": "BBBB"}},
}

func TestLeafGolden(t *testing.T) {
	var b bytes.Buffer
	for _, e := range goldenEntries {
		leaf := e.Leaf()
		// The leaf is its own RFC 8785 form, checked by the project's
		// independent canonicaliser.
		c, err := stix.Canonicalize(leaf)
		if err != nil || !bytes.Equal(c, leaf) {
			t.Errorf("leaf of %d is not canonical:\n got %s\nwant %s (%v)", e.Seq, leaf, c, err)
		}
		var m map[string]any
		if err := json.Unmarshal(leaf, &m); err != nil || m["v"] != float64(audit.LeafVersion) {
			t.Errorf("leaf of %d: %v, v=%v", e.Seq, err, m["v"])
		}
		b.Write(leaf)
		b.WriteByte('\n')
	}
	golden(t, "leaf-v1.golden", b.Bytes())
	// An absent detail and an empty one are the same entry.
	e := goldenEntries[0]
	e.Detail = map[string]string{}
	if !bytes.Equal(e.Leaf(), goldenEntries[0].Leaf()) {
		t.Error("an empty Detail changes the leaf")
	}
}

func TestDetailRoundTrip(t *testing.T) {
	d := goldenEntries[2].Detail
	s := audit.EncodeDetail(d)
	got, err := audit.DecodeDetail(s)
	if err != nil || audit.EncodeDetail(got) != s {
		t.Errorf("detail round trip: %q → %v, %v", s, got, err)
	}
	if audit.EncodeDetail(nil) != "" {
		t.Error("EncodeDetail(nil) is not empty")
	}
	if d, err := audit.DecodeDetail(""); d != nil || err != nil {
		t.Errorf("DecodeDetail(\"\"): %v, %v", d, err)
	}
}

// testTree is the tree the golden checkpoint is of.
var testTree = tlog.Tree{N: 10000, Hash: tlog.RecordHash([]byte("entraide"))}

func TestCheckpointGolden(t *testing.T) {
	text := audit.FormatCheckpoint("cert-fr", testTree)
	s, v, err := audit.NewSigner("cert-fr", storetest.AuditKey("cert-fr"))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "checkpoint.golden", signed)
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	name, tree, err := audit.ParseCheckpoint([]byte(n.Text))
	if err != nil || name != "cert-fr" || tree != testTree {
		t.Errorf("ParseCheckpoint: %q %v %v", name, tree, err)
	}
	// The verifier of a node is the same from its public key alone.
	v2, err := audit.NewVerifier("cert-fr", storetest.AuditKey("cert-fr").Public().(ed25519.PublicKey))
	if err != nil || v2.KeyHash() != v.KeyHash() || v2.Name() != "cert-fr" {
		t.Errorf("NewVerifier: %v", err)
	}
	if _, err := note.Open(signed, note.VerifierList(otherVerifier(t))); err == nil {
		t.Error("the checkpoint opens with another node's key")
	}
}

func otherVerifier(t *testing.T) note.Verifier {
	// cert-ee's key under cert-fr's name: the name matches, the key does not.
	v, err := audit.NewVerifier("cert-fr", storetest.AuditKey("cert-ee").Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseCheckpointRefuses(t *testing.T) {
	good := string(audit.FormatCheckpoint("cert-fr", testTree))
	lines := strings.SplitAfter(good, "\n")
	for _, c := range []struct{ name, text string }{
		{"go.sum header", string(tlog.FormatTree(testTree))},
		{"no origin prefix", "cert-fr\n" + lines[1] + lines[2]},
		{"empty name", "entraide/audit/v1/\n" + lines[1] + lines[2]},
		{"name with space", "entraide/audit/v1/cert fr\n" + lines[1] + lines[2]},
		{"upper-case name", "entraide/audit/v1/CERT-FR\n" + lines[1] + lines[2]},
		{"size 0", lines[0] + "0\n" + lines[2]},
		{"negative size", lines[0] + "-1\n" + lines[2]},
		{"leading zero", lines[0] + "010000\n" + lines[2]},
		{"plus sign", lines[0] + "+10000\n" + lines[2]},
		{"short hash", lines[0] + lines[1] + "AAAA\n"},
		{"hash not base64", lines[0] + lines[1] + strings.Repeat("!", 44) + "\n"},
		{"no final newline", strings.TrimSuffix(good, "\n")},
		{"extension line", good + "extra\n"},
		{"blank line", good + "\n"},
		{"empty", ""},
	} {
		if _, _, err := audit.ParseCheckpoint([]byte(c.text)); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	if _, _, err := audit.ParseCheckpoint([]byte(good)); err != nil {
		t.Errorf("good checkpoint: %v", err)
	}
}

func TestCosignRequestGolden(t *testing.T) {
	signed := readFile(t, "checkpoint.golden")
	req := audit.CosignRequest{Checkpoint: signed, OldSize: 6000,
		Proof: tlog.TreeProof{tlog.RecordHash([]byte("a")), tlog.RecordHash([]byte("b")), tlog.RecordHash([]byte("c"))}}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "cosign-request.golden", append(b, '\n'))
	got, err := audit.ParseCosignRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Checkpoint, signed) || got.OldSize != 6000 || len(got.Proof) != 3 || got.Proof[2] != req.Proof[2] {
		t.Errorf("round trip: %+v", got)
	}
	// A first request has no proof.
	b, _ = json.Marshal(audit.CosignRequest{Checkpoint: signed})
	if got, err := audit.ParseCosignRequest(b); err != nil || got.OldSize != 0 || got.Proof != nil {
		t.Errorf("request without proof: %+v, %v", got, err)
	}
}

func TestParseCosignRequestRefuses(t *testing.T) {
	h := `"` + strings.Repeat("A", 43) + `="`
	for _, c := range []struct{ name, body string }{
		{"not JSON", `checkpoint`},
		{"array", `[]`},
		{"unknown member", `{"checkpoint":"x\n","old_size":0,"proof":[],"extra":1}`},
		{"no checkpoint", `{"old_size":0,"proof":[]}`},
		{"negative old size", `{"checkpoint":"x\n","old_size":-1,"proof":[]}`},
		{"proof without old size", `{"checkpoint":"x\n","old_size":0,"proof":[` + h + `]}`},
		{"short hash", `{"checkpoint":"x\n","old_size":3,"proof":["AAAA"]}`},
		{"hash not base64", `{"checkpoint":"x\n","old_size":3,"proof":["` + strings.Repeat("!", 44) + `"]}`},
		{"proof too long", `{"checkpoint":"x\n","old_size":3,"proof":[` + strings.Repeat(h+",", 126) + h + `]}`},
		{"two objects", `{"checkpoint":"x\n","old_size":0,"proof":[]}{}`},
		{"old size not a number", `{"checkpoint":"x\n","old_size":"3","proof":[]}`},
		{"huge", `{"checkpoint":"` + strings.Repeat("x", 1<<20) + `","old_size":0}`},
	} {
		if _, err := audit.ParseCosignRequest([]byte(c.body)); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
