package federation_test

import (
	"context"
	"slices"
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

// An object shared to one community, then again to another, is recorded
// with both in its distribution: a member of the second community pulling
// from its collection gets it (it was refused while the provenance kept
// only the first share's distribution), and the first community's members
// still do.
func TestShareAgainToAnotherCommunity(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk}, "fr", "de", "ee")
	fed.Community("fr-ee", stix.TLPAmber, "fr", "ee")
	fed.Community("fr-de", stix.TLPAmber, "fr", "de")
	fr := fed.Node("fr")
	first, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("twice")}, TLP: stix.TLPGreen, Communities: []string{"fr-ee"}})
	if err != nil {
		t.Fatal(err)
	}
	id, ver := first.Objects[0].ID, first.Objects[0].Version
	fed.WaitFor("EE receives it", 10*time.Second, func() bool { return fed.Has("ee", id) })
	dePull := peerClient(t, fed, "de", "fr")
	if sees(t, dePull, "fr-de", id) {
		t.Fatal("DE pulls from fr-de an object not shared there yet")
	}
	var raw []byte
	cols, _ := fr.Store.Collections(ctx)
	for _, c := range cols {
		p, err := fr.Store.ListObjects(ctx, c.ID, store.Query{IDs: []string{id}}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) > 0 {
			raw = p.Entries[0].Raw
		}
	}
	clk.Advance(time.Hour)
	again, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, Communities: []string{"fr-de"}})
	if err != nil {
		t.Fatal(err)
	}
	if o := again.Objects[0]; o.Outcome != store.Duplicate || o.Version != ver || len(o.To) != 1 {
		t.Fatalf("shared again: %+v", o)
	}
	fed.WaitFor("DE receives the push", 10*time.Second, func() bool { return fed.Has("de", id) })
	prov, err := fr.Store.Provenance(ctx, []store.ObjectRef{{ID: id, Version: ver}})
	if err != nil {
		t.Fatal(err)
	}
	if d := prov[store.ObjectRef{ID: id, Version: ver}].Distribution; !slices.Equal(d.Communities, []string{"fr-ee", "fr-de"}) {
		t.Errorf("FR records the distribution %+v, want both communities", d)
	}
	if !sees(t, dePull, "fr-de", id) {
		t.Error("DE, a member of fr-de, cannot pull from fr-de an object shared there")
	}
	if !sees(t, peerClient(t, fed, "ee", "fr"), "fr-ee", id) {
		t.Error("EE no longer pulls it from fr-ee")
	}
}
