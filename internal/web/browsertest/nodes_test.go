package browsertest

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/portal"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// password is every person's password (fedtest's admin has it too).
const password = "a test password that is long"

// The people of the two nodes, by role, as `entraide user add` makes
// them. At FR: marc (analyst), luc (liaison). At DE: lea (liaison), anna
// (analyst), victor (viewer), nadia (added with no role and no
// permission: a viewer who may read no collection), alice and bob
// (analysts who may also read the inbox, where objects peers send
// arrive; a TLP:RED object names alice, not bob). Each node also has its
// admin.
var people = map[string][]account{
	"fr": {{"marc", store.RoleAnalyst, nil}, {"luc", store.RoleLiaison, nil}},
	"de": {
		{"lea", store.RoleLiaison, nil},
		{"anna", store.RoleAnalyst, nil},
		{"victor", store.RoleViewer, nil},
		{"nadia", "", nil},
		{"alice", store.RoleAnalyst, []string{federation.InboxAlias}},
		{"bob", store.RoleAnalyst, []string{federation.InboxAlias}},
	},
}

type account struct {
	name, role string
	read       []string // collections read besides the default one (user grant --read)
}

// start is the instant the federation starts at, on its clock.
var start = time.Date(2026, 3, 2, 8, 40, 0, 0, time.UTC)

// world is FR and DE, peered, each serving its user listener as
// `entraide serve` does.
type world struct {
	fed    *fedtest.Federation
	clk    *clock.Fake
	fr, de *site
}

// site is one node and its user listener.
type site struct {
	*fedtest.Node
	url  string // https://127.0.0.1:PORT
	cert *x509.Certificate
}

func newWorld(t *testing.T) *world {
	t.Helper()
	clk := clock.NewFake(start)
	fast := federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		CosignInterval: -1, Log: slog.New(slog.DiscardHandler)}
	fed := fedtest.Start(t, fedtest.Options{Federation: fast, Clock: clk, Kinds: cooperation.Kinds()}, "fr", "de")
	w := &world{fed: fed, clk: clk}
	w.fr = serveUsers(t, fed.Node("fr"))
	w.de = serveUsers(t, fed.Node("de"))
	for name, s := range map[string]*site{"fr": w.fr, "de": w.de} {
		for _, a := range people[name] {
			addUser(t, s.Store, a)
		}
	}
	return w
}

// serveUsers serves a node's user listener as `entraide serve` does
// (internal/cli/cmd_serve.go): the console under /console/ (a browser at
// / is sent there), the workflow API under /entraide/v1/, TAXII for the
// rest, every object passing the federation's sharing decision; over TLS
// with the node's own certificate and TLS policy.
func serveUsers(t *testing.T, n *fedtest.Node) *site {
	t.Helper()
	ctx := context.Background()
	lg := slog.New(slog.DiscardHandler)
	// The very handler entraide serve and the demo put on the user listener.
	mux, err := portal.Handler(ctx, n.Node, n.Fed, n.Workflow, lg)
	if err != nil {
		t.Fatal(err)
	}

	tlsCfg, err := n.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(tlsCfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(mux)
	hs.TLS = tlsCfg
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // a browser dropping a connection is not news
	hs.StartTLS()
	t.Cleanup(hs.Close)
	return &site{Node: n, url: hs.URL, cert: cert}
}

var (
	hashOnce sync.Once
	pwHash   string
	hashErr  error
)

// addUser adds a person as `entraide user add --role ROLE` does: an
// analyst or a liaison officer reads and writes the default collection
// (where the workflows are kept), a viewer reads it; with no role, no
// permission at all. Then `user grant --read` for the other collections.
func addUser(t *testing.T, st store.Store, a account) {
	t.Helper()
	hashOnce.Do(func() { pwHash, hashErr = user.HashPassword(password) }) // argon2id: once
	if hashErr != nil {
		t.Fatal(hashErr)
	}
	ctx := context.Background()
	perms := map[string]store.Permission{}
	collection := func(alias string) store.Collection {
		cs, err := st.Collections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Alias == alias {
				return c
			}
		}
		t.Fatalf("no collection %q", alias)
		return store.Collection{}
	}
	role := a.role
	if role != "" && role != store.RoleAdmin {
		perms[collection(node.DefaultCollectionAlias).ID] = store.Permission{Read: true, Write: role != store.RoleViewer}
	}
	if role == "" {
		role = store.RoleViewer
	}
	for _, alias := range a.read {
		c := collection(alias)
		p := perms[c.ID]
		p.Read = true
		perms[c.ID] = p
	}
	if err := st.PutUser(ctx, store.User{Name: a.name, PasswordHash: pwHash, Admin: role == store.RoleAdmin, Permissions: perms}); err != nil {
		t.Fatal(err)
	}
	rs, err := store.Roles(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.SetUserRole(ctx, a.name, role); err != nil {
		t.Fatal(err)
	}
}

// open has a node open a case through its engine, as a person of that
// node would have on the command line.
func (s *site) open(t *testing.T, kind, actor string, in map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Workflow.Open(context.Background(), kind, actor, raw)
	if err != nil {
		t.Fatalf("%s opens a %s: %v", s.Identity.Name, kind, err)
	}
	return res.ID
}

// holds reports whether the node holds a case.
func (s *site) holds(id string) bool {
	_, err := s.Workflow.Get(context.Background(), id)
	return err == nil
}
