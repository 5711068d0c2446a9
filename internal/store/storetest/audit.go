package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
)

// RunAudit runs the conformance suite of audit.Storage (the engines' audit
// log) against the engine open opens. Run calls it.
func RunAudit(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, a *auditEnv)
	}{
		{"Append", testAuditAppend},
		{"AppendAtomic", testAuditAppendAtomic},
		{"AppendFailingContext", testAuditAppendFailingContext},
		{"Since", testAuditSince},
		{"Hashes", testAuditHashes},
		{"ConcurrentAppends", testAuditConcurrentAppends},
		{"Checkpoints", testAuditCheckpoints},
		{"Cosignatures", testAuditCosignatures},
		{"PeerCheckpoints", testAuditPeerCheckpoints},
		{"Log", testAuditLog},
	}
	for _, c := range cases {
		t.Run("Audit"+c.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(Start)
			s := open(t, clk)
			t.Cleanup(func() { s.Close() })
			st, err := store.AuditStorage(s)
			if err != nil {
				t.Fatal(err)
			}
			c.fn(t, &auditEnv{t: t, s: st, clk: clk, ctx: t.Context()})
		})
	}
}

type auditEnv struct {
	t   *testing.T
	s   audit.Storage
	clk *clock.Fake
	ctx context.Context
}

// AuditKey is the test-only signing key of node name, derived from its name.
func AuditKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("entraide test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// sample returns n entries with every field set, dated at.
func sample(n int, at time.Time, tag string) []audit.Entry {
	es := make([]audit.Entry, n)
	for i := range es {
		es[i] = audit.Entry{Time: at, Kind: audit.KindSend, Actor: "marie", Peer: "cert-ee",
			ObjectID: fmt.Sprintf("indicator--%08d-1b4a-4c5d-8e9f-0a1b2c3d4e5f", i), ObjectVersion: "2026-01-01T00:00:00.000Z",
			Community: "fr-ee", TLP: "amber", Reason: "politique: « ambre » ✓ " + tag,
			Detail: map[string]string{"collection": "fr-ee", "n": fmt.Sprint(i), "é": "\"quoted\"\n"}}
	}
	return es
}

// builder returns a build function for AppendAudit that appends es with
// correct Seq and hashes, and records the tip it was given.
func builder(es []audit.Entry, tip *audit.Tip) func(audit.Tip, tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
	return func(t audit.Tip, r tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
		if tip != nil {
			*tip = t
		}
		out := slices.Clone(es)
		base := tlog.StoredHashCount(t.Size)
		var added []tlog.Hash
		rd := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			hs := make([]tlog.Hash, len(idx))
			for i, x := range idx {
				if x >= base {
					hs[i] = added[x-base]
					continue
				}
				h, err := r.ReadHashes([]int64{x})
				if err != nil {
					return nil, err
				}
				hs[i] = h[0]
			}
			return hs, nil
		})
		for i := range out {
			out[i].Seq = t.Size + int64(i)
			if out[i].Time.Before(t.Time) {
				out[i].Time = t.Time
			}
			hs, err := tlog.StoredHashesForRecordHash(out[i].Seq, tlog.RecordHash(out[i].Leaf()), rd)
			if err != nil {
				return nil, nil, err
			}
			added = append(added, hs...)
		}
		return out, added, nil
	}
}

func (a *auditEnv) append(es []audit.Entry) audit.Tip {
	a.t.Helper()
	var tip audit.Tip
	if err := a.s.AppendAudit(a.ctx, builder(es, &tip)); err != nil {
		a.t.Fatalf("AppendAudit: %v", err)
	}
	return tip
}

func (a *auditEnv) tip() audit.Tip {
	a.t.Helper()
	tip, err := a.s.AuditTip(a.ctx)
	if err != nil {
		a.t.Fatalf("AuditTip: %v", err)
	}
	return tip
}

func (a *auditEnv) entries(from int64, since time.Time, limit int) []audit.Entry {
	a.t.Helper()
	es, err := a.s.AuditEntries(a.ctx, from, since, limit)
	if err != nil {
		a.t.Fatalf("AuditEntries(%d, %v, %d): %v", from, since, limit, err)
	}
	return es
}

