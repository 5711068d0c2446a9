package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store"
)

// statsFromLog computes what OutboxStats must say from the rows themselves
// (SharingLog reads every row): the definition the per-peer totals of the
// store must keep matching.
func (e *env) statsFromLog() map[string]store.QueueStats {
	e.t.Helper()
	log, err := e.s.SharingLog(e.ctx, time.Time{}, "", 100000)
	if err != nil {
		e.t.Fatalf("SharingLog: %v", err)
	}
	want := map[string]store.QueueStats{}
	for _, r := range log {
		q := want[r.Peer]
		switch {
		case !r.DeliveredAt.IsZero():
			q.Delivered++
			if r.DeliveredAt.After(q.LastDelivered) {
				q.LastDelivered = r.DeliveredAt
			}
		case r.Failed:
			q.Failed++
		default:
			q.Pending++
			if q.OldestPending.IsZero() || r.Created.Before(q.OldestPending) {
				q.OldestPending = r.Created
			}
		}
		want[r.Peer] = q
	}
	return want
}

// checkStats fails the test when OutboxStats disagrees with the rows.
func (e *env) checkStats(step string) {
	e.t.Helper()
	got, err := e.s.OutboxStats(e.ctx)
	if err != nil {
		e.t.Fatalf("%s: OutboxStats: %v", step, err)
	}
	want := e.statsFromLog()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Fatalf("%s: OutboxStats disagrees with the rows:\n got %+v\nwant %+v", step, got, want)
	}
}

