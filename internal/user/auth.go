package user

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
)

// Authentication limits, the same on every path into the node that takes
// a password or a token (TAXII, the JSON API, the console's login form).
const (
	// VerifiedTTL is how long a successful password verification is
	// remembered (see Authenticator).
	VerifiedTTL = 60 * time.Second
	// maxVerified bounds the verification cache.
	maxVerified = 10000
	// MaxConcurrentVerify bounds the argon2id verifications running at
	// once: each takes 64 MiB, so four take 256 MiB whatever the request
	// rate, on every listener together.
	MaxConcurrentVerify = 4
	// MaxAddrFailures failed logins from one address, or MaxNameFailures
	// to one user name, within FailureWindow make that address (that name)
	// wait until the window ends: 429 with Retry-After, without any
	// verification. The per-name limit is higher, so that one noisy
	// address does not lock a person out for long, yet a guesser spreading
	// over many addresses is still slowed.
	MaxAddrFailures = 10
	MaxNameFailures = 30
	FailureWindow   = 15 * time.Minute
	// maxTracked bounds each failure table; past it, ended windows are
	// swept and, if that is not enough, arbitrary windows are dropped.
	maxTracked = 100000
)

// Failure says why a request was not authenticated.
type Failure int

const (
	// NoCredentials: the request carried none (401).
	NoCredentials Failure = iota + 1
	// BadCredentials: wrong name or password, unknown or revoked token,
	// disabled user — all alike to the client (401).
	BadCredentials
	// Throttled: too many failures from the address or to the name; the
	// credentials were not checked (429).
	Throttled
	// Busy: the request ended while waiting for a verification slot (503).
	Busy
)

// AuthError is a refused authentication: what happened, the HTTP status
// to answer with, and for Throttled how long to wait. Each server words its
// own message from Failure; User is the name tried, for logs only.
type AuthError struct {
	Failure    Failure
	Status     int
	RetryAfter time.Duration // Throttled only
	User       string        // "" for tokens
	Err        error         // the cause, for Busy
}

func (e *AuthError) Error() string {
	switch e.Failure {
	case NoCredentials:
		return "authentication required"
	case BadCredentials:
		return "the credentials were not accepted"
	case Throttled:
		return fmt.Sprintf("too many failed logins; try again in %d s", e.RetryAfterSeconds())
	case Busy:
		return "the server is busy; try again"
	}
	return "authentication failed"
}

func (e *AuthError) Unwrap() error { return e.Err }

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up: the value
// of a Retry-After header.
func (e *AuthError) RetryAfterSeconds() int {
	return int((e.RetryAfter + time.Second - 1) / time.Second)
}

func authError(f Failure, name string) *AuthError {
	st := http.StatusUnauthorized
	switch f {
	case Throttled:
		st = http.StatusTooManyRequests
	case Busy:
		st = http.StatusServiceUnavailable
	}
	return &AuthError{Failure: f, Status: st, User: name}
}

// AuthStats counts argon2id verifications, for tests and metrics.
type AuthStats struct {
	Verifications int64 // argon2id runs since start
	MaxConcurrent int64 // the most that ever ran at once
}

// Authenticator checks the credentials of local users: HTTP Basic (user
// name and password, argon2id), bearer tokens (Authorization: Bearer, or
// Token as sent by OASIS's Python client), and the console's login form.
// A node makes ONE and gives it to every server on its user listener, so
// that a password guessed on one path counts on all of them and the bound
// on argon2id memory holds for the process.
//
// Password verification costs 64 MiB and tens of milliseconds, which a
// script paging through a collection would pay on every request. So a
// successful verification is remembered for VerifiedTTL, keyed by
// HMAC-SHA-256(user name, password, stored hash) under a random key made
// at start-up. The trade-off, accepted: for up to 60 s a correct password
// is recognised without argon2, and a memory dump of the process in that
// time would expose keys that are fast to test guesses against — but only
// together with the HMAC key, in the same dump, and only for passwords
// used in the last minute. The cache lives in memory only, is never
// written anywhere, and because the stored hash is part of the key a
// password change (or any change of the hash) makes the old entry
// unreachable at once. The user record itself is read from the store on
// every request, so a disabled user or changed permissions take effect
// immediately.
//
// A semaphore bounds concurrent argon2id runs; an unknown name (or one
// without a password) is verified against a dummy hash, so response times
// do not tell which names exist. Failed logins are counted per remote
// address and per user name (see MaxAddrFailures): past the limit, the
// request is refused without any verification until the window ends. The
// tables live in this process: replicas each keep their own.
type Authenticator struct {
	st  store.Store
	clk clock.Clock
	log *slog.Logger
	sem chan struct{}
	key [32]byte // HMAC key of the verification cache

	mu       sync.Mutex
	verified map[[32]byte]time.Time // cache key → expiry
	addrs    map[string]*window     // remote address → failures
	names    map[string]*window     // user name → failures

	dummyOnce sync.Once
	dummyHash string

	verifications atomic.Int64
	running       atomic.Int64
	maxRunning    atomic.Int64
}