func seqs(es []audit.Entry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func testAuditAppend(t *testing.T, a *auditEnv) {
	if tip := a.tip(); tip.Size != 0 || !tip.Time.Equal(time.UnixMicro(0)) {
		t.Errorf("tip of an empty log: %+v", tip)
	}
	if es := a.entries(0, time.Time{}, 10); len(es) != 0 {
		t.Errorf("entries of an empty log: %v", es)
	}
	at := Start.Add(123456 * time.Microsecond)
	first := sample(3, at, "first")
	first[1].Detail = nil
	first[2] = audit.Entry{Time: at, Kind: audit.KindRedAccess, Actor: "jaan"} // only what is required
	if tip := a.append(first); tip.Size != 0 {
		t.Errorf("first append saw tip %+v", tip)
	}
	second := sample(2, at.Add(time.Second), "second")
	if tip := a.append(second); tip.Size != 3 || !tip.Time.Equal(at) {
		t.Errorf("second append saw tip %+v, want size 3 at %v", tip, at)
	}
	if tip := a.tip(); tip.Size != 5 || !tip.Time.Equal(at.Add(time.Second)) {
		t.Errorf("tip: %+v", tip)
	}
	got := a.entries(0, time.Time{}, 100)
	want := append(slices.Clone(first), second...)
	for i := range want {
		want[i].Seq = int64(i)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i].Leaf()) != string(want[i].Leaf()) || !got[i].Time.Equal(want[i].Time) || got[i].Time.Location() != time.UTC {
			t.Errorf("entry %d does not round-trip:\n got %s\nwant %s", i, got[i].Leaf(), want[i].Leaf())
		}
	}
	if got[1].Detail != nil || got[2].Detail != nil {
		t.Errorf("an empty Detail reads back as %v, %v; want nil", got[1].Detail, got[2].Detail)
	}
	if s := seqs(a.entries(1, time.Time{}, 2)); !slices.Equal(s, []int64{1, 2}) {
		t.Errorf("from 1, limit 2: %v", s)
	}
	if s := seqs(a.entries(4, time.Time{}, 10)); !slices.Equal(s, []int64{4}) {
		t.Errorf("from 4: %v", s)
	}
	if s := seqs(a.entries(5, time.Time{}, 10)); len(s) != 0 {
		t.Errorf("from the end: %v", s)
	}
	// The empty append changes nothing.
	if err := a.s.AppendAudit(a.ctx, builder(nil, nil)); err != nil || a.tip().Size != 5 {
		t.Errorf("empty append: %v, size %d", err, a.tip().Size)
	}
}

// testAuditAppendAtomic checks that an append whose build fails, or whose
// result breaks the rules, writes nothing.
func testAuditAppendAtomic(t *testing.T, a *auditEnv) {
	a.append(sample(3, Start, "kept"))
	boom := errors.New("boom")
	good := builder(sample(4, Start, "refused"), nil)
	cases := []struct {
		name  string
		build func(audit.Tip, tlog.HashReader) ([]audit.Entry, []tlog.Hash, error)
		want  error
	}{
		{"build fails", func(tip audit.Tip, r tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
			es, hs, _ := good(tip, r)
			return es, hs, boom
		}, boom},
		{"seq skips", func(tip audit.Tip, r tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
			es, hs, err := good(tip, r)
			es[2].Seq++
			return es, hs, err
		}, audit.ErrInvalid},
		{"seq reused", func(tip audit.Tip, r tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
			es, hs, err := good(tip, r)
			for i := range es {
				es[i].Seq--
			}
			return es, hs, err
		}, audit.ErrInvalid},
		{"hash missing", func(tip audit.Tip, r tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
			es, hs, err := good(tip, r)
			return es, hs[:len(hs)-1], err
		}, audit.ErrInvalid},
		{"time goes back", func(tip audit.Tip, r tlog.HashReader) ([]audit.Entry, []tlog.Hash, error) {
			es, hs, err := good(tip, r)
			es[3].Time = Start.Add(-time.Microsecond)
			return es, hs, err
		}, audit.ErrInvalid},
	}
	for _, c := range cases {
		err := a.s.AppendAudit(a.ctx, c.build)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		if tip := a.tip(); tip.Size != 3 {
			t.Errorf("%s: size %d after a failed append, want 3", c.name, tip.Size)
		}
		if n := len(a.entries(0, time.Time{}, 100)); n != 3 {
			t.Errorf("%s: %d entries after a failed append, want 3", c.name, n)
		}
		if _, err := a.s.ReadAuditHashes(a.ctx, []int64{tlog.StoredHashCount(3)}); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("%s: a hash of a failed append was stored (%v)", c.name, err)
		}
	}
	// And the log goes on from where it was.
	if tip := a.append(sample(1, Start, "after")); tip.Size != 3 {
		t.Errorf("append after failures saw size %d", tip.Size)
	}
}

