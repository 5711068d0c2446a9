package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
)

// sessionCookie carries the session token. The __Host- prefix makes
// browsers refuse it unless it is Secure, host-only and for the whole site.
const sessionCookie = "__Host-entraide-session"

// Session lifetimes: a session ends after IdleTimeout without a request,
// and after MaxAge whatever happens (a shift); both on the injected clock.
const (
	DefaultIdleTimeout = time.Hour
	DefaultMaxAge      = 12 * time.Hour
	// maxPerUser bounds one person's sessions (the oldest goes): a stolen
	// password cannot fill the table.
	maxPerUser = 20
	// pruneEvery is how often, at most, a process deletes the sessions
	// that have ended (at a login or a request after that long).
	pruneEvery = time.Minute
)

// session is what the server knows of a logged-in person's session.
type session struct {
	key     [32]byte // SHA-256 of the token
	user    string
	stamp   [32]byte
	created time.Time
	seen    time.Time
	lang    string
}

// sessions keeps the console's sessions in the node's database
// (store.SessionStore): a restart of `entraide serve` logs no one out, and
// replicas over one database all know every session, so a load balancer
// need not keep a person on one replica. The database holds only the
// SHA-256 of each token: a copy of the table, or a memory dump, hands out
// no live session.
type sessions struct {
	st     store.SessionStore
	clk    clock.Clock
	log    *slog.Logger
	idle   time.Duration
	maxAge time.Duration

	mu     sync.Mutex
	pruned time.Time
}

func newSessions(st store.SessionStore, clk clock.Clock, log *slog.Logger, idle, maxAge time.Duration) *sessions {
	return &sessions{st: st, clk: clk, log: log, idle: idle, maxAge: maxAge}
}

// stampOf is what a session is granted on: the user's password hash and
// effective role. When either changes (a new password, another role, the
// admin flag), the stamp no longer matches and the user's sessions end.
func stampOf(u store.User, role string) [32]byte {
	h := sha256.New()
	for _, s := range []string{"entraide session stamp v1", u.PasswordHash, role} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// create starts a session for a user with the given role and language,
// and returns the token to put in the cookie: 32 random bytes, base64url.
// The user's oldest sessions beyond maxPerUser end.
func (s *sessions) create(ctx context.Context, u store.User, role, lang string) (string, error) {
	var tok [32]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return "", err
	}
	now := s.clk.Now()
	s.prune(ctx, now)
	ss := store.Session{Hash: sha256.Sum256(tok[:]), User: u.Name, Stamp: stampOf(u, role), Created: now, LastSeen: now,
		Expires: now.Add(s.maxAge), Lang: lang}
	if err := s.st.CreateSession(ctx, ss, maxPerUser); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tok[:]), nil
}

// lookup returns the session of a cookie value and records the request,
// or nil when there is none or it has ended (an ended one is deleted).
func (s *sessions) lookup(ctx context.Context, value string) (*session, error) {
	key, ok := keyOf(value)
	if !ok {
		return nil, nil
	}
	now := s.clk.Now()
	s.prune(ctx, now)
	row, err := s.st.Session(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ss := &session{key: key, user: row.User, stamp: row.Stamp, created: row.Created, seen: row.LastSeen, lang: row.Lang}
	if s.expired(ss, row.Expires, now) {
		if err := s.st.DeleteSession(ctx, key); err != nil {
			return nil, err
		}
		return nil, nil
	}
	// The request is recorded; failing to is no reason to refuse it.
	if err := s.st.TouchSession(ctx, key, now); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("console: could not record a session's activity", "user", row.User, "err", err)
	}
	ss.seen = now
	return ss, nil
}

// end ends the session of a cookie value (logout).
func (s *sessions) end(ctx context.Context, value string) error {
	key, ok := keyOf(value)
	if !ok {
		return nil
	}
	return s.st.DeleteSession(ctx, key)
}

// endUser ends every session of a user.
func (s *sessions) endUser(ctx context.Context, user string) error {
	_, err := s.st.DeleteUserSessions(ctx, user)
	return err
}

// setLang records the language of the session of a cookie value.
func (s *sessions) setLang(ctx context.Context, value, lang string) error {
	key, ok := keyOf(value)
	if !ok {
		return nil
	}
	if err := s.st.SetSessionLang(ctx, key, lang); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func keyOf(value string) ([32]byte, bool) {
	if len(value) != 43 { // 32 bytes, base64url without padding
		return [32]byte{}, false
	}
	id, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(id) != 32 {
		return [32]byte{}, false
	}
	return sha256.Sum256(id), true
}

// expired says whether a session has ended at now: idle too long, or
// past its absolute end (kept in the row, so that a later change of
// MaxAge does not lengthen sessions already given).
func (s *sessions) expired(ss *session, expires, now time.Time) bool {
	return !now.Before(ss.seen.Add(s.idle)) || !now.Before(ss.created.Add(s.maxAge)) ||
		(!expires.IsZero() && !now.Before(expires))
}

// prune deletes the sessions that have ended, at most once every
// pruneEvery, so that the table does not keep the sessions of people who
// never logged out. A failure is logged: the next call tries again.
func (s *sessions) prune(ctx context.Context, now time.Time) {
	s.mu.Lock()
	if now.Sub(s.pruned) < pruneEvery && !s.pruned.IsZero() {
		s.mu.Unlock()
		return
	}
	s.pruned = now
	s.mu.Unlock()
	if n, err := s.st.PruneSessions(ctx, now, s.idle); err != nil {
		s.log.Warn("console: could not delete ended sessions", "err", err)
	} else if n > 0 {
		s.log.Debug("console: ended sessions deleted", "count", n)
	}
}

// sessionOf returns the session of a request with its user and effective
// role, or a nil session when there is none: no cookie, an unknown or
// ended session, or a user since removed or disabled, or whose password
// or role changed since the login (the user's sessions then end). The
// user and the role are read from the store on every request.
func (s *Server) sessionOf(r *http.Request) (*session, store.User, string, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, store.User{}, "", nil
	}
	ctx := r.Context()
	ss, err := s.sess.lookup(ctx, ck.Value)
	if ss == nil || err != nil {
		return nil, store.User{}, "", err
	}
	u, err := s.st.User(ctx, ss.user)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, store.User{}, "", s.sess.endUser(ctx, ss.user)
	}
	if err != nil {
		return nil, store.User{}, "", err
	}
	stored, err := s.roles.UserRole(ctx, u.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, store.User{}, "", err
	}
	role := store.EffectiveRole(u, stored)
	if ss.stamp != stampOf(u, role) {
		s.log.Info("console: sessions ended: the user's password or role changed", "user", u.Name)
		return nil, store.User{}, "", s.sess.endUser(ctx, u.Name)
	}
	return ss, u, role, nil
}

// startSession starts a session for a user who just logged in, in the
// language of the login page.
func (s *Server) startSession(ctx context.Context, u store.User, lang string) (string, error) {
	stored, err := s.roles.UserRole(ctx, u.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	return s.sess.create(ctx, u, store.EffectiveRole(u, stored), lang)
}

// setSessionCookie gives the browser the session token: Secure, HttpOnly,
// SameSite=Strict, for the whole host, and without Max-Age (it goes when
// the browser closes; the server ends it earlier when idle or too old).
func setSessionCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}
