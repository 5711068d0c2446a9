package storetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// runFederation runs the cases of the federation part of the store: peers
// and their keys, communities, provenance and the outbox.
func runFederation(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Peers", testPeers},
		{"PeerKeysAfterRotation", testPeerKeys},
		{"PeerContact", testPeerContact},
		{"Communities", testCommunities},
		{"AddObjectsWithAtomicity", testAddWithAtomicity},
		{"OutboxOrder", testOutboxOrder},
		{"OutboxRetry", testOutboxRetry},
		{"OutboxStats", testOutboxStats},
		{"OutboxTotals", testOutboxTotals},
		{"AddObjectsWithFold", testAddWithFold},
		{"AddObjectsWithAudit", testAddWithAudit},
		{"ProvenanceFirstWriterWins", testProvenanceFirst},
		{"ProvenanceSharedAgain", testProvenanceSharedAgain},
		{"SharingLog", testSharingLog},
		{"RemovePeerFailsItsQueue", testRemovePeerQueue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(Start)
			s := open(t, clk)
			t.Cleanup(func() { s.Close() })
			c.fn(t, &env{t: t, s: s, clk: clk, ctx: t.Context()})
		})
	}
}

// Identities of the peers of the suite.
const (
	peerEE = "identity--1c3e5a7b-9d0f-5a2c-8e4b-6d8f0a1c3e5a"
	peerDE = "identity--2d4f6b8c-0e1a-5b3d-9f5c-7e9a1b2d4f6b"
	peerLV = "identity--3e5a7c9d-1f2b-5c4e-8a6d-8f0b2c3e5a7c"
	self   = "identity--4f6b8d0e-2a3c-5d5f-9b7e-9a1c3d4f6b8d"
)

// testKey returns a deterministic Ed25519 public key.
func testKey(seed string) ed25519.PublicKey {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey)
}

func spki(seed string) string {
	s := sha256.Sum256([]byte("spki " + seed))
	return fmt.Sprintf("%x", s)
}

func testPeer(id, name string) store.Peer {
	return store.Peer{
		IdentityID: id, Name: name, Organisation: "CSIRT of " + name, Country: strings.ToUpper(name[len(name)-2:]),
		Endpoint: "https://" + name + ".example:8444/", TLSSPKI: spki(name), Card: []byte(`{"card":"` + name + `"}`),
		Keys: []store.PeerKey{{Key: testKey(name + " 1")}},
	}
}

func (e *env) putPeer(p store.Peer) {
	e.t.Helper()
	if err := e.s.PutPeer(e.ctx, p); err != nil {
		e.t.Fatalf("PutPeer(%s): %v", p.Name, err)
	}
}

func (e *env) peer(nameOrID string) store.Peer {
	e.t.Helper()
	p, err := e.s.Peer(e.ctx, nameOrID)
	if err != nil {
		e.t.Fatalf("Peer(%s): %v", nameOrID, err)
	}
	return p
}

