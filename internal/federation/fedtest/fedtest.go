// Package fedtest starts a whole federation in one process: N nodes on
// loopback, each with its own keys, data directory and database, its
// federation listener and its delivery workers, all peered with each other.
// Scenario tests read like the story they check:
//
//	fed := fedtest.Start(t, fedtest.Options{}, "fr", "ee", "de")
//	fed.Community("fr-ee", stix.TLPAmber, "fr", "ee")
//	fed.Node("fr").Share(…)
package fedtest

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Options configure a federation.
type Options struct {
	// DB returns the database URL of a node: "" for SQLite in its data
	// directory (the default); tests on PostgreSQL return pgtest.DSN(t).
	DB         func(t testing.TB, name string) string
	Federation federation.Config
	Clock      clock.Clock // nil: the system clock
	// Kinds, when set, gives every node a workflow engine running these
	// kinds (Node.Workflow).
	Kinds []*workflow.Kind
}

// Federation is the set of running nodes.
type Federation struct {
	t     testing.TB
	opts  Options
	nodes map[string]*Node
	order []string
}

// Node is one running node.
type Node struct {
	Name string
	Dir  string
	Addr string // federation listener, 127.0.0.1:port
	*node.Node
	Fed *federation.Federation
	// Workflow is the node's workflow engine (nil without Options.Kinds).
	Workflow *workflow.Engine

	mu     sync.Mutex
	ln     net.Listener // the listener reserved at creation, until the first Start
	cancel context.CancelFunc
	done   chan struct{}
}

// Start initialises, starts and fully peers the named nodes (short names
// such as "fr"; the node is called cert-fr, country FR).
func Start(t testing.TB, opts Options, names ...string) *Federation {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	f := &Federation{t: t, opts: opts, nodes: map[string]*Node{}}
	for _, name := range names {
		f.add(name)
	}
	// Everyone pins everyone: cards exchanged "out of band".
	for _, a := range names {
		c, err := f.nodes[a].Card()
		if err != nil {
			t.Fatalf("%s card: %v", a, err)
		}
		for _, b := range names {
			if a == b {
				continue
			}
			if _, err := f.nodes[b].Fed.Registry().AddAs(context.Background(), c, "cert-"+a, opts.Clock.Now()); err != nil {
				t.Fatalf("%s pins %s: %v", b, a, err)
			}
		}
	}
	for _, name := range names {
		f.nodes[name].Fed.Registry().Invalidate()
		f.Start(name)
	}
	t.Cleanup(f.StopAll)
	return f
}

func (f *Federation) add(name string) {
	t := f.t
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// The listener stays open until the first Start uses it: closing it
	// here would let another socket (an outgoing connection's ephemeral
	// port, another test) take the port meanwhile.
	dir := filepath.Join(t.TempDir(), name)
	db := ""
	if f.opts.DB != nil {
		db = f.opts.DB(t, name)
	}
	country := name
	if len(country) != 2 {
		country = "EU"
	}
	ctx := context.Background()
	_, err = node.Init(ctx, node.InitOptions{Dir: dir, Name: "cert-" + name, Org: "CERT-" + upper(name), Country: upper(country),
		DB: db, AdminPassword: "a test password that is long", FedEndpoint: "https://" + addr + "/", Clock: f.opts.Clock,
		Contacts: []card.Contact{{Role: "csirt-24x7", Name: "Duty officer", Email: "duty@" + name + ".example"}}})
	if err != nil {
		ln.Close()
		t.Fatalf("init %s: %v", name, err)
	}
	n, err := node.Open(ctx, dir, func(string) string { return "" }, nil, f.opts.Clock)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	fed, err := federation.New(ctx, n, f.opts.Federation)
	if err != nil {
		t.Fatalf("federation %s: %v", name, err)
	}
	var wf *workflow.Engine
	if len(f.opts.Kinds) > 0 {
		if wf, err = workflow.New(n, fed, f.opts.Kinds...); err != nil {
			t.Fatalf("workflow %s: %v", name, err)
		}
	}
	f.nodes[name] = &Node{Name: name, Dir: dir, Addr: addr, Node: n, Fed: fed, Workflow: wf, ln: ln}
	f.order = append(f.order, name)
	t.Cleanup(func() { n.Close() })
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// Node returns a node by short name.
func (f *Federation) Node(name string) *Node {
	n, ok := f.nodes[name]
	if !ok {
		f.t.Fatalf("no node %q", name)
	}
	return n
}

// ID is a node's identity id.
func (f *Federation) ID(name string) string { return f.Node(name).Identity.IdentityID }

// Start starts (or restarts) a node's listener and delivery workers.
func (f *Federation) Start(name string) {
	n := f.Node(name)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cancel != nil {
		return
	}
	ln, err := n.ln, error(nil)
	n.ln = nil
	for i := 0; ln == nil && i < 50; i++ { // the port may linger briefly after a stop
		if ln, err = net.Listen("tcp", n.Addr); err != nil {
			ln = nil
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err != nil {
		f.t.Fatalf("restart %s on %s: %v", name, n.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.Fed.Serve(ctx, ln) }()
	go func() { defer wg.Done(); n.Fed.RunDelivery(ctx) }()
	go func() { wg.Wait(); close(n.done) }()
}

// Stop takes a node down (listener and workers); its data stays.
func (f *Federation) Stop(name string) {
	n := f.Node(name)
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.cancel = nil
	if n.ln != nil { // never started
		n.ln.Close()
		n.ln = nil
	}
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// StopAll stops every node.
func (f *Federation) StopAll() {
	for _, name := range f.order {
		f.Stop(name)
	}
}

// Community creates the same community on each member node (communities are
// agreed between members; each node keeps its own copy).
func (f *Federation) Community(name string, max stix.TLP, members ...string) {
	f.t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, f.ID(m))
	}
	slices.Sort(ids)
	for _, m := range members {
		if _, err := f.Node(m).Store.PutCommunity(context.Background(), store.Community{Name: name, MaxTLP: max, Members: ids}); err != nil {
			f.t.Fatalf("community %s on %s: %v", name, m, err)
		}
	}
}

// Has reports whether node name holds object id (any version, any collection).
func (f *Federation) Has(name, id string) bool {
	f.t.Helper()
	n := f.Node(name)
	cols, err := n.Store.Collections(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cols {
		p, err := n.Store.ListObjects(context.Background(), c.ID, store.Query{IDs: []string{id}, Versions: []string{"all"}}, false)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(p.Entries) > 0 {
			return true
		}
	}
	return false
}

// WaitFor polls cond until it holds or the timeout passes (bounded).
func (f *Federation) WaitFor(what string, timeout time.Duration, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Indicator is a fresh unsigned indicator for a node to share.
func Indicator(label string) []byte {
	id := stix.NewID("indicator")
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":%q,"pattern":"[ipv4-addr:value = '203.0.113.7']","pattern_type":"stix","valid_from":%q}`,
		id, now, now, label, now)
}
