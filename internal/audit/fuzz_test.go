package audit_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store/storetest"
)

// FuzzCosignRequest feeds ParseCosignRequest what a partner could send, and
// the checks Cosign runs on what it accepts: nothing panics, what parses
// re-encodes to a request that parses the same.
func FuzzCosignRequest(f *testing.F) {
	f.Add(readFile(f, "cosign-request.golden"))
	f.Add([]byte(`{"checkpoint":"x\n","old_size":0,"proof":[]}`))
	f.Add([]byte(`{"checkpoint":"entraide/audit/v1/cert-fr\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n","old_size":3,"proof":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}`))
	f.Add([]byte(`{"checkpoint":"","old_size":-1}`))
	f.Add([]byte(`{}`))
	_, v, err := audit.NewSigner("cert-fr", storetest.AuditKey("cert-fr"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := audit.ParseCosignRequest(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("Marshal of a parsed request: %v", err)
		}
		req2, err := audit.ParseCosignRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not parse: %v\n%s", err, again)
		}
		if !bytes.Equal(req.Checkpoint, req2.Checkpoint) || req.OldSize != req2.OldSize || len(req.Proof) != len(req2.Proof) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", req, req2)
		}
		for i := range req.Proof {
			if req.Proof[i] != req2.Proof[i] {
				t.Fatalf("proof hash %d changed", i)
			}
		}
		// What Cosign does next.
		n, err := note.Open(req.Checkpoint, note.VerifierList(v))
		if err != nil {
			return
		}
		_, tree, err := audit.ParseCheckpoint([]byte(n.Text))
		if err != nil {
			return
		}
		if req.OldSize > 0 {
			_ = tlog.CheckTree(req.Proof, tree.N, tree.Hash, req.OldSize, tlog.Hash{})
		}
	})
}

// FuzzParseCheckpoint: what parses is exactly what FormatCheckpoint writes.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add(audit.FormatCheckpoint("cert-fr", testTree))
	f.Add(tlog.FormatTree(testTree))
	f.Add([]byte("entraide/audit/v1/a\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, tree, err := audit.ParseCheckpoint(b)
		if err != nil {
			return
		}
		if got := audit.FormatCheckpoint(name, tree); !bytes.Equal(got, b) {
			t.Fatalf("parsed %q as (%s, %v), which formats as %q", b, name, tree, got)
		}
	})
}

// FuzzLeaf checks the leaf encoder against the project's independent RFC
// 8785 canonicaliser, and DecodeDetail against EncodeDetail.
func FuzzLeaf(f *testing.F) {
	f.Add("marie", "refusé: \"TLP:RED\"\n", "é", "\x01", int64(7))
	f.Add("", "", "\U0001F600", "\ufb01", int64(1)<<50)
	f.Fuzz(func(t *testing.T, actor, reason, key, value string, seq int64) {
		e := goldenEntries[1]
		e.Actor, e.Reason, e.Seq = actor, reason, seq
		e.Detail = map[string]string{key: value, "k": "v", "\ufb01": "x"}
		if !utf8.ValidString(actor) || !utf8.ValidString(reason) || !utf8.ValidString(key) || !utf8.ValidString(value) {
			return // Append refuses it
		}
		leaf := e.Leaf()
		c, err := stix.Canonicalize(leaf)
		if err != nil {
			t.Fatalf("leaf is not JSON: %v\n%s", err, leaf)
		}
		if seq >= -(1<<53) && seq <= 1<<53 && !bytes.Equal(c, leaf) { // beyond, JSON numbers lose precision
			t.Fatalf("leaf is not canonical:\n got %s\nwant %s", leaf, c)
		}
		d, err := audit.DecodeDetail(audit.EncodeDetail(e.Detail))
		if err != nil || audit.EncodeDetail(d) != audit.EncodeDetail(e.Detail) {
			t.Fatalf("detail round trip: %v", err)
		}
	})
}
