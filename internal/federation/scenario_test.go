package federation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		DeferredBackoffMax: 200 * time.Millisecond}
}

func share(t *testing.T, fed *fedtest.Federation, from string, tlp stix.TLP, communities, nodes []string, objs ...[]byte) *federation.ShareResult {
	t.Helper()
	res, err := fed.Node(from).Fed.Share(context.Background(), federation.ShareRequest{Objects: objs, TLP: tlp, Communities: communities, Nodes: nodes, Actor: "analyst"})
	if err != nil {
		t.Fatalf("%s shares: %v", from, err)
	}
	return res
}

// The story: FR shares AMBER with EE; EE cannot pass it to DE; DE is down
// while FR shares GREEN with the EU community; DE comes back and receives
// its GREEN object exactly once.
func TestStoryAmberStaysGreenArrivesOnce(t *testing.T) {
	runStory(t, fedtest.Options{Federation: fast()})
}

func TestStoryOnPostgreSQL(t *testing.T) {
	runStory(t, fedtest.Options{Federation: fast(), DB: func(t testing.TB, _ string) string { return pgtest.DSN(t) }})
}

func runStory(t *testing.T, opts fedtest.Options) {
	fed := fedtest.Start(t, opts, "fr", "ee", "de")
	fed.Community("eu-csirts", stix.TLPAmber, "fr", "ee", "de")
	ctx := context.Background()

	// FR shares an AMBER indicator with EE by name.
	amber := fedtest.Indicator("AMBER C2 for EE only")
	res := share(t, fed, "fr", stix.TLPAmber, nil, []string{"cert-ee"}, amber)
	id := res.Objects[0].ID
	fed.WaitFor("EE to receive the AMBER object", 10*time.Second, func() bool { return fed.Has("ee", id) })
	if fed.Has("de", id) {
		t.Fatal("DE received an AMBER object shared with EE only")
	}

	// EE tries to pass it on to DE, directly and through the community: the
	// policy refuses both, so nothing is queued.
	eePolicyDenials := countAudit(t, fed, "ee", audit.KindPolicyDeny)
	raw := storedRaw(t, fed, "ee", id)
	_, err := fed.Node("ee").Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, Nodes: []string{"cert-de"}})
	if err == nil || !strings.Contains(err.Error(), "attribut") {
		t.Fatalf("EE re-signing FR's object as its own must fail (wrong attribution), got %v", err)
	}
	if countAudit(t, fed, "ee", audit.KindPolicyDeny) != eePolicyDenials {
		t.Fatal("unexpected denials")
	}
	// A forged push: EE posts FR's AMBER object into DE's community
	// collection anyway (a misbehaving node). DE refuses it on arrival.
	st := pushRaw(t, fed, "ee", "de", "eu-csirts", raw)
	if len(st.Failures) != 1 || !strings.Contains(st.Failures[0].Message, "sharing policy") {
		t.Fatalf("DE accepted a relayed AMBER object: %+v", st)
	}
	if fed.Has("de", id) {
		t.Fatal("DE stored a relayed AMBER object")
	}

	// DE goes down; FR shares GREEN with the community.
	fed.Stop("de")
	green := fedtest.Indicator("GREEN phishing domain")
	res = share(t, fed, "fr", stix.TLPGreen, []string{"eu-csirts"}, nil, green)
	gid := res.Objects[0].ID
	if len(res.Objects[0].To) != 2 {
		t.Fatalf("GREEN to eu-csirts should go to EE and DE, got %+v (refused %+v)", res.Objects[0].To, res.Objects[0].Refused)
	}
	fed.WaitFor("EE to receive GREEN", 10*time.Second, func() bool { return fed.Has("ee", gid) })
	fed.WaitFor("FR to record a failed attempt to DE", 10*time.Second, func() bool {
		ps, _ := fed.Node("fr").Fed.Status(ctx)
		for _, p := range ps {
			if p.IdentityID == fed.ID("de") {
				return p.Queue.Pending == 1 && p.LastError != ""
			}
		}
		return false
	})
	// DE comes back: it receives the GREEN object, once.
	fed.Start("de")
	fed.WaitFor("DE to receive GREEN after coming back", 15*time.Second, func() bool { return fed.Has("de", gid) })
	fed.WaitFor("FR's queue to DE to drain", 10*time.Second, func() bool {
		ps, _ := fed.Node("fr").Fed.Status(ctx)
		for _, p := range ps {
			if p.IdentityID == fed.ID("de") {
				return p.Queue.Pending == 0 && p.Queue.Delivered == 1 && p.Reachable
			}
		}
		return false
	})
	if n := countReceipts(t, fed, "de", gid); n != 1 {
		t.Fatalf("DE recorded %d receipts of the GREEN object, want exactly 1", n)
	}
	// The signature survives: DE can prove FR made it.
	raw = storedRaw(t, fed, "de", gid)
	if !strings.Contains(string(raw), fed.ID("fr")) {
		t.Fatal("the stored object lost its originator")
	}
	// DE's audit log is consistent.
	rep, err := fed.Node("de").Fed.Audit().Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("DE audit verify: %v\n%s", err, rep.String())
	}
}

// A client certificate that is not a pinned peer is refused during the
// handshake, and the refusal is audited.
func TestUnknownPeerRefusedAndAudited(t *testing.T) {
	fed := fedtest.Start(t, fedtest.Options{Federation: fast()}, "fr", "ee")
	outsider := fedtest.Start(t, fedtest.Options{Federation: fast()}, "ch")
	// ch pins fr (one-sided): fr never pinned xx.
	c, _ := fed.Node("fr").Card()
	if _, err := outsider.Node("ch").Fed.Registry().AddAs(context.Background(), c, "cert-fr", time.Now()); err != nil {
		t.Fatal(err)
	}
	before := countAudit(t, fed, "fr", audit.KindRefuse)
	_, err := outsider.Node("ch").Fed.Share(context.Background(), federation.ShareRequest{Objects: [][]byte{fedtest.Indicator("x")}, TLP: stix.TLPClear, Nodes: []string{"cert-fr"}})
	if err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("FR to audit the refused handshake", 10*time.Second, func() bool { return countAudit(t, fed, "fr", audit.KindRefuse) > before })
}

func countAudit(t *testing.T, fed *fedtest.Federation, name string, kind audit.Kind) int {
	t.Helper()
	es, err := fed.Node(name).Fed.Audit().Entries(context.Background(), audit.Query{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func countReceipts(t *testing.T, fed *fedtest.Federation, name, id string) int {
	t.Helper()
	es, err := fed.Node(name).Fed.Audit().Entries(context.Background(), audit.Query{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Kind == audit.KindReceive && e.ObjectID == id {
			n++
		}
	}
	return n
}

func storedRaw(t *testing.T, fed *fedtest.Federation, name, id string) []byte {
	t.Helper()
	n := fed.Node(name)
	cols, _ := n.Store.Collections(context.Background())
	for _, c := range cols {
		p, err := n.Store.ListObjects(context.Background(), c.ID, store.Query{IDs: []string{id}}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) > 0 {
			return p.Entries[0].Raw
		}
	}
	t.Fatalf("%s does not hold %s", name, id)
	return nil
}