// testAuditAppendFailingContext cancels appends at every step of their work:
// each either appends everything or nothing, and says which. The step a
// given n reaches varies from run to run (the driver and database/sql also
// call Done from their own goroutines), so every check holds whatever the
// step: the tip is read as soon as AppendAudit returns, which is right only
// because AppendAudit does not answer before the outcome of its
// transaction is settled, including a COMMIT the driver stopped waiting for
// while the server went on with it (TestAuditLostCommit in package store
// makes that case happen every time).
func testAuditAppendFailingContext(t *testing.T, a *auditEnv) {
	var size int64
	for n := int64(0); n < 200; n++ {
		ctx := newFailingContext(n)
		var tip audit.Tip
		err := a.s.AppendAudit(ctx, builder(sample(5, Start, fmt.Sprint(n)), &tip))
		got := a.tip().Size
		switch {
		case err == nil && got != size+5:
			t.Fatalf("n=%d: append succeeded, size %d → %d", n, size, got)
		case err != nil && got != size:
			t.Fatalf("n=%d: append failed (%v) but size %d → %d", n, err, size, got)
		}
		size = got
		if err == nil {
			break
		}
	}
	if size == 0 {
		t.Fatal("no append succeeded")
	}
	l := a.log("cert-fr")
	if rep, err := l.Verify(a.ctx); err != nil {
		t.Errorf("Verify after cancelled appends: %v\n%s", err, rep.String())
	}
}

func (a *auditEnv) log(name string) *audit.Log {
	a.t.Helper()
	l, err := audit.New(audit.Config{Name: name, Key: AuditKey(name), Storage: a.s, Clock: a.clk})
	if err != nil {
		a.t.Fatal(err)
	}
	return l
}

func testAuditSince(t *testing.T, a *auditEnv) {
	for i := range 5 {
		a.append(sample(2, Start.Add(time.Duration(i)*time.Minute), "since"))
	}
	for _, c := range []struct {
		from  int64
		since time.Time
		want  []int64
	}{
		{0, Start, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{0, Start.Add(time.Minute), []int64{2, 3, 4, 5, 6, 7, 8, 9}},
		{0, Start.Add(time.Minute + time.Microsecond), []int64{4, 5, 6, 7, 8, 9}},
		{5, Start.Add(time.Minute), []int64{5, 6, 7, 8, 9}},
		{0, Start.Add(4 * time.Minute), []int64{8, 9}},
		{0, Start.Add(5 * time.Minute), nil},
	} {
		if got := seqs(a.entries(c.from, c.since, 100)); !slices.Equal(got, c.want) {
			t.Errorf("from %d since %v: %v, want %v", c.from, c.since.Sub(Start), got, c.want)
		}
	}
	if got := seqs(a.entries(0, Start.Add(time.Minute), 3)); !slices.Equal(got, []int64{2, 3, 4}) {
		t.Errorf("since with a limit: %v", got)
	}
	if _, err := a.s.AuditEntries(a.ctx, 0, time.Time{}, 0); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("limit 0: %v, want ErrInvalid", err)
	}
}

