package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/clock"
)

// sessionCookie carries the session id. The __Host- prefix makes browsers
// refuse it unless it is Secure, host-only and for the whole site.
const sessionCookie = "__Host-entraide-session"

// Session lifetimes: a session ends after IdleTimeout without a request,
// and after MaxAge whatever happens (a shift); both on the injected clock.
const (
	DefaultIdleTimeout = time.Hour
	DefaultMaxAge      = 12 * time.Hour
	// maxSessions bounds the memory sessions take; past it the oldest
	// session is dropped. maxPerUser bounds one person's sessions (the
	// oldest is dropped): a stolen password cannot fill the table.
	maxSessions = 100000
	maxPerUser  = 20
)

// session is what the server keeps of a logged-in person. The id itself
// is never kept: only its SHA-256, so a memory dump does not hand out
// live sessions.
type session struct {
	key     [32]byte
	user    string
	created time.Time
	seen    time.Time
}

// sessions keeps the console's sessions in memory. They are per process:
// a restart of `entraide serve` logs everyone out, and replicas behind a
// load balancer need it to keep a person on one replica.
type sessions struct {
	clk    clock.Clock
	idle   time.Duration
	maxAge time.Duration
	mu     sync.Mutex
	byKey  map[[32]byte]*session
	byUser map[string][]*session // oldest first
	order  [][32]byte            // creation order, for eviction; compacted lazily
	swept  time.Time
}

func newSessions(clk clock.Clock, idle, maxAge time.Duration) *sessions {
	return &sessions{clk: clk, idle: idle, maxAge: maxAge, byKey: map[[32]byte]*session{}, byUser: map[string][]*session{}}
}

// create starts a session for user and returns the id to put in the
// cookie: 32 random bytes, base64url.
func (s *sessions) create(user string) (string, error) {
	var id [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	now := s.clk.Now()
	ss := &session{key: sha256.Sum256(id[:]), user: user, created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	for len(s.byKey) >= maxSessions && len(s.order) > 0 {
		s.dropKey(s.order[0])
		s.order = s.order[1:]
	}
	if us := s.byUser[user]; len(us) >= maxPerUser {
		s.drop(us[0])
	}
	s.byKey[ss.key] = ss
	s.byUser[user] = append(s.byUser[user], ss)
	s.order = append(s.order, ss.key)
	return base64.RawURLEncoding.EncodeToString(id[:]), nil
}

// lookup returns the session of a cookie value and marks it seen, or nil
// when there is none or it has expired (an expired one is forgotten).
func (s *sessions) lookup(value string) *session {
	key, ok := keyOf(value)
	if !ok {
		return nil
	}
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byKey[key]
	if ss == nil {
		return nil
	}
	if s.expired(ss, now) {
		s.drop(ss)
		return nil
	}
	ss.seen = now
	c := *ss
	return &c
}

// end forgets the session of a cookie value (logout).
func (s *sessions) end(value string) {
	key, ok := keyOf(value)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.byKey[key]; ss != nil {
		s.drop(ss)
	}
}

// endUser forgets every session of a user.
func (s *sessions) endUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range append([]*session(nil), s.byUser[user]...) {
		s.drop(ss)
	}
}

// count is the number of live sessions (tests).
func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
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

func (s *sessions) expired(ss *session, now time.Time) bool {
	return !now.Before(ss.seen.Add(s.idle)) || !now.Before(ss.created.Add(s.maxAge))
}

// sweep drops expired sessions, at most once a minute, so that the table
// does not keep the sessions of people who never logged out.
func (s *sessions) sweep(now time.Time) {
	if now.Sub(s.swept) < time.Minute {
		return
	}
	s.swept = now
	for _, ss := range s.byKey {
		if s.expired(ss, now) {
			s.drop(ss)
		}
	}
	live := s.order[:0]
	for _, k := range s.order {
		if _, ok := s.byKey[k]; ok {
			live = append(live, k)
		}
	}
	s.order = live
}

func (s *sessions) dropKey(k [32]byte) {
	if ss := s.byKey[k]; ss != nil {
		s.drop(ss)
	}
}

func (s *sessions) drop(ss *session) {
	delete(s.byKey, ss.key)
	us := s.byUser[ss.user]
	for i, x := range us {
		if x == ss {
			us = append(us[:i:i], us[i+1:]...)
			break
		}
	}
	if len(us) == 0 {
		delete(s.byUser, ss.user)
	} else {
		s.byUser[ss.user] = us
	}
}

// setSessionCookie gives the browser the session id: Secure, HttpOnly,
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
