package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// share has the node share one indicator marked TLP:RED for the named
// people; at any other level the indicator is imported (a node alone has
// no one to share with).
func (c *console) share(t *testing.T, label string, tlp stix.TLP, redTo ...string) string {
	t.Helper()
	ctx := context.Background()
	if tlp == stix.TLPRed {
		res, err := c.fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator(label)}, TLP: tlp, RedTo: redTo, Actor: "admin"})
		if err != nil {
			t.Fatalf("share %s: %v", label, err)
		}
		return res.Objects[0].ID
	}
	var m map[string]any
	if err := json.Unmarshal(fedtest.Indicator(label), &m); err != nil {
		t.Fatal(err)
	}
	m["object_marking_refs"] = []string{tlp.MarkingID()}
	o, err := stix.Parse(mustJSON(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.n.Store.AddObjects(ctx, c.def.ID, []*stix.Object{o}); err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// The sharing rules hold in the console exactly as on TAXII: a TLP:RED
// object is shown only to the people it names — not to other readers of
// the collection, not to the administrator — and every RED decision is
// audited; a search does not find it for others, and its page answers as
// if it did not exist.
func TestIntelRedOnlyToNamedUsers(t *testing.T) {
	c := newConsole(t)
	read := map[string]store.Permission{c.def.ID: {Read: true}}
	addUser(t, c.n.Store, "alice", store.RoleViewer, read)
	addUser(t, c.n.Store, "bob", store.RoleAnalyst, read)
	addUser(t, c.n.Store, "carol", store.RoleViewer, nil) // reads no collection
	redID := c.share(t, "Implant at the ministry, codename NIGHTJAR", stix.TLPRed, "alice@self")
	amberID := c.share(t, "Phishing kit hitting banks", stix.TLPAmber)
	_ = amberID

	alice := c.browser()
	alice.login("alice")
	pg := alice.get("/console/intel")
	if pg.status != 200 || count(pg.body, "intel-row") != 2 || !strings.Contains(pg.body, `data-id="`+redID+`"`) ||
		!strings.Contains(pg.body, `data-tlp="TLP:RED"`) || !strings.Contains(pg.body, "NIGHTJAR") {
		t.Fatalf("alice's list:\n%s", pg.body)
	}
	pg = alice.get("/console/intel/default/" + redID)
	if pg.status != 200 || !strings.Contains(pg.body, "NIGHTJAR") || !strings.Contains(pg.body, `data-tlp="TLP:RED"`) ||
		count(pg.body, "red-recipients") != 1 {
		t.Fatalf("alice's RED object page: %d\n%s", pg.status, pg.body)
	}

	unknown := "/console/intel/default/indicator--00000000-0000-4000-8000-000000000000"
	for _, who := range []string{"bob", "admin"} {
		b := c.browser()
		b.login(who)
		pg := b.get("/console/intel")
		if pg.status != 200 || count(pg.body, "intel-row") != 1 || strings.Contains(pg.body, redID) || strings.Contains(pg.body, "NIGHTJAR") {
			t.Errorf("%s's list shows the RED object or misses the AMBER one:\n%s", who, pg.body)
		}
		pg = b.get("/console/intel?q=nightjar")
		if count(pg.body, "intel-row") != 0 || strings.Contains(pg.body, "NIGHTJAR") {
			t.Errorf("%s's search finds the RED object:\n%s", who, pg.body)
		}
		pg = b.get("/console/intel?type=indicator&q=phishing")
		if count(pg.body, "intel-row") != 1 {
			t.Errorf("%s's search for the AMBER object: %d rows", who, count(pg.body, "intel-row"))
		}
		red := b.get("/console/intel/default/" + redID)
		none := b.get(unknown)
		if red.status != http.StatusNotFound || none.status != http.StatusNotFound ||
			text(strings.ReplaceAll(red.body, redID, "")) != text(strings.ReplaceAll(none.body, "indicator--00000000-0000-4000-8000-000000000000", "")) ||
			strings.Contains(red.body, "NIGHTJAR") {
			t.Errorf("%s: the RED object's page (%d) is not the page of an object that does not exist (%d)", who, red.status, none.status)
		}
	}

	// A reader of no collection sees nothing at all.
	carol := c.browser()
	carol.login("carol")
	if pg := carol.get("/console/intel"); count(pg.body, "intel-noaccess") != 1 || count(pg.body, "intel-row") != 0 {
		t.Errorf("carol's list:\n%s", pg.body)
	}
	if pg := carol.get("/console/intel/default/" + amberID); pg.status != http.StatusNotFound {
		t.Errorf("carol reads the AMBER object: %d", pg.status)
	}

	// Every RED decision was audited: served to alice, refused to bob and admin.
	es, err := c.fed.Audit().Entries(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	served, refused := map[string]bool{}, map[string]bool{}
	for _, e := range es {
		if e.ObjectID != redID {
			continue
		}
		// Read in the console, and said so: not "api".
		if (e.Kind == audit.KindRedAccess || e.Kind == audit.KindPolicyDeny) && e.Detail["path"] != string(policy.PathConsole) {
			t.Errorf("audit entry %s for %s says path %q, want console", e.Kind, e.Actor, e.Detail["path"])
		}
		switch e.Kind {
		case audit.KindRedAccess:
			served[e.Actor] = true
		case audit.KindPolicyDeny:
			refused[e.Actor] = true
		}
	}
	if !served["alice"] || served["bob"] || served["admin"] || !refused["bob"] || !refused["admin"] {
		t.Errorf("audit: served to %v, refused to %v", served, refused)
	}
}

// Browsing pages with the store's cursor; a stale cursor is a 400, an
// unknown collection a 404, a bad type a 400.
func TestIntelPaging(t *testing.T) {
	c := newConsole(t)
	for i := range 60 {
		c.share(t, "Indicator number "+string(rune('A'+i%26))+string(rune('a'+i/26)), stix.TLPGreen)
	}
	b := c.browser()
	b.login("admin")
	pg := b.get("/console/intel?type=indicator")
	if count(pg.body, "intel-row") != 50 || count(pg.body, "intel-next") != 1 {
		t.Fatalf("first page: %d rows, next link %d", count(pg.body, "intel-row"), count(pg.body, "intel-next"))
	}
	next := between(pg.body, `id="intel-next" data-testid="intel-next" href="`, `"`)
	if next == "" {
		next = between(pg.body, `href="/console/intel?coll=`, `" id="intel-next"`)
		next = "/console/intel?coll=" + next
	}
	next = strings.ReplaceAll(next, "&amp;", "&")
	pg2 := b.get(next)
	if pg2.status != 200 || count(pg2.body, "intel-row") != 10 || count(pg2.body, "intel-next") != 0 {
		t.Fatalf("second page %q: %d, %d rows\n%s", next, pg2.status, count(pg2.body, "intel-row"), pg2.body)
	}
	if pg := b.get("/console/intel?next=garbage"); pg.status != http.StatusBadRequest {
		t.Errorf("stale cursor: %d", pg.status)
	}
	if pg := b.get("/console/intel?coll=nope"); pg.status != http.StatusNotFound {
		t.Errorf("unknown collection: %d", pg.status)
	}
	if pg := b.get("/console/intel?type=Not%20A%20Type"); pg.status != http.StatusBadRequest {
		t.Errorf("bad type: %d", pg.status)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}
