package federation

// Cosigning over the federation listener. A node's audit log proves nothing
// to a partner by itself: the node can rewrite its own database. What binds
// it is its partners' cosignatures. Every CosignInterval (and once at
// start) a node signs a checkpoint of its log if the log grew, and asks
// every pinned peer to cosign it with a consistency proof from the last
// checkpoint that peer cosigned; the peer refuses (and records) any
// checkpoint that contradicts one it cosigned before.
//
// Endpoints, served under /entraide/ beside TAXII, to pinned peers only
// (mutual TLS: the caller is the peer its certificate is pinned for, and it
// may speak only of its own log and keys):
//
//	GET  /entraide/audit/cosigned  → 200 {"size":N}
//	     the size of the last checkpoint of the caller's log we cosigned (0: none)
//	POST /entraide/audit/cosign    (application/json, an audit.CosignRequest)
//	     → 200 {"cosignature":"<signed note>"}
//	POST /entraide/rotation        (application/json, a card rotation statement)
//	     → 200 {"identity_id":"identity--…","keys":N,"applied":true|false}
//	POST /entraide/card            (application/json, the caller's signed card: announce.go)
//	     → 200 {"identity_id":"identity--…","updated":true|false,"issued":"…"}
//
// Every error is application/json:
//
//	{"title":"…","description":"…","error_code":"…"[,"size":N]}
//
// error_code is one of invalid-input (400), unauthorized (401), forbidden
// (403), not-found (404), method-not-allowed (405), conflict (409),
// proof-needed (409: prove from "size"), fork-detected (409),
// too-large (413), unsupported-media-type (415) and internal (500).
// Request bodies are at most maxBody bytes and decoded strictly
// (audit.ParseCosignRequest, card.ParseRotation).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/store"
)

// Paths of the federation's own endpoints.
const (
	PathCosigned = "/entraide/audit/cosigned"
	PathCosign   = "/entraide/audit/cosign"
	PathRotation = "/entraide/rotation"
)

// DefaultCosignInterval is how often a node checkpoints its log and asks
// its peers to cosign it, when Config.CosignInterval is zero.
const DefaultCosignInterval = 10 * time.Minute

// maxBody bounds the body of a request to, or an answer from, the
// /entraide/ endpoints.
const maxBody = 1 << 20

// maxParallel bounds how many peers a round talks to at once.
const maxParallel = 8

// The error codes of the /entraide/ endpoints.
const (
	codeInvalid      = "invalid-input"
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeNotFound     = "not-found"
	codeMethod       = "method-not-allowed"
	codeConflict     = "conflict"
	codeProofNeeded  = "proof-needed"
	codeForkDetected = "fork-detected"
	codeTooLarge     = "too-large"
	codeUnsupported  = "unsupported-media-type"
	codeInternal     = "internal"
)

const mediaJSON = "application/json"

// wireError is the body of every error answer of the /entraide/ endpoints.
type wireError struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Code        string `json:"error_code"`
	Size        *int64 `json:"size,omitempty"` // proof-needed: the size to prove from
}

// apiError is what a handler returns: the status and the public body, and
// the detail that is logged and never sent.
type apiError struct {
	status int
	body   wireError
	detail error
}

func (e *apiError) Error() string { return e.body.Title + ": " + e.body.Description }

func apiErr(status int, code, title, desc string) *apiError {
	return &apiError{status: status, body: wireError{Title: title, Description: desc, Code: code}}
}

// RemoteError is an error answer of a peer's /entraide/ endpoint. A
// fork-detected answer is an audit.ErrForkDetected; a proof-needed one an
// audit.ErrConflict.
type RemoteError struct {
	Peer   string // the peer's local name
	Status int
	Code   string
	Title  string
	Desc   string
	Size   *int64
}

func (e *RemoteError) Error() string {
	s := fmt.Sprintf("%s answered %d %s: %s", e.Peer, e.Status, e.Code, e.Title)
	if e.Desc != "" {
		s += ": " + e.Desc
	}
	return s
}

// Unwrap gives the answer's kind.
func (e *RemoteError) Unwrap() error {
	switch e.Code {
	case codeForkDetected:
		return audit.ErrForkDetected
	case codeProofNeeded, codeConflict:
		return audit.ErrConflict
	case codeInvalid:
		return audit.ErrInvalid
	}
	return nil
}

