package federation

// Key rotation over the wire. `entraide key rotate` (node.RotateKey) writes
// a rotation statement signed by the old key and the new one; the running
// node announces every statement of its chain, oldest first, to each peer
// that has not confirmed it (at start and at every cosign round). A peer
// applies a statement only for the identity of the caller (the pinned
// owner of the TLS client certificate): nobody announces for another node.
// Applying a statement again changes nothing, so announcing is safe to
// repeat.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/store"
)

// rotationResponse is the answer to a rotation announcement.
type rotationResponse struct {
	IdentityID string `json:"identity_id"`
	Keys       int    `json:"keys"`    // the signing keys pinned for the caller now
	Applied    bool   `json:"applied"` // false: the rotation was applied before
}

// serveRotation applies a rotation the caller announces for itself, and
// audits it (peer-rotate) when it pinned a new key.
func (f *Federation) serveRotation(r *http.Request, p peer.Peer) (any, error) {
	ctx := r.Context()
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	// Who the statement is about, before anything is verified: only so
	// that a statement about another node is refused as such.
	var head struct {
		IdentityID string `json:"identity_id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, apiErr(http.StatusBadRequest, codeInvalid, "Invalid rotation", err.Error())
	}
	if head.IdentityID != p.IdentityID {
		f.appendAudit(ctx, audit.Entry{Kind: audit.KindRefuse, Actor: p.Name, Peer: p.IdentityID,
			Reason: "key rotation announced for another identity", Detail: map[string]string{"identity_id": truncate(head.IdentityID, 200)}})
		return nil, apiErr(http.StatusForbidden, codeForbidden, "Not your identity",
			fmt.Sprintf("you are %s; a node announces its own key rotations only", p.IdentityID))
	}
	cur, err := f.reg.Get(ctx, p.IdentityID)
	if err != nil {
		return nil, err
	}
	np, err := f.reg.ApplyRotation(ctx, p.IdentityID, body)
	switch {
	case errors.Is(err, peer.ErrBadRotation):
		return nil, apiErr(http.StatusBadRequest, codeInvalid, "Rotation refused", err.Error())
	case errors.Is(err, store.ErrNotFound):
		return nil, apiErr(http.StatusForbidden, codeForbidden, "Unknown peer", "you are no longer pinned here")
	case err != nil:
		return nil, err
	}
	applied := len(np.Keys) > len(cur.Keys)
	if applied {
		newKey := np.CurrentKey()
		f.log.Info("peer rotated its signing key", "peer", np.Name, "identity", np.IdentityID, "keys", len(np.Keys))
		f.appendAudit(ctx, audit.Entry{Kind: audit.KindPeerRotate, Actor: np.Name, Peer: np.IdentityID,
			Detail: map[string]string{"new_key": base64.StdEncoding.EncodeToString(newKey), "keys": strconv.Itoa(len(np.Keys)), "via": "federation"}})
	}
	return rotationResponse{IdentityID: np.IdentityID, Keys: len(np.Keys), Applied: applied}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// AnnounceRotations sends this node's key rotations to every pinned peer
// that has not confirmed them yet (CosignOnce does it too, first).
func (f *Federation) AnnounceRotations(ctx context.Context) error {
	peers, err := f.reg.List(ctx)
	if err != nil {
		return err
	}
	return forPeers(peers, func(p peer.Peer) error {
		if err := f.announceTo(ctx, p); err != nil {
			return fmt.Errorf("announcing our key rotations to %s: %w", p.Name, err)
		}
		return nil
	})
}

// announceTo sends p our rotations from the first it has not confirmed on,
// in order (each starts from the key the previous one introduced).
func (f *Federation) announceTo(ctx context.Context, p peer.Peer) error {
	rots := f.n.Rotations
	s := &f.cosign
	s.mu.Lock()
	done := s.announced[p.IdentityID]
	s.mu.Unlock()
	for i := done; i < len(rots); i++ {
		var out rotationResponse
		if err := f.call(ctx, p, http.MethodPost, PathRotation, rots[i].Raw, &out); err != nil {
			return fmt.Errorf("rotation %d: %w", i+1, err)
		}
		if out.Applied {
			f.log.Info("peer accepted our key rotation", "peer", p.Name, "rotation", i+1, "keys", out.Keys)
		}
		s.mu.Lock()
		if s.announced == nil {
			s.announced = map[string]int{}
		}
		s.announced[p.IdentityID] = i + 1
		s.mu.Unlock()
	}
	return nil
}
