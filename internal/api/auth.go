package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// The API authenticates as the TAXII server on the same listener does
// (internal/taxii/auth.go), with the same limits: HTTP Basic checked with
// argon2id, bearer tokens by their SHA-256, a short-lived memory of
// successful password checks, a bound on concurrent argon2id runs, and a
// per-address limit on failed logins. The TAXII authenticator is not
// exported, so this is its twin; the two keep separate failure tables.
const (
	verifiedTTL         = 60 * time.Second
	maxVerified         = 10000
	maxConcurrentVerify = 4
	maxFailures         = 10
	failureWindow       = time.Minute
	maxTrackedAddrs     = 100000
)

// authenticator checks credentials. The user record is read from the store
// on every request, so that disabling a user or changing a permission takes
// effect at once; only the outcome of an argon2id verification is
// remembered, for verifiedTTL, under HMAC-SHA-256(name, password, stored
// hash) keyed by a random per-process key — a password change makes the
// entry unreachable, and nothing is ever written out.
type authenticator struct {
	st  store.Store
	clk clock.Clock
	log *slog.Logger
	sem chan struct{}
	key [32]byte

	mu       sync.Mutex
	verified map[[32]byte]time.Time
	failures map[string]*failures

	dummyOnce sync.Once
	dummyHash string
}

type failures struct {
	start time.Time
	count int
}

func newAuthenticator(st store.Store, clk clock.Clock, log *slog.Logger) *authenticator {
	a := &authenticator{st: st, clk: clk, log: log, sem: make(chan struct{}, maxConcurrentVerify),
		verified: map[[32]byte]time.Time{}, failures: map[string]*failures{}}
	_, _ = rand.Read(a.key[:])
	return a
}

var errBadCredentials = errors.New("bad credentials")

// authenticate returns the user a request speaks for, or an *Error (401,
// 429, 503) or an internal error.
func (a *authenticator) authenticate(r *http.Request) (store.User, error) {
	addr := remoteAddr(r)
	if wait := a.throttled(addr); wait > 0 {
		return store.User{}, &Error{Status: http.StatusTooManyRequests, RetryAfter: int((wait + time.Second - 1) / time.Second),
			Message: "too many failed logins from your address; try again later"}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return store.User{}, &Error{Status: http.StatusUnauthorized,
			Message: "authentication required: HTTP Basic (user name and password) or a bearer token (entraide user token)"}
	}
	u, err := a.check(r.Context(), r, h)
	if err == nil && u.Disabled {
		err = errBadCredentials
	}
	switch {
	case err == nil:
		return u, nil
	case errors.Is(err, errBadCredentials):
		a.fail(addr)
		a.log.Info("api authentication failed", "addr", addr, "user", u.Name)
		return store.User{}, &Error{Status: http.StatusUnauthorized, Message: "the credentials were not accepted"}
	}
	return store.User{}, err
}

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
		// The same time as for a real user: response times do not tell
		// which names exist.
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
		a.log.Error("api: password hash unusable", "user", name, "err", err)
		return store.User{Name: name}, errBadCredentials
	}
	a.remember(k, now)
	return u, nil
}

// verify runs argon2id under the semaphore; waiting ends with the request.
func (a *authenticator) verify(ctx context.Context, hash, pw string) error {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return &Error{Status: http.StatusServiceUnavailable, Message: "the server is busy; try again", Err: ctx.Err()}
	}
	defer func() { <-a.sem }()
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
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s)))) // ("ab","c") ≠ ("a","bc")
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
		for k := range a.verified {
			if len(a.verified) < maxVerified {
				break
			}
			delete(a.verified, k)
		}
	}
	a.verified[k] = now.Add(verifiedTTL)
}

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

func (a *authenticator) fail(addr string) {
	now := a.clk.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.failures[addr]
	if f == nil || !now.Before(f.start.Add(failureWindow)) {
		if f == nil && len(a.failures) >= maxTrackedAddrs {
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
		f = &failures{start: now}
		a.failures[addr] = f
	}
	f.count++
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
