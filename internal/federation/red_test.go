package federation_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

const canary = "RED canary 9c4f: the name of a source"

// notOnDisk checks that a node's SQLite database (its WAL checkpointed
// into the file, and the WAL itself) does not hold text.
func notOnDisk(t *testing.T, n *fedtest.Node, text string) {
	t.Helper()
	path := filepath.Join(n.Dir, node.DBFile)
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(text)) {
			t.Fatalf("%s's %s holds the RED object's text", n.Name, filepath.Base(p))
		}
	}
}

func auditOf(t *testing.T, n *fedtest.Node, kind audit.Kind, id string) []audit.Entry {
	t.Helper()
	es, err := n.Fed.Audit().Entries(context.Background(), audit.Query{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range es {
		if e.Kind == kind && e.ObjectID == id {
			out = append(out, e)
		}
	}
	return out
}

// The story of a RED object: FR shares a source's name with alice at EE,
// and with no one else — not even FR's own users. It crosses signed with
// its named recipient inside, is stored encrypted on both nodes, is shown
// to alice at EE (audited), to nobody else (the administrator included),
// is never exported, never relayed; and a RED object that names nobody at
// EE is refused on arrival.
func TestRedStory(t *testing.T) {
	fed := fedtest.Start(t, fedtest.Options{Federation: fast()}, "fr", "ee", "de")
	ctx := context.Background()
	fr, ee := fed.Node("fr"), fed.Node("ee")

	// A RED share needs named people, and names are for RED only.
	_, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("x")}, TLP: stix.TLPRed, Nodes: []string{"cert-ee"}})
	if err == nil || !strings.Contains(err.Error(), "name at least one person") {
		t.Fatalf("RED without named people: %v", err)
	}
	_, err = fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("x")}, TLP: stix.TLPAmber, RedTo: []string{"alice@cert-ee"}})
	if err == nil || !strings.Contains(err.Error(), "TLP:RED only") {
		t.Fatalf("named people on AMBER: %v", err)
	}
	if _, err = fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("x")}, TLP: stix.TLPRed, RedTo: []string{"alice@nowhere"}}); err == nil {
		t.Fatal("a RED recipient at an unknown node was accepted")
	}

	res, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator(canary)}, TLP: stix.TLPRed,
		RedTo: []string{"alice@cert-ee"}, Actor: "analyst"})
	if err != nil {
		t.Fatal(err)
	}
	so := res.Objects[0]
	id := so.ID
	if len(so.To) != 1 || so.To[0].Node != fed.ID("ee") {
		t.Fatalf("RED goes to EE only, got %+v", so.To)
	}
	fed.WaitFor("EE to receive the RED object", 10*time.Second, func() bool { return fed.Has("ee", id) })

	// The named person travels inside the signed object, and EE recorded
	// her in the provenance.
	raw := openedRaw(t, ee, federation.InboxAlias, id)
	if !bytes.Contains(raw, []byte(`"`+federation.RedProperty+`":[{"node":"`+fed.ID("ee")+`","user":"alice"}]`)) {
		t.Fatalf("the received object does not name its recipient: %s", raw)
	}

	// Encrypted at rest on both nodes.
	notOnDisk(t, fr, canary)
	notOnDisk(t, ee, canary)
	if _, err := os.Stat(filepath.Join(ee.Dir, node.DataKeyFile)); err != nil {
		t.Fatalf("EE's data key: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(ee.Dir, node.DataKeyFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("data key mode %v", st.Mode().Perm())
	}

	// Shown to alice at EE, audited; not to bob, nor to the administrator.
	eeAPI := userAPI(t, ee)
	if !sees(t, apiClient(t, ee, eeAPI, "alice"), federation.InboxAlias, id) {
		t.Fatal("alice, the named recipient, does not see the RED object")
	}
	acc := auditOf(t, ee, audit.KindRedAccess, id)
	if len(acc) == 0 || acc[0].Actor != "alice" || acc[0].Detail["path"] != "api" {
		t.Fatalf("alice's access is not audited: %+v", acc)
	}
	for _, u := range []string{"bob", "admin"} {
		if sees(t, apiClient(t, ee, eeAPI, u), federation.InboxAlias, id) {
			t.Fatalf("%s, not named, sees the RED object", u)
		}
	}
	if len(auditOf(t, ee, audit.KindRedAccess, id)) != len(acc) {
		t.Fatal("a refused read was audited as an access")
	}
	if len(auditOf(t, ee, audit.KindPolicyDeny, id)) == 0 {
		t.Fatal("refused reads of a RED object are not audited")
	}
	// FR's own users were not named either.
	frAPI := userAPI(t, fr)
	if sees(t, apiClient(t, fr, frAPI, "alice"), node.DefaultCollectionAlias, id) {
		t.Fatal("FR's alice sees a RED object named for EE's alice")
	}
	// Search applies the same rule.
	p, err := ee.Store.ListObjects(ctx, collectionByAlias(t, ee, federation.InboxAlias).ID, storeQuery(id), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ee.Fed.Readable(ctx, "alice", p.Entries); err != nil || len(got) != 1 || !bytes.Equal(got[0].Raw, raw) {
		t.Fatalf("search by alice: %v, %d", err, len(got))
	}
	if got, err := ee.Fed.Readable(ctx, "bob", p.Entries); err != nil || len(got) != 0 {
		t.Fatalf("search by bob: %v, %d", err, len(got))
	}

	// Never exported, never relayed.
	if exports(t, ee, federation.InboxAlias, id) {
		t.Fatal("EE exported a RED object")
	}
	st := pushRaw(t, fed, "ee", "de", federation.InboxAlias, raw)
	if len(st.Failures) != 1 || fed.Has("de", id) {
		t.Fatalf("DE accepted a relayed RED object: %+v", st)
	}

	// A RED object naming only someone at DE, pushed to EE: refused there.
	res, err = fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("for DE")}, TLP: stix.TLPRed, RedTo: []string{"carol@cert-de"}})
	if err != nil {
		t.Fatal(err)
	}
	deOnly := openedRaw(t, fr, node.DefaultCollectionAlias, res.Objects[0].ID)
	st = pushRaw(t, fed, "fr", "ee", federation.InboxAlias, deOnly)
	if len(st.Failures) != 1 || !strings.Contains(st.Failures[0].Message, "names no recipient") {
		t.Fatalf("EE accepted a RED object naming nobody there: %+v", st)
	}
	rep, err := ee.Fed.Audit().Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("EE audit verify: %v", err)
	}
}

func storeQuery(id string) store.Query { return store.Query{IDs: []string{id}} }
