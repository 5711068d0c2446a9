package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/taxii"
	"github.com/entraide/entraide/internal/user"
)

// userAPI serves a node's user TAXII API the way serve's user listener
// does: writes seal RED, every listing passes VisibleToUser.
func userAPI(t *testing.T, n *fedtest.Node) *httptest.Server {
	t.Helper()
	seal, err := n.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	srv := taxii.NewServer(store.WithSealer(n.Store, seal), n.Clock, taxii.Config{Visible: n.Fed.VisibleToUser}, nil)
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// apiClient makes a user of the node (who may read every collection;
// "admin" is the administrator init made) and returns a client of the
// user API with a token of theirs.
func apiClient(t *testing.T, n *fedtest.Node, ts *httptest.Server, name string) *taxii.Client {
	t.Helper()
	ctx := context.Background()
	if name != "admin" {
		cols, err := n.Store.Collections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		perms := map[string]store.Permission{}
		for _, c := range cols {
			perms[c.ID] = store.Permission{Read: true}
		}
		if err := n.Store.PutUser(ctx, store.User{Name: name, Permissions: perms}); err != nil {
			t.Fatal(err)
		}
	}
	secret, hash, err := user.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store.AddToken(ctx, store.Token{ID: stix.NewUUID(), User: name, Hash: hash, Label: "test", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return &taxii.Client{BaseURL: ts.URL + "/api/", HTTP: ts.Client(), Token: secret}
}

// peerClient is node from's mutual-TLS client of node to's federation API.
func peerClient(t *testing.T, fed *fedtest.Federation, from, to string) *taxii.Client {
	t.Helper()
	src := fed.Node(from)
	p, err := src.Fed.Registry().Get(context.Background(), "cert-"+to)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := src.FedTLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return &taxii.Client{BaseURL: strings.TrimRight(p.Endpoint, "/") + "/api/",
		HTTP: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: peer.ClientTLS(cert, p)}}}
}

// sees reports whether a TAXII client gets object id from a collection,
// both through the object endpoint and the manifest (which must agree).
func sees(t *testing.T, c *taxii.Client, coll, id string) bool {
	t.Helper()
	ctx := context.Background()
	objs, err := c.Object(ctx, coll, id, taxii.Query{})
	var te *taxii.Error
	switch {
	case errors.As(err, &te) && te.Status == http.StatusNotFound:
		objs = nil
	case err != nil:
		t.Fatalf("GET %s/%s: %v", coll, id, err)
	}
	inManifest := false
	for r, err := range c.Manifest(ctx, coll, taxii.Query{IDs: []string{id}}) {
		if err != nil {
			t.Fatalf("manifest: %v", err)
		}
		inManifest = inManifest || r.ID == id
	}
	if (len(objs) > 0) != inManifest {
		t.Fatalf("%s: object endpoint shows %d, manifest %v", id, len(objs), inManifest)
	}
	for _, o := range objs {
		var h struct{ ID string }
		if json.Unmarshal(o, &h) != nil || h.ID != id {
			t.Fatalf("served bytes are not the object: %.80s", o)
		}
	}
	return len(objs) > 0
}

// exports reports whether `entraide export`'s filter keeps object id of a
// node's collection (alias).
func exports(t *testing.T, n *fedtest.Node, alias, id string) bool {
	t.Helper()
	ctx := context.Background()
	c := collectionByAlias(t, n, alias)
	p, err := n.Store.ListObjects(ctx, c.ID, store.Query{IDs: []string{id}}, true)
	if err != nil || len(p.Entries) != 1 {
		t.Fatalf("listing %s: %v (%d entries)", id, err, len(p.Entries))
	}
	keep, withheld, err := n.Fed.Exportable(ctx, "cli", p.Entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(keep)+withheld != 1 {
		t.Fatalf("export kept %d and withheld %d of one entry", len(keep), withheld)
	}
	return len(keep) == 1
}

func collectionByAlias(t *testing.T, n *fedtest.Node, alias string) store.Collection {
	t.Helper()
	cols, err := n.Store.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c.Alias == alias {
			return c
		}
	}
	t.Fatalf("%s has no collection %q", n.Name, alias)
	return store.Collection{}
}

// openedRaw is a node's stored object, opened when it is sealed.
func openedRaw(t *testing.T, n *fedtest.Node, alias, id string) []byte {
	t.Helper()
	p, err := n.Store.ListObjects(context.Background(), collectionByAlias(t, n, alias).ID, store.Query{IDs: []string{id}}, true)
	if err != nil || len(p.Entries) != 1 {
		t.Fatalf("listing %s: %v", id, err)
	}
	seal, err := n.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := store.OpenEntry(seal, p.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestEveryPathOneDecision: one object of each TLP level, shared by FR to
// the community eu (FR, EE, DE) — the RED one for alice at FR and alice at
// EE — and then asked for by every path out of a node, through the real
// components: the user API over HTTPS, export's filter, a peer's pull over
// mutual TLS, and a relay pushed over mutual TLS and re-checked on arrival.
func TestEveryPathOneDecision(t *testing.T) {
	fed := fedtest.Start(t, fedtest.Options{Federation: fast()}, "fr", "ee", "de")
	fed.Community("eu", stix.TLPRed, "fr", "ee", "de")
	ctx := context.Background()
	fr, ee, de := fed.Node("fr"), fed.Node("ee"), fed.Node("de")

	levels := []stix.TLP{stix.TLPClear, stix.TLPGreen, stix.TLPAmber, stix.TLPAmberStrict, stix.TLPRed}
	ids := map[stix.TLP]string{}
	for _, l := range levels {
		req := federation.ShareRequest{Objects: [][]byte{fedtest.Indicator(l.String() + " indicator")}, TLP: l, Communities: []string{"eu"}, Actor: "analyst"}
		if l == stix.TLPRed {
			req.RedTo = []string{"alice@self", "alice@cert-ee"}
		}
		res, err := fr.Fed.Share(ctx, req)
		if err != nil {
			t.Fatalf("share %s: %v", l, err)
		}
		ids[l] = res.Objects[0].ID
	}
	for _, l := range levels {
		fed.WaitFor("EE to receive "+l.String(), 10*time.Second, func() bool { return fed.Has("ee", ids[l]) })
		if l != stix.TLPRed {
			fed.WaitFor("DE to receive "+l.String(), 10*time.Second, func() bool { return fed.Has("de", ids[l]) })
		}
	}

	frAPI, eeAPI := userAPI(t, fr), userAPI(t, ee)
	frAlice, frBob, frAdmin := apiClient(t, fr, frAPI, "alice"), apiClient(t, fr, frAPI, "bob"), apiClient(t, fr, frAPI, "admin")
	eeAlice, eeBob := apiClient(t, ee, eeAPI, "alice"), apiClient(t, ee, eeAPI, "bob")
	eePull, dePull := peerClient(t, fed, "ee", "fr"), peerClient(t, fed, "de", "fr")

	type path struct {
		name string
		ask  func(id string) bool
	}
	paths := []path{
		{"api FR named user", func(id string) bool { return sees(t, frAlice, "eu", id) }},
		{"api FR unnamed user", func(id string) bool { return sees(t, frBob, "eu", id) }},
		{"api FR admin", func(id string) bool { return sees(t, frAdmin, "eu", id) }},
		{"api EE named user", func(id string) bool { return sees(t, eeAlice, "eu", id) }},
		{"api EE unnamed user", func(id string) bool { return sees(t, eeBob, "eu", id) }},
		{"export FR", func(id string) bool { return exports(t, fr, "eu", id) }},
		{"export EE", func(id string) bool { return exports(t, ee, "eu", id) }},
		{"pull by EE (named node)", func(id string) bool { return sees(t, eePull, "eu", id) }},
		{"pull by DE", func(id string) bool { return sees(t, dePull, "eu", id) }},
		{"relay EE→DE in eu", func(id string) bool {
			st := pushRaw(t, fed, "ee", "de", "eu", openedRaw(t, ee, "eu", id))
			return len(st.Failures) == 0 && st.SuccessCount == 1
		}},
	}
	y, n := true, false
	want := map[stix.TLP][]bool{
		//                   FR: alice bob  admin EE: alice bob  export FR EE  pull EE DE  relay
		stix.TLPClear:       {y, y, y, y, y, y, y, y, y, y},
		stix.TLPGreen:       {y, y, y, y, y, y, y, y, y, y},
		stix.TLPAmber:       {y, y, y, y, y, y, y, y, y, n},
		stix.TLPAmberStrict: {y, y, y, y, y, y, y, y, y, n},
		stix.TLPRed:         {y, n, n, y, n, n, n, y, n, n},
	}
	for _, l := range levels {
		for i, p := range paths {
			if got := p.ask(ids[l]); got != want[l][i] {
				t.Errorf("%s by %s: got visible=%v, want %v", l, p.name, got, want[l][i])
			}
		}
	}
	if fed.Has("de", ids[stix.TLPRed]) {
		t.Error("DE holds the RED object")
	}
	_ = de
}
