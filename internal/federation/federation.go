// Package federation makes a node a member of the federation: the federation
// listener (TAXII 2.1 over mutual TLS, peers identified by their pinned
// keys), the receive path (signature verified against the originator, the
// sharing policy checked, provenance recorded, everything audited), sharing
// (sign, decide per recipient, store and queue in one transaction) and the
// delivery workers that push each peer's queue to its inbox with retries.
//
// Every path out of the node asks one function, policy.Engine.Decide: the
// push (when the queue is written), the pull (a peer's TAXII GET, filtered
// entry by entry) and re-sharing alike.
package federation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/taxii"
)

// InboxAlias is the alias of the collection peers push direct sends to.
// Objects shared to a community go to the collection of that community
// (alias = the community's name) on each member.
const InboxAlias = "inbox"

// Config tunes a Federation; zero values mean the defaults.
type Config struct {
	BatchSize    int           // objects per push (500)
	PollInterval time.Duration // how often workers look for rows queued by other processes (250 ms)
	BackoffMin   time.Duration // first retry delay (1 s)
	BackoffMax   time.Duration // longest retry delay (5 min)
	Timeout      time.Duration // one push (30 s)
	// DeferredAttempts bounds the attempts at an object a peer refuses for
	// now (ErrRetryLater: a workflow step from a party whose invitation has
	// not reached the peer yet); the row then fails for good. 40 by default.
	DeferredAttempts int
	// DeferredBackoffMax is the longest delay between two attempts at such
	// an object (4 h; never less than BackoffMax): the invitation it waits
	// for may be held by a node that is down for the night. With the
	// defaults, the 40 attempts span two to four days (the delays double
	// from BackoffMin, with jitter), while a stranger's step costs the peer
	// only 40 audited refusals.
	DeferredBackoffMax time.Duration
	// CosignInterval is how often the node checkpoints its audit log and
	// has its peers cosign it, and announces its key rotations (also once
	// at start); DefaultCosignInterval if zero, never if negative.
	CosignInterval time.Duration
	Log            *slog.Logger
	// Delivered, when set, is called after rows of a peer's queue are
	// marked delivered (the peer acknowledged them), with those rows. It
	// runs on the delivery worker: it must be quick. Tests and benchmarks
	// measure acknowledgement with it instead of polling the store.
	Delivered func(peerID string, rows []store.OutboxRow)
}