func testPeers(t *testing.T, e *env) {
	ps, err := e.s.Peers(e.ctx)
	if err != nil || len(ps) != 0 {
		t.Fatalf("Peers of an empty store: %v, %v", ps, err)
	}
	ee, de := testPeer(peerEE, "cert-ee"), testPeer(peerDE, "cert-de")
	e.putPeer(ee)
	e.clk.Advance(time.Minute)
	e.putPeer(de)
	for _, key := range []string{"cert-ee", peerEE} {
		got := e.peer(key)
		want := ee
		want.Added = Start
		want.Keys = []store.PeerKey{{Key: ee.Keys[0].Key, Added: Start}}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("Peer(%s):\n got %+v\nwant %+v", key, got, want)
		}
	}
	ps, err = e.s.Peers(e.ctx)
	if err != nil || len(ps) != 2 || ps[0].Name != "cert-de" || ps[1].Name != "cert-ee" || len(ps[0].Keys) != 1 || len(ps[1].Keys) != 1 {
		t.Fatalf("Peers: %+v, %v; want cert-de then cert-ee, with a key each", ps, err)
	}
	// Replacing keeps the first Added time and the keys.
	e.clk.Advance(time.Hour)
	ee2 := ee
	ee2.Endpoint, ee2.Keys, ee2.Card = "https://ee2.example:9444/", nil, []byte("new card")
	e.putPeer(ee2)
	got := e.peer(peerEE)
	if got.Endpoint != ee2.Endpoint || string(got.Card) != "new card" || !got.Added.Equal(Start) || len(got.Keys) != 1 {
		t.Errorf("after replacing: %+v", got)
	}
	// Unique name, unique TLS key, identity ids are not names.
	clash := testPeer(peerLV, "cert-ee")
	expectErr(t, "another peer's name", e.s.PutPeer(e.ctx, clash), store.ErrConflict)
	clash = testPeer(peerLV, "cert-lv")
	clash.TLSSPKI = de.TLSSPKI
	expectErr(t, "another peer's TLS key", e.s.PutPeer(e.ctx, clash), store.ErrConflict)
	expectErr(t, "a name like an identity id", e.s.PutPeer(e.ctx, testPeer(peerLV, "identity--lv")), store.ErrInvalid)
	expectErr(t, "no identity", e.s.PutPeer(e.ctx, testPeer("", "cert-lv")), store.ErrInvalid)
	bad := testPeer(peerLV, "cert-lv")
	bad.Keys = []store.PeerKey{{Key: ed25519.PublicKey{1, 2, 3}}}
	expectErr(t, "a short key", e.s.PutPeer(e.ctx, bad), store.ErrInvalid)
	// Renaming is a replace with another name.
	ren := ee
	ren.Name = "estonia"
	e.putPeer(ren)
	if e.peer("estonia").IdentityID != peerEE {
		t.Error("rename")
	}
	_, err = e.s.Peer(e.ctx, "cert-ee")
	expectErr(t, "old name", err, store.ErrNotFound)

	if err := e.s.RemovePeer(e.ctx, "estonia"); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Peer(e.ctx, peerEE)
	expectErr(t, "removed peer", err, store.ErrNotFound)
	expectErr(t, "remove twice", e.s.RemovePeer(e.ctx, peerEE), store.ErrNotFound)
	// Pinned again, it starts afresh.
	e.putPeer(ee)
	if got := e.peer(peerEE); len(got.Keys) != 1 || got.Added.Equal(Start) {
		t.Errorf("pinned again: %+v", got)
	}
}