func testAuditHashes(t *testing.T, a *auditEnv) {
	a.append(sample(7, Start, "hashes"))
	a.append(sample(6, Start, "hashes"))
	n := tlog.StoredHashCount(13)
	all := make([]int64, n)
	for i := range all {
		all[i] = int64(i)
	}
	hs, err := a.s.ReadAuditHashes(a.ctx, all)
	if err != nil || int64(len(hs)) != n {
		t.Fatalf("ReadAuditHashes(all %d): %d, %v", n, len(hs), err)
	}
	// Any order, repeats, and a non-contiguous set give the same hashes.
	pick := []int64{5, 0, 5, n - 1, 2}
	got, err := a.s.ReadAuditHashes(a.ctx, pick)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range pick {
		if got[i] != hs[x] {
			t.Errorf("hash %d read in another order differs", x)
		}
	}
	// The hashes are the tree of the entries.
	es := a.entries(0, time.Time{}, 100)
	want := make([]tlog.Hash, 0, n)
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = want[x]
		}
		return out, nil
	})
	for _, e := range es {
		h, err := tlog.StoredHashes(e.Seq, e.Leaf(), r)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, h...)
	}
	if !slices.Equal(hs, want) {
		t.Error("stored hashes are not those of the entries")
	}
	for _, idx := range [][]int64{{n}, {0, n}, {n, n + 1}} {
		if _, err := a.s.ReadAuditHashes(a.ctx, idx); !errors.Is(err, audit.ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadAuditHashes(%v): %v, want ErrNotFound", idx, err)
		}
	}
	if hs, err := a.s.ReadAuditHashes(a.ctx, nil); err != nil || len(hs) != 0 {
		t.Errorf("ReadAuditHashes(nil): %v, %v", hs, err)
	}
}