type window struct {
	start time.Time
	count int
}

// NewAuthenticator makes the authenticator of a node's users. A nil clock
// is the system clock; a nil log discards.
func NewAuthenticator(st store.Store, clk clock.Clock, log *slog.Logger) *Authenticator {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{
		st:       st,
		clk:      clk,
		log:      log,
		sem:      make(chan struct{}, MaxConcurrentVerify),
		verified: map[[32]byte]time.Time{},
		addrs:    map[string]*window{},
		names:    map[string]*window{},
	}
	_, _ = rand.Read(a.key[:])
	return a
}

var errBadCredentials = errors.New("bad credentials")

// Authenticate returns the user an HTTP request speaks for. A refusal is
// an *AuthError; any other error is the store's (an internal error).
func (a *Authenticator) Authenticate(r *http.Request) (store.User, error) {
	addr := RemoteAddr(r)
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	name := ""
	basic := strings.EqualFold(scheme, "basic")
	if basic {
		name, _, _ = r.BasicAuth()
	}
	if wait := a.throttled(addr, name); wait > 0 {
		e := authError(Throttled, name)
		e.RetryAfter = wait
		return store.User{}, e
	}
	if h == "" {
		return store.User{}, authError(NoCredentials, "")
	}
	var (
		u   store.User
		err error
	)
	switch {
	case strings.EqualFold(scheme, "bearer"), strings.EqualFold(scheme, "token"):
		u, err = a.token(r.Context(), strings.TrimSpace(rest))
	case basic:
		n, pw, ok := r.BasicAuth()
		if !ok {
			err = errBadCredentials
			break
		}
		u, err = a.password(r.Context(), n, pw)
	default:
		err = errBadCredentials
	}
	return a.outcome(addr, name, u, err)
}

// Password checks a user name and password from addr, as HTTP Basic does:
// the console's login form. The same limits, the same failure tables.
func (a *Authenticator) Password(ctx context.Context, addr, name, pw string) (store.User, error) {
	if wait := a.throttled(addr, name); wait > 0 {
		e := authError(Throttled, name)
		e.RetryAfter = wait
		return store.User{}, e
	}
	u, err := a.password(ctx, name, pw)
	return a.outcome(addr, name, u, err)
}

// outcome counts a failure, or passes a success or an error to answer.
func (a *Authenticator) outcome(addr, name string, u store.User, err error) (store.User, error) {
	if err == nil && u.Disabled {
		err = errBadCredentials
	}
	switch {
	case err == nil:
		return u, nil
	case errors.Is(err, errBadCredentials):
		a.fail(addr, name)
		return store.User{}, authError(BadCredentials, name)
	}
	return store.User{}, err
}

func (a *Authenticator) token(ctx context.Context, tok string) (store.User, error) {
	if tok == "" {
		return store.User{}, errBadCredentials
	}
	u, err := a.st.TokenUser(ctx, HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, errBadCredentials
	}
	return u, err
}

