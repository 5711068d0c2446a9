package audit_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
)

func TestAppendAndList(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		n := newNode(t, e, "cert-fr")
		seqs, err := n.log.Append(n.ctx, entries(3, "a"))
		if err != nil || !slices.Equal(seqs, []int64{0, 1, 2}) {
			t.Fatalf("Append: %v, %v", seqs, err)
		}
		n.clk.Advance(time.Minute)
		in := entries(2, "b")
		in[0].Seq, in[0].Time = 999, Start.Add(-time.Hour) // ignored
		if seqs, err = n.log.Append(n.ctx, in); err != nil || !slices.Equal(seqs, []int64{3, 4}) {
			t.Fatalf("Append: %v, %v", seqs, err)
		}
		// The clock going back does not date entries before earlier ones.
		n.clk.Advance(-time.Hour)
		if _, err := n.log.Append(n.ctx, entries(1, "c")); err != nil {
			t.Fatal(err)
		}
		all := n.all()
		if len(all) != 6 {
			t.Fatalf("%d entries", len(all))
		}
		wantTimes := []time.Time{Start, Start, Start, Start.Add(time.Minute), Start.Add(time.Minute), Start.Add(time.Minute)}
		for i, en := range all {
			if en.Seq != int64(i) || !en.Time.Equal(wantTimes[i]) {
				t.Errorf("entry %d: seq %d time %v, want %v", i, en.Seq, en.Time, wantTimes[i])
			}
		}
		if all[3].Detail["tag"] != "b" || all[2].Kind != audit.KindRefuse || all[2].Reason == "" {
			t.Errorf("fields lost: %+v %+v", all[2], all[3])
		}
		since, err := n.log.Entries(n.ctx, audit.Query{Since: Start.Add(time.Second)})
		if err != nil || len(since) != 3 || since[0].Seq != 3 {
			t.Errorf("since: %v, %v", since, err)
		}
		page, err := n.log.Entries(n.ctx, audit.Query{From: 2, Limit: 2})
		if err != nil || len(page) != 2 || page[0].Seq != 2 || page[1].Seq != 3 {
			t.Errorf("page: %v, %v", page, err)
		}
		if _, err := n.log.Entries(n.ctx, audit.Query{From: -1}); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("negative from: %v", err)
		}
		if size, err := n.log.Size(n.ctx); err != nil || size != 6 {
			t.Errorf("Size: %d, %v", size, err)
		}
		// Refused entries refuse the whole batch.
		for _, bad := range []audit.Entry{
			{Kind: "delete-everything"},
			{Kind: audit.KindSend, Reason: "nul\x00byte"},
			{Kind: audit.KindSend, Actor: "\xff"},
			{Kind: audit.KindSend, Reason: strings.Repeat("x", 5000)},
			{Kind: audit.KindSend, Detail: map[string]string{"": "empty key"}},
		} {
			if _, err := n.log.Append(n.ctx, append(entries(2, "x"), bad)); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Append(%+v): %v, want ErrInvalid", bad, err)
			}
		}
		if size, _ := n.log.Size(n.ctx); size != 6 {
			t.Errorf("refused batches wrote entries: size %d", size)
		}
		if seqs, err := n.log.Append(n.ctx, nil); err != nil || seqs != nil {
			t.Errorf("empty Append: %v, %v", seqs, err)
		}
	})
}

func TestCheckpoint(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		n := newNode(t, e, "cert-fr")
		if _, err := n.log.Checkpoint(n.ctx); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("checkpoint of an empty log: %v", err)
		}
		n.fill(1234, 100)
		cp := n.checkpoint()
		nt, err := note.Open(cp, note.VerifierList(n.log.Verifier()))
		if err != nil {
			t.Fatalf("note.Open: %v", err)
		}
		if len(nt.Sigs) != 1 || nt.Sigs[0].Name != "cert-fr" {
			t.Errorf("signatures: %+v", nt.Sigs)
		}
		name, tree, err := audit.ParseCheckpoint([]byte(nt.Text))
		if err != nil || name != "cert-fr" || tree.N != 1234 {
			t.Fatalf("checkpoint text %q: %v", nt.Text, err)
		}
		// The root is the tree of the entries, recomputed independently.
		var hs []tlog.Hash
		r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for i, x := range idx {
				out[i] = hs[x]
			}
			return out, nil
		})
		for _, en := range n.all() {
			h, err := tlog.StoredHashes(en.Seq, en.Leaf(), r)
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h...)
		}
		if root, err := tlog.TreeHash(1234, r); err != nil || root != tree.Hash {
			t.Errorf("checkpoint root %v, entries give %v (%v)", tree.Hash, root, err)
		}
		// Nothing appended: the same checkpoint.
		if again := n.checkpoint(); string(again) != string(cp) {
			t.Error("a second checkpoint of the same tree differs")
		}
		latest, err := n.log.LatestCheckpoint(n.ctx)
		if err != nil || latest.Size != 1234 || string(latest.Note) != string(cp) {
			t.Errorf("LatestCheckpoint: %+v, %v", latest, err)
		}
		// Consistency proofs between any two sizes check out.
		n.fill(766, 300)
		cp2 := n.checkpoint()
		_, tree2, _ := audit.ParseCheckpoint([]byte(mustOpen(t, cp2, n.log.Verifier()).Text))
		p, err := n.log.ConsistencyProof(n.ctx, 1234, 2000)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p, 2000, tree2.Hash, 1234, tree.Hash); err != nil {
			t.Errorf("CheckTree: %v", err)
		}
		for _, sizes := range [][2]int64{{0, 5}, {6, 5}, {5, 2001}, {-1, 3}} {
			if _, err := n.log.ConsistencyProof(n.ctx, sizes[0], sizes[1]); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("ConsistencyProof(%d, %d): %v, want ErrInvalid", sizes[0], sizes[1], err)
			}
		}
	})
}

func mustOpen(t *testing.T, signed []byte, v note.Verifier) *note.Note {
	t.Helper()
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVerifyClean(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		n := newNode(t, e, "cert-fr")
		for _, size := range []int{1000, 3333, 5000, 9999, 10000} {
			cur, _ := n.log.Size(n.ctx)
			n.fill(size-int(cur), 500)
			n.checkpoint()
		}
		rep, err := n.log.Verify(n.ctx)
		if err != nil {
			t.Fatalf("Verify of a clean log: %v\n%s", err, rep.String())
		}
		cp, _ := n.log.LatestCheckpoint(n.ctx)
		if !rep.OK() || rep.Size != 10000 || rep.Entries != 10000 || rep.Checkpoints != 5 || rep.Root != cp.Root || rep.Latest.Size != 10000 {
			t.Errorf("report:\n%s", rep.String())
		}
		if s := rep.String(); !strings.Contains(s, "10000 entries") || !strings.Contains(s, "OK") || !strings.Contains(s, "5 checked") {
			t.Errorf("summary:\n%s", s)
		}
	})
}

func TestVerifyEmpty(t *testing.T) {
	n := newNode(t, engines[0], "cert-fr")
	rep, err := n.log.Verify(n.ctx)
	if err != nil || !rep.OK() || rep.Size != 0 {
		t.Errorf("Verify of an empty log: %v\n%s", err, rep.String())
	}
}
