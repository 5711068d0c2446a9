package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
)

// runSessions runs the cases of the web console's sessions.
func runSessions(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"SessionsRoundTrip", testSessionsRoundTrip},
		{"SessionsKeepNewest", testSessionsKeepNewest},
		{"SessionsConcurrentLogins", testSessionsConcurrent},
		{"SessionsTouchAndLang", testSessionsTouch},
		{"SessionsDelete", testSessionsDelete},
		{"SessionsPrune", testSessionsPrune},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(Start)
			s := open(t, clk)
			t.Cleanup(func() { s.Close() })
			e := &env{t: t, s: s, clk: clk, ctx: t.Context()}
			for _, u := range []string{"alice", "bob"} {
				if err := s.PutUser(e.ctx, store.User{Name: u}); err != nil {
					t.Fatal(err)
				}
			}
			c.fn(t, e)
		})
	}
}

// session is a session of user created at Start+d, its hash and stamp
// derived from n.
func session(user string, n int, d time.Duration) store.Session {
	return store.Session{Hash: sha256.Sum256(fmt.Appendf(nil, "token %d", n)), User: user,
		Stamp: sha256.Sum256(fmt.Appendf(nil, "stamp %s", user)), Created: Start.Add(d), LastSeen: Start.Add(d),
		Expires: Start.Add(d + 12*time.Hour)}
}

func sameSession(a, b store.Session) bool {
	return a.Hash == b.Hash && a.User == b.User && a.Stamp == b.Stamp && a.Created.Equal(b.Created) &&
		a.LastSeen.Equal(b.LastSeen) && a.Expires.Equal(b.Expires) && a.Lang == b.Lang
}

func (e *env) sessionCount(user string) int {
	e.t.Helper()
	ss, err := e.s.Sessions(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ss)
}