// cosignState is what the cosigning and announcing rounds remember between
// rounds. The zero value is ready.
type cosignState struct {
	round sync.Mutex // one round at a time

	mu     sync.Mutex
	loaded bool
	// cosigned is, per peer note name, the last checkpoint of ours that
	// peer cosigned: a round skips peers that cosigned the current one.
	cosigned map[string]tlog.Tree
	// announced is, per peer identity id, how many of our rotations the
	// peer confirmed.
	announced map[string]int
	// cards is, per peer identity id, the content digest of our card the
	// peer confirmed (announce.go).
	cards map[string]string
}

func (s *cosignState) get(name string) (tlog.Tree, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.cosigned[name]
	return t, ok
}

func (s *cosignState) set(name string, t tlog.Tree) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cosigned == nil {
		s.cosigned = map[string]tlog.Tree{}
	}
	s.cosigned[name] = t
}

// entraideHandler serves the /entraide/ endpoints.
func (f *Federation) entraideHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := f.reg.PeerFromConn(r.TLS)
		if !ok {
			writeAPIError(w, apiErr(http.StatusUnauthorized, codeUnauthorized, "Unknown peer",
				"this federation endpoint serves pinned peers only"))
			return
		}
		var (
			method string
			serve  func(*http.Request, peer.Peer) (any, error)
		)
		switch r.URL.Path {
		case PathCosigned:
			method, serve = http.MethodGet, f.serveCosigned
		case PathCosign:
			method, serve = http.MethodPost, f.serveCosign
		case PathRotation:
			method, serve = http.MethodPost, f.serveRotation
		case PathCard:
			method, serve = http.MethodPost, f.serveCard
		default:
			writeAPIError(w, apiErr(http.StatusNotFound, codeNotFound, "No such endpoint", r.URL.Path))
			return
		}
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeAPIError(w, apiErr(http.StatusMethodNotAllowed, codeMethod, "Method not allowed", r.URL.Path+" takes "+method))
			return
		}
		out, err := serve(r, p)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = &apiError{status: http.StatusInternalServerError, detail: err,
					body: wireError{Title: "Internal error", Description: "the node could not answer; it logged why", Code: codeInternal}}
			}
			lvl := f.log.Warn
			if ae.status >= 500 {
				lvl = f.log.Error
			}
			lvl("federation request refused", "peer", p.Name, "path", r.URL.Path, "code", ae.body.Code, "err", errors.Join(ae, ae.detail))
			writeAPIError(w, ae)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"title":"Internal error","error_code":"internal"}`)
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeAPIError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.status, e.body) }

// readBody reads a JSON request body of at most maxBody bytes.
func readBody(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaJSON {
		return nil, apiErr(http.StatusUnsupportedMediaType, codeUnsupported, "Unsupported media type", "send "+mediaJSON)
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, apiErr(http.StatusRequestEntityTooLarge, codeTooLarge, "Request too large",
			fmt.Sprintf("at most %d bytes", maxBody))
	}
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, codeInvalid, "Unreadable request", err.Error())
	}
	return b, nil
}

// noteName is the name a peer signs its checkpoints and cosignatures
// under: its node name, as its card gives it (our local name for it may
// differ). Cosigning needs it to tell that peer apart from every other: a
// peer whose card name is ours, or another pinned peer's, could otherwise
// write into that node's cosigning history.
func (f *Federation) noteName(ctx context.Context, p peer.Peer) (string, error) {
	if p.Card == nil {
		return "", apiErr(http.StatusInternalServerError, codeInternal, "Peer card unreadable",
			"the card pinned for you no longer parses here; send a new card")
	}
	name := p.Card.Name
	if name == f.n.Identity.Name {
		return "", apiErr(http.StatusConflict, codeConflict, "Name clash",
			fmt.Sprintf("your node calls itself %s, as this node does: no cosigning between us", name))
	}
	ps, err := f.reg.List(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range ps {
		if o.IdentityID != p.IdentityID && o.Card != nil && o.Card.Name == name {
			return "", apiErr(http.StatusConflict, codeConflict, "Name clash",
				fmt.Sprintf("two pinned peers call themselves %s (%s and %s): no cosigning for either", name, p.IdentityID, o.IdentityID))
		}
	}
	return name, nil
}

// noteVerifier returns the verifier of name's note among keys (any key the
// peer ever had: it may have signed with an older one before a rotation)
// that opens signed; the newest key's if none does, so that the caller
// reports the bad signature.
func noteVerifier(name string, keys []ed25519.PublicKey, signed []byte) (note.Verifier, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no signing key pinned for %s", audit.ErrInvalid, name)
	}
	for i := len(keys) - 1; i >= 0; i-- {
		v, err := audit.NewVerifier(name, keys[i])
		if err != nil {
			return nil, err
		}
		if _, err := note.Open(signed, note.VerifierList(v)); err == nil {
			return v, nil
		}
	}
	return audit.NewVerifier(name, keys[len(keys)-1])
}

type cosignedResponse struct {
	Size int64 `json:"size"`
}

type cosignResponse struct {
	Cosignature string `json:"cosignature"`
}

// serveCosigned answers the size of the last checkpoint of the caller's log
// that we cosigned.
func (f *Federation) serveCosigned(r *http.Request, p peer.Peer) (any, error) {
	name, err := f.noteName(r.Context(), p)
	if err != nil {
		return nil, err
	}
	size, err := f.audit.CosignedSize(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return cosignedResponse{Size: size}, nil
}

// serveCosign cosigns a checkpoint of the caller's log (audit.Log.Cosign:
// the checkpoint must be signed by the caller, name its log, and extend
// the last one we cosigned). A fork is recorded in our log by Cosign and
// logged here at Error level: it is the evidence that a partner rewrote its
// history.
func (f *Federation) serveCosign(r *http.Request, p peer.Peer) (any, error) {
	ctx := r.Context()
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	req, err := audit.ParseCosignRequest(body)
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, codeInvalid, "Invalid cosign request", err.Error())
	}
	name, err := f.noteName(ctx, p)
	if err != nil {
		return nil, err
	}
	v, err := noteVerifier(name, p.PublicKeys(), req.Checkpoint)
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, codeInvalid, "Invalid cosign request", err.Error())
	}
	cosig, err := f.audit.Cosign(ctx, name, v, req)
	var pn *audit.ProofNeededError
	var fe *audit.ForkError
	switch {
	case err == nil:
		return cosignResponse{Cosignature: string(cosig)}, nil
	case errors.As(err, &pn):
		e := apiErr(http.StatusConflict, codeProofNeeded, "Consistency proof needed",
			fmt.Sprintf("send a consistency proof from size %d, the last checkpoint of yours this node cosigned", pn.Size))
		e.body.Size = &pn.Size
		return nil, e
	case errors.As(err, &fe):
		f.log.Error("FORK DETECTED: a peer presented a checkpoint of its audit log that contradicts one we cosigned: it rewrote its history",
			"peer", p.Name, "identity", p.IdentityID, "cosigned_size", fe.Cosigned.Size, "cosigned_root", fe.Cosigned.Root,
			"why", fe.Why, "err", err)
		return nil, apiErr(http.StatusConflict, codeForkDetected, "Fork detected", fe.Error())
	case errors.Is(err, audit.ErrInvalid):
		return nil, apiErr(http.StatusBadRequest, codeInvalid, "Checkpoint refused", err.Error())
	case errors.Is(err, audit.ErrConflict):
		return nil, apiErr(http.StatusConflict, codeConflict, "Cosigning conflict", "another cosigning of your log ran at the same time; try again")
	}
	return nil, err
}

// CosignOnce runs one round: it announces our key rotations to the peers
// that have not confirmed them (AnnounceRotations) and our card to those
// that have not confirmed its content (AnnounceCard), then, if the log grew
// since our last checkpoint by anything but cosignings of others'
// checkpoints, signs a new checkpoint, and asks every pinned peer that has
// not cosigned our latest checkpoint to cosign it. It returns every peer's
// failure, joined; a peer that found our log forked answers an error that
// is an audit.ErrForkDetected.
//
// A cosigning appends a checkpoint-cosigned entry to the cosigner's log.
// Those entries alone never cause a checkpoint, and a cosign request never
// causes one either (only this round does): otherwise two nodes would
// checkpoint and cosign each other's cosignings forever.
func (f *Federation) CosignOnce(ctx context.Context) error {
	s := &f.cosign
	s.round.Lock()
	defer s.round.Unlock()
	if err := f.loadCosigned(ctx); err != nil {
		return err
	}
	cp, have, err := f.checkpointIfGrown(ctx)
	if err != nil {
		return err
	}
	if have {
		if _, err := note.Open(cp.Note, note.VerifierList(f.audit.Verifier())); err != nil {
			// Signed before a key rotation, with a key we no longer sign
			// with: the next checkpoint, once the log grows, is signed
			// with the current key.
			f.log.Debug("our latest checkpoint is signed with a retired key; waiting for the log to grow", "size", cp.Size)
			have = false
		}
	}
	peers, err := f.reg.List(ctx)
	if err != nil {
		return err
	}
	return forPeers(peers, func(p peer.Peer) error {
		if err := f.announceTo(ctx, p); err != nil {
			return fmt.Errorf("announcing our key rotations to %s: %w", p.Name, err)
		}
		cardErr := f.announceCardTo(ctx, p)
		if !have {
			return cardErr
		}
		if err := f.cosignWith(ctx, p, cp); err != nil {
			return errors.Join(cardErr, fmt.Errorf("cosigning with %s: %w", p.Name, err))
		}
		return cardErr
	})
}

// forPeers runs fn for each peer, at most maxParallel at once, and joins
// the errors in the peers' order.
func forPeers(peers []peer.Peer, fn func(peer.Peer) error) error {
	errs := make([]error, len(peers))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(p)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// loadCosigned reads, once, which checkpoints of ours each peer cosigned.
func (f *Federation) loadCosigned(ctx context.Context) error {
	s := &f.cosign
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if loaded {
		return nil
	}
	as, err := store.AuditStorage(f.st)
	if err != nil {
		return err
	}
	cos, err := as.AuditCosignatures(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cosigned == nil {
		s.cosigned = map[string]tlog.Tree{}
	}
	for _, c := range cos { // by size: the last of a peer wins
		s.cosigned[c.Peer] = tlog.Tree{N: c.Size, Hash: c.Root}
	}
	s.loaded = true
	return nil
}

// checkpointIfGrown returns our checkpoint to have cosigned: a new one if
// the log grew since the latest by an entry other than checkpoint-cosigned,
// else the latest; have is false when there is none (an empty log, or one
// holding only cosignings).
func (f *Federation) checkpointIfGrown(ctx context.Context) (cp audit.StoredCheckpoint, have bool, err error) {
	size, err := f.audit.Size(ctx)
	if err != nil {
		return cp, false, err
	}
	latest, err := f.audit.LatestCheckpoint(ctx)
	switch {
	case errors.Is(err, audit.ErrNotFound):
	case err != nil:
		return cp, false, err
	default:
		have, cp = true, latest
	}
	from := cp.Size
	if size <= from {
		return cp, have, nil
	}
	grew, err := f.grewSince(ctx, from, size)
	if err != nil || !grew {
		return cp, have, err
	}
	signed, err := f.audit.Checkpoint(ctx)
	if err != nil {
		if errors.Is(err, audit.ErrTampered) {
			f.log.Error("our audit log is inconsistent with the last checkpoint we signed: no new checkpoint; run `entraide audit verify`", "err", err)
		}
		return cp, have, err
	}
	n, err := note.Open(signed, note.VerifierList(f.audit.Verifier()))
	if err != nil {
		return cp, have, err
	}
	_, t, err := audit.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return cp, have, err
	}
	return audit.StoredCheckpoint{Size: t.N, Root: t.Hash, Note: signed}, true, nil
}

// grewSince reports whether an entry with seq in [from, size) is anything
// but a checkpoint-cosigned entry. It reads pages until it finds one, so it
// costs one small query in the usual case.
func (f *Federation) grewSince(ctx context.Context, from, size int64) (bool, error) {
	for from < size {
		es, err := f.audit.Entries(ctx, audit.Query{From: from, Limit: 1000})
		if err != nil {
			return false, err
		}
		if len(es) == 0 {
			return true, nil // rows missing: let Checkpoint judge the tree
		}
		for _, e := range es {
			if e.Seq >= size {
				return false, nil
			}
			if e.Kind != audit.KindCheckpointCosigned {
				return true, nil
			}
		}
		from = es[len(es)-1].Seq + 1
	}
	return false, nil
}

// cosignWith asks p to cosign cp, proving consistency from the last
// checkpoint of ours p cosigned (retrying once from the size p names), and
// stores p's cosignature.
func (f *Federation) cosignWith(ctx context.Context, p peer.Peer, cp audit.StoredCheckpoint) error {
	if p.Card == nil {
		return errors.New("its pinned card no longer parses")
	}
	name := p.Card.Name
	cur := tlog.Tree{N: cp.Size, Hash: cp.Root}
	prev, known := f.cosign.get(name)
	if known && prev == cur {
		return nil
	}
	var old int64
	if known && prev.N <= cp.Size {
		old = prev.N
	}
	for attempt := 0; ; attempt++ {
		req, err := f.audit.NewCosignRequest(ctx, cp.Note, old)
		if err != nil {
			return err
		}
		body, err := json.Marshal(req)
		if err != nil {
			return err
		}
		var out cosignResponse
		err = f.call(ctx, p, http.MethodPost, PathCosign, body, &out)
		var re *RemoteError
		if errors.As(err, &re) && re.Code == codeProofNeeded && re.Size != nil && attempt == 0 && *re.Size != old {
			if *re.Size < 0 || *re.Size > cp.Size {
				return fmt.Errorf("%w (it cosigned a checkpoint of ours of size %d, larger than our latest, %d: our checkpoints were lost or rewritten)",
					err, *re.Size, cp.Size)
			}
			old = *re.Size
			continue
		}
		if errors.Is(err, audit.ErrForkDetected) {
			f.log.Error("a peer refuses our checkpoint as a fork of one it cosigned: this node's audit log was rewritten; run `entraide audit verify`",
				"peer", p.Name, "size", cp.Size, "root", cp.Root, "err", err)
		}
		if err != nil {
			return err
		}
		cosig := []byte(out.Cosignature)
		v, err := noteVerifier(name, p.PublicKeys(), cosig)
		if err != nil {
			return err
		}
		if err := f.audit.AddCosignature(ctx, name, v, cosig); err != nil {
			return err
		}
		f.cosign.set(name, cur)
		return nil
	}
}

// call makes one request to a peer's /entraide/ endpoint over mutual TLS
// and decodes its JSON answer into out; an error answer is a *RemoteError.
func (f *Federation) call(ctx context.Context, p peer.Peer, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(p.Endpoint, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", mediaJSON)
	if body != nil {
		req.Header.Set("Content-Type", mediaJSON)
	}
	resp, err := f.httpClient(p).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return err
	}
	if len(b) > maxBody {
		return fmt.Errorf("%s answered more than %d bytes", p.Name, maxBody)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK {
		re := &RemoteError{Peer: p.Name, Status: resp.StatusCode, Code: codeInternal, Title: http.StatusText(resp.StatusCode)}
		var we wireError
		if mt == mediaJSON && json.Unmarshal(b, &we) == nil && we.Code != "" {
			re.Code, re.Title, re.Desc, re.Size = we.Code, we.Title, we.Description, we.Size
		}
		return re
	}
	if mt != mediaJSON {
		return fmt.Errorf("%s answered %q, not %s", p.Name, resp.Header.Get("Content-Type"), mediaJSON)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s answered: %w", p.Name, err)
	}
	return nil
}

// runCosign checkpoints and has the log cosigned once at start, then every
// CosignInterval, until ctx ends.
func (f *Federation) runCosign(ctx context.Context) {
	if f.cfg.CosignInterval < 0 {
		return
	}
	// A key rotated in this process since New (as `entraide key rotate`
	// does before a restart) must also be ours for SigningKeys.
	f.reg.SetSelf(f.n.Self())
	t := time.NewTicker(f.cfg.CosignInterval)
	defer t.Stop()
	for {
		if err := f.CosignOnce(ctx); err != nil && ctx.Err() == nil {
			lvl := f.log.Warn
			if errors.Is(err, audit.ErrForkDetected) {
				lvl = f.log.Error
			}
			lvl("cosign round", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
