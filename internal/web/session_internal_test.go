package web

import (
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
)

// One person holds at most maxPerUser sessions (the oldest goes); expired
// sessions are swept; ending a user's sessions ends them all.
func TestSessionLimits(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ss := newSessions(clk, time.Hour, 12*time.Hour)
	var ids []string
	for range maxPerUser + 5 {
		id, err := ss.create("alice")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ss.count() != maxPerUser {
		t.Fatalf("%d sessions for one user, want %d", ss.count(), maxPerUser)
	}
	if ss.lookup(ids[0]) != nil || ss.lookup(ids[len(ids)-1]) == nil {
		t.Fatal("the oldest session should be gone, the newest live")
	}
	bob, _ := ss.create("bob")
	ss.endUser("alice")
	if ss.count() != 1 || ss.lookup(bob) == nil {
		t.Fatalf("after ending alice's sessions: %d left", ss.count())
	}
	// Idle bob's session is swept when someone logs in later.
	clk.Advance(2 * time.Hour)
	if _, err := ss.create("carol"); err != nil {
		t.Fatal(err)
	}
	if ss.count() != 1 {
		t.Fatalf("expired sessions not swept: %d", ss.count())
	}
	// The id is 256 random bits; what the server keeps is its hash.
	id, _ := ss.create("dave")
	key, ok := keyOf(id)
	if !ok || len(id) != 43 {
		t.Fatalf("id %q", id)
	}
	ss.mu.Lock()
	for k := range ss.byKey {
		if string(k[:]) == id {
			t.Fatal("the server keeps the id itself")
		}
	}
	_, kept := ss.byKey[key]
	ss.mu.Unlock()
	if !kept {
		t.Fatal("the session is not kept under the id's hash")
	}
}
