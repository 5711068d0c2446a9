package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Problem is one inconsistency Verify found.
type Problem struct {
	Seq int64 // the first entry concerned; -1 when it concerns no entry in particular
	Msg string
}

func (p Problem) String() string {
	if p.Seq < 0 {
		return p.Msg
	}
	return fmt.Sprintf("entry %d: %s", p.Seq, p.Msg)
}

// Report is what Verify found.
type Report struct {
	Name        string
	Size        int64     // the log's size (its tip)
	Entries     int64     // entry rows read
	Root        tlog.Hash // the root of the tree recomputed from the entries
	Checkpoints int       // our signed checkpoints checked
	Latest      StoredCheckpoint
	// Cosignatures held, of our checkpoints, by peers (Cosigners, sorted);
	// CosignedSize is the largest size cosigned.
	Cosignatures int
	Cosigners    []string
	CosignedSize int64
	Problems     []Problem
}

// OK reports whether Verify found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// String is the human summary `entraide audit verify` prints.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "audit log of %s: %d entries, tree size %d, root %s\n", r.Name, r.Entries, r.Size, r.Root)
	if r.Checkpoints == 0 {
		fmt.Fprintf(&b, "checkpoints: none signed yet\n")
	} else {
		fmt.Fprintf(&b, "checkpoints: %d checked, latest of size %d signed %s\n",
			r.Checkpoints, r.Latest.Size, r.Latest.Time.Format(time.RFC3339))
	}
	if r.Cosignatures == 0 {
		fmt.Fprintf(&b, "cosignatures: none held\n")
	} else {
		fmt.Fprintf(&b, "cosignatures: %d held from %s; largest size cosigned %d\n",
			r.Cosignatures, strings.Join(r.Cosigners, ", "), r.CosignedSize)
	}
	if r.OK() {
		b.WriteString("OK: every entry matches its hash, every hash the tree, every checkpoint its signature and the tree\n")
		return b.String()
	}
	fmt.Fprintf(&b, "TAMPERED: %d problem(s)\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}

// verifyWindow is how many entries Verify reads at a time.
const verifyWindow = 4096

// Verify proves the stored log consistent, or says precisely where it is
// not. It recomputes every entry's leaf and every stored hash from the
// entries, compares them with the stored hashes, and checks every signed
// checkpoint: its signature (by the node's current key, or by one of its
// past keys for the checkpoints signed before a rotation: Config.PastKeys),
// that the stored hashes give its root, that the entries give its root, and
// that each is consistent with the one before (tlog.ProveTree/CheckTree).
// It also looks for entry rows or hashes beyond
// the log's end, and for cosignatures of checkpoints the node never signed.
//
// What it tells apart: an entry whose row was edited (its leaf no longer
// matches the stored hash, nor the tree above it); a missing entry (a
// deleted row); an edited stored hash; a log shorter than a checkpoint
// (truncated); and entries and hashes rewritten together (the tree no longer
// matches a signed checkpoint). A node that rewrites everything including
// its checkpoints is caught by its partners (Cosign), not by Verify.
//
// It returns the report and, if it found problems, an error wrapping
// ErrTampered. Its memory does not grow with the log.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	rep := Report{Name: l.name}
	tip, err := l.st.AuditTip(ctx)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	rep.Size = tip.Size
	cps, err := l.st.AuditCheckpoints(ctx)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	v := verifier{l: l, ctx: ctx, rep: &rep, edge: map[int64]tlog.Hash{}, lastBad: -1}
	// The checkpoints' signatures and texts first: the tree checks below
	// use only the checkpoints that are authentic.
	var good []StoredCheckpoint
	for _, c := range cps {
		if v.checkpointSigned(c) {
			good = append(good, c)
		}
		rep.Checkpoints++
		rep.Latest = c
	}
	if err := v.entries(tip.Size, good); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	if err := v.beyondEnd(tip.Size); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	v.checkpointsAgainstStored(tip.Size, good)
	if err := v.cosignatures(cps); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	// Entries in order, then what concerns no entry in particular.
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int {
		if (a.Seq < 0) != (b.Seq < 0) {
			return cmp.Compare(b.Seq, a.Seq)
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	if !rep.OK() {
		return rep, fmt.Errorf("audit: verify: %w: %d problem(s), the first: %s", ErrTampered, len(rep.Problems), rep.Problems[0])
	}
	return rep, nil
}

type verifier struct {
	l   *Log
	ctx context.Context
	rep *Report

	// edge holds recomputed hashes: the right edge of the tree recomputed
	// so far, and the hashes of the current window.
	edge map[int64]tlog.Hash
	// lastBad is the last entry whose leaf did not match; a mismatch above
	// it in the tree is its consequence, not another problem.
	lastBad int64
	// pending are leaf mismatches not yet told apart: an edited entry (the
	// hash above it will not match either) or an edited stored leaf hash
	// (the hash above it will match).
	pending []int64
}

func (v *verifier) problem(seq int64, format string, args ...any) {
	v.rep.Problems = append(v.rep.Problems, Problem{Seq: seq, Msg: fmt.Sprintf(format, args...)})
}

// checkpointSigned checks a stored checkpoint's signature, by the node's
// current key or one it had before a rotation, and that its text says what
// its row says.
func (v *verifier) checkpointSigned(c StoredCheckpoint) bool {
	_, t, err := openCheckpoint(c.Note, v.l.name, v.l.known...)
	if err != nil {
		v.problem(-1, "checkpoint of size %d: %v", c.Size, err)
		return false
	}
	if t.N != c.Size || t.Hash != c.Root {
		v.problem(-1, "checkpoint of size %d: its signed text says size %d, root %s", c.Size, t.N, t.Hash)
		return false
	}
	return true
}

// ReadHashes serves tlog the recomputed hashes.
func (v *verifier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := v.edge[x]
		if !ok {
			return nil, fmt.Errorf("recomputed hash %d not at hand", x)
		}
		out[i] = h
	}
	return out, nil
}

// entries recomputes the tree from the entries, window by window, and
// compares it with the stored hashes and the checkpoints.
func (v *verifier) entries(size int64, cps []StoredCheckpoint) error {
	next := 0 // the next checkpoint to compare with the recomputed tree
	for a := int64(0); a < size; {
		b := min(a+verifyWindow, size)
		rows, err := v.l.st.AuditEntries(v.ctx, a, time.Time{}, int(b-a))
		if err != nil {
			return err
		}
		byseq := make(map[int64]*Entry, len(rows))
		for i := range rows {
			if rows[i].Seq < b {
				byseq[rows[i].Seq] = &rows[i]
			}
		}
		v.rep.Entries += int64(len(byseq))
		stored, err := v.storedRange(tlog.StoredHashCount(a), tlog.StoredHashCount(b))
		if err != nil {
			return err
		}
		var leaf []byte
		for seq := a; seq < b; seq++ {
			first := tlog.StoredHashCount(seq) // the index of seq's leaf hash
			storedLeaf, haveLeaf := stored[first]
			var h tlog.Hash
			e := byseq[seq]
			switch {
			case e == nil && haveLeaf:
				v.problem(seq, "the entry is missing (its row was deleted); its stored hash is %s", storedLeaf)
				h = storedLeaf // so that the rest of the tree is still checked
				v.lastBad = seq
			case e == nil:
				v.problem(seq, "the entry and its stored hash are missing")
				v.lastBad = seq
			default:
				leaf = e.appendLeaf(leaf[:0])
				h = tlog.RecordHash(leaf)
				if !haveLeaf {
					v.problem(seq, "its stored hash is missing")
				} else if h != storedLeaf {
					v.pending = append(v.pending, seq)
					v.lastBad = seq
				}
			}
			hs, err := tlog.StoredHashesForRecordHash(seq, h, v)
			if err != nil {
				return fmt.Errorf("entry %d: %w", seq, err)
			}
			for j, x := range hs {
				v.edge[first+int64(j)] = x
				if j == 0 {
					continue
				}
				lo, hi := seq+1-int64(1)<<j, seq
				sh, ok := stored[first+int64(j)]
				switch {
				case !ok:
					v.problem(lo, "the stored hash over entries %d–%d (level %d) is missing", lo, hi, j)
				case sh == x:
					if j == 1 {
						v.resolvePendingIn(lo, hi, false)
					}
				case v.lastBad >= lo:
					// A consequence of a bad leaf below.
					if j == 1 {
						v.resolvePendingIn(lo, hi, true)
					}
				default:
					v.problem(lo, "the stored hash over entries %d–%d (level %d) was altered", lo, hi, j)
				}
			}
			n := seq + 1
			for next < len(cps) && cps[next].Size == n {
				if root, err := tlog.TreeHash(n, v); err != nil {
					return err
				} else if root != cps[next].Root && !v.badBelow(n) {
					v.problem(-1, "the entries do not give the root of the checkpoint of size %d signed %s: history rewritten (entries and hashes)",
						n, cps[next].Time.Format(time.RFC3339))
				}
				next++
			}
		}
		// Keep only the right edge: all that the next windows need.
		keep := map[int64]tlog.Hash{}
		for _, x := range rightEdge(b) {
			keep[x] = v.edge[x]
		}
		v.edge = keep
		a = b
	}
	v.resolvePendingIn(0, size, false) // only an unpaired last entry can be left
	if size > 0 {
		root, err := tlog.TreeHash(size, v)
		if err != nil {
			return err
		}
		v.rep.Root = root
	}
	for ; next < len(cps); next++ {
		v.problem(-1, "the checkpoint of size %d signed %s is larger than the log (%d entries): the log was truncated",
			cps[next].Size, cps[next].Time.Format(time.RFC3339), size)
	}
	return nil
}

// resolvePendingIn settles the pending leaf mismatches within lo..hi,
// given whether the stored hash above them mismatches too.
func (v *verifier) resolvePendingIn(lo, hi int64, aboveBad bool) {
	rest := v.pending[:0]
	for _, seq := range v.pending {
		if seq < lo || seq > hi {
			rest = append(rest, seq)
			continue
		}
		switch {
		case aboveBad:
			v.problem(seq, "the entry was altered: it no longer matches its stored hash nor the tree above it")
		case seq == v.rep.Size-1 && seq%2 == 0:
			v.problem(seq, "the entry or its stored hash was altered (the last entry has nothing above it to tell which)")
		default:
			v.problem(seq, "its stored hash was altered: the entry still matches the tree above it")
		}
	}
	v.pending = rest
}

// badBelow reports whether a problem already found concerns an entry before n.
func (v *verifier) badBelow(n int64) bool {
	return v.lastBad >= 0 && v.lastBad < n
}

// storedRange reads the stored hashes with indexes lo..hi-1; missing ones
// are absent from the map.
func (v *verifier) storedRange(lo, hi int64) (map[int64]tlog.Hash, error) {
	idx := make([]int64, 0, hi-lo)
	for x := lo; x < hi; x++ {
		idx = append(idx, x)
	}
	m := make(map[int64]tlog.Hash, len(idx))
	hs, err := v.l.st.ReadAuditHashes(v.ctx, idx)
	if err == nil {
		for i, x := range idx {
			m[x] = hs[i]
		}
		return m, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	// Some are missing (tampering): find which, one by one.
	for _, x := range idx {
		hs, err := v.l.st.ReadAuditHashes(v.ctx, []int64{x})
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m[x] = hs[0]
	}
	return m, nil
}

// beyondEnd looks for entries and stored hashes past the log's size.
func (v *verifier) beyondEnd(size int64) error {
	rows, err := v.l.st.AuditEntries(v.ctx, size, time.Time{}, 1)
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		v.problem(rows[0].Seq, "an entry row beyond the log's size %d: rows were inserted, or the log's size was set back", size)
	}
	_, err = v.l.st.ReadAuditHashes(v.ctx, []int64{tlog.StoredHashCount(size)})
	switch {
	case err == nil:
		v.problem(-1, "stored hashes beyond the log's size %d: the log was truncated", size)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return nil
}

// checkpointsAgainstStored checks each authentic checkpoint against the
// stored hashes (which is what proofs given to partners are made of), and
// each against the one before.
func (v *verifier) checkpointsAgainstStored(size int64, cps []StoredCheckpoint) {
	r := v.l.storedHashes(v.ctx)
	var prev *StoredCheckpoint
	for i := range cps {
		c := &cps[i]
		if c.Size > size {
			continue // reported as a truncation
		}
		root, err := tlog.TreeHash(c.Size, r)
		if err != nil {
			v.problem(-1, "checkpoint of size %d: the stored hashes cannot give its tree: %v", c.Size, err)
			continue
		}
		if root != c.Root && !v.badBelow(c.Size) {
			v.problem(-1, "the stored hashes do not give the root of the checkpoint of size %d signed %s: the hashes were rewritten",
				c.Size, c.Time.Format(time.RFC3339))
			continue
		}
		if prev != nil && root == c.Root {
			p, err := tlog.ProveTree(c.Size, prev.Size, r)
			if err == nil {
				err = tlog.CheckTree(p, c.Size, c.Root, prev.Size, prev.Root)
			}
			if err != nil {
				v.problem(-1, "the checkpoint of size %d is not consistent with the one of size %d: %v", c.Size, prev.Size, err)
			}
		}
		prev = c
	}
}

// cosignatures counts the cosignatures held and checks each is of a
// checkpoint this node signed. (Their signatures are checked when they are
// added, with the peer's key.)
func (v *verifier) cosignatures(cps []StoredCheckpoint) error {
	cos, err := v.l.st.AuditCosignatures(v.ctx)
	if err != nil {
		return err
	}
	signed := map[int64]tlog.Hash{}
	for _, c := range cps {
		signed[c.Size] = c.Root
	}
	for _, c := range cos {
		v.rep.Cosignatures++
		if !slices.Contains(v.rep.Cosigners, c.Peer) {
			v.rep.Cosigners = append(v.rep.Cosigners, c.Peer)
		}
		v.rep.CosignedSize = max(v.rep.CosignedSize, c.Size)
		n, err := note.Open(c.Note, note.VerifierList()) // parse only: the peer's key is not at hand
		var text string
		var uv *note.UnverifiedNoteError
		if errors.As(err, &uv) {
			text = uv.Note.Text
		} else if err == nil {
			text = n.Text
		}
		_, t, perr := ParseCheckpoint([]byte(text))
		if root, ok := signed[c.Size]; !ok || root != c.Root || perr != nil || t.N != c.Size || t.Hash != c.Root {
			v.problem(-1, "the cosignature by %s of size %d is not of a checkpoint this node signed", c.Peer, c.Size)
		}
	}
	slices.Sort(v.rep.Cosigners)
	return nil
}