// testOutboxTotals settles rows in every way there is — delivered,
// delivered twice, delivered in one call with unknown and repeated seqs,
// failed for good, retried, delivered after a final failure, failed after
// delivery, the peer removed (its pending rows fail) and pinned again —
// and checks after each step that OutboxStats says what the rows say. The
// store keeps delivered and failed totals per peer instead of counting
// every row: a counter moved twice, or not at all, fails here.
func testOutboxTotals(t *testing.T, e *env) {
	c := e.collection()
	e.putPeer(testPeer(peerEE, "cert-ee"))
	e.putPeer(testPeer(peerDE, "cert-de"))
	b := Indicators(6, 1101)
	e.addWith(c, b, store.AddOptions{Outbox: share(b, "", peerEE, peerDE)}, "")
	e.checkStats("six rows each for two peers")
	ee := e.pending(peerEE, 0)
	t0 := e.clk.Now()

	// Delivered, with a repeated seq and an unknown one in the same call.
	e.clk.Advance(time.Minute)
	if err := e.s.MarkDelivered(e.ctx, []int64{ee[0].Seq, ee[1].Seq, ee[0].Seq, 99999999}, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	e.checkStats("two delivered")
	// Delivered again, later: neither counted twice nor re-dated.
	if err := e.s.MarkDelivered(e.ctx, []int64{ee[0].Seq, ee[1].Seq}, e.clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.checkStats("the same two delivered again")
	if st, _ := e.s.OutboxStats(e.ctx); st[peerEE].Delivered != 2 || !st[peerEE].LastDelivered.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after a repeated delivery: %+v, want 2 delivered at %v", st[peerEE], t0.Add(time.Minute))
	}
	// A retry changes no total; a final failure does, once.
	if err := e.s.MarkFailed(e.ctx, ee[2].Seq, e.clk.Now(), "503", e.clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.checkStats("one retry")
	for range 2 {
		if err := e.s.MarkFailed(e.ctx, ee[3].Seq, e.clk.Now(), "refused", time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.checkStats("one final failure, reported twice")
	}
	// A late failure report of a delivered row changes nothing.
	if err := e.s.MarkFailed(e.ctx, ee[0].Seq, e.clk.Now(), "late", time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.checkStats("a failure reported for a delivered row")
	// Delivered after its final failure (an acknowledgement that came
	// late): it moves from the failures to the deliveries.
	if err := e.s.MarkDelivered(e.ctx, []int64{ee[3].Seq}, t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.checkStats("a failed row delivered after all, dated before the last delivery")
	if st, _ := e.s.OutboxStats(e.ctx); st[peerEE].Failed != 0 || st[peerEE].Delivered != 3 || !st[peerEE].LastDelivered.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after a late delivery of a failed row: %+v", st[peerEE])
	}
	// The peer is removed: its pending rows fail, once; pinned again, it
	// keeps its totals and gets new rows.
	e.clk.Advance(time.Minute)
	if err := e.s.RemovePeer(e.ctx, "cert-ee"); err != nil {
		t.Fatal(err)
	}
	e.checkStats("cert-ee removed")
	if st, _ := e.s.OutboxStats(e.ctx); st[peerEE].Failed != 3 || st[peerEE].Pending != 0 {
		t.Fatalf("after removing cert-ee: %+v, want its 3 pending rows failed", st[peerEE])
	}
	e.putPeer(testPeer(peerEE, "cert-ee"))
	if err := e.s.RemovePeer(e.ctx, "cert-ee"); err != nil {
		t.Fatal(err)
	}
	e.checkStats("cert-ee pinned and removed again with nothing pending")
	e.putPeer(testPeer(peerEE, "cert-ee"))
	e.clk.Advance(time.Minute)
	b2 := Indicators(2, 1102)
	e.addWith(c, b2, store.AddOptions{Outbox: share(b2, "", peerEE)}, "")
	e.checkStats("cert-ee pinned again, two new rows")

	// Then many random steps over three peers, checked after each.
	rng := rand.New(rand.NewPCG(11, 3))
	peers := []string{peerEE, peerDE, peerLV}
	pinned := map[string]bool{peerEE: true, peerDE: true}
	names := map[string]string{peerEE: "cert-ee", peerDE: "cert-de", peerLV: "cert-lv"}
	for step := range 120 {
		log, err := e.s.SharingLog(e.ctx, time.Time{}, "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		anySeq := func() int64 {
			if len(log) == 0 || rng.IntN(10) == 0 {
				return 99999999
			}
			return log[rng.IntN(len(log))].Seq
		}
		var what string
		switch op := rng.IntN(10); {
		case op < 3:
			objs := Indicators(1+rng.IntN(4), uint64(1200+step))
			var to []string
			for _, p := range peers {
				if rng.IntN(2) == 0 {
					to = append(to, p)
				}
			}
			if len(to) == 0 {
				to = peers[:1]
			}
			e.addWith(c, objs, store.AddOptions{Outbox: share(objs, "", to...)}, "")
			what = fmt.Sprintf("%d objects queued for %d peers", len(objs), len(to))
		case op < 6:
			var seqs []int64
			for range 1 + rng.IntN(6) {
				seqs = append(seqs, anySeq())
			}
			at := e.clk.Now().Add(time.Duration(rng.IntN(7200)-3600) * time.Second)
			if err := e.s.MarkDelivered(e.ctx, seqs, at); err != nil {
				t.Fatal(err)
			}
			what = fmt.Sprintf("delivered %v at %v", seqs, at)
		case op < 8:
			seq := anySeq()
			retry := time.Time{}
			if rng.IntN(2) == 0 {
				retry = e.clk.Now().Add(time.Minute)
			}
			err := e.s.MarkFailed(e.ctx, seq, e.clk.Now(), "failed", retry)
			if err != nil && !(seq == 99999999 && errors.Is(err, store.ErrNotFound)) {
				t.Fatal(err)
			}
			what = fmt.Sprintf("failed %d (retry at %v)", seq, retry)
		default:
			p := peers[rng.IntN(len(peers))]
			if pinned[p] {
				if err := e.s.RemovePeer(e.ctx, names[p]); err != nil {
					t.Fatal(err)
				}
				what = "removed " + names[p]
			} else {
				e.putPeer(testPeer(p, names[p]))
				what = "pinned " + names[p]
			}
			pinned[p] = !pinned[p]
		}
		if rng.IntN(3) == 0 {
			e.clk.Advance(time.Duration(1+rng.IntN(90)) * time.Second)
		}
		e.checkStats(fmt.Sprintf("random step %d (%s)", step, what))
	}
	// The random steps went through every kind of row.
	st := e.statsFromLog()
	var kinds []string
	for _, q := range st {
		if q.Pending > 0 {
			kinds = append(kinds, "pending")
		}
		if q.Delivered > 0 {
			kinds = append(kinds, "delivered")
		}
		if q.Failed > 0 {
			kinds = append(kinds, "failed")
		}
	}
	slices.Sort(kinds)
	if kinds = slices.Compact(kinds); len(kinds) != 3 {
		t.Errorf("the random steps ended with rows only %v: the test does not exercise every state", kinds)
	}
}
