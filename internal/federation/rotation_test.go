package federation_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
)

// The story: FR rotates its signing key and restarts; it announces the
// rotation, EE and DE pin the new key without re-pinning FR, and accept
// what FR signs with it, while FR's older objects still verify with the old
// key. DE cannot announce a rotation for FR; a replayed rotation changes
// nothing.
func TestRotationAnnounced(t *testing.T) {
	cfg := fast()
	cfg.CosignInterval = time.Hour // the round runs once at each start
	fed := fedtest.Start(t, fedtest.Options{Federation: cfg}, "fr", "ee", "de")
	ctx := context.Background()
	frID := fed.ID("fr")

	res := share(t, fed, "fr", stix.TLPGreen, nil, []string{"cert-ee"}, fedtest.Indicator("signed with FR's first key"))
	oldID := res.Objects[0].ID
	fed.WaitFor("EE to receive the first object", 10*time.Second, func() bool { return fed.Has("ee", oldID) })

	// `entraide key rotate` with serve stopped, then serve again.
	rot1 := rotateAndRestart(t, fed, "fr", cfg)
	for _, by := range []string{"ee", "de"} {
		waitKeys(t, fed, by, "fr", 2)
		// The entry follows the pinning.
		fed.WaitFor(by+" to log FR's rotation", 10*time.Second, func() bool { return countAudit(t, fed, by, audit.KindPeerRotate) > 0 })
		es := entriesOf(t, fed, by, audit.KindPeerRotate)
		if len(es) != 1 || es[0].Peer != frID || es[0].Detail["keys"] != "2" || es[0].Detail["via"] != "federation" {
			t.Fatalf("%s's peer-rotate entries: %+v", by, es)
		}
	}

	// What FR signs now verifies at EE with the new key; the old object
	// with the old one.
	frKeys := fed.Node("fr").Keys
	res = share(t, fed, "fr", stix.TLPGreen, nil, []string{"cert-ee"}, fedtest.Indicator("signed with FR's second key"))
	newID := res.Objects[0].ID
	fed.WaitFor("EE to receive the object signed with the new key", 10*time.Second, func() bool { return fed.Has("ee", newID) })
	if n := countAudit(t, fed, "ee", audit.KindRefuse); n != 0 {
		t.Fatalf("EE refused %d objects", n)
	}
	for id, key := range map[string]int{oldID: 0, newID: 1} {
		r, err := provenance.Verify(storedRaw(t, fed, "ee", id), fed.Node("ee").Fed.Registry())
		if err != nil || r.Signer != frID || !r.Key.Equal(frKeys[key]) {
			t.Fatalf("%s at EE: %v, signed by %s with key %d? %+v", id, err, r.Signer, key+1, r)
		}
	}

	// FR's checkpoints, now signed with its new key, are cosigned.
	if err := fed.Node("fr").Fed.CosignOnce(ctx); err != nil {
		t.Fatalf("FR's round after the rotation: %v", err)
	}
	cp := latestCheckpoint(t, fed.Node("fr").Fed)
	if size, _ := fed.Node("ee").Fed.Audit().CosignedSize(ctx, "cert-fr"); size != cp.Size {
		t.Fatalf("EE cosigned size %d of FR's log, want %d", size, cp.Size)
	}

	// DE announces FR's rotation to EE: refused, and audited.
	var werr wireErr
	if st := callRaw(t, fed, "de", "ee", http.MethodPost, federation.PathRotation, "application/json", rot1, &werr); st != http.StatusForbidden || werr.Code != "forbidden" {
		t.Fatalf("DE announcing for FR: %d %+v, want 403 forbidden", st, werr)
	}
	if ref := entriesOf(t, fed, "ee", audit.KindRefuse); len(ref) != 1 || ref[0].Peer != fed.ID("de") {
		t.Fatalf("EE's refusals: %+v", ref)
	}
	waitKeys(t, fed, "ee", "de", 1)

	// A second rotation; then FR's first one replayed changes nothing.
	rotateAndRestart(t, fed, "fr", cfg)
	waitKeys(t, fed, "ee", "fr", 3)
	fed.WaitFor("EE to log FR's second rotation", 10*time.Second, func() bool { return countAudit(t, fed, "ee", audit.KindPeerRotate) == 2 })
	var out struct {
		IdentityID string `json:"identity_id"`
		Keys       int    `json:"keys"`
		Applied    bool   `json:"applied"`
	}
	if st := callRaw(t, fed, "fr", "ee", http.MethodPost, federation.PathRotation, "application/json", rot1, &out); st != http.StatusOK ||
		out.Applied || out.Keys != 3 || out.IdentityID != frID {
		t.Fatalf("replayed rotation: %d %+v, want 200, not applied, 3 keys", st, out)
	}
	if n := len(entriesOf(t, fed, "ee", audit.KindPeerRotate)); n != 2 {
		t.Fatalf("EE logged %d rotations of FR, want 2", n)
	}
	waitKeys(t, fed, "ee", "fr", 3)
}

// rotateAndRestart rotates the signing key of a stopped node and starts it
// again as `serve` would, with a federation opened on the rotated node. It
// returns the rotation statement.
func rotateAndRestart(t *testing.T, fed *fedtest.Federation, name string, cfg federation.Config) []byte {
	t.Helper()
	fed.Stop(name)
	n := fed.Node(name)
	rot, _, err := n.RotateKey()
	if err != nil {
		t.Fatalf("%s rotates: %v", name, err)
	}
	if n.Fed, err = federation.New(context.Background(), n.Node, cfg); err != nil {
		t.Fatal(err)
	}
	fed.Start(name)
	return rot
}

// waitKeys waits until node by has pinned want signing keys of node of.
func waitKeys(t *testing.T, fed *fedtest.Federation, by, of string, want int) {
	t.Helper()
	var got int
	fed.WaitFor("the keys of "+of+" at "+by, 10*time.Second, func() bool {
		p, err := fed.Node(by).Fed.Registry().Get(context.Background(), "cert-"+of)
		got = len(p.Keys)
		return err == nil && got == want
	})
}
