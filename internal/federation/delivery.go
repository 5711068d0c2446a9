package federation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/taxii"
)

// Wake tells the delivery worker of a peer (by identity id) that rows are
// waiting, so that a share is pushed at once rather than at the next poll.
func (f *Federation) Wake(peerID string) {
	f.mu.Lock()
	ch, ok := f.wake[peerID]
	if !ok {
		ch = make(chan struct{}, 1)
		f.wake[peerID] = ch
	}
	f.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (f *Federation) wakeChan(peerID string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.wake[peerID]
	if !ok {
		ch = make(chan struct{}, 1)
		f.wake[peerID] = ch
	}
	return ch
}

// RunDelivery runs one worker per pinned peer until ctx ends, starting
// workers for peers pinned later (checked at every poll). Each worker pushes
// its peer's queue in order, in batches, and retries with exponential
// backoff and jitter when the peer cannot be reached; rows survive restarts
// (they are in the store), and the receiver deduplicates, so a peer that was
// down gets everything exactly once when it returns. It also runs the
// cosigning and rotation-announcing rounds (CosignOnce) every
// CosignInterval.
func (f *Federation) RunDelivery(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f.runCosign(ctx) }()
	running := map[string]bool{}
	t := time.NewTicker(f.cfg.PollInterval * 4)
	defer t.Stop()
	for {
		// The store's rows are enough to find new peers; the registry
		// (which verifies every card when it reloads) is refreshed only
		// when one appears, and otherwise on its own within
		// peer.RefreshEvery. Reloading it at every tick cost every node a
		// signature check per peer and tick (the 31-node benchmark spent
		// most of its CPU there).
		peers, err := f.st.Peers(ctx)
		if err == nil {
			for _, p := range peers {
				if !running[p.IdentityID] {
					if _, known := f.reg.ByIdentity(p.IdentityID); !known {
						f.reg.Invalidate()
					}
					running[p.IdentityID] = true
					wg.Add(1)
					go func() {
						defer wg.Done()
						f.worker(ctx, p.IdentityID)
					}()
				}
			}
		} else if ctx.Err() == nil {
			f.log.Warn("listing peers", "err", err)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
	}
}

func (f *Federation) worker(ctx context.Context, peerID string) {
	wake := f.wakeChan(peerID)
	up := false // the last push to the peer went through
	for ctx.Err() == nil {
		n, err := f.deliverOnce(ctx, peerID, up)
		if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) {
			f.log.Debug("delivery", "peer", peerID, "err", err)
		}
		if err != nil {
			up = false
		} else if n > 0 {
			up = true
		}
		if n > 0 && err == nil {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(f.cfg.PollInterval):
		}
	}
}

// DeliverOnce pushes one batch of a peer's due rows and returns how many rows
// it settled (delivered or finally failed).
func (f *Federation) DeliverOnce(ctx context.Context, peerID string) (int, error) {
	return f.deliverOnce(ctx, peerID, false)
}

// deliverOnce is DeliverOnce; peerUp says the last push to the peer went
// through. Backoff exists not to hammer a peer that is down: once it is
// known to be up again, the rows still waiting out a backoff from its
// outage are taken too (every retry time is at most BackoffMax after the
// failure, so now+BackoffMax covers them all), rather than trickling out
// over the next minutes as each row's own retry time comes.
func (f *Federation) deliverOnce(ctx context.Context, peerID string, peerUp bool) (int, error) {
	p, ok := f.reg.ByIdentity(peerID)
	if !ok {
		return 0, store.ErrNotFound
	}
	due := f.clk.Now()
	if peerUp {
		due = due.Add(f.cfg.BackoffMax)
	}
	rows, err := f.st.PendingOutbox(ctx, peerID, due, f.cfg.BatchSize)
	if err != nil {
		return 0, err
	}
	if peerUp {
		// A row the peer asked to retry later waits out its own backoff:
		// the peer being up is not what it waits for.
		now := f.clk.Now()
		kept := slices.DeleteFunc(slices.Clone(rows), func(r store.OutboxRow) bool {
			return r.NextAttempt.After(now) && strings.HasPrefix(r.LastError, deferredPrefix)
		})
		if len(kept) == 0 && len(rows) > 0 { // a batch of them: take what is due now
			if kept, err = f.st.PendingOutbox(ctx, peerID, now, f.cfg.BatchSize); err != nil {
				return 0, err
			}
		}
		rows = kept
	}
	if len(rows) == 0 {
		return 0, nil
	}
	// One envelope per run of rows bound for the same collection.
	settled := 0
	for len(rows) > 0 {
		k := 1
		for k < len(rows) && rows[k].Community == rows[0].Community {
			k++
		}
		n, err := f.push(ctx, p, rows[:k])
		settled += n
		if err != nil {
			return settled, err
		}
		rows = rows[k:]
	}
	return settled, nil
}

