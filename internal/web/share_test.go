package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// defaultCollection is a node's default collection.
func defaultCollection(t *testing.T, st store.Store) store.Collection {
	t.Helper()
	cs, err := st.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Alias == node.DefaultCollectionAlias {
			return c
		}
	}
	t.Fatal("no default collection")
	return store.Collection{}
}

func mustCommunities(t *testing.T, st store.Store) []store.Community {
	t.Helper()
	cs, err := st.Communities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// queuedFor lists the peers (identity ids) a version of an object was
// ever queued for on node n.
func queuedFor(t *testing.T, n *fedtest.Node, id, version string) map[string]store.Delivery {
	t.Helper()
	ws, err := store.Workflows(n.Store)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ws.Deliveries(context.Background(), id, version)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// An analyst at FR shares, from the object's page, an indicator FR made
// to a community: it goes through the federation's Share and reaches the
// community's other member. Shares the policy refuses — TLP:AMBER to a
// community that carries at most GREEN, TLP:RED to a community — say why,
// in English and in French, and queue nothing. An object a partner made is
// not offered (FR does not sign what DE created), a viewer and a liaison
// officer may not share, and every share is audited as made in the console.
func TestShareToCommunity(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(start)
	fed, nodes := startConsoles(t, clk, "fr", "de", "ee")
	fr := nodes["fr"]
	fed.Community("eu-csirts", stix.TLPAmber, "fr", "ee")
	fed.Community("open", stix.TLPGreen, "fr", "de", "ee")
	def := defaultCollection(t, fr.Store)
	read := map[string]store.Permission{def.ID: {Read: true}}
	for _, role := range []string{store.RoleAnalyst, store.RoleLiaison, store.RoleViewer} {
		addUser(t, fr.Store, role, role, read)
	}
	ee := fed.ID("ee")

	// What FR made: an AMBER indicator shared with DE alone, and a RED one
	// for its own analyst.
	res, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("Amber C2 of the bilateral case")},
		TLP: stix.TLPAmber, Nodes: []string{"cert-de"}, Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	amber := res.Objects[0]
	res, err = fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("NIGHTJAR implant")},
		TLP: stix.TLPRed, RedTo: []string{"analyst@self"}, Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	red := res.Objects[0]
	page := func(id string) string { return "/console/intel/default/" + id }

	analyst := fr.b()
	analyst.login("analyst")
	pg := analyst.get(page(amber.ID))
	if pg.status != 200 || count(pg.body, "share-form") != 1 || count(pg.body, "share-community-eu-csirts") != 1 ||
		count(pg.body, "share-community-open") != 1 {
		t.Fatalf("the analyst's object page offers no share form with FR's communities:\n%s", pg.body)
	}
	checkStrict(t, "object page with the share form", pg)

	// Refused: AMBER to a community that carries at most GREEN. Nothing is
	// queued for EE, and the page says why, in English then in French.
	pg = analyst.post(page(amber.ID)+"/share", url.Values{"community": {"open"}})
	if pg.status != http.StatusForbidden || count(pg.body, "share-none") != 1 || count(pg.body, "share-refused") != 2 ||
		!strings.Contains(text(pg.body), "Community open carries at most TLP:GREEN, not TLP:AMBER.") {
		t.Fatalf("AMBER to a GREEN community: %d\n%s", pg.status, pg.body)
	}
	if _, ok := queuedFor(t, fr.Node, amber.ID, amber.Version)[ee]; ok {
		t.Fatal("the refused share queued the AMBER object for EE")
	}
	analystFR := fr.b()
	analystFR.lang = "fr"
	analystFR.login("analyst")
	pg = analystFR.post(page(red.ID)+"/share", url.Values{"community": {"eu-csirts"}})
	if pg.status != http.StatusForbidden || count(pg.body, "share-refused") != 1 ||
		!strings.Contains(text(pg.body), "La communauté eu-csirts transporte au plus TLP:AMBER, pas TLP:RED.") ||
		!strings.Contains(text(pg.body), "Rien ne quitte ce nœud") {
		t.Fatalf("RED to a community, in French: %d\n%s", pg.status, pg.body)
	}
	if _, ok := queuedFor(t, fr.Node, red.ID, red.Version)[ee]; ok {
		t.Fatal("the refused share queued the RED object for EE")
	}

	// Allowed: AMBER to eu-csirts, whose other member is EE.
	pg = analyst.post(page(amber.ID)+"/share", url.Values{"community": {"eu-csirts"}})
	if pg.status != http.StatusOK || count(pg.body, "share-to") != 1 || !strings.Contains(pg.body, `data-node="cert-ee"`) ||
		count(pg.body, "share-refused") != 0 {
		t.Fatalf("AMBER to eu-csirts: %d\n%s", pg.status, pg.body)
	}
	fed.WaitFor("EE receives the AMBER indicator", 10*time.Second, func() bool { return fed.Has("ee", amber.ID) })
	if fed.Has("ee", red.ID) {
		t.Fatal("EE holds the RED object")
	}

	// Not to a community FR is not in, nor with none chosen.
	if pg := analyst.post(page(amber.ID)+"/share", url.Values{"community": {"nato"}}); pg.status != http.StatusBadRequest ||
		!strings.Contains(text(pg.body), "not a member of a community named nato") {
		t.Errorf("an unknown community: %d\n%s", pg.status, pg.body)
	}
	if pg := analyst.post(page(amber.ID)+"/share", nil); pg.status != http.StatusBadRequest || count(pg.body, "form-error") != 1 {
		t.Errorf("no community chosen: %d", pg.status)
	}

	// A viewer and a liaison officer see no form and may not share.
	for _, who := range []string{store.RoleViewer, store.RoleLiaison} {
		b := fr.b()
		b.login(who)
		if pg := b.get(page(amber.ID)); pg.status != 200 || count(pg.body, "share-form") != 0 || count(pg.body, "share-why") != 0 {
			t.Errorf("%s's object page offers sharing: %d", who, pg.status)
		}
		if pg := b.post(page(amber.ID)+"/share", url.Values{"community": {"open"}}); pg.status != http.StatusForbidden ||
			count(pg.body, "share-result") != 0 {
			t.Errorf("%s shares: %d", who, pg.status)
		}
	}

	// DE's object, received at FR: not FR's to share.
	res, err = nodes["de"].Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("DE's scanner list")},
		TLP: stix.TLPGreen, Communities: []string{"open"}, Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	theirs := res.Objects[0]
	fed.WaitFor("FR receives DE's indicator", 10*time.Second, func() bool { return fed.Has("fr", theirs.ID) })
	// It came through community open, into its collection.
	read[defaultCollection(t, fr.Store).ID] = store.Permission{Read: true}
	for _, c := range mustCommunities(t, fr.Store) {
		read[c.Collection] = store.Permission{Read: true}
	}
	addUser(t, fr.Store, store.RoleAnalyst, store.RoleAnalyst, read)
	theirsPage := "/console/intel/open/" + theirs.ID
	pg = analyst.get(theirsPage)
	if pg.status != 200 || count(pg.body, "share-form") != 0 || !strings.Contains(text(pg.body), "created by cert-de") {
		t.Errorf("DE's object at FR: %d\n%s", pg.status, pg.body)
	}
	if pg := analyst.post(theirsPage+"/share", url.Values{"community": {"eu-csirts"}}); pg.status != http.StatusBadRequest ||
		count(pg.body, "share-result") != 0 {
		t.Errorf("FR shares DE's object: %d\n%s", pg.status, pg.body)
	}
	if _, ok := queuedFor(t, fr.Node, theirs.ID, theirs.Version)[ee]; ok {
		t.Error("DE's object was queued at FR for EE")
	}

	// The audit log: three shares by the analyst, in the console; the
	// refusals too.
	consoleShares(t, fr.Fed, "analyst", 3)
	es, err := fr.Fed.Audit().Entries(ctx, audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, e := range es {
		if e.Kind == audit.KindPolicyDeny && e.Actor == "analyst" && e.Peer != "" {
			denied++
			if e.Detail["path"] != string(policy.PathConsole) {
				t.Errorf("a refusal of %s to %s is audited with path %q", e.ObjectID, e.Peer, e.Detail["path"])
			}
		}
	}
	if denied < 3 { // AMBER to DE and EE through open, RED to EE through eu-csirts
		t.Errorf("%d refusals audited, want 3", denied)
	}
}
