package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// Login throttling: failures are counted per client address and per user
// name over a window; past the limit, logins from that address (or to that
// name) are refused until the window ends, without checking the password —
// a guesser learns nothing more. The per-name limit is higher than the
// per-address one, so that one noisy address does not lock a person out
// for long, yet a guesser spreading over many addresses is still slowed.
const (
	maxAddrFailures   = 10
	maxUserFailures   = 30
	failureWindow     = 15 * time.Minute
	maxTracked        = 100000
	maxConcurrentHash = 4 // argon2id takes 64 MiB each: bound the memory logins take
)

var (
	errBadLogin  = errors.New("wrong user name or password")
	errThrottled = errors.New("too many failed logins")
	errBusy      = errors.New("the server is busy")
)

// loginChecker checks passwords against the store, with throttling.
type loginChecker struct {
	st  store.Store
	clk clock.Clock
	sem chan struct{}

	mu    sync.Mutex
	addrs map[string]*failures
	names map[string]*failures

	dummyOnce sync.Once
	dummy     string
}

type failures struct {
	start time.Time
	count int
}

func newLoginChecker(st store.Store, clk clock.Clock) *loginChecker {
	return &loginChecker{st: st, clk: clk, sem: make(chan struct{}, maxConcurrentHash),
		addrs: map[string]*failures{}, names: map[string]*failures{}}
}

// check returns the user whose name and password these are, or
// errBadLogin, errThrottled (with how long to wait), errBusy or a store
// error. A disabled user, an unknown one and one without a password all
// look alike to the caller, and take the same time.
func (l *loginChecker) check(ctx context.Context, addr, name, pw string) (store.User, time.Duration, error) {
	if wait := l.throttled(addr, name); wait > 0 {
		return store.User{}, wait, errThrottled
	}
	u, err := l.st.User(ctx, name)
	hash := ""
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return store.User{}, 0, err
	default:
		hash = u.PasswordHash
	}
	if hash == "" {
		hash = l.dummyHash()
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return store.User{}, 0, errBusy
	}
	verr := user.VerifyPassword(hash, pw)
	<-l.sem
	if err != nil || verr != nil || u.PasswordHash == "" || u.Disabled {
		l.fail(addr, name)
		return store.User{}, 0, errBadLogin
	}
	return u, 0, nil
}

func (l *loginChecker) dummyHash() string {
	l.dummyOnce.Do(func() {
		h, err := user.HashPassword("entraide: no such user, no such password")
		if err != nil {
			panic(err) // crypto/rand failing, which never returns
		}
		l.dummy = h
	})
	return l.dummy
}

// throttled returns how long logins from addr or to name must wait.
func (l *loginChecker) throttled(addr, name string) time.Duration {
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := time.Duration(0)
	for _, c := range []struct {
		m   map[string]*failures
		k   string
		max int
	}{{l.addrs, addr, maxAddrFailures}, {l.names, name, maxUserFailures}} {
		f := c.m[c.k]
		if f == nil {
			continue
		}
		end := f.start.Add(failureWindow)
		if !now.Before(end) {
			delete(c.m, c.k)
			continue
		}
		if f.count >= c.max && end.Sub(now) > wait {
			wait = end.Sub(now)
		}
	}
	return wait
}

func (l *loginChecker) fail(addr, name string) {
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range []struct {
		m map[string]*failures
		k string
	}{{l.addrs, addr}, {l.names, name}} {
		f := c.m[c.k]
		if f == nil || !now.Before(f.start.Add(failureWindow)) {
			if f == nil && len(c.m) >= maxTracked {
				prune(c.m, now)
			}
			f = &failures{start: now}
			c.m[c.k] = f
		}
		f.count++
	}
}

// prune drops the windows that have ended, then any, until there is room.
func prune(m map[string]*failures, now time.Time) {
	for k, f := range m {
		if !now.Before(f.start.Add(failureWindow)) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < maxTracked {
			return
		}
		delete(m, k)
	}
}

// remoteAddr is the client's IP address as the connection shows it;
// forwarding headers are not trusted.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