func (f *Federation) push(ctx context.Context, p peer.Peer, rows []store.OutboxRow) (int, error) {
	coll := InboxAlias
	if rows[0].Community != "" {
		coll = rows[0].Community
	}
	objs, err := f.outboxRaws(rows) // RED rows are sealed at rest
	if err != nil {
		return 0, err
	}
	c := &taxii.Client{BaseURL: strings.TrimRight(p.Endpoint, "/") + "/api/", HTTP: f.httpClient(p)}
	pctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	st, err := c.AddObjects(pctx, coll, objs)
	cancel()
	now := f.clk.Now()
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		msg := err.Error()
		f.recordContact(ctx, p.IdentityID, now, msg)
		for _, r := range rows {
			if err := f.st.MarkFailed(ctx, r.Seq, now, msg, now.Add(f.backoff(r.Attempts+1))); err != nil {
				return 0, err
			}
		}
		return 0, fmt.Errorf("pushing to %s: %w", p.Name, err)
	}
	f.recordContact(ctx, p.IdentityID, now, "")
	failed := map[string]string{}
	for _, d := range st.Failures {
		failed[d.ID+"\x00"+d.Version] = d.Message
		failed[d.ID] = d.Message
	}
	var ok []int64
	var delivered []store.OutboxRow
	deferred := 0
	var entries []audit.Entry
	for _, r := range rows {
		msg, bad := failed[r.ID+"\x00"+r.Version]
		if !bad {
			msg, bad = failed[r.ID]
		}
		if bad && retryLater(msg) && r.Attempts+1 < f.cfg.DeferredAttempts {
			// The peer cannot admit it yet (what admits it is on its way
			// from another node): try again later, not settled.
			if err := f.st.MarkFailed(ctx, r.Seq, now, deferredPrefix+p.Name+": "+strings.TrimPrefix(msg, retryLaterPrefix),
				now.Add(f.backoffUpTo(r.Attempts+1, f.cfg.DeferredBackoffMax))); err != nil {
				return 0, err
			}
			deferred++
			continue
		}
		if bad { // the peer refused the object itself: retrying cannot help
			if retryLater(msg) {
				msg = fmt.Sprintf("%s (still refused after %d attempts)", strings.TrimPrefix(msg, retryLaterPrefix), r.Attempts+1)
			}
			if err := f.st.MarkFailed(ctx, r.Seq, now, "refused by "+p.Name+": "+msg, time.Time{}); err != nil {
				return 0, err
			}
			entries = append(entries, audit.Entry{Kind: audit.KindSend, Peer: p.IdentityID, ObjectID: r.ID, ObjectVersion: r.Version,
				Community: r.Community, TLP: tlpName(r.TLP), Reason: "refused by the peer: " + msg, Detail: map[string]string{"outcome": "refused"}})
			continue
		}
		ok = append(ok, r.Seq)
		delivered = append(delivered, r)
		entries = append(entries, audit.Entry{Kind: audit.KindSend, Peer: p.IdentityID, ObjectID: r.ID, ObjectVersion: r.Version,
			Community: r.Community, TLP: tlpName(r.TLP), Detail: map[string]string{"outcome": "delivered"}})
	}
	if err := f.st.MarkDelivered(ctx, ok, now); err != nil {
		return 0, err
	}
	f.appendAudit(ctx, entries...)
	if f.cfg.Delivered != nil && len(delivered) > 0 {
		f.cfg.Delivered(p.IdentityID, delivered)
	}
	return len(rows) - deferred, nil
}

// backoff is the delay before attempt n (1, 2, …): exponential from
// BackoffMin, capped at BackoffMax, with jitter in [d/2, d] so that the
// workers of many nodes do not retry in step.
func (f *Federation) backoff(n int) time.Duration { return f.backoffUpTo(n, f.cfg.BackoffMax) }

// backoffUpTo is the delay before attempt n+1: BackoffMin doubled per
// attempt up to most, with jitter (between half of it and all of it).
func (f *Federation) backoffUpTo(n int, most time.Duration) time.Duration {
	d := f.cfg.BackoffMin
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// httpClient is the mutual-TLS client of a peer, kept so that connections
// are reused between pushes.
func (f *Federation) httpClient(p peer.Peer) *http.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := p.IdentityID + "\x00" + p.TLSSPKI
	if c, ok := f.clients[key]; ok {
		return c
	}
	tcfg := peer.ClientTLS(f.cert, p)
	tcfg.Time = f.clk.Now
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tcfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}}
	f.clients[key] = c
	return c
}

// PeerStatus is one line of `entraide status`.
type PeerStatus struct {
	Name, IdentityID, Endpoint string
	Reachable                  bool
	LastContact                time.Time
	LastError                  string
	Queue                      store.QueueStats
	// Forks counts the times this node found the peer's audit log forked
	// (a checkpoint contradicting one it cosigned); LastFork the latest.
	Forks    int
	LastFork time.Time
}

// Status reports, per peer, reachability, last contact and queue.
func (f *Federation) Status(ctx context.Context) ([]PeerStatus, error) {
	peers, err := f.st.Peers(ctx)
	if err != nil {
		return nil, err
	}
	stats, err := f.st.OutboxStats(ctx)
	if err != nil {
		return nil, err
	}
	forks, err := store.AuditForks(ctx, f.st)
	if err != nil {
		return nil, err
	}
	out := make([]PeerStatus, 0, len(peers))
	for _, p := range peers {
		fk := forks[p.Name]
		out = append(out, PeerStatus{Name: p.Name, IdentityID: p.IdentityID, Endpoint: p.Endpoint,
			Reachable:   !p.LastContact.IsZero() && !p.LastContact.Before(p.LastErrorAt),
			LastContact: p.LastContact, LastError: p.LastError, Queue: stats[p.IdentityID],
			Forks: fk.Count, LastFork: fk.Last})
	}
	return out, nil
}