// password verifies a name and password. It returns errBadCredentials when
// they are wrong, an *AuthError (Busy), or the store's error.
func (a *Authenticator) password(ctx context.Context, name, pw string) (store.User, error) {
	u, err := a.st.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		// Spend the same time as for a real user, so that response times
		// do not tell which names exist.
		if err := a.verify(ctx, a.dummy(), pw); err != nil && !errors.Is(err, ErrBadPassword) {
			var e *AuthError
			if errors.As(err, &e) {
				return store.User{}, e
			}
		}
		return store.User{}, errBadCredentials
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
	case errors.Is(err, ErrBadPassword):
		return store.User{}, errBadCredentials
	case err != nil:
		var e *AuthError
		if errors.As(err, &e) {
			return store.User{}, e
		}
		// A malformed stored hash: the administrator must fix it (entraide
		// user passwd); the client only learns its login failed.
		a.log.Error("password hash unusable: set a new password for this user", "user", name, "err", err)
		return store.User{}, errBadCredentials
	}
	a.remember(k, now)
	return u, nil
}

// verify runs argon2id under the semaphore. Waiting ends with the request
// (an *AuthError of Failure Busy).
func (a *Authenticator) verify(ctx context.Context, hash, pw string) error {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		e := authError(Busy, "")
		e.Err = ctx.Err()
		return e
	}
	defer func() { <-a.sem }()
	a.verifications.Add(1)
	cur := a.running.Add(1)
	defer a.running.Add(-1)
	for m := a.maxRunning.Load(); cur > m && !a.maxRunning.CompareAndSwap(m, cur); m = a.maxRunning.Load() {
	}
	return VerifyPassword(hash, pw)
}

// Stats returns the verification counters.
func (a *Authenticator) Stats() AuthStats {
	return AuthStats{Verifications: a.verifications.Load(), MaxConcurrent: a.maxRunning.Load()}
}

func (a *Authenticator) dummy() string {
	a.dummyOnce.Do(func() {
		h, err := HashPassword("entraide: no such user, no such password")
		if err != nil {
			panic(err) // only crypto/rand failing, which never returns
		}
		a.dummyHash = h
	})
	return a.dummyHash
}

func (a *Authenticator) cacheKey(name, pw, hash string) [32]byte {
	m := hmac.New(sha256.New, a.key[:])
	for _, s := range []string{name, pw, hash} {
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s)))) // ("ab","c") ≠ ("a","bc")
		m.Write([]byte(s))
	}
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (a *Authenticator) remember(k [32]byte, now time.Time) {
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
	a.verified[k] = now.Add(VerifiedTTL)
}

// throttled returns how long requests from addr, or to name ("" for none),
// must still wait, or 0.
func (a *Authenticator) throttled(addr, name string) time.Duration {
	now := a.clk.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	wait := time.Duration(0)
	for _, c := range a.tables(addr, name) {
		f := c.m[c.k]
		if f == nil {
			continue
		}
		end := f.start.Add(FailureWindow)
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

// fail counts a failed login from addr (and to name, when there is one) in
// fixed windows that start at the first failure.
func (a *Authenticator) fail(addr, name string) {
	now := a.clk.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.tables(addr, name) {
		f := c.m[c.k]
		if f == nil || !now.Before(f.start.Add(FailureWindow)) {
			if f == nil && len(c.m) >= maxTracked {
				prune(c.m, now)
			}
			f = &window{start: now}
			c.m[c.k] = f
		}
		f.count++
	}
}

// table is one failure table, the key a request has in it, and its limit.
type table struct {
	m   map[string]*window
	k   string
	max int
}

// tables are the failure tables a request counts in: its address's, and
// its user name's when it names one (a token names none).
func (a *Authenticator) tables(addr, name string) []table {
	ts := []table{{a.addrs, addr, MaxAddrFailures}}
	if name != "" {
		ts = append(ts, table{a.names, name, MaxNameFailures})
	}
	return ts
}

// prune drops the windows that have ended, then any, until there is room.
func prune(m map[string]*window, now time.Time) {
	for k, f := range m {
		if !now.Before(f.start.Add(FailureWindow)) {
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

// RemoteAddr is the client's IP address as the connection shows it.
// Forwarding headers are not trusted: a reverse proxy in front of the node
// would make every client one address, which an operator must account for.
func RemoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