func testSessionsRoundTrip(t *testing.T, e *env) {
	a := session("alice", 1, 1234567*time.Microsecond)
	a.Lang = "fr"
	if err := e.s.CreateSession(e.ctx, a, 0); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.Session(e.ctx, a.Hash)
	if err != nil || !sameSession(got, a) {
		t.Fatalf("Session:\n got %+v, %v\nwant %+v", got, err, a)
	}
	// LastSeen defaults to Created.
	b := session("alice", 2, time.Second)
	b.LastSeen = time.Time{}
	if err := e.s.CreateSession(e.ctx, b, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Session(e.ctx, b.Hash); !got.LastSeen.Equal(b.Created) {
		t.Errorf("LastSeen of a new session %v, want its creation %v", got.LastSeen, b.Created)
	}
	ss, err := e.s.Sessions(e.ctx, "alice")
	if err != nil || len(ss) != 2 || ss[0].Hash != b.Hash || ss[1].Hash != a.Hash {
		t.Errorf("Sessions: %d (%v), want b then a", len(ss), err)
	}
	if ss, err := e.s.Sessions(e.ctx, "bob"); err != nil || len(ss) != 0 {
		t.Errorf("bob's sessions: %v %v", ss, err)
	}
	if _, err := e.s.Session(e.ctx, sha256.Sum256([]byte("no such token"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
	if err := e.s.CreateSession(e.ctx, a, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the same hash again: %v, want ErrConflict", err)
	}
	if err := e.s.CreateSession(e.ctx, session("nobody", 3, 0), 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session of an unknown user: %v, want ErrNotFound", err)
	}
	for _, bad := range []store.Session{{Hash: [32]byte{9}, Created: Start}, {Hash: [32]byte{9}, User: "alice"}} {
		if err := e.s.CreateSession(e.ctx, bad, 0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateSession(%+v): %v, want ErrInvalid", bad, err)
		}
	}
}

// Past keep, a user's oldest sessions go; other users' stay.
func testSessionsKeepNewest(t *testing.T, e *env) {
	if err := e.s.CreateSession(e.ctx, session("bob", 100, 0), 3); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		// Two in the same microsecond: the order still holds.
		if err := e.s.CreateSession(e.ctx, session("alice", i, time.Duration(i/2)*time.Minute), 3); err != nil {
			t.Fatal(err)
		}
	}
	ss, err := e.s.Sessions(e.ctx, "alice")
	if err != nil || len(ss) != 3 {
		t.Fatalf("alice keeps %d sessions (%v), want 3", len(ss), err)
	}
	if ss[2].Hash != session("alice", 4, 0).Hash {
		t.Error("the newest session is not kept")
	}
	for _, s := range ss {
		if s.Hash == session("alice", 0, 0).Hash {
			t.Error("the oldest session is kept")
		}
	}
	if e.sessionCount("bob") != 1 {
		t.Error("alice's logins ended bob's session")
	}
}

// Logins of one user at once keep the limit exactly.
func testSessionsConcurrent(t *testing.T, e *env) {
	const n, keep = 16, 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.s.CreateSession(e.ctx, session("alice", i, time.Duration(i)*time.Second), keep); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := e.sessionCount("alice"); got != keep {
		t.Fatalf("%d sessions after %d logins at once, want %d", got, n, keep)
	}
}

func testSessionsTouch(t *testing.T, e *env) {
	a := session("alice", 1, 0)
	if err := e.s.CreateSession(e.ctx, a, 0); err != nil {
		t.Fatal(err)
	}
	later := Start.Add(10 * time.Minute)
	if err := e.s.TouchSession(e.ctx, a.Hash, later); err != nil {
		t.Fatal(err)
	}
	// A request that a slower replica records late does not move it back.
	if err := e.s.TouchSession(e.ctx, a.Hash, Start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetSessionLang(e.ctx, a.Hash, "fr"); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.Session(e.ctx, a.Hash)
	if err != nil || !got.LastSeen.Equal(later) || got.Lang != "fr" || !got.Created.Equal(a.Created) || !got.Expires.Equal(a.Expires) {
		t.Fatalf("after touches: %+v %v", got, err)
	}
	unknown := sha256.Sum256([]byte("x"))
	if err := e.s.TouchSession(e.ctx, unknown, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("touching an unknown session: %v", err)
	}
	if err := e.s.SetSessionLang(e.ctx, unknown, "en"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("language of an unknown session: %v", err)
	}
}

func testSessionsDelete(t *testing.T, e *env) {
	for i := range 3 {
		if err := e.s.CreateSession(e.ctx, session("alice", i, time.Duration(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.CreateSession(e.ctx, session("bob", 9, 0), 0); err != nil {
		t.Fatal(err)
	}
	h := session("alice", 0, 0).Hash
	if err := e.s.DeleteSession(e.ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Session(e.ctx, h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted session: %v", err)
	}
	if err := e.s.DeleteSession(e.ctx, h); err != nil {
		t.Errorf("deleting it again: %v", err)
	}
	if n, err := e.s.DeleteUserSessions(e.ctx, "alice"); err != nil || n != 2 {
		t.Errorf("DeleteUserSessions: %d %v, want 2", n, err)
	}
	if e.sessionCount("alice") != 0 || e.sessionCount("bob") != 1 {
		t.Error("DeleteUserSessions deleted the wrong sessions")
	}
	if n, err := e.s.DeleteUserSessions(e.ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("an unknown user's sessions: %d %v", n, err)
	}
}

// Pruning removes the sessions past their absolute end or idle for too
// long, ends included, and nothing else.
func testSessionsPrune(t *testing.T, e *env) {
	const idle = time.Hour
	now := Start.Add(20 * time.Hour)
	mk := func(n int, seen, expires time.Duration) store.Session {
		s := session("alice", n, 0)
		s.LastSeen, s.Expires = now.Add(-seen), now.Add(expires)
		return s
	}
	keep := []store.Session{mk(1, idle-time.Microsecond, time.Hour), mk(2, 0, time.Microsecond), mk(3, time.Minute, 0)}
	keep[2].Expires = time.Time{} // no absolute end
	gone := []store.Session{mk(4, idle, time.Hour), mk(5, 0, 0), mk(6, 2*idle, -time.Hour)}
	for _, s := range append(append([]store.Session{}, keep...), gone...) {
		if err := e.s.CreateSession(e.ctx, s, 0); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.s.PruneSessions(e.ctx, now, idle)
	if err != nil || n != len(gone) {
		t.Fatalf("PruneSessions: %d %v, want %d", n, err, len(gone))
	}
	for _, s := range keep {
		if _, err := e.s.Session(e.ctx, s.Hash); err != nil {
			t.Errorf("live session (seen %v, expires %v) pruned: %v", s.LastSeen, s.Expires, err)
		}
	}
	for _, s := range gone {
		if _, err := e.s.Session(e.ctx, s.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ended session (seen %v, expires %v) kept: %v", s.LastSeen, s.Expires, err)
		}
	}
	// Without an idle timeout only the absolute end counts.
	old := mk(7, 100*idle, time.Hour)
	if err := e.s.CreateSession(e.ctx, old, 0); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.PruneSessions(e.ctx, now, 0); err != nil || n != 0 {
		t.Errorf("PruneSessions without idle: %d %v, want 0", n, err)
	}
}
