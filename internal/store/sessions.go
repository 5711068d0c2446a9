package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a web console session as the store keeps it (package web
// decides what a session is worth; the store only keeps it).
type Session struct {
	// Hash is the SHA-256 of the token the session cookie carries. The
	// token itself is never stored: a copy of the table opens no session.
	Hash [32]byte
	User string
	// Stamp is what the console derived from the user when the session
	// began (see web); opaque here.
	Stamp    [32]byte
	Created  time.Time
	LastSeen time.Time
	Expires  time.Time // the absolute end, whatever the activity
	Lang     string    // the console language of the session; "" for none
}

// SessionStore keeps the web console's sessions, so that they survive a
// restart and every replica over one database knows them. Writes do not
// take the store's global write lock (sessions take no part in the
// ordering of date_added), so that a page view never waits behind an
// import batch on PostgreSQL.
type SessionStore interface {
	// CreateSession stores a new session, then deletes the user's oldest
	// sessions beyond the newest keep (keep ≤ 0: no limit), in one
	// transaction. ErrNotFound if the user does not exist; ErrConflict if
	// the hash exists; ErrInvalid if User is empty or Created is zero.
	CreateSession(ctx context.Context, s Session, keep int) error
	// Session returns the session whose hash is h, or ErrNotFound. It does
	// not look at the expiry: the caller decides.
	Session(ctx context.Context, h [32]byte) (Session, error)
	// Sessions lists a user's sessions, oldest first.
	Sessions(ctx context.Context, user string) ([]Session, error)
	// TouchSession records a request at an instant: LastSeen only moves
	// forward. ErrNotFound if there is no such session.
	TouchSession(ctx context.Context, h [32]byte, at time.Time) error
	// SetSessionLang records the session's language. ErrNotFound if there
	// is no such session.
	SetSessionLang(ctx context.Context, h [32]byte, lang string) error
	// DeleteSession ends one session (logout); ending one that does not
	// exist is not an error.
	DeleteSession(ctx context.Context, h [32]byte) error
	// DeleteUserSessions ends every session of a user and returns how
	// many there were.
	DeleteUserSessions(ctx context.Context, user string) (int, error)
	// PruneSessions deletes the sessions that have ended at now: past
	// their Expires, or without a request for idle (idle ≤ 0: only the
	// absolute end counts). It returns how many went.
	PruneSessions(ctx context.Context, now time.Time, idle time.Duration) (int, error)
}

var _ SessionStore = (*sqlStore)(nil)

const sessionColumns = `hash, user_name, stamp, created, last_seen, expires, lang`

func scanSession(sc interface{ Scan(...any) error }) (Session, error) {
	var (
		s                        Session
		hash, stamp              []byte
		created, seen, expiresAt int64
	)
	if err := sc.Scan(&hash, &s.User, &stamp, &created, &seen, &expiresAt, &s.Lang); err != nil {
		return s, err
	}
	if len(hash) != len(s.Hash) || len(stamp) != len(s.Stamp) {
		return s, fmt.Errorf("session of %s: stored hash or stamp is not 32 bytes", s.User)
	}
	copy(s.Hash[:], hash)
	copy(s.Stamp[:], stamp)
	s.Created, s.LastSeen, s.Expires = fromMicro(created), fromMicro(seen), fromMicro(expiresAt)
	return s, nil
}

func (s *sqlStore) CreateSession(ctx context.Context, ss Session, keep int) error {
	if ss.User == "" || ss.Created.IsZero() {
		return fmt.Errorf("session: %w: a user and a creation time are required", ErrInvalid)
	}
	if ss.LastSeen.IsZero() {
		ss.LastSeen = ss.Created
	}
	return s.sessionTx(ctx, func(tx *sql.Tx) error {
		// A no-op update locks the user's row (PostgreSQL; SQLite locks the
		// database), so that two logins of one user at once keep the limit.
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = disabled WHERE name = $1`, ss.User)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return fmt.Errorf("user %q: %w", ss.User, ErrNotFound)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE hash = $1`, ss.Hash[:]).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("session: %w: hash exists", ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			ss.Hash[:], ss.User, ss.Stamp[:], ss.Created.UnixMicro(), ss.LastSeen.UnixMicro(), toMicro(ss.Expires), ss.Lang); err != nil {
			return err
		}
		if keep <= 0 {
			return nil
		}
		// The newest keep stay: by creation, then hash, so that sessions
		// created in one microsecond are ordered too.
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_name = $1 AND hash NOT IN (
			SELECT hash FROM sessions WHERE user_name = $1 ORDER BY created DESC, hash DESC LIMIT $2)`, ss.User, keep)
		return err
	})
}

// sessionTx runs fn in a transaction of its own, outside the store's
// global write lock (see SessionStore).
func (s *sqlStore) sessionTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *sqlStore) Session(ctx context.Context, h [32]byte) (Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE hash = $1`, h[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	return ss, err
}

func (s *sqlStore) Sessions(ctx context.Context, user string) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_name = $1 ORDER BY created, hash`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ss)
	}
	return out, rows.Err()
}

// oneSession runs an UPDATE or DELETE of one session and says ErrNotFound
// when it touched none.
func (s *sqlStore) oneSession(ctx context.Context, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("session: %w", ErrNotFound)
	}
	return nil
}

func (s *sqlStore) TouchSession(ctx context.Context, h [32]byte, at time.Time) error {
	// CASE rather than GREATEST/MAX: the one spelling both engines share.
	return s.oneSession(ctx, `UPDATE sessions SET last_seen = CASE WHEN last_seen < $2 THEN $2 ELSE last_seen END
		WHERE hash = $1`, h[:], at.UnixMicro())
}

func (s *sqlStore) SetSessionLang(ctx context.Context, h [32]byte, lang string) error {
	return s.oneSession(ctx, `UPDATE sessions SET lang = $2 WHERE hash = $1`, h[:], lang)
}

func (s *sqlStore) DeleteSession(ctx context.Context, h [32]byte) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1`, h[:])
	return err
}

func (s *sqlStore) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_name = $1`, user)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *sqlStore) PruneSessions(ctx context.Context, now time.Time, idle time.Duration) (int, error) {
	q, args := `DELETE FROM sessions WHERE expires <> 0 AND expires <= $1`, []any{now.UnixMicro()}
	if idle > 0 {
		q += ` OR last_seen <= $2`
		args = append(args, now.Add(-idle).UnixMicro())
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