// testAuditConcurrentAppends runs writers appending at once, through the
// Log: every entry gets one Seq, the tips they start from are distinct, and
// the result verifies.
func testAuditConcurrentAppends(t *testing.T, a *auditEnv) {
	l := a.log("cert-fr")
	var (
		mu   sync.Mutex
		seen = map[int64]bool{}
		wg   sync.WaitGroup
	)
	const writers, rounds = 8, 15
	total := 0
	for g := range writers {
		n := 1 + g%4
		total += n * rounds
		wg.Go(func() {
			for r := range rounds {
				es := sample(n, time.Time{}, fmt.Sprint(g, r))
				got, err := l.Append(a.ctx, es)
				if err != nil {
					t.Errorf("writer %d: %v", g, err)
					return
				}
				mu.Lock()
				for i, s := range got {
					if seen[s] {
						t.Errorf("seq %d given twice", s)
					}
					seen[s] = true
					if i > 0 && s != got[i-1]+1 {
						t.Errorf("a batch's seqs are not consecutive: %v", got)
					}
				}
				mu.Unlock()
				a.clk.Advance(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if tip := a.tip(); tip.Size != int64(total) || len(seen) != total {
		t.Errorf("size %d, %d seqs handed out, %d entries appended", tip.Size, len(seen), total)
	}
	es := a.entries(0, time.Time{}, 10000)
	for i, e := range es {
		if e.Seq != int64(i) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		if i > 0 && e.Time.Before(es[i-1].Time) {
			t.Fatalf("entry %d is dated before entry %d", i, i-1)
		}
	}
	if rep, err := l.Verify(a.ctx); err != nil {
		t.Errorf("Verify: %v\n%s", err, rep.String())
	}
}

func testAuditCheckpoints(t *testing.T, a *auditEnv) {
	c5 := audit.StoredCheckpoint{Size: 5, Root: tlog.Hash{5}, Note: []byte("note 5\n"), Time: Start.Add(time.Microsecond)}
	c2 := audit.StoredCheckpoint{Size: 2, Root: tlog.Hash{2}, Note: []byte("note 2\n"), Time: Start}
	for _, c := range []audit.StoredCheckpoint{c5, c2, c5} {
		if err := a.s.AddAuditCheckpoint(a.ctx, c); err != nil {
			t.Fatalf("AddAuditCheckpoint(%d): %v", c.Size, err)
		}
	}
	other := c5
	other.Note = []byte("another note 5\n")
	if err := a.s.AddAuditCheckpoint(a.ctx, other); !errors.Is(err, audit.ErrConflict) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("another checkpoint of one size: %v, want ErrConflict", err)
	}
	got, err := a.s.AuditCheckpoints(a.ctx)
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]audit.StoredCheckpoint{c2, c5}) {
		t.Errorf("AuditCheckpoints:\n got %v, %v\nwant %v", got, err, []audit.StoredCheckpoint{c2, c5})
	}
}

func testAuditCosignatures(t *testing.T, a *auditEnv) {
	ee := audit.Cosignature{Peer: "cert-ee", Size: 9, Root: tlog.Hash{9}, Note: []byte("ee 9\n"), Time: Start}
	de := audit.Cosignature{Peer: "cert-de", Size: 9, Root: tlog.Hash{9}, Note: []byte("de 9\n"), Time: Start}
	ee4 := audit.Cosignature{Peer: "cert-ee", Size: 4, Root: tlog.Hash{4}, Note: []byte("ee 4\n"), Time: Start}
	for _, c := range []audit.Cosignature{ee, de, ee4} {
		if err := a.s.AddAuditCosignature(a.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ee.Note, ee.Time = []byte("ee 9 again\n"), Start.Add(time.Second)
	if err := a.s.AddAuditCosignature(a.ctx, ee); err != nil {
		t.Fatal(err)
	}
	got, err := a.s.AuditCosignatures(a.ctx)
	want := []audit.Cosignature{ee4, de, ee}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AuditCosignatures:\n got %v, %v\nwant %v", got, err, want)
	}
}

func testAuditPeerCheckpoints(t *testing.T, a *auditEnv) {
	_, err := a.s.AuditPeerCheckpoint(a.ctx, "cert-ee", audit.LatestSize)
	if !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("latest of a peer never cosigned: %v, want ErrNotFound", err)
	}
	pc := func(size int64) audit.PeerCheckpoint {
		return audit.PeerCheckpoint{Peer: "cert-ee", Size: size, Root: tlog.Hash{byte(size)},
			Checkpoint: fmt.Appendf(nil, "cp %d\n", size), Cosignature: fmt.Appendf(nil, "co %d\n", size), Time: Start.Add(time.Duration(size) * time.Microsecond)}
	}
	add := func(c audit.PeerCheckpoint, prev int64) error { return a.s.AddAuditPeerCheckpoint(a.ctx, c, prev) }
	if err := add(pc(3), 0); err != nil {
		t.Fatal(err)
	}
	if err := add(pc(7), 0); !errors.Is(err, audit.ErrConflict) {
		t.Errorf("extending a stale latest: %v, want ErrConflict", err)
	}
	if err := add(pc(7), 3); err != nil {
		t.Fatal(err)
	}
	if err := add(pc(3), 7); !errors.Is(err, audit.ErrConflict) {
		t.Errorf("a size already stored: %v, want ErrConflict", err)
	}
	other := pc(1)
	other.Peer = "cert-de"
	if err := add(other, 0); err != nil {
		t.Errorf("peers are independent: %v", err)
	}
	for _, c := range []struct {
		size int64
		want audit.PeerCheckpoint
	}{{audit.LatestSize, pc(7)}, {3, pc(3)}, {7, pc(7)}} {
		got, err := a.s.AuditPeerCheckpoint(a.ctx, "cert-ee", c.size)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("AuditPeerCheckpoint(%d):\n got %v, %v\nwant %v", c.size, got, err, c.want)
		}
	}
	if _, err := a.s.AuditPeerCheckpoint(a.ctx, "cert-ee", 5); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("a size never cosigned: %v, want ErrNotFound", err)
	}
	// Concurrent extensions of one latest: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 6 {
		wg.Go(func() {
			if err := add(pc(int64(10+i)), 7); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, audit.ErrConflict) {
				t.Errorf("concurrent extension: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent extensions of one checkpoint won, want 1", wins)
	}
}

// testAuditLog runs the Log on the engine: batches, a checkpoint, Verify.
func testAuditLog(t *testing.T, a *auditEnv) {
	l := a.log("cert-fr")
	for i := range 10 {
		if _, err := l.Append(a.ctx, sample(1+i*13, time.Time{}, "log")); err != nil {
			t.Fatal(err)
		}
		a.clk.Advance(time.Second)
		if i == 4 {
			if _, err := l.Checkpoint(a.ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := l.Checkpoint(a.ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(a.ctx)
	if err != nil || rep.Size != 595 || rep.Entries != 595 || rep.Checkpoints != 2 {
		t.Errorf("Verify: %v\n%s", err, rep.String())
	}
}
