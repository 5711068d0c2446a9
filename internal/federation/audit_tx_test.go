package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// appendFails is a node's store whose audit appends of their own (the
// transaction after the objects' that the receive and share paths used to
// write their entries in) always fail: what a process killed, or a database
// lost, between the two transactions leaves behind.
type appendFails struct {
	store.Store
	audit.Storage
}

func (appendFails) AppendAudit(context.Context, func(audit.Tip, tlog.HashReader) ([]audit.Entry, []tlog.Hash, error)) error {
	return errors.New("the audit log's own transaction failed")
}

func openTestNode(t *testing.T, name, country string) *node.Node {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), name)
	if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Name: name, Org: "CSIRT " + country, Country: country,
		AdminPassword: "a test password that is long", FedEndpoint: "https://127.0.0.1:9/", Clock: clock.System{},
		Contacts: []card.Contact{{Role: "csirt-24x7", Name: "Duty officer", Email: "duty@" + name + ".example"}}}); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir, func(string) string { return "" }, nil, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestBatchAuditedWithItsObjects: the audit entries of a received batch
// (receipts and refusals) and of a share are written in the transaction
// that stores the objects, so that no failure between two transactions
// can leave objects received or shared without their entries. The node's
// own audit appends fail here: every entry found was written with the
// objects.
func TestBatchAuditedWithItsObjects(t *testing.T) {
	ctx := context.Background()
	fr, ee := openTestNode(t, "cert-fr", "FR"), openTestNode(t, "cert-ee", "EE")
	for _, pair := range [][2]*node.Node{{fr, ee}, {ee, fr}} {
		c, err := pair[1].Card()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pair[0].Registry().AddAs(ctx, c, pair[1].Identity.Name, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	as, err := store.AuditStorage(ee.Store)
	if err != nil {
		t.Fatal(err)
	}
	ee.Store = appendFails{Store: ee.Store, Storage: as}
	eeFed, err := New(ctx, ee, Config{})
	if err != nil {
		t.Fatal(err)
	}
	// FR pushes a signed object and an unsigned one to EE's inbox.
	mark := func(raw []byte) []byte {
		return append(bytes.TrimSuffix(raw, []byte("}")), `,"object_marking_refs":["`+stix.TLPClear.MarkingID()+`"]}`...)
	}
	signed, err := provenance.Sign(mark(indicatorRaw("signed by FR")), fr.Signer, fr.Identity.IdentityID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	unsigned := mark(indicatorRaw("unsigned"))
	outs, err := eeFed.ingest(ctx, store.User{Name: peerPrefix + fr.Identity.IdentityID}, eeFed.inbox,
		[]json.RawMessage{signed, unsigned})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || !outs[0].OK || outs[1].OK {
		t.Fatalf("outcomes: %+v", outs)
	}
	got, _ := stix.Parse(signed)
	bad, _ := stix.Parse(unsigned)
	// And EE shares an object of its own with FR.
	shared := indicatorRaw("shared by EE")
	res, err := eeFed.Share(ctx, ShareRequest{Objects: [][]byte{shared}, TLP: stix.TLPGreen, Nodes: []string{"cert-fr"}, Actor: "analyst"})
	if err != nil {
		t.Fatal(err)
	}
	es, err := eeFed.Audit().Entries(ctx, audit.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	has := func(kind audit.Kind, id string) bool {
		for _, e := range es {
			if e.Kind == kind && e.ObjectID == id {
				return true
			}
		}
		return false
	}
	if !has(audit.KindReceive, got.ID) {
		t.Errorf("the receipt of %s is not in the audit log: it was not written with the object (entries: %d)", got.ID, len(es))
	}
	if !has(audit.KindRefuse, bad.ID) {
		t.Errorf("the refusal of %s is not in the audit log (entries: %d)", bad.ID, len(es))
	}
	if !has(audit.KindShare, res.Objects[0].ID) {
		t.Errorf("the share of %s is not in the audit log (entries: %d)", res.Objects[0].ID, len(es))
	}
	if rep, err := eeFed.Audit().Verify(ctx); err != nil || !rep.OK() {
		t.Fatalf("EE's audit log: %v\n%s", err, rep.String())
	}
}

// indicatorRaw is an unsigned, unmarked indicator.
func indicatorRaw(name string) []byte {
	now := stix.FormatTimestamp(time.Now())
	b, _ := json.Marshal(map[string]any{"type": "indicator", "spec_version": "2.1", "id": stix.NewID("indicator"),
		"created": now, "modified": now, "name": name, "pattern": "[ipv4-addr:value = '203.0.113.9']",
		"pattern_type": "stix", "valid_from": now})
	return b
}
