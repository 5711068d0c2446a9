package storetest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store"
)

// testWorkflowCountBy: WorkflowCountBy counts, per severity and per UTC
// day opened, exactly the cases WorkflowCount counts for the same query
// (kind, origin, open, opened range, waiting on), as a count made case by
// case in Go says; days are cut at UTC midnight, the one before the epoch
// too; OpenedSince is inclusive and OpenedBefore exclusive, for
// WorkflowCases as well; an unknown group is ErrInvalid.
func testWorkflowCountBy(t *testing.T, e *env, ws store.WorkflowStore) {
	const self, peer, other = "identity--self", "identity--peer", "identity--other"
	midnight := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	type kase struct {
		store.WorkflowCase
		waiting bool // WaitingOn self
	}
	var all []kase
	rng := rand.New(rand.NewPCG(7, 11))
	put := func(c kase) {
		t.Helper()
		c.ID = fmt.Sprintf("x-a--00000000-0000-4000-8000-%012d", len(all))
		c.Title, c.Status, c.Updated = "t", "s", c.Opened
		if c.waiting && c.Open {
			c.NextDue, c.WaitingOn = c.Opened.Add(time.Hour), []string{self}
		}
		if err := ws.PutWorkflowCase(e.ctx, c.WorkflowCase, int64(len(all)+1)); err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
	}
	// Cases on either side of midnight, to the microsecond.
	put(kase{WorkflowCase: store.WorkflowCase{Kind: "alert", Origin: self, Severity: 2, Open: true, Opened: midnight.Add(-time.Microsecond)}})
	put(kase{WorkflowCase: store.WorkflowCase{Kind: "alert", Origin: self, Severity: 2, Open: true, Opened: midnight}})
	// One before the epoch: its day is -1, not 0.
	put(kase{WorkflowCase: store.WorkflowCase{Kind: "alert", Origin: peer, Severity: -1, Open: false, Opened: time.Unix(0, 0).Add(-time.Hour)}})
	// And many more, spread over three weeks.
	kinds, origins := []string{"alert", "incident", "notice"}, []string{self, peer, other}
	for range 400 {
		put(kase{WorkflowCase: store.WorkflowCase{Kind: kinds[rng.IntN(3)], Origin: origins[rng.IntN(3)], Severity: rng.IntN(7) - 1,
			Open: rng.IntN(3) > 0, Opened: midnight.Add(time.Duration(rng.Int64N(int64(21*24*time.Hour))) - 10*24*time.Hour).Truncate(time.Microsecond)},
			waiting: rng.IntN(2) == 0})
	}
	if got := store.Day(midnight); got != midnight.Unix()/86400 {
		t.Fatalf("Day(%v) = %d", midnight, got)
	}
	if got := store.Day(midnight.Add(-time.Microsecond)); got != midnight.Unix()/86400-1 {
		t.Fatalf("Day(just before midnight) = %d", got)
	}
	if got := store.Day(time.Unix(0, 0).Add(-time.Hour)); got != -1 {
		t.Fatalf("Day(an hour before the epoch) = %d, want -1", got)
	}

	match := func(q store.WorkflowQuery, c kase) bool {
		switch {
		case q.Kind != "" && c.Kind != q.Kind,
			q.Origin != "" && c.Origin != q.Origin,
			q.NotOrigin != "" && c.Origin == q.NotOrigin,
			q.OpenOnly && !c.Open,
			q.WaitingOn != "" && !(c.waiting && c.Open),
			!q.OpenedSince.IsZero() && c.Opened.Before(q.OpenedSince),
			!q.OpenedBefore.IsZero() && !c.Opened.Before(q.OpenedBefore):
			return false
		}
		return true
	}
	since, before := midnight.AddDate(0, 0, -3), midnight.AddDate(0, 0, 4)
	for _, q := range []store.WorkflowQuery{
		{},
		{Kind: "alert"},
		{Kind: "incident", OpenOnly: true},
		{Kind: "alert", Origin: self},
		{Kind: "alert", NotOrigin: self},
		{Kind: "alert", Origin: self, OpenedSince: since, OpenedBefore: before},
		{Kind: "alert", NotOrigin: self, OpenedSince: since, OpenedBefore: before},
		{Kind: "alert", OpenedSince: midnight},
		{Kind: "alert", OpenedBefore: midnight},
		{Kind: "alert", OpenedSince: midnight, OpenedBefore: midnight.Add(time.Microsecond)},
		{Kind: "alert", WaitingOn: self},
		{OpenOnly: true, NotOrigin: peer},
	} {
		wantSev, wantDay, want := map[int64]int{}, map[int64]int{}, 0
		var ids []string
		for _, c := range all {
			if match(q, c) {
				want++
				wantSev[int64(c.Severity)]++
				wantDay[store.Day(c.Opened)]++
				ids = append(ids, c.ID)
			}
		}
		n, err := ws.WorkflowCount(e.ctx, q)
		if err != nil || n != want {
			t.Errorf("WorkflowCount(%+v) = %d, %v; want %d", q, n, err, want)
		}
		for _, g := range []struct {
			by   store.WorkflowGroup
			want map[int64]int
		}{{store.GroupSeverity, wantSev}, {store.GroupOpenedDay, wantDay}} {
			got, err := ws.WorkflowCountBy(e.ctx, q, g.by)
			if err != nil {
				t.Fatalf("WorkflowCountBy(%+v, %d): %v", q, g.by, err)
			}
			if !maps.Equal(got, g.want) {
				t.Errorf("WorkflowCountBy(%+v, %d) = %v, want %v", q, g.by, got, g.want)
			}
		}
		q.Limit, q.NoState = len(all)+1, true
		cs, err := ws.WorkflowCases(e.ctx, q)
		if err != nil || len(cs) != want {
			t.Errorf("WorkflowCases(%+v) = %d cases, %v; want %d", q, len(cs), err, want)
		}
	}
	if got, err := ws.WorkflowCountBy(e.ctx, store.WorkflowQuery{Kind: "alert", OpenedSince: midnight, OpenedBefore: midnight.Add(time.Microsecond)},
		store.GroupOpenedDay); err != nil || !maps.Equal(got, map[int64]int{store.Day(midnight): 1}) {
		t.Errorf("the case opened at midnight: %v, %v", got, err)
	}
	if _, err := ws.WorkflowCountBy(e.ctx, store.WorkflowQuery{}, store.WorkflowGroup(99)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("an unknown group: %v, want ErrInvalid", err)
	}
}