func (c Config) withDefaults() Config {
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.DeferredAttempts <= 0 {
		c.DeferredAttempts = 40
	}
	if c.DeferredBackoffMax <= 0 {
		c.DeferredBackoffMax = 4 * time.Hour
	}
	c.DeferredBackoffMax = max(c.DeferredBackoffMax, c.BackoffMax)
	if c.CosignInterval == 0 {
		c.CosignInterval = DefaultCosignInterval
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Federation is one node's federation machinery. Safe for concurrent use.
type Federation struct {
	n     *node.Node
	st    store.Store
	reg   *peer.Registry
	audit *audit.Log
	clk   clock.Clock
	cfg   Config
	log   *slog.Logger
	cert  tls.Certificate
	inbox store.Collection

	mu      sync.Mutex
	wake    map[string]chan struct{} // per peer identity id
	clients map[string]*http.Client  // per peer identity id
	contact map[string]time.Time     // per peer identity id: the last success recorded in the store

	cosign   cosignState  // see cosign.go
	workflow WorkflowHook // see workflow.go; guarded by mu
}

// New prepares the federation of an opened node: its inbox collection
// (created on first use), peer registry, audit log and certificate.
func New(ctx context.Context, n *node.Node, cfg Config) (*Federation, error) {
	cfg = cfg.withDefaults()
	cert, err := n.FedTLSCertificate()
	if err != nil {
		return nil, err
	}
	as, err := store.AuditStorage(n.Store)
	if err != nil {
		return nil, err
	}
	al, err := audit.New(audit.Config{Name: n.Identity.Name, Key: n.Signer, PastKeys: n.Keys, Storage: as, Clock: n.Clock})
	if err != nil {
		return nil, err
	}
	f := &Federation{
		n: n, st: n.Store, reg: n.Registry(), audit: al, clk: n.Clock, cfg: cfg,
		log: cfg.Log.With("node", n.Identity.Name), cert: cert,
		wake: map[string]chan struct{}{}, clients: map[string]*http.Client{}, contact: map[string]time.Time{},
	}
	if f.inbox, err = ensureInbox(ctx, n); err != nil {
		return nil, err
	}
	return f, nil
}

func ensureInbox(ctx context.Context, n *node.Node) (store.Collection, error) {
	cols, err := n.Store.Collections(ctx)
	if err != nil {
		return store.Collection{}, err
	}
	for _, c := range cols {
		if c.Alias == InboxAlias {
			return c, nil
		}
	}
	c := store.Collection{ID: stix.NewUUID(), Title: "Inbox of " + n.Identity.Name,
		Description: "Objects peers sent to " + n.Identity.Org + " directly.", Alias: InboxAlias,
		MediaTypes: []string{"application/stix+json;version=2.1"}, Created: n.Clock.Now()}
	if err := n.Store.CreateCollection(ctx, c); err != nil {
		if errors.Is(err, store.ErrConflict) { // another process made it meanwhile
			return ensureInbox(ctx, n)
		}
		return c, err
	}
	return c, nil
}

// Audit is the node's audit log.
func (f *Federation) Audit() *audit.Log { return f.audit }

// Registry is the node's peer registry.
func (f *Federation) Registry() *peer.Registry { return f.reg }

// peer returns a pinned peer by name or identity id: from the registry's
// snapshot when it knows it (a share to thirty peers named them thirty
// times, and each read of the store, with its card parse, was most of the
// cost of the share), else from the store, whose error names the peers
// there are.
func (f *Federation) peer(ctx context.Context, nameOrID string) (peer.Peer, error) {
	if p, ok := f.reg.ByIdentity(nameOrID); ok {
		return p, nil
	}
	if p, ok := f.reg.ByName(nameOrID); ok {
		return p, nil
	}
	return f.reg.Get(ctx, nameOrID)
}

// communities reads the communities as stored now, so that every decision
// sees the same membership whatever process changed it last.
func (f *Federation) communities(ctx context.Context) ([]policy.Community, map[string]store.Community, error) {
	cs, err := f.st.Communities(ctx)
	if err != nil {
		return nil, nil, err
	}
	byName := make(map[string]store.Community, len(cs))
	pcs := make([]policy.Community, 0, len(cs))
	for _, c := range cs {
		byName[c.Name] = c
		pcs = append(pcs, policy.Community{Name: c.Name, MaxTLP: c.MaxTLP, Types: c.Types, Members: c.Members})
	}
	return pcs, byName, nil
}

// engine is the policy engine of this node, over the stored communities.
func (f *Federation) engine(ctx context.Context) (*policy.Engine, map[string]store.Community, error) {
	pcs, byName, err := f.communities(ctx)
	if err != nil {
		return nil, nil, err
	}
	e, err := policy.New(policy.Config{Self: f.n.Identity.IdentityID, Communities: pcs})
	return e, byName, err
}

// Listener returns the federation listener's TLS configuration: TLS 1.3,
// client certificates accepted only from pinned peers, refusals audited.
func (f *Federation) TLSConfig() *tls.Config {
	return peer.ServerTLS(f.cert, f.reg, func(spki, reason string) {
		f.appendAudit(context.Background(), audit.Entry{Kind: audit.KindRefuse, Reason: "TLS handshake refused: " + reason,
			Detail: map[string]string{"spki": spki}})
	})
}

// Serve serves the federation API on ln (plain TCP; TLS is added here)
// until ctx ends, then shuts down gracefully.
func (f *Federation) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           f.Handler(),
		TLSConfig:         f.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	hs.ErrorLog = discardLog()
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler is the federation API: TAXII 2.1 with the peer as the user, and
// the federation's own endpoints under /entraide/ (cosign.go).
func (f *Federation) Handler() http.Handler {
	srv := taxii.NewServer(f.st, f.clk, taxii.Config{
		Title:        "Entraide federation API of " + f.n.Identity.Name,
		Description:  fmt.Sprintf("%s (%s, %s): peers only, over mutual TLS", f.n.Identity.Name, f.n.Identity.Org, f.n.Identity.Country),
		Authenticate: f.authenticate,
		Ingest:       f.ingest,
		Visible:      f.visible,
	}, f.log)
	mux := http.NewServeMux()
	mux.Handle("/entraide/", f.entraideHandler())
	mux.Handle("/", srv.Handler())
	return mux
}

// contactEvery is how stale a peer's recorded last contact may be while
// exchanges keep succeeding.
const contactEvery = time.Second

// recordContact records an exchange with a peer. A success within
// contactEvery of the last one recorded by this process is not written
// again: each is a write transaction, and on a busy node (every push sent
// and every push received) they were a third of the serialised writes.
// Failures are always written, and the first success after one.
func (f *Federation) recordContact(ctx context.Context, peerID string, at time.Time, errMsg string) {
	f.mu.Lock()
	last, ok := f.contact[peerID]
	if errMsg != "" {
		delete(f.contact, peerID)
	} else if ok && at.Sub(last) < contactEvery && !at.Before(last) {
		f.mu.Unlock()
		return
	} else {
		f.contact[peerID] = at
	}
	f.mu.Unlock()
	if err := f.st.RecordContact(ctx, peerID, at, errMsg); err != nil && errMsg == "" {
		f.mu.Lock()
		delete(f.contact, peerID) // try again next time
		f.mu.Unlock()
	}
}

// batchAudit writes the audit entries of a batch in the transaction that
// stores it (store.AddOptions.Audit): those known before the store (before:
// refusals, policy denials) and those its outcomes make (after). A crash
// then keeps both or neither — never objects received or shared without
// their entries. Entries the log refuses (Prepare) are left to appendAudit
// after the store, which logs the failure, as before.
type batchAudit struct {
	log     *audit.Log
	before  []audit.Entry
	after   func(results []store.AddResult) []audit.Entry
	written bool // the store was given the entries
}

func (b *batchAudit) build(results []store.AddResult) store.AuditBuild {
	build, err := b.log.Prepare(append(slices.Clone(b.before), b.after(results)...))
	if err != nil {
		return nil
	}
	b.written = true
	return build
}

func (f *Federation) appendAudit(ctx context.Context, es ...audit.Entry) {
	if len(es) == 0 {
		return
	}
	// The entries record what is already done (stored, refused, sent): a
	// caller that went away meanwhile — a peer that hung up after its
	// objects were stored — must not take them with it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := f.audit.Append(ctx, es); err != nil {
		// Losing an audit entry silently would defeat the log: make it loud.
		f.log.Error("audit append failed", "err", err, "entries", len(es))
	}
}
