// Package demo starts a whole federation on one machine — the command the
// README gives a newcomer (`entraide demo`): national nodes and a
// cross-border hub, each a real node with its own keys, certificates and
// embedded SQLite database in a temporary directory, peered by exchanging
// their signed cards exactly as partners do, grouped in communities, each
// serving its console, TAXII and the JSON API on its own HTTPS listener and
// the federation (mutual TLS) on another — and plays the built-in exercise
// across them (play.go).
//
// Nothing here is a shortcut around the node: every node is opened with
// node.Open and cooperation.Open, the listeners serve the handlers
// `entraide serve` serves, objects cross over the network between loopback
// listeners, and everything the exercise creates goes through the workflow
// engines. The demo only does in one process what an administrator would
// do by hand on each node (init, card export, peer add, community create,
// user add, serve).
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/exercise"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/workflow"
)

// Options configure a demo federation.
type Options struct {
	// Nations is how many national nodes to start (MinNations to
	// MaxNations; 0: DefaultNations), taken in the order of Nations. The
	// hub comes on top.
	Nations int
	// Dir is where the federation's temporary directory is made ("": the
	// system's temporary directory). Close removes it.
	Dir string
	// Clock is the real clock (nil: the system clock). The nodes run on a
	// scenario clock that follows it (exercise.Clock): at its pace, and
	// at the exercise's speed while the exercise plays, so that every
	// deadline of the exercise's workflows is in scenario time. A
	// clock.Fake (a headless run, the tests) is moved forward by the
	// exercise from event to event instead of waiting.
	Clock clock.Clock
	// Log receives what happens (nil: discard).
	Log *slog.Logger
	// Federation tunes the nodes' delivery workers and cosigning; zero
	// fields take the demo's values (quick retries on loopback, a cosign
	// round every minute, Log's warnings and errors only).
	Federation federation.Config
	// ConsolePort, when not 0, is the port of the first node's user
	// listener; the others follow (ConsolePort+1, …). 0: free ports, so
	// that several demos, and tests, run side by side.
	ConsolePort int
}

// ConsoleUser is the user the demo makes on every node, with a generated
// password, besides the node's admin.
const ConsoleUser = "analyst"

// Federation is a running demo federation.
type Federation struct {
	// Dir is the temporary directory holding every node's data directory.
	Dir string
	// Nodes are the nations in the order of Nations, then the hub.
	Nodes []*Node

	clk    *exercise.Clock // the nodes' clock: the scenario's
	fake   bool            // its base is a clock.Fake: exercises play without waiting
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	errc   chan error // listener failures while running
}

// Node is one running node of the demo.
type Node struct {
	Name    string // cert-fr, …, cert-eu
	Org     string
	Country string // ISO 3166-1 alpha-2; EU for the hub
	Hub     bool
	Dir     string // its data directory

	// URL is its user listener (https://127.0.0.1:PORT/): the console is
	// at URL+"console/", TAXII discovery at URL+"taxii2/", the JSON API
	// at URL+"entraide/v1/".
	URL string
	// ConsoleURL is where a person logs in.
	ConsoleURL string
	// FedAddr is its federation listener (mutual TLS, pinned peers only).
	FedAddr string
	// CertFingerprint is the SHA-256 of its user listener's self-signed
	// certificate (what the browser shows before trusting it).
	CertFingerprint string

	// User and Password are the console login the demo made (role
	// analyst); AdminPassword is the node's admin's.
	User, Password string
	AdminPassword  string

	*node.Node
	Fed    *federation.Federation
	Engine *workflow.Engine

	userLn, fedLn net.Listener
	hs            *http.Server
}

