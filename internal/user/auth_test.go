package user

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
)

const testPassword = "a test password that is long"

var (
	hashOnce sync.Once
	testHash string
)

// authEnv is a SQLite store with users alice (admin), bob and a disabled
// carol, all with testPassword, and an authenticator on a fake clock.
type authEnv struct {
	t     testing.TB
	st    store.Store
	clk   *clock.Fake
	a     *Authenticator
	token string // alice's bearer token
}

func newAuthEnv(t testing.TB) *authEnv {
	t.Helper()
	hashOnce.Do(func() {
		h, err := HashPassword(testPassword)
		if err != nil {
			panic(err)
		}
		testHash = h
	})
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, u := range []store.User{
		{Name: "alice", PasswordHash: testHash, Admin: true},
		{Name: "bob", PasswordHash: testHash},
		{Name: "carol", PasswordHash: testHash, Disabled: true},
		{Name: "dan"}, // no password: tokens only
	} {
		if err := st.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	secret, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(ctx, store.Token{ID: "t1", User: "alice", Hash: hash, Created: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	return &authEnv{t: t, st: st, clk: clk, a: NewAuthenticator(st, clk, nil), token: secret}
}

// req is a request from addr with an Authorization header ("" for none).
func req(addr, authz string) *http.Request {
	r := httptest.NewRequest("GET", "https://node.test/api/", nil)
	r.RemoteAddr = addr + ":40000"
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

func basic(name, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+pw))
}

// failure returns the Failure of err, 0 for nil, and fails the test for an
// error that is not an *AuthError.
func failure(t testing.TB, err error) Failure {
	t.Helper()
	if err == nil {
		return 0
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *AuthError", err)
	}
	want := map[Failure]int{NoCredentials: 401, BadCredentials: 401, Throttled: 429, Busy: 503}[ae.Failure]
	if ae.Status != want {
		t.Fatalf("%v: status %d, want %d", err, ae.Status, want)
	}
	return ae.Failure
}

// Every scheme, and every way of being wrong, answers as it should.
func TestAuthenticateSchemes(t *testing.T) {
	e := newAuthEnv(t)
	for _, tc := range []struct {
		name, authz string
		user        string
		fail        Failure
	}{
		{"basic", basic("alice", testPassword), "alice", 0},
		{"bearer", "Bearer " + e.token, "alice", 0},
		{"token scheme", "Token " + e.token, "alice", 0},
		{"scheme in lower case", "bearer " + e.token, "alice", 0},
		{"none", "", "", NoCredentials},
		{"wrong password", basic("alice", "not the password"), "", BadCredentials},
		{"unknown user", basic("mallory", testPassword), "", BadCredentials},
		{"disabled user", basic("carol", testPassword), "", BadCredentials},
		{"user without a password", basic("dan", ""), "", BadCredentials},
		{"unknown token", "Bearer etd_nope", "", BadCredentials},
		{"empty bearer", "Bearer ", "", BadCredentials},
		{"malformed basic", "Basic %%%", "", BadCredentials},
		{"unknown scheme", "Digest x", "", BadCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Advance(FailureWindow) // each case in a fresh window
			u, err := e.a.Authenticate(req("192.0.2.1", tc.authz))
			if f := failure(t, err); f != tc.fail || u.Name != tc.user {
				t.Fatalf("user %q, failure %d (%v); want %q, %d", u.Name, f, err, tc.user, tc.fail)
			}
		})
	}
}

// An unknown name costs an argon2id run like a known one (response times
// do not tell which names exist); a successful check is remembered for
// VerifiedTTL, and a new password makes the old one fail at once.
func TestVerificationCache(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	for range 5 {
		if _, err := e.a.Password(ctx, "192.0.2.1", "bob", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if v := e.a.Stats().Verifications; v != 1 {
		t.Fatalf("%d argon2id runs for 5 logins within the cache's life, want 1", v)
	}
	e.clk.Advance(VerifiedTTL)
	if _, err := e.a.Password(ctx, "192.0.2.1", "bob", testPassword); err != nil {
		t.Fatal(err)
	}
	if v := e.a.Stats().Verifications; v != 2 {
		t.Fatalf("after the cache entry expired: %d runs, want 2", v)
	}
	if _, err := e.a.Password(ctx, "192.0.2.1", "nobody", testPassword); failure(t, err) != BadCredentials {
		t.Fatalf("unknown user: %v", err)
	}
	if v := e.a.Stats().Verifications; v != 3 {
		t.Fatalf("an unknown user ran %d argon2id, want 1 like a real one", v-2)
	}
	h, err := HashPassword("a brand new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutUser(ctx, store.User{Name: "bob", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Password(ctx, "192.0.2.1", "bob", testPassword); failure(t, err) != BadCredentials {
		t.Fatalf("the old password after a change: %v", err)
	}
	if u, err := e.a.Password(ctx, "192.0.2.1", "bob", "a brand new passphrase"); err != nil || u.Name != "bob" {
		t.Fatalf("the new password: %v", err)
	}
}

// Past MaxAddrFailures from one address, every request from it is refused
// with 429 — even with the right password — and no argon2id runs; other
// addresses are not affected; the window's end lifts it.
func TestThrottlePerAddress(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	for i := range MaxAddrFailures {
		// Half on HTTP Basic, half on the login form: one table.
		var err error
		if i%2 == 0 {
			_, err = e.a.Authenticate(req("192.0.2.1", basic("alice", fmt.Sprint("guess ", i))))
		} else {
			_, err = e.a.Password(ctx, "192.0.2.1", "bob", fmt.Sprint("guess ", i))
		}
		if failure(t, err) != BadCredentials {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	e.clk.Advance(time.Minute)
	before := e.a.Stats().Verifications
	for _, try := range []func() error{
		func() error { _, err := e.a.Password(ctx, "192.0.2.1", "alice", testPassword); return err },
		func() error { _, err := e.a.Authenticate(req("192.0.2.1", basic("alice", testPassword))); return err },
		func() error { _, err := e.a.Authenticate(req("192.0.2.1", "Bearer "+e.token)); return err },
		func() error { _, err := e.a.Authenticate(req("192.0.2.1", "")); return err },
	} {
		err := try()
		var ae *AuthError
		if failure(t, err) != Throttled || !errors.As(err, &ae) || ae.RetryAfter != FailureWindow-time.Minute ||
			ae.RetryAfterSeconds() != int((FailureWindow-time.Minute)/time.Second) {
			t.Fatalf("after %d failures: %v, want 429 for %v", MaxAddrFailures, err, FailureWindow-time.Minute)
		}
	}
	if e.a.Stats().Verifications != before {
		t.Fatal("a throttled request ran argon2id")
	}
	if _, err := e.a.Password(ctx, "192.0.2.2", "alice", testPassword); err != nil {
		t.Fatalf("another address: %v", err)
	}
	e.clk.Advance(FailureWindow - time.Minute)
	if _, err := e.a.Password(ctx, "192.0.2.1", "alice", testPassword); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// A guesser spreading over many addresses is stopped by the per-name
// limit: that name is refused from everywhere, other names are not.
func TestThrottlePerName(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	for i := range MaxNameFailures {
		addr := fmt.Sprintf("198.51.100.%d", i/(MaxAddrFailures-1))
		if _, err := e.a.Password(ctx, addr, "alice", fmt.Sprint("guess ", i)); failure(t, err) != BadCredentials {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, err := e.a.Authenticate(req("203.0.113.9", basic("alice", testPassword))); failure(t, err) != Throttled {
		t.Fatalf("alice from a fresh address after %d failures: %v, want 429", MaxNameFailures, err)
	}
	if _, err := e.a.Password(ctx, "203.0.113.9", "bob", testPassword); err != nil {
		t.Fatalf("bob from the same address: %v", err)
	}
	// A token names no one: alice's token still works (the throttle is
	// about guessing passwords).
	if u, err := e.a.Authenticate(req("203.0.113.9", "Bearer "+e.token)); err != nil || u.Name != "alice" {
		t.Fatalf("alice's token: %v", err)
	}
}

// No more than MaxConcurrentVerify argon2id runs happen at once, and a
// request that ends while waiting for a slot is Busy (503).
func TestVerifyBound(t *testing.T) {
	e := newAuthEnv(t)
	const n = 3 * MaxConcurrentVerify
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.a.Password(context.Background(), fmt.Sprintf("192.0.2.%d", i), "bob", "wrong guess")
			if failure(t, err) != BadCredentials {
				t.Errorf("bad login %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	st := e.a.Stats()
	if st.Verifications != n || st.MaxConcurrent < 1 || st.MaxConcurrent > MaxConcurrentVerify {
		t.Fatalf("%+v: want %d runs, at most %d at once", st, n, MaxConcurrentVerify)
	}
	for range MaxConcurrentVerify {
		e.a.sem <- struct{}{}
	}
	// The request's deadline passes while it waits for a slot (the user
	// is read first, well within it).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := e.a.Password(ctx, "192.0.2.200", "bob", testPassword); failure(t, err) != Busy {
		t.Fatalf("no slot and the request gone: %v, want Busy", err)
	}
	for range MaxConcurrentVerify {
		<-e.a.sem
	}
}

// FuzzAuthorization: no Authorization header authenticates but a real
// one, and none makes the authenticator fail otherwise than with an
// *AuthError.
func FuzzAuthorization(f *testing.F) {
	e := newAuthEnv(f)
	for _, s := range []string{"", basic("alice", testPassword), basic("alice", "x"), "Bearer " + e.token, "Bearer",
		"Basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice")), "Token  " + e.token, "Negotiate abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		e.clk.Advance(FailureWindow) // never throttled: every input is really checked
		r := req("192.0.2.1", "")
		r.Header["Authorization"] = []string{h}
		u, err := e.a.Authenticate(r)
		if err != nil {
			failure(t, err)
			return
		}
		// Only alice's password, or her token after either scheme.
		name, pw, ok := r.BasicAuth()
		scheme, rest, _ := strings.Cut(h, " ")
		isToken := (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) && strings.TrimSpace(rest) == e.token
		if u.Name != "alice" || !(isToken || ok && name == "alice" && pw == testPassword) {
			t.Fatalf("header %q authenticated as %q", h, u.Name)
		}
	})
}
