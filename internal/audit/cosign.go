package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// CosignRequest is what a node sends a partner to have a checkpoint of its
// log cosigned: the signed checkpoint, and a proof that it extends the last
// checkpoint of this log that the partner cosigned.
//
// On the wire it is one JSON object (MarshalJSON, ParseCosignRequest):
//
//	{"checkpoint":"<signed note, as a string>","old_size":N,"proof":["<base64 hash>",…]}
//
// old_size is the size of the checkpoint the proof starts from (0, with an
// empty or absent proof, for a partner that never cosigned this log); proof
// is tlog.ProveTree(size, old_size) in order. No other member is allowed.
type CosignRequest struct {
	Checkpoint []byte
	OldSize    int64
	Proof      tlog.TreeProof
}

// Bounds of a cosign request: a note of at most maxNote bytes, and a proof
// no longer than the longest tree proof of a log of 2^63 entries.
const (
	maxProof   = 2 * 63
	maxRequest = 2*maxNote + maxProof*48 + 256
)

type cosignWire struct {
	Checkpoint string   `json:"checkpoint"`
	OldSize    int64    `json:"old_size"`
	Proof      []string `json:"proof"`
}

// MarshalJSON encodes the request as described on CosignRequest.
func (r CosignRequest) MarshalJSON() ([]byte, error) {
	w := cosignWire{Checkpoint: string(r.Checkpoint), OldSize: r.OldSize, Proof: make([]string, len(r.Proof))}
	for i, h := range r.Proof {
		w.Proof[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return json.Marshal(w)
}

// ParseCosignRequest decodes a request received from a partner. It checks
// the shape only; Cosign verifies the signature and the proof.
func ParseCosignRequest(b []byte) (CosignRequest, error) {
	bad := func(why string) (CosignRequest, error) {
		return CosignRequest{}, fmt.Errorf("%w: cosign request: %s", ErrInvalid, why)
	}
	if len(b) > maxRequest {
		return bad(fmt.Sprintf("%d bytes", len(b)))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w cosignWire
	if err := dec.Decode(&w); err != nil {
		return bad(err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("data after the object")
	}
	if w.Checkpoint == "" || len(w.Checkpoint) > maxNote {
		return bad("checkpoint missing or too long")
	}
	if w.OldSize < 0 || (w.OldSize == 0 && len(w.Proof) > 0) {
		return bad("old_size " + strconv.FormatInt(w.OldSize, 10))
	}
	if len(w.Proof) > maxProof {
		return bad(fmt.Sprintf("proof of %d hashes", len(w.Proof)))
	}
	r := CosignRequest{Checkpoint: []byte(w.Checkpoint), OldSize: w.OldSize}
	if len(w.Proof) > 0 {
		r.Proof = make(tlog.TreeProof, len(w.Proof))
	}
	for i, s := range w.Proof {
		h, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(h) != tlog.HashSize {
			return bad(fmt.Sprintf("proof hash %d", i))
		}
		copy(r.Proof[i][:], h)
	}
	return r, nil
}

// NewCosignRequest builds the request asking a partner to cosign checkpoint
// (one of ours, from Checkpoint), with a proof from oldSize, the size of the
// last checkpoint of ours that partner cosigned (0 if none).
func (l *Log) NewCosignRequest(ctx context.Context, checkpoint []byte, oldSize int64) (CosignRequest, error) {
	_, t, err := openCheckpoint(checkpoint, l.name, l.verifier)
	if err != nil {
		return CosignRequest{}, fmt.Errorf("audit: cosign request: %w", err)
	}
	req := CosignRequest{Checkpoint: checkpoint, OldSize: oldSize}
	switch {
	case oldSize < 0 || oldSize > t.N:
		return CosignRequest{}, fmt.Errorf("audit: cosign request: %w: old size %d, checkpoint size %d", ErrInvalid, oldSize, t.N)
	case oldSize > 0 && oldSize < t.N:
		if req.Proof, err = l.ConsistencyProof(ctx, oldSize, t.N); err != nil {
			return CosignRequest{}, err
		}
	}
	return req, nil
}

// ProofNeededError says that a cosign request's proof does not start from
// the checkpoint we last cosigned: the partner should send a proof from Size.
type ProofNeededError struct {
	Peer string
	Size int64
}

func (e *ProofNeededError) Error() string {
	return fmt.Sprintf("audit: cosign %s: send a consistency proof from size %d, the last checkpoint of yours we cosigned", e.Peer, e.Size)
}

// Unwrap makes a ProofNeededError an ErrConflict.
func (e *ProofNeededError) Unwrap() error { return ErrConflict }

// ForkError is the evidence that a peer rewrote its history: a checkpoint we
// cosigned and a checkpoint it presented later that cannot both be states of
// one append-only log. Both are signed by the peer. It is an ErrForkDetected.
type ForkError struct {
	Peer      string
	Cosigned  PeerCheckpoint // the checkpoint we cosigned earlier
	Presented []byte         // the signed checkpoint that contradicts it
	Why       string
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("audit: %v: %s presented a checkpoint that %s; we cosigned its checkpoint of size %d (root %s) at %s",
		ErrForkDetected, e.Peer, e.Why, e.Cosigned.Size, e.Cosigned.Root, e.Cosigned.Time.Format(time.RFC3339))
}

// Unwrap makes a ForkError an ErrForkDetected.
func (e *ForkError) Unwrap() error { return ErrForkDetected }

// Cosign checks a checkpoint of peer's log and, if it is consistent with the
// last one of that peer we cosigned, stores it and returns our cosignature: a
// note with the same text, signed by this node (partners check it with
// Verifier()). peerVerifier is the peer's key, named with the peer's name.
//
// The first checkpoint of a peer is taken on trust. After that, a larger
// checkpoint needs a proof from the last cosigned size (else a
// ProofNeededError); one of a size already cosigned gets the same
// cosignature again. A checkpoint that contradicts a cosigned one (same size,
// other root; or a proof that fails) is refused with a *ForkError, and the
// refusal is appended to our log as KindForkDetected. A cosigning is
// appended as KindCheckpointCosigned. A checkpoint smaller than the last
// cosigned one and never cosigned is refused (ErrInvalid): without a proof
// it can be neither trusted nor blamed.
func (l *Log) Cosign(ctx context.Context, peerName string, peerVerifier note.Verifier, req CosignRequest) ([]byte, error) {
	if peerName == l.name {
		return nil, fmt.Errorf("audit: cosign: %w: a node does not cosign its own log", ErrInvalid)
	}
	n, t, err := openCheckpoint(req.Checkpoint, peerName, peerVerifier)
	if err != nil {
		return nil, fmt.Errorf("audit: cosign %s: %w", peerName, err)
	}
	for attempt := 0; ; attempt++ {
		cosig, err := l.cosignOnce(ctx, peerName, n, t, req)
		if errors.Is(err, errRetry) && attempt < 5 {
			continue
		}
		var fe *ForkError
		if errors.As(err, &fe) {
			_, aerr := l.Append(ctx, []Entry{{Kind: KindForkDetected, Actor: peerName, Peer: peerName, Reason: fe.Why,
				Detail: map[string]string{
					"cosigned_size": strconv.FormatInt(fe.Cosigned.Size, 10), "cosigned_root": fe.Cosigned.Root.String(),
					"presented_size": strconv.FormatInt(t.N, 10), "presented_root": t.Hash.String(),
				}}})
			if aerr != nil {
				return nil, errors.Join(err, aerr)
			}
			return nil, err
		}
		return cosig, err
	}
}

var errRetry = errors.New("retry")

func (l *Log) cosignOnce(ctx context.Context, peer string, n *note.Note, t tlog.Tree, req CosignRequest) ([]byte, error) {
	last, err := l.st.AuditPeerCheckpoint(ctx, peer, LatestSize)
	var prev int64
	switch {
	case errors.Is(err, ErrNotFound):
		// First contact: trust on first use.
	case err != nil:
		return nil, fmt.Errorf("audit: cosign %s: %w", peer, err)
	case t.N == last.Size:
		if t.Hash == last.Root {
			return last.Cosignature, nil
		}
		return nil, &ForkError{Peer: peer, Cosigned: last, Presented: req.Checkpoint, Why: "has the same size and another root hash"}
	case t.N < last.Size:
		old, err := l.st.AuditPeerCheckpoint(ctx, peer, t.N)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("audit: cosign %s: %w: checkpoint of size %d is older than the one of size %d we cosigned",
				peer, ErrInvalid, t.N, last.Size)
		}
		if err != nil {
			return nil, fmt.Errorf("audit: cosign %s: %w", peer, err)
		}
		if t.Hash == old.Root {
			return old.Cosignature, nil
		}
		return nil, &ForkError{Peer: peer, Cosigned: old, Presented: req.Checkpoint, Why: "has the same size and another root hash"}
	default:
		if req.OldSize != last.Size {
			return nil, &ProofNeededError{Peer: peer, Size: last.Size}
		}
		if err := tlog.CheckTree(req.Proof, t.N, t.Hash, last.Size, last.Root); err != nil {
			return nil, &ForkError{Peer: peer, Cosigned: last, Presented: req.Checkpoint,
				Why: fmt.Sprintf("of size %d cannot be proven to extend it (%v)", t.N, err)}
		}
		prev = last.Size
	}
	cosig, err := note.Sign(&note.Note{Text: n.Text}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("audit: cosign %s: %w", peer, err)
	}
	pc := PeerCheckpoint{Peer: peer, Size: t.N, Root: t.Hash, Checkpoint: req.Checkpoint, Cosignature: cosig,
		Time: l.clk.Now().UTC().Truncate(time.Microsecond)}
	if err := l.st.AddAuditPeerCheckpoint(ctx, pc, prev); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, errRetry // another cosigning of this peer won the race: check against it
		}
		return nil, fmt.Errorf("audit: cosign %s: %w", peer, err)
	}
	if _, err := l.Append(ctx, []Entry{{Kind: KindCheckpointCosigned, Actor: peer, Peer: peer,
		Detail: map[string]string{"size": strconv.FormatInt(t.N, 10), "root": t.Hash.String()}}}); err != nil {
		return nil, err
	}
	return cosig, nil
}

// CosignedSize returns the size of the last checkpoint of peer's log that we
// cosigned, 0 if none: the old_size its next request must prove from.
func (l *Log) CosignedSize(ctx context.Context, peer string) (int64, error) {
	last, err := l.st.AuditPeerCheckpoint(ctx, peer, LatestSize)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	return last.Size, nil
}

// AddCosignature checks and stores a peer's cosignature (what its Cosign
// returned) of one of our checkpoints. ErrInvalid if the signature is not
// the peer's or the checkpoint is not one this node signed.
func (l *Log) AddCosignature(ctx context.Context, peer string, peerVerifier note.Verifier, cosig []byte) error {
	if len(cosig) > maxNote {
		return fmt.Errorf("audit: cosignature of %s: %w: %d bytes", peer, ErrInvalid, len(cosig))
	}
	if peerVerifier.Name() != peer {
		return fmt.Errorf("audit: cosignature of %s: %w: verifier is %q's", peer, ErrInvalid, peerVerifier.Name())
	}
	n, err := note.Open(cosig, note.VerifierList(peerVerifier))
	if err != nil {
		return fmt.Errorf("audit: cosignature of %s: %w: %v", peer, ErrInvalid, err)
	}
	origin, t, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return fmt.Errorf("audit: cosignature of %s: %w", peer, err)
	}
	if origin != l.name {
		return fmt.Errorf("audit: cosignature of %s: %w: it cosigns %q's log, not ours", peer, ErrInvalid, origin)
	}
	cps, err := l.st.AuditCheckpoints(ctx)
	if err != nil {
		return fmt.Errorf("audit: cosignature of %s: %w", peer, err)
	}
	ours := false
	for _, c := range cps {
		if c.Size == t.N && c.Root == t.Hash {
			ours = true
			break
		}
	}
	if !ours {
		return fmt.Errorf("audit: cosignature of %s: %w: it cosigns a checkpoint (size %d, root %s) this node did not sign",
			peer, ErrInvalid, t.N, t.Hash)
	}
	c := Cosignature{Peer: peer, Size: t.N, Root: t.Hash, Note: cosig, Time: l.clk.Now().UTC().Truncate(time.Microsecond)}
	if err := l.st.AddAuditCosignature(ctx, c); err != nil {
		return fmt.Errorf("audit: cosignature of %s: %w", peer, err)
	}
	return nil
}