// Node returns a node by name (cert-fr) or nil.
func (f *Federation) Node(name string) *Node {
	for _, n := range f.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Engines maps every node's name to its workflow engine, as the exercise
// runner takes them.
func (f *Federation) Engines() map[string]*workflow.Engine {
	m := make(map[string]*workflow.Engine, len(f.Nodes))
	for _, n := range f.Nodes {
		m[n.Name] = n.Engine
	}
	return m
}

// Names lists the nodes' names, nations first, the hub last.
func (f *Federation) Names() []string {
	out := make([]string, len(f.Nodes))
	for i, n := range f.Nodes {
		out[i] = n.Name
	}
	return out
}

// Err delivers a listener's failure while the federation runs (a node
// that can no longer serve): the demo stops on it.
func (f *Federation) Err() <-chan error { return f.errc }

// NationsError says --nations is out of range.
type NationsError struct{ N int }

func (e *NationsError) Error() string {
	return fmt.Sprintf("--nations %d: the demo starts %d to %d nations (and the hub); the default is %d", e.N, MinNations, MaxNations, DefaultNations)
}

// Start makes the federation: it initialises every node in a new
// temporary directory, pins every node's card on every other node, creates
// the communities on their members, adds the console users, and serves
// every node's listeners and delivery workers until Close. On failure it
// removes what it made.
func Start(ctx context.Context, opts Options) (f *Federation, err error) {
	if opts.Nations == 0 {
		opts.Nations = DefaultNations
	}
	if opts.Nations < MinNations || opts.Nations > MaxNations {
		return nil, &NationsError{opts.Nations}
	}
	if opts.ConsolePort < 0 || opts.ConsolePort+opts.Nations > 65535 {
		return nil, fmt.Errorf("console port %d: want 1 to %d, or 0 for free ports", opts.ConsolePort, 65535-opts.Nations)
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp(opts.Dir, "entraide-demo-")
	if err != nil {
		return nil, fmt.Errorf("making the demo's temporary directory: %w", err)
	}
	_, fake := opts.Clock.(*clock.Fake)
	made := &Federation{Dir: dir, clk: exercise.NewClock(opts.Clock), fake: fake, log: opts.Log, errc: make(chan error, 1)}
	f = made
	defer func() {
		if err != nil { // every return below sets f to nil: close what was made
			made.Close()
		}
	}()

	type spec struct {
		name, org, country string
		hub                bool
	}
	var specs []spec
	for _, nat := range Nations[:opts.Nations] {
		specs = append(specs, spec{nat.NodeName(), nat.Org(), nat.Code, false})
	}
	specs = append(specs, spec{HubName, "EU cross-border cyber hub (demo)", "EU", true})

	// Listeners first: a card names the federation endpoint, so the port
	// must be known (and held, so that nothing else takes it) before init.
	for i, s := range specs {
		n := &Node{Name: s.name, Org: s.org, Country: s.country, Hub: s.hub, Dir: filepath.Join(dir, s.name), User: ConsoleUser}
		f.Nodes = append(f.Nodes, n)
		port := 0
		if opts.ConsolePort != 0 {
			port = opts.ConsolePort + i
		}
		if n.userLn, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
			return nil, fmt.Errorf("%s: console listener: %w", n.Name, err)
		}
		if n.fedLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("%s: federation listener: %w", n.Name, err)
		}
		n.URL = "https://" + n.userLn.Addr().String() + "/"
		n.ConsoleURL = n.URL + strings.TrimPrefix(consolePrefix, "/")
		n.FedAddr = n.fedLn.Addr().String()
	}

	fcfg := opts.Federation
	if fcfg.PollInterval == 0 {
		fcfg.PollInterval = 2 * time.Second
	}
	if fcfg.BackoffMin == 0 {
		fcfg.BackoffMin = 200 * time.Millisecond
	}
	if fcfg.BackoffMax == 0 {
		fcfg.BackoffMax = 5 * time.Second
	}
	if fcfg.CosignInterval == 0 {
		fcfg.CosignInterval = federation.DefaultCosignInterval
	}
	t0 := time.Now()
	// Init and open in parallel: key generation and two argon2id hashes
	// per node are most of the start-up time.
	if fcfg.Log == nil {
		// The federation names its node in every record it logs.
		fcfg.Log = slog.New(quieter{opts.Log.Handler(), slog.LevelWarn})
	}
	if err := parallel(ctx, f.Nodes, func(n *Node) error { return f.initNode(ctx, n, fcfg) }); err != nil {
		return nil, err
	}
	opts.Log.Info("nodes created", "nodes", len(f.Nodes), "dir", dir, "took", time.Since(t0).Round(time.Millisecond))

	if err := f.peer(ctx); err != nil {
		return nil, err
	}
	if err := f.communities(ctx); err != nil {
		return nil, err
	}

	rctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	for _, n := range f.Nodes {
		if err := f.serve(rctx, n); err != nil {
			return nil, fmt.Errorf("%s: %w", n.Name, err)
		}
	}
	f.wg.Add(1)
	go func() { defer f.wg.Done(); f.watch(rctx) }()
	opts.Log.Info("federation up", "nodes", len(f.Nodes), "peerings", len(f.Nodes)*(len(f.Nodes)-1), "took", time.Since(t0).Round(time.Millisecond))
	return f, nil
}