func testPeerKeys(t *testing.T, e *env) {
	ee := testPeer(peerEE, "cert-ee")
	e.putPeer(ee)
	k2, k3 := testKey("ee 2"), testKey("ee 3")
	e.clk.Advance(time.Hour)
	for range 2 { // idempotent
		if err := e.s.AddPeerKey(e.ctx, "cert-ee", k2, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Advance(time.Hour)
	if err := e.s.AddPeerKey(e.ctx, peerEE, k3, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A card carrying the whole chain adds nothing new.
	ee.Keys = []store.PeerKey{{Key: ee.Keys[0].Key}, {Key: k2}, {Key: k3}}
	e.putPeer(ee)
	got := e.peer(peerEE)
	want := []ed25519.PublicKey{ee.Keys[0].Key, k2, k3}
	if len(got.Keys) != 3 || !slices.EqualFunc(got.PublicKeys(), want, func(a, b ed25519.PublicKey) bool { return a.Equal(b) }) {
		t.Fatalf("keys after two rotations: %d keys, want old, second, third in order", len(got.Keys))
	}
	for i, at := range []time.Time{Start, Start.Add(time.Hour), Start.Add(2 * time.Hour)} {
		if !got.Keys[i].Added.Equal(at) {
			t.Errorf("key %d added %v, want %v", i, got.Keys[i].Added, at)
		}
	}
	if !got.CurrentKey().Equal(k3) {
		t.Error("CurrentKey is not the newest key")
	}
	expectErr(t, "key of an unknown peer", e.s.AddPeerKey(e.ctx, "cert-xx", k2, Start), store.ErrNotFound)
	expectErr(t, "short key", e.s.AddPeerKey(e.ctx, "cert-ee", k2[:8], Start), store.ErrInvalid)
	// Another peer may not hold the same key? It may: keys are per peer.
	de := testPeer(peerDE, "cert-de")
	de.Keys = append(de.Keys, store.PeerKey{Key: k2})
	e.putPeer(de)
	if n := len(e.peer("cert-de").Keys); n != 2 {
		t.Errorf("cert-de has %d keys", n)
	}
}

func testPeerContact(t *testing.T, e *env) {
	e.putPeer(testPeer(peerEE, "cert-ee"))
	t1, t2 := Start.Add(time.Minute), Start.Add(2*time.Minute)
	if err := e.s.RecordContact(e.ctx, "cert-ee", t1, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RecordContact(e.ctx, peerEE, t2, "connection refused"); err != nil {
		t.Fatal(err)
	}
	p := e.peer("cert-ee")
	if !p.LastContact.Equal(t1) || p.LastError != "connection refused" || !p.LastErrorAt.Equal(t2) {
		t.Errorf("after a success and a failure: %v %q %v", p.LastContact, p.LastError, p.LastErrorAt)
	}
	if err := e.s.RecordContact(e.ctx, "cert-ee", t2.Add(time.Second), ""); err != nil {
		t.Fatal(err)
	}
	if p := e.peer("cert-ee"); p.LastError != "" || !p.LastContact.Equal(t2.Add(time.Second)) {
		t.Errorf("a success clears the error: %+v", p)
	}
	expectErr(t, "contact of an unknown peer", e.s.RecordContact(e.ctx, "cert-xx", t1, ""), store.ErrNotFound)
}

func testCommunities(t *testing.T, e *env) {
	cs, err := e.s.Communities(e.ctx)
	if err != nil || len(cs) != 0 {
		t.Fatalf("Communities of an empty store: %v, %v", cs, err)
	}
	c, err := e.s.PutCommunity(e.ctx, store.Community{Name: "fr-ee", MaxTLP: stix.TLPAmberStrict,
		Types: []string{"indicator", "report"}, Members: []string{peerEE, self, peerEE}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Collection == "" || !c.Created.Equal(Start) || !slices.Equal(c.Members, []string{peerEE, self}) {
		t.Errorf("PutCommunity returned %+v", c)
	}
	col, err := e.s.Collection(e.ctx, c.Collection)
	if err != nil || col.Alias != "fr-ee" {
		t.Fatalf("the community's collection: %+v, %v", col, err)
	}
	got, err := e.s.Community(e.ctx, "fr-ee")
	if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c) {
		t.Errorf("Community:\n got %+v, %v\nwant %+v", got, err, c)
	}
	// Objects go to its collection like to any other.
	e.add(c.Collection, Indicators(2, 301), "added added")

	e.clk.Advance(time.Hour)
	eu, err := e.s.PutCommunity(e.ctx, store.Community{Name: "eu-csirts", MaxTLP: stix.TLPGreen})
	if err != nil {
		t.Fatal(err)
	}
	if eu.Types == nil || len(eu.Types) != 0 || len(eu.Members) != 0 {
		t.Errorf("no types and no members: %+v", eu)
	}
	// Updating keeps the collection and the creation time.
	upd, err := e.s.PutCommunity(e.ctx, store.Community{Name: "fr-ee", MaxTLP: stix.TLPAmber, Members: []string{peerDE}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Collection != c.Collection || !upd.Created.Equal(Start) || upd.MaxTLP != stix.TLPAmber {
		t.Errorf("update: %+v", upd)
	}
	if err := e.s.SetCommunityMembers(e.ctx, "fr-ee", []string{self, peerLV, peerEE}); err != nil {
		t.Fatal(err)
	}
	cs, err = e.s.Communities(e.ctx)
	if err != nil || len(cs) != 2 || cs[0].Name != "eu-csirts" || cs[1].Name != "fr-ee" {
		t.Fatalf("Communities: %+v, %v", cs, err)
	}
	if want := []string{peerEE, peerLV, self}; !slices.Equal(cs[1].Members, want) || len(cs[1].Types) != 0 {
		t.Errorf("fr-ee members %q types %q; want %q and no types", cs[1].Members, cs[1].Types, want)
	}
	expectErr(t, "members of an unknown community", e.s.SetCommunityMembers(e.ctx, "xx", nil), store.ErrNotFound)
	_, err = e.s.Community(e.ctx, "xx")
	expectErr(t, "unknown community", err, store.ErrNotFound)
	for _, bad := range []store.Community{{Name: "FR EE", MaxTLP: stix.TLPRed}, {Name: "", MaxTLP: stix.TLPRed}, {Name: "ok"}} {
		_, err := e.s.PutCommunity(e.ctx, bad)
		expectErr(t, fmt.Sprintf("community %+v", bad), err, store.ErrInvalid)
	}
	// A name that is already another collection's alias.
	if err := e.s.CreateCollection(e.ctx, store.Collection{ID: "f0c2d4e6-0000-4000-8000-000000000006", Title: "x", Alias: "taken"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.PutCommunity(e.ctx, store.Community{Name: "taken", MaxTLP: stix.TLPGreen})
	expectErr(t, "community named like a collection alias", err, store.ErrConflict)
	if _, err := e.s.Community(e.ctx, "taken"); err == nil {
		t.Error("a refused community was created")
	}

	// Deleting keeps the collection and its objects, and frees the name.
	if err := e.s.DeleteCommunity(e.ctx, "fr-ee"); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "delete twice", e.s.DeleteCommunity(e.ctx, "fr-ee"), store.ErrNotFound)
	if n := len(e.list(c.Collection, store.Query{})); n != 2 {
		t.Errorf("the deleted community's collection lists %d objects, want 2", n)
	}
	again, err := e.s.PutCommunity(e.ctx, store.Community{Name: "fr-ee", MaxTLP: stix.TLPClear})
	if err != nil || again.Collection == c.Collection || len(again.Members) != 0 {
		t.Errorf("created again: %+v, %v; want a new collection and no members", again, err)
	}
}

// share queues objs (all of them) for each peer, for community.
func share(objs []*stix.Object, community string, peers ...string) []store.OutboxItem {
	var items []store.OutboxItem
	for i := range objs {
		for _, p := range peers {
			items = append(items, store.OutboxItem{Peer: p, ObjectIndex: i, Community: community})
		}
	}
	return items
}

func (e *env) addWith(coll string, objs []*stix.Object, opt store.AddOptions, want string) []store.AddResult {
	e.t.Helper()
	res, err := e.s.AddObjectsWith(e.ctx, coll, objs, opt)
	if err != nil {
		e.t.Fatalf("AddObjectsWith: %v", err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Outcome.String())
	}
	if want != "" && strings.Join(got, " ") != want {
		e.t.Fatalf("AddObjectsWith outcomes:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	return res
}

func (e *env) pending(peer string, limit int) []store.OutboxRow {
	e.t.Helper()
	rows, err := e.s.PendingOutbox(e.ctx, peer, e.clk.Now(), limit)
	if err != nil {
		e.t.Fatalf("PendingOutbox: %v", err)
	}
	return rows
}

func own(n int) []store.Provenance {
	ps := make([]store.Provenance, n)
	for i := range ps {
		ps[i] = store.Provenance{Origin: self, Distribution: store.Distribution{Communities: []string{"fr-ee"}}}
	}
	return ps
}

// testAddWithAtomicity makes AddObjectsWith fail at many steps (like
// testAtomicity) into two collections with provenance and outbox rows: a
// failed call leaves no entry, no provenance and no outbox row behind.
func testAddWithAtomicity(t *testing.T, e *env) {
	batch := func(seed uint64) []*stix.Object {
		return append(Indicators(300, seed), ipv4(fmt.Sprintf("198.51.100.%d", seed)))
	}
	opts := func(objs []*stix.Object, c2 string) store.AddOptions {
		return store.AddOptions{AlsoCollections: []string{c2}, Provenance: own(len(objs)), Outbox: share(objs, "fr-ee", peerEE, peerDE)}
	}
	c0, c0b := e.collection(), e.collection()
	objs0 := batch(401)
	counter := newFailingContext(1 << 62)
	if _, err := e.s.AddObjectsWith(counter, c0, objs0, opts(objs0, c0b)); err != nil {
		t.Fatal(err)
	}
	calls := counter.calls.Load()
	// Clear the queue of the measuring call.
	var seqs []int64
	for _, p := range []string{peerEE, peerDE} {
		for _, r := range e.pending(p, 10000) {
			seqs = append(seqs, r.Seq)
		}
	}
	if len(seqs) != 2*len(objs0) {
		t.Fatalf("%d outbox rows, want %d", len(seqs), 2*len(objs0))
	}
	if err := e.s.MarkDelivered(e.ctx, seqs, Start); err != nil {
		t.Fatal(err)
	}

	c, cb := e.collection(), e.collection()
	objs := batch(402)
	refs := make([]store.ObjectRef, 0, len(objs))
	for _, o := range objs[:len(objs)-1] {
		refs = append(refs, store.ObjectRef{ID: o.ID, Version: o.Version()})
	}
	var ns []int64
	for n := int64(0); n < calls; n = max(n+1, n*5/4) {
		ns = append(ns, n)
	}
	for n := max(0, calls-6); n < 4*calls+100; n = max(n+1, n*9/8) {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	ns = slices.Compact(ns)
	failures := 0
	for _, n := range ns {
		res, err := e.s.AddObjectsWith(newFailingContext(n), c, objs, opts(objs, cb))
		if err != nil {
			failures++
			left := len(e.list(c, store.Query{})) + len(e.list(cb, store.Query{})) + len(e.pending(peerEE, 0)) + len(e.pending(peerDE, 0))
			prov, perr := e.s.Provenance(e.ctx, refs)
			if perr != nil {
				t.Fatal(perr)
			}
			if left+len(prov) != 0 {
				t.Fatalf("n=%d of %d: a failed AddObjectsWith (%v) left entries, outbox rows or provenance behind (%d, %d)", n, calls, err, left, len(prov))
			}
			continue
		}
		for i, r := range res {
			if r.Outcome != store.Added {
				t.Fatalf("n=%d: object %d is %v after %d failed attempts", n, i, r.Outcome, failures)
			}
		}
		if got := len(e.pending(peerEE, 0)); got != len(objs) {
			t.Errorf("after the successful call: %d rows for cert-ee, want %d", got, len(objs))
		}
		if prov, _ := e.s.Provenance(e.ctx, refs); len(prov) != len(refs) {
			t.Errorf("after the successful call: %d provenances, want %d", len(prov), len(refs))
		}
		if n := len(e.list(cb, store.Query{})); n != len(objs) {
			t.Errorf("the other collection lists %d objects, want %d", n, len(objs))
		}
		break
	}
	if failures < 10 || failures == len(ns) {
		t.Errorf("%d failed attempts of %d: the test does not exercise AddObjectsWith", failures, len(ns))
	}
	// Invalid options are refused before anything is written.
	_, err := e.s.AddObjectsWith(e.ctx, c, objs[:2], store.AddOptions{Provenance: own(1)})
	expectErr(t, "provenance of the wrong length", err, store.ErrInvalid)
	_, err = e.s.AddObjectsWith(e.ctx, c, objs[:2], store.AddOptions{Outbox: []store.OutboxItem{{Peer: peerEE, ObjectIndex: 2}}})
	expectErr(t, "outbox index out of range", err, store.ErrInvalid)
	_, err = e.s.AddObjectsWith(e.ctx, c, objs[:2], store.AddOptions{Outbox: []store.OutboxItem{{ObjectIndex: 0}}})
	expectErr(t, "outbox item without peer", err, store.ErrInvalid)
	_, err = e.s.AddObjectsWith(e.ctx, c, objs[:2], store.AddOptions{AlsoCollections: []string{"d0c2d4e6-0000-4000-8000-000000000004"}})
	expectErr(t, "unknown other collection", err, store.ErrNotFound)
}

func testOutboxOrder(t *testing.T, e *env) {
	c := e.collection()
	b1, b2 := Indicators(5, 501), Indicators(3, 502)
	e.addWith(c, b1, store.AddOptions{Outbox: share(b1, "fr-ee", peerEE, peerDE)}, "")
	e.clk.Advance(time.Second)
	e.addWith(c, b2, store.AddOptions{Outbox: share(b2, "", peerEE)}, "")
	rows := e.pending(peerEE, 0)
	want := append(ids(b1), ids(b2)...)
	var got []string
	for i, r := range rows {
		got = append(got, r.ID)
		if i > 0 && r.Seq <= rows[i-1].Seq {
			t.Errorf("seq %d after %d: not strictly increasing", r.Seq, rows[i-1].Seq)
		}
		o := append(b1, b2...)[i]
		if !bytes.Equal(r.Raw, o.Raw) || r.Version != o.Version() || r.Type != "indicator" || r.Peer != peerEE {
			t.Errorf("row %d: %+v", i, r)
		}
		if wantC := map[bool]string{true: "fr-ee", false: ""}[i < len(b1)]; r.Community != wantC {
			t.Errorf("row %d: community %q, want %q", i, r.Community, wantC)
		}
		if tl, _ := o.TLP(); r.TLP != tl || !tl.Valid() {
			t.Errorf("row %d: TLP %v, want %v", i, r.TLP, tl)
		}
		if r.Attempts != 0 || !r.NextAttempt.Equal(r.Created) {
			t.Errorf("row %d: a fresh row has %d attempts, next attempt %v (created %v)", i, r.Attempts, r.NextAttempt, r.Created)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("cert-ee's queue: %q, want %q", got, want)
	}
	if got := e.pending(peerDE, 0); len(got) != len(b1) {
		t.Errorf("cert-de's queue: %d rows, want %d", len(got), len(b1))
	}
	if got := e.pending(peerEE, 3); len(got) != 3 || got[0].ID != b1[0].ID {
		t.Errorf("limit 3: %d rows", len(got))
	}
	if got := e.pending(peerLV, 0); len(got) != 0 {
		t.Errorf("a peer with nothing queued: %d rows", len(got))
	}
	// Conflicts are not queued; duplicates are (sharing again sends again).
	conflict := indicator(b1[0].ID, b1[0].Created, b1[0].Modified, `"name":"changed"`)
	e.addWith(c, []*stix.Object{conflict, b1[1]}, store.AddOptions{Outbox: share([]*stix.Object{conflict, b1[1]}, "", peerLV)}, "conflict duplicate")
	if got := e.pending(peerLV, 0); len(got) != 1 || got[0].ID != b1[1].ID {
		t.Errorf("after a conflict and a duplicate: %d rows for cert-lv, want the duplicate", len(got))
	}
}

func testOutboxRetry(t *testing.T, e *env) {
	c := e.collection()
	objs := Indicators(3, 601)
	e.addWith(c, objs, store.AddOptions{Outbox: share(objs, "", peerEE)}, "")
	rows := e.pending(peerEE, 0)
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	// The first fails and is retried in a minute; the second fails for good.
	if err := e.s.MarkFailed(e.ctx, rows[0].Seq, e.clk.Now(), "503 from peer", Start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.MarkFailed(e.ctx, rows[1].Seq, e.clk.Now(), "refused: forbidden", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := e.pending(peerEE, 0); len(got) != 1 || got[0].Seq != rows[2].Seq {
		t.Fatalf("before the retry time: %d rows pending, want only the third", len(got))
	}
	e.clk.Advance(time.Minute - time.Microsecond)
	if got := e.pending(peerEE, 0); len(got) != 1 {
		t.Fatalf("just before the retry time: %d rows", len(got))
	}
	e.clk.Advance(time.Microsecond)
	got := e.pending(peerEE, 0)
	if len(got) != 2 || got[0].Seq != rows[0].Seq || got[0].Attempts != 1 || got[0].LastError != "503 from peer" ||
		!got[0].NextAttempt.Equal(Start.Add(time.Minute)) {
		t.Fatalf("at the retry time: %+v", got)
	}
	// Delivered twice: the first time counts.
	at := e.clk.Now()
	if err := e.s.MarkDelivered(e.ctx, []int64{rows[0].Seq, rows[2].Seq}, at); err != nil {
		t.Fatal(err)
	}
	if err := e.s.MarkDelivered(e.ctx, []int64{rows[0].Seq, 999999}, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := e.pending(peerEE, 0); len(got) != 0 {
		t.Fatalf("after delivery: %d rows pending", len(got))
	}
	// A late failure report of a delivered row changes nothing.
	if err := e.s.MarkFailed(e.ctx, rows[0].Seq, at, "late", time.Time{}); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "MarkFailed of an unknown row", e.s.MarkFailed(e.ctx, 999999, at, "x", time.Time{}), store.ErrNotFound)
	log, err := e.s.SharingLog(e.ctx, time.Time{}, peerEE, 0)
	if err != nil || len(log) != 3 {
		t.Fatalf("SharingLog: %d rows, %v", len(log), err)
	}
	if !log[0].DeliveredAt.Equal(at) || log[0].Failed || log[0].Attempts != 2 || log[0].LastError != "503 from peer" {
		t.Errorf("retried then delivered: %+v", log[0])
	}
	if !log[1].Failed || !log[1].FailedAt.Equal(Start) || !log[1].DeliveredAt.IsZero() || log[1].LastError != "refused: forbidden" {
		t.Errorf("failed for good: %+v", log[1])
	}
}

func testOutboxStats(t *testing.T, e *env) {
	st, err := e.s.OutboxStats(e.ctx)
	if err != nil || len(st) != 0 {
		t.Fatalf("stats of an empty outbox: %v, %v", st, err)
	}
	c := e.collection()
	b1 := Indicators(4, 701)
	e.addWith(c, b1, store.AddOptions{Outbox: share(b1, "", peerEE, peerDE)}, "")
	e.clk.Advance(time.Minute)
	b2 := Indicators(2, 702)
	e.addWith(c, b2, store.AddOptions{Outbox: share(b2, "", peerEE)}, "")
	rows := e.pending(peerEE, 0)
	delivered := Start.Add(2 * time.Minute)
	if err := e.s.MarkDelivered(e.ctx, []int64{rows[0].Seq, rows[1].Seq}, delivered); err != nil {
		t.Fatal(err)
	}
	if err := e.s.MarkFailed(e.ctx, rows[2].Seq, delivered, "gone", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.MarkFailed(e.ctx, rows[3].Seq, delivered, "busy", delivered.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, err = e.s.OutboxStats(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.QueueStats{
		peerEE: {Pending: 3, OldestPending: Start, Delivered: 2, Failed: 1, LastDelivered: delivered},
		peerDE: {Pending: 4, OldestPending: Start},
	}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("OutboxStats:\n got %+v\nwant %+v", st, want)
	}
}

func testProvenanceFirst(t *testing.T, e *env) {
	c, c2 := e.collection(), e.collection()
	objs := Indicators(2, 801)
	ip := ipv4("192.0.2.77")
	all := append(objs, ip)
	first := []store.Provenance{
		{Origin: peerEE, ReceivedFrom: peerEE, ReceivedVia: "fr-ee", ReceivedAt: Start.Add(-time.Minute),
			RedRecipients: []store.Recipient{{Node: self, User: "analyst"}}},
		{Origin: self, Distribution: store.Distribution{Communities: []string{"fr-ee"}, Nodes: []string{peerDE}}},
		{Origin: peerEE, ReceivedFrom: peerEE},
	}
	res := e.addWith(c, all, store.AddOptions{Provenance: first, Outbox: share(all, "fr-ee", peerDE)}, "added added added")
	// The same versions arrive again by another way, in another collection:
	// the first provenance stays; the duplicates are queued again.
	e.clk.Advance(time.Hour)
	later := []store.Provenance{{Origin: peerEE, ReceivedFrom: peerLV, ReceivedVia: "eu"}, {Origin: peerLV}, {Origin: peerLV}}
	e.addWith(c2, all, store.AddOptions{Provenance: later, Outbox: share(all, "", peerDE)}, "duplicate duplicate duplicate")
	// Within one batch, the first of two wins as well.
	b := Indicators(1, 802)[0]
	e.addWith(c, []*stix.Object{b, b}, store.AddOptions{Provenance: []store.Provenance{{Origin: peerDE}, {Origin: peerLV}}}, "added duplicate")
	// A zero provenance records nothing.
	z := Indicators(1, 803)[0]
	e.addWith(c, []*stix.Object{z}, store.AddOptions{Provenance: []store.Provenance{{}}}, "added")

	refs := []store.ObjectRef{
		{ID: objs[0].ID, Version: objs[0].Version()},
		{ID: objs[1].ID, Version: objs[1].Version()},
		{ID: ip.ID, Version: res[2].Version},
		{ID: b.ID, Version: b.Version()},
		{ID: z.ID, Version: z.Version()},
		{ID: objs[0].ID, Version: "2030-01-01T00:00:00Z"},
	}
	got, err := e.s.Provenance(e.ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	want0 := first[0]
	want1 := first[1]
	want1.ReceivedAt = Start
	want2 := first[2]
	want2.ReceivedAt = Start
	want2.Distribution = store.Distribution{Communities: []string{}, Nodes: []string{}}
	want0.Distribution = want2.Distribution
	for i, want := range []store.Provenance{want0, want1, want2} {
		if fmt.Sprintf("%+v", got[refs[i]]) != fmt.Sprintf("%+v", want) {
			t.Errorf("provenance of %s:\n got %+v\nwant %+v", refs[i].ID, got[refs[i]], want)
		}
	}
	if got[refs[3]].Origin != peerDE {
		t.Errorf("two provenances in one batch: origin %q, want the first's", got[refs[3]].Origin)
	}
	if _, ok := got[refs[4]]; ok {
		t.Error("a zero provenance was recorded")
	}
	if _, ok := got[refs[5]]; ok {
		t.Error("provenance of a version that is not stored")
	}
	// Another spelling of the same version finds it.
	alt := store.ObjectRef{ID: objs[0].ID, Version: strings.TrimSuffix(objs[0].Version(), "Z") + "000Z"}
	if m, err := e.s.Provenance(e.ctx, []store.ObjectRef{alt}); err != nil || m[alt].Origin != peerEE {
		t.Errorf("provenance by another spelling %s: %+v, %v", alt.Version, m, err)
	}
	if rows := e.pending(peerDE, 0); len(rows) != 6 {
		t.Errorf("%d rows queued for cert-de, want 6 (3 shared, then 3 duplicates shared again)", len(rows))
	}
}

// A version its originator shares again, to another community or node,
// keeps its first provenance but records the union of the distributions:
// the pull path and the sharing report read it. Another origin's later
// provenance widens nothing.
func testProvenanceSharedAgain(t *testing.T, e *env) {
	c, c2 := e.collection(), e.collection()
	objs := Indicators(3, 811)
	at := Start.Add(-time.Minute)
	mine := func(coms []string, nodes ...string) store.Provenance {
		return store.Provenance{Origin: self, ReceivedAt: at, Distribution: store.Distribution{Communities: coms, Nodes: nodes}}
	}
	e.addWith(c, objs, store.AddOptions{Provenance: []store.Provenance{
		mine([]string{"fr-ee"}), mine(nil, peerDE),
		{Origin: peerEE, ReceivedFrom: peerEE, ReceivedVia: "fr-ee", ReceivedAt: at},
	}}, "added added added")
	e.clk.Advance(time.Hour)
	// Shared again: objs[0] to another community and a node, objs[1] to a
	// community and the node it had; objs[2] (received) "shared" by another
	// origin, which must not widen it.
	e.addWith(c2, objs, store.AddOptions{Provenance: []store.Provenance{
		mine([]string{"eu-csirt", "fr-ee"}, peerLV), mine([]string{"eu-csirt"}, peerDE),
		{Origin: self, Distribution: store.Distribution{Communities: []string{"eu-csirt"}}},
	}}, "duplicate duplicate duplicate")
	// Twice in one batch: both distributions are recorded.
	b := Indicators(1, 812)[0]
	e.addWith(c, []*stix.Object{b, b}, store.AddOptions{Provenance: []store.Provenance{mine([]string{"a"}), mine([]string{"b"}, peerDE)}},
		"added duplicate")
	// Shared again with nothing new: unchanged.
	e.addWith(c, objs[:1], store.AddOptions{Provenance: []store.Provenance{mine([]string{"fr-ee"})}}, "duplicate")

	refs := []store.ObjectRef{
		{ID: objs[0].ID, Version: objs[0].Version()},
		{ID: objs[1].ID, Version: objs[1].Version()},
		{ID: objs[2].ID, Version: objs[2].Version()},
		{ID: b.ID, Version: b.Version()},
	}
	got, err := e.s.Provenance(e.ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Provenance{
		mine([]string{"fr-ee", "eu-csirt"}, peerLV),
		mine([]string{"eu-csirt"}, peerDE),
		{Origin: peerEE, ReceivedFrom: peerEE, ReceivedVia: "fr-ee", ReceivedAt: at, Distribution: store.Distribution{Communities: []string{}, Nodes: []string{}}},
		mine([]string{"a", "b"}, peerDE),
	}
	want[1].Distribution.Nodes = []string{peerDE}
	for i, w := range want {
		if fmt.Sprintf("%+v", got[refs[i]]) != fmt.Sprintf("%+v", w) {
			t.Errorf("provenance of object %d (%s):\n got %+v\nwant %+v", i, refs[i].ID, got[refs[i]], w)
		}
	}
}

func testSharingLog(t *testing.T, e *env) {
	c := e.collection()
	b1 := Indicators(2, 901)
	e.addWith(c, b1, store.AddOptions{Outbox: share(b1, "fr-ee", peerEE, peerDE)}, "")
	e.clk.Advance(time.Hour)
	unmarked := indicator(idA, t1, t1)
	e.addWith(c, []*stix.Object{unmarked}, store.AddOptions{Outbox: share([]*stix.Object{unmarked}, "", peerEE)}, "")
	log, err := e.s.SharingLog(e.ctx, time.Time{}, "", 0)
	if err != nil || len(log) != 5 {
		t.Fatalf("SharingLog: %d rows, %v", len(log), err)
	}
	for i, r := range log {
		if i > 0 && r.Seq <= log[i-1].Seq {
			t.Error("not ordered by seq")
		}
	}
	tl, _ := b1[0].TLP()
	if r := log[0]; r.Peer != peerEE || r.ObjectID != b1[0].ID || r.Version != b1[0].Version() || r.Type != "indicator" ||
		r.TLP != tl || r.Community != "fr-ee" || !r.Created.Equal(Start) || !r.DeliveredAt.IsZero() || r.Failed {
		t.Errorf("first record: %+v", r)
	}
	if r := log[4]; r.TLP != 0 || r.Community != "" || !r.Created.Equal(Start.Add(time.Hour)) {
		t.Errorf("unmarked direct share: %+v", r)
	}
	if log, _ := e.s.SharingLog(e.ctx, Start.Add(time.Hour), "", 0); len(log) != 1 {
		t.Errorf("since the second share: %d rows", len(log))
	}
	if log, _ := e.s.SharingLog(e.ctx, time.Time{}, peerDE, 0); len(log) != 2 || log[0].Peer != peerDE {
		t.Errorf("cert-de only: %+v", log)
	}
	if log, _ := e.s.SharingLog(e.ctx, time.Time{}, "", 3); len(log) != 3 {
		t.Errorf("limit 3: %d rows", len(log))
	}
}

func testRemovePeerQueue(t *testing.T, e *env) {
	e.putPeer(testPeer(peerEE, "cert-ee"))
	c := e.collection()
	objs := Indicators(2, 1001)
	e.addWith(c, objs, store.AddOptions{Outbox: share(objs, "", peerEE)}, "")
	rows := e.pending(peerEE, 0)
	if err := e.s.MarkDelivered(e.ctx, []int64{rows[0].Seq}, Start); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	if err := e.s.RemovePeer(e.ctx, "cert-ee"); err != nil {
		t.Fatal(err)
	}
	if got := e.pending(peerEE, 0); len(got) != 0 {
		t.Errorf("a removed peer still has %d rows pending", len(got))
	}
	log, _ := e.s.SharingLog(e.ctx, time.Time{}, peerEE, 0)
	if len(log) != 2 || log[0].Failed || !log[1].Failed || log[1].LastError != "peer removed" || !log[1].FailedAt.Equal(Start.Add(time.Minute)) {
		t.Errorf("sharing log after removal: %+v", log)
	}
}
