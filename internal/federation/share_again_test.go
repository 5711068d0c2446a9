package federation_test

import (
	"context"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// An object this node signed, shared again later (to a new recipient, or
// once more to the same), keeps its bytes: signing it again would make a
// second content for one (id, version), a conflict on every node.
func TestShareAgainKeepsTheSignedBytes(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk}, "fr", "de", "ee")
	fr := fed.Node("fr").Fed
	first, err := fr.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("again")}, TLP: stix.TLPGreen, Nodes: []string{"cert-de"}})
	if err != nil {
		t.Fatal(err)
	}
	id := first.Objects[0].ID
	fed.WaitFor("DE receives it", 10*time.Second, func() bool { return fed.Has("de", id) })
	cols, _ := fed.Node("fr").Store.Collections(ctx)
	var raw []byte
	for _, c := range cols {
		p, err := fed.Node("fr").Store.ListObjects(ctx, c.ID, store.Query{IDs: []string{id}}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) > 0 {
			raw = p.Entries[0].Raw
		}
	}
	clk.Advance(time.Hour)
	for _, to := range []string{"cert-ee", "cert-de"} {
		res, err := fr.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, TLP: stix.TLPGreen, Nodes: []string{to}})
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Objects[0]; o.Outcome != store.Duplicate || o.Version != first.Objects[0].Version {
			t.Fatalf("shared again to %s: %s %q (%s)", to, o.Outcome, o.Message, o.Version)
		}
	}
	fed.WaitFor("EE receives the same bytes", 10*time.Second, func() bool { return fed.Has("ee", id) })
	// A marking the object does not carry changes it: that is a new signature,
	// refused as a conflict rather than silently rewritten.
	res, err := fr.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, TLP: stix.TLPAmber, Nodes: []string{"cert-ee"}})
	if err == nil && res.Objects[0].Outcome != store.Conflict {
		t.Fatalf("re-marked: %+v", res.Objects[0])
	}
}
