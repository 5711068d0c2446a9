package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
)

// testSessions is a session table over a fresh SQLite store with users
// alice, bob, carol and dave.
func testSessions(t testing.TB) (*sessions, store.Store, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		if err := st.PutUser(context.Background(), store.User{Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	return newSessions(st, clk, slog.New(slog.DiscardHandler), time.Hour, 12*time.Hour), st, clk
}

func count(t testing.TB, st store.Store, users ...string) int {
	t.Helper()
	n := 0
	for _, u := range users {
		ss, err := st.Sessions(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		n += len(ss)
	}
	return n
}

// One person holds at most maxPerUser sessions (the oldest goes); ended
// sessions are pruned; ending a user's sessions ends them all; the store
// keeps the token's hash, never the token.
func TestSessionLimits(t *testing.T) {
	ss, st, clk := testSessions(t)
	ctx := context.Background()
	all := []string{"alice", "bob", "carol", "dave"}
	var ids []string
	for range maxPerUser + 5 {
		id, err := ss.create(ctx, store.User{Name: "alice"}, store.RoleViewer, "en")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		clk.Advance(time.Second)
	}
	if n := count(t, st, "alice"); n != maxPerUser {
		t.Fatalf("%d sessions for one user, want %d", n, maxPerUser)
	}
	if s, _ := ss.lookup(ctx, ids[0]); s != nil {
		t.Fatal("the oldest session should be gone")
	}
	if s, _ := ss.lookup(ctx, ids[len(ids)-1]); s == nil || s.user != "alice" || s.lang != "en" {
		t.Fatalf("the newest session: %+v", s)
	}
	bob, _ := ss.create(ctx, store.User{Name: "bob"}, store.RoleViewer, "")
	if err := ss.endUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if s, _ := ss.lookup(ctx, bob); count(t, st, all...) != 1 || s == nil {
		t.Fatalf("after ending alice's sessions: %d left", count(t, st, all...))
	}
	// Idle bob's session is pruned when someone logs in later.
	clk.Advance(2 * time.Hour)
	if _, err := ss.create(ctx, store.User{Name: "carol"}, store.RoleViewer, ""); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, all...); n != 1 {
		t.Fatalf("ended sessions not pruned: %d", n)
	}
	// The token is 256 random bits; what the store keeps is its hash.
	id, _ := ss.create(ctx, store.User{Name: "dave"}, store.RoleViewer, "")
	key, ok := keyOf(id)
	tok, _ := base64.RawURLEncoding.DecodeString(id)
	if !ok || len(id) != 43 || len(tok) != 32 || key != sha256.Sum256(tok) {
		t.Fatalf("token %q", id)
	}
	rows, err := st.Sessions(ctx, "dave")
	if err != nil || len(rows) != 1 || rows[0].Hash != key {
		t.Fatalf("the session is not kept under the token's hash: %+v %v", rows, err)
	}
	if strings.Contains(string(rows[0].Hash[:]), string(tok)) {
		t.Fatal("the store keeps the token itself")
	}
}

// A session ends after the idle timeout and after the maximum age, on the
// injected clock, and an ended session is deleted when it is presented.
func TestSessionEnds(t *testing.T) {
	ss, st, clk := testSessions(t)
	ctx := context.Background()
	id, err := ss.create(ctx, store.User{Name: "alice"}, store.RoleViewer, "")
	if err != nil {
		t.Fatal(err)
	}
	// A request every 59 minutes keeps it alive until 12 h.
	elapsed := time.Duration(0)
	for ; elapsed+59*time.Minute < 12*time.Hour; elapsed += 59 * time.Minute {
		clk.Advance(59 * time.Minute)
		if s, err := ss.lookup(ctx, id); s == nil || err != nil {
			t.Fatalf("an active session ended after %v: %v", elapsed+59*time.Minute, err)
		}
	}
	clk.Advance(59 * time.Minute)
	if s, _ := ss.lookup(ctx, id); s != nil {
		t.Fatal("a session past its maximum age is alive")
	}
	if count(t, st, "alice") != 0 {
		t.Fatal("an ended session presented is not deleted")
	}
	id, err = ss.create(ctx, store.User{Name: "alice"}, store.RoleViewer, "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour - time.Microsecond)
	if s, _ := ss.lookup(ctx, id); s == nil {
		t.Fatal("a session used just within the idle timeout ended")
	}
	clk.Advance(time.Hour)
	if s, _ := ss.lookup(ctx, id); s != nil {
		t.Fatal("a session idle for the whole timeout is alive")
	}
}

// A session cookie is only ever worth something when the server made it:
// no value an attacker sends finds a session (the stored hash, in any
// spelling, included), and none makes the parser fail.
func FuzzSessionCookie(f *testing.F) {
	ss, st, _ := testSessions(f)
	ctx := context.Background()
	good, err := ss.create(ctx, store.User{Name: "alice"}, store.RoleViewer, "")
	if err != nil {
		f.Fatal(err)
	}
	rows, err := st.Sessions(ctx, "alice")
	if err != nil || len(rows) != 1 {
		f.Fatal(rows, err)
	}
	stolen := base64.RawURLEncoding.EncodeToString(rows[0].Hash[:])
	for _, s := range []string{"", good, good[:42], good + "A", strings.Repeat("A", 43), "%%%", strings.Repeat("-", 43), stolen} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := ss.lookup(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if v == good {
			if got == nil || got.user != "alice" {
				t.Fatalf("the real cookie finds %+v", got)
			}
			return
		}
		if got != nil {
			t.Fatalf("cookie %q finds the session of %s", v, got.user)
		}
	})
}

// BenchmarkSessionLookup is what every console request pays for its
// session: one read and one update of a row (SQLite).
func BenchmarkSessionLookup(b *testing.B) {
	ss, _, clk := testSessions(b)
	ctx := context.Background()
	id, err := ss.create(ctx, store.User{Name: "alice"}, store.RoleViewer, "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		clk.Advance(time.Millisecond)
		if s, err := ss.lookup(ctx, id); s == nil || err != nil {
			b.Fatal(err)
		}
	}
}
