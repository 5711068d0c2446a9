package taxii

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// Authentication limits.
const (
	// verifiedTTL is how long a successful password verification is
	// remembered (see authenticator).
	verifiedTTL = 60 * time.Second
	// maxVerified bounds the verification cache.
	maxVerified = 10000
	// maxConcurrentVerify bounds the argon2id verifications running at once:
	// each takes 64 MiB, so four take 256 MiB whatever the request rate.
	maxConcurrentVerify = 4
	// maxFailures failed logins from one address within failureWindow make
	// that address wait until the window ends (429 with Retry-After).
	maxFailures   = 10
	failureWindow = time.Minute
	// maxTrackedAddrs bounds the failure table; past it, expired windows are
	// swept and, if that is not enough, the oldest windows are dropped.
	maxTrackedAddrs = 100000
)

// authenticator checks credentials: HTTP Basic (user name and password,
// argon2id) and bearer tokens (Authorization: Bearer, or Token as sent by
// OASIS's Python client).
//
// Password verification costs 64 MiB and tens of milliseconds, which a
// script paging through a collection would pay on every request. So a
// successful verification is remembered for verifiedTTL, keyed by
// HMAC-SHA-256(user name, password, stored hash) under a random key made at
// start-up. The trade-off, accepted: for up to 60 s a correct password is
// recognised without argon2, and a memory dump of the process in that time
// would expose keys that are fast to test guesses against — but only
// together with the HMAC key, in the same dump, and only for passwords used
// in the last minute. The cache lives in memory only, is never written
// anywhere, and because the stored hash is part of the key a password
// change (or any change of the hash) makes the old entry unreachable at once.
// The user record itself is read from the store on every request, so a
// disabled user or changed permissions take effect immediately.
//
// A semaphore bounds concurrent argon2id runs, and failed logins are counted
// per remote address: past maxFailures in failureWindow the address is
// refused (429) without any verification until the window ends.
type authenticator struct {
	st  store.Store
	clk clock.Clock
	log *slog.Logger
	sem chan struct{}
	key [32]byte // HMAC key of the verification cache

	mu       sync.Mutex
	verified map[[32]byte]time.Time // cache key → expiry
	failures map[string]*failures   // remote address → window

	dummyOnce sync.Once
	dummyHash string // verified against when the user does not exist, so timing does not tell

	verifications atomic.Int64 // argon2id runs, for tests
	running       atomic.Int64 // argon2id runs in progress
	maxRunning    atomic.Int64 // the most that ever ran at once, for tests
}

type failures struct {
	start time.Time
	count int
}

func newAuthenticator(st store.Store, clk clock.Clock, log *slog.Logger) *authenticator {
	a := &authenticator{
		st:       st,
		clk:      clk,
		log:      log,
		sem:      make(chan struct{}, maxConcurrentVerify),
		verified: map[[32]byte]time.Time{},
		failures: map[string]*failures{},
	}
	_, _ = rand.Read(a.key[:])
	return a
}

var errBadCredentials = errors.New("bad credentials")

func unauthorized(desc string) *Error {
	return &Error{Kind: KindUnauthorized, Title: "Unauthorized", Description: desc}
}

// authenticate returns the user a request speaks for.
func (a *authenticator) authenticate(r *http.Request) (store.User, error) {
	addr := remoteAddr(r)
	if wait := a.throttled(addr); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return store.User{}, &Error{Kind: KindTooManyRequests, Title: "Too many requests",
			Description: "too many failed logins from your address; try again later",
			Details:     map[string]any{"retry_after": secs}}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return store.User{}, unauthorized("this server needs authentication: HTTP Basic or a bearer token")
	}
	u, err := a.check(r.Context(), r, h)
	if err == nil && u.Disabled {
		err = errBadCredentials
	}
	if err == nil {
		return u, nil
	}
	if errors.Is(err, errBadCredentials) {
		a.fail(addr)
		a.log.Info("taxii authentication failed", "addr", addr, "user", u.Name)
		return store.User{}, unauthorized("the credentials were not accepted")
	}
	var e *Error
	if errors.As(err, &e) {
		return store.User{}, e
	}
	return store.User{}, errInternal(err)
}

// check verifies an Authorization header value. It returns errBadCredentials
// (wrapped or not) when the credentials are wrong, and the user's name
// in u when it is known, for the log.
func (a *authenticator) check(ctx context.Context, r *http.Request, h string) (store.User, error) {
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		tok := strings.TrimSpace(rest)
		if tok == "" {
			return store.User{}, errBadCredentials
		}
		u, err := a.st.TokenUser(ctx, user.HashToken(tok))
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, errBadCredentials
		}
		return u, err
	case "basic":
		name, pw, ok := r.BasicAuth()
		if !ok {
			return store.User{}, errBadCredentials
		}
		return a.checkPassword(ctx, name, pw)
	}
	return store.User{}, errBadCredentials
}