// parallel runs fn on every node, at most GOMAXPROCS at a time, and
// returns the first error.
func parallel(ctx context.Context, nodes []*Node, fn func(*Node) error) error {
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			errs[i] = fn(n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// initNode does what `entraide init` and `entraide user add --role
// analyst` do, then opens the node with its workflows.
func (f *Federation) initNode(ctx context.Context, n *Node, cfg federation.Config) error {
	var err error
	if n.AdminPassword, err = user.NewPassword(); err != nil {
		return err
	}
	if n.Password, err = user.NewPassword(); err != nil {
		return err
	}
	domain := strings.TrimPrefix(n.Name, "cert-") + ".demo.example"
	res, err := node.Init(ctx, node.InitOptions{
		Dir: n.Dir, Name: n.Name, Org: n.Org, Country: n.Country, AdminPassword: n.AdminPassword,
		FedEndpoint: "https://" + n.FedAddr + "/", Clock: f.clk,
		Contacts: []card.Contact{
			{Role: card.RoleCSIRT24x7, Name: "Duty officer", Email: "duty@" + domain},
			{Role: card.RoleLE24x7, Name: "24/7 cybercrime contact point", Email: "247@" + domain},
		},
	})
	if err != nil {
		return fmt.Errorf("%s: init: %w", n.Name, err)
	}
	n.CertFingerprint = res.CertFingerprint
	if n.Node, err = node.Open(ctx, n.Dir, func(string) string { return "" }, nil, f.clk); err != nil {
		return fmt.Errorf("%s: open: %w", n.Name, err)
	}
	if err := addUser(ctx, n.Node.Store, n.User, n.Password, store.RoleAnalyst, res.DefaultCollection.ID, f.clk.Now()); err != nil {
		return fmt.Errorf("%s: user %s: %w", n.Name, n.User, err)
	}
	if n.Fed, n.Engine, err = cooperation.Open(ctx, n.Node, cfg); err != nil {
		return fmt.Errorf("%s: workflows: %w", n.Name, err)
	}
	return nil
}

// addUser adds a console user as `entraide user add --role ROLE` does:
// the role in the store, and the permissions it implies on the default
// collection (where the workflow objects are).
func addUser(ctx context.Context, st store.Store, name, password, role, defaultCollection string, now time.Time) error {
	hash, err := user.HashPassword(password)
	if err != nil {
		return err
	}
	roles, err := store.Roles(st)
	if err != nil {
		return err
	}
	u := store.User{Name: name, PasswordHash: hash, Admin: role == store.RoleAdmin, Created: now,
		Permissions: map[string]store.Permission{defaultCollection: {Read: true, Write: role != store.RoleViewer}}}
	if err := st.PutUser(ctx, u); err != nil {
		return err
	}
	return roles.SetUserRole(ctx, name, role)
}

// peer pins every node's card on every other node, as `entraide card
// export` and `entraide peer add` do: each card is signed by its node and
// verified by the one pinning it.
func (f *Federation) peer(ctx context.Context) error {
	cards := make([][]byte, len(f.Nodes))
	for i, n := range f.Nodes {
		c, err := n.Card()
		if err != nil {
			return fmt.Errorf("%s: card: %w", n.Name, err)
		}
		cards[i] = c
	}
	return parallel(ctx, f.Nodes, func(b *Node) error {
		for i, a := range f.Nodes {
			if a == b {
				continue
			}
			if _, err := b.Fed.Registry().AddAs(ctx, cards[i], a.Name, f.clk.Now()); err != nil {
				return fmt.Errorf("%s pins %s: %w", b.Name, a.Name, err)
			}
		}
		b.Fed.Registry().Invalidate()
		return nil
	})
}

// Community is one of the demo's communities.
type Community struct {
	Name    string
	MaxTLP  stix.TLP
	Members []string // node names
}

// Communities are the communities of the federation: the France–Estonia
// bilateral community, the EU CSIRTs network (every nation and the hub)
// and the Budapest Convention's 24/7 network (every nation).
func (f *Federation) Communities() []Community {
	var nations []string
	for _, n := range f.Nodes {
		if !n.Hub {
			nations = append(nations, n.Name)
		}
	}
	return []Community{
		{Name: CommunityFREE, MaxTLP: stix.TLPAmberStrict, Members: []string{"cert-fr", "cert-ee"}},
		{Name: CommunityCSIRTs, MaxTLP: stix.TLPAmber, Members: f.Names()},
		{Name: CommunityBudapest, MaxTLP: stix.TLPAmberStrict, Members: nations},
	}
}

// communities creates each community on each of its members, with the
// same members (as `entraide community create` on every member node).
func (f *Federation) communities(ctx context.Context) error {
	for _, c := range f.Communities() {
		var ids []string
		for _, m := range c.Members {
			ids = append(ids, f.Node(m).Identity.IdentityID)
		}
		slices.Sort(ids)
		for _, m := range c.Members {
			if _, err := f.Node(m).Store.PutCommunity(ctx, store.Community{Name: c.Name, MaxTLP: c.MaxTLP, Members: ids}); err != nil {
				return fmt.Errorf("community %s on %s: %w", c.Name, m, err)
			}
		}
		f.log.Info("community created", "community", c.Name, "max_tlp", c.MaxTLP.String(), "members", len(c.Members))
	}
	return nil
}

// serve starts a node's user listener, federation listener and delivery
// workers; their failures later go to Err.
func (f *Federation) serve(ctx context.Context, n *Node) error {
	log := f.log.With("node", n.Name)
	h, err := Handler(ctx, n.Node, n.Fed, n.Engine, log)
	if err != nil {
		return err
	}
	tlsCfg, err := n.TLSConfig()
	if err != nil {
		return err
	}
	n.hs = &http.Server{Handler: h, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: discardLog()}
	userLn, fedLn := n.userLn, n.fedLn
	n.userLn, n.fedLn = nil, nil
	f.wg.Add(3)
	go func() {
		defer f.wg.Done()
		if err := n.hs.ServeTLS(userLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.fail(fmt.Errorf("%s: console listener: %w", n.Name, err))
		}
	}()
	go func() {
		defer f.wg.Done()
		if err := n.Fed.Serve(ctx, fedLn); err != nil {
			f.fail(fmt.Errorf("%s: federation listener: %w", n.Name, err))
		}
	}()
	go func() { defer f.wg.Done(); n.Fed.RunDelivery(ctx) }()
	return nil
}

func (f *Federation) fail(err error) {
	f.log.Error("node failure", "err", err)
	select {
	case f.errc <- err:
	default:
	}
}

// closeGrace bounds how long Close waits for requests in flight.
const closeGrace = 5 * time.Second

// Close stops every listener and worker, closes the databases and removes
// the temporary directory. It returns within a few seconds whatever the
// nodes are doing (requests in flight get closeGrace), and may be called
// more than once.
func (f *Federation) Close() error {
	var err error
	f.once.Do(func() {
		if f.cancel != nil {
			f.cancel()
		}
		sctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		var wg sync.WaitGroup
		for _, n := range f.Nodes {
			if n.hs != nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if n.hs.Shutdown(sctx) != nil {
						n.hs.Close()
					}
				}()
			}
		}
		wg.Wait()
		f.wg.Wait()
		for _, n := range f.Nodes {
			for _, ln := range []net.Listener{n.userLn, n.fedLn} {
				if ln != nil {
					ln.Close()
				}
			}
			if n.Node != nil {
				if cerr := n.Node.Close(); cerr != nil {
					err = errors.Join(err, fmt.Errorf("%s: closing the database: %w", n.Name, cerr))
				}
			}
		}
		if rerr := os.RemoveAll(f.Dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", f.Dir, rerr))
		}
	})
	return err
}