func (a *authenticator) checkPassword(ctx context.Context, name, pw string) (store.User, error) {
	u, err := a.st.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		// Spend the same time as for a real user, so that response times do
		// not tell which names exist.
		_ = a.verify(ctx, a.dummy(), pw)
		return store.User{Name: name}, errBadCredentials
	}
	if err != nil {
		return store.User{}, err
	}
	k := a.cacheKey(name, pw, u.PasswordHash)
	now := a.clk.Now()
	a.mu.Lock()
	exp, hit := a.verified[k]
	a.mu.Unlock()
	if hit && now.Before(exp) {
		return u, nil
	}
	switch err := a.verify(ctx, u.PasswordHash, pw); {
	case errors.Is(err, user.ErrBadPassword):
		return store.User{Name: name}, errBadCredentials
	case err != nil:
		var e *Error
		if errors.As(err, &e) {
			return store.User{}, e
		}
		// A malformed stored hash: the administrator must fix it; the client
		// only learns its login failed.
		a.log.Error("taxii: password hash unusable", "user", name, "err", err)
		return store.User{Name: name}, errBadCredentials
	}
	a.remember(k, now)
	return u, nil
}

// verify runs argon2id under the semaphore. Waiting ends with the request.
func (a *authenticator) verify(ctx context.Context, hash, pw string) error {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return errUnavailable(ctx.Err())
	}
	defer func() { <-a.sem }()
	a.verifications.Add(1)
	cur := a.running.Add(1)
	defer a.running.Add(-1)
	for m := a.maxRunning.Load(); cur > m && !a.maxRunning.CompareAndSwap(m, cur); m = a.maxRunning.Load() {
	}
	return user.VerifyPassword(hash, pw)
}

func (a *authenticator) dummy() string {
	a.dummyOnce.Do(func() {
		h, err := user.HashPassword("entraide: no such user, no such password")
		if err != nil {
			panic(err) // only crypto/rand failing, which never returns
		}
		a.dummyHash = h
	})
	return a.dummyHash
}

func (a *authenticator) cacheKey(name, pw, hash string) [32]byte {
	m := hmac.New(sha256.New, a.key[:])
	for _, s := range []string{name, pw, hash} {
		var n [8]byte // length-prefix each part so that ("ab","c") ≠ ("a","bc")
		l := uint64(len(s))
		for i := range n {
			n[i] = byte(l >> (56 - 8*i))
		}
		m.Write(n[:])
		m.Write([]byte(s))
	}
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (a *authenticator) remember(k [32]byte, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.verified) >= maxVerified {
		for k, exp := range a.verified {
			if !now.Before(exp) {
				delete(a.verified, k)
			}
		}
		for k := range a.verified { // still full: forget arbitrary entries
			if len(a.verified) < maxVerified {
				break
			}
			delete(a.verified, k)
		}
	}
	a.verified[k] = now.Add(verifiedTTL)
}

// throttled returns how long addr must still wait, or 0.
func (a *authenticator) throttled(addr string) time.Duration {
	now := a.clk.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.failures[addr]
	if f == nil || f.count < maxFailures {
		return 0
	}
	end := f.start.Add(failureWindow)
	if !now.Before(end) {
		delete(a.failures, addr)
		return 0
	}
	return end.Sub(now)
}

// fail counts a failed login from addr in a fixed window that starts at the
// first failure.
func (a *authenticator) fail(addr string) {
	now := a.clk.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.failures[addr]
	if f == nil || !now.Before(f.start.Add(failureWindow)) {
		if f == nil && len(a.failures) >= maxTrackedAddrs {
			a.sweepFailures(now)
		}
		f = &failures{start: now}
		a.failures[addr] = f
	}
	f.count++
}

func (a *authenticator) sweepFailures(now time.Time) {
	for k, f := range a.failures {
		if !now.Before(f.start.Add(failureWindow)) {
			delete(a.failures, k)
		}
	}
	for k := range a.failures {
		if len(a.failures) < maxTrackedAddrs {
			break
		}
		delete(a.failures, k)
	}
}

// remoteAddr is the client's IP address as the connection shows it.
// Forwarding headers are not trusted: a reverse proxy in front of the node
// would make every client one address, which an operator must account for.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
