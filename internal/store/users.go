package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

func (s *sqlStore) PutStatus(ctx context.Context, st Status) error {
	if st.ID == "" {
		return fmt.Errorf("status: %w: an id is required", ErrInvalid)
	}
	details := func(ds []StatusDetail) (string, error) {
		if ds == nil {
			ds = []StatusDetail{}
		}
		b, err := json.Marshal(ds)
		return string(b), err
	}
	succ, err := details(st.Successes)
	if err != nil {
		return err
	}
	fail, err := details(st.Failures)
	if err != nil {
		return err
	}
	pend, err := details(st.Pendings)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO statuses
			(id, owner, status, request_timestamp, total_count, successes, failures, pendings)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, status = excluded.status,
				request_timestamp = excluded.request_timestamp, total_count = excluded.total_count,
				successes = excluded.successes, failures = excluded.failures, pendings = excluded.pendings`,
			st.ID, st.Owner, st.Status, toMicro(st.RequestTimestamp), st.TotalCount, succ, fail, pend)
		return err
	})
}

func (s *sqlStore) Status(ctx context.Context, id string) (Status, error) {
	var (
		st               Status
		ts               int64
		succ, fail, pend string
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, owner, status, request_timestamp, total_count, successes, failures, pendings
		FROM statuses WHERE id = $1`, id).Scan(&st.ID, &st.Owner, &st.Status, &ts, &st.TotalCount, &succ, &fail, &pend)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("status %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return st, err
	}
	st.RequestTimestamp = fromMicro(ts)
	for _, d := range []struct {
		src string
		dst *[]StatusDetail
	}{{succ, &st.Successes}, {fail, &st.Failures}, {pend, &st.Pendings}} {
		if err := json.Unmarshal([]byte(d.src), d.dst); err != nil {
			return st, fmt.Errorf("status %s: %w", id, err)
		}
		if len(*d.dst) == 0 {
			*d.dst = nil
		}
	}
	return st, nil
}

func (s *sqlStore) PutUser(ctx context.Context, u User) error {
	if u.Name == "" {
		return fmt.Errorf("user: %w: a name is required", ErrInvalid)
	}
	if u.Created.IsZero() {
		u.Created = s.clk.Now()
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		// Replacing keeps the first creation time unless one is given.
		_, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, admin, disabled, created)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, admin = excluded.admin,
				disabled = excluded.disabled`,
			u.Name, u.PasswordHash, u.Admin, u.Disabled, u.Created.UnixMicro())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM permissions WHERE user_name = $1`, u.Name); err != nil {
			return err
		}
		for coll, p := range u.Permissions {
			if !p.Read && !p.Write {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO permissions (user_name, collection, can_read, can_write)
				VALUES ($1, $2, $3, $4)`, u.Name, coll, p.Read, p.Write); err != nil {
				return err
			}
		}
		return nil
	})
}

const userColumns = `name, password_hash, admin, disabled, created`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var (
		u       User
		created int64
	)
	err := sc.Scan(&u.Name, &u.PasswordHash, &u.Admin, &u.Disabled, &created)
	u.Created = fromMicro(created)
	return u, err
}

// withPermissions fills in the permissions of users.
func (s *sqlStore) withPermissions(ctx context.Context, users []User) ([]User, error) {
	if len(users) == 0 {
		return users, nil
	}
	byName := make(map[string]*User, len(users))
	names := make([]string, len(users))
	for i := range users {
		users[i].Permissions = map[string]Permission{}
		byName[users[i].Name] = &users[i]
		names[i] = users[i].Name
	}
	var p params
	rows, err := s.db.QueryContext(ctx, `SELECT user_name, collection, can_read, can_write FROM permissions WHERE `+
		s.d.inList("user_name", p.add(s.d.listArg(names))), p.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name, coll string
			perm       Permission
		)
		if err := rows.Scan(&name, &coll, &perm.Read, &perm.Write); err != nil {
			return nil, err
		}
		byName[name].Permissions[coll] = perm
	}
	return users, rows.Err()
}

func (s *sqlStore) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	us, err := s.withPermissions(ctx, []User{u})
	if err != nil {
		return User{}, err
	}
	return us[0], nil
}

func (s *sqlStore) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		us = append(us, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return s.withPermissions(ctx, us)
}

func (s *sqlStore) AddToken(ctx context.Context, t Token) error {
	if t.ID == "" || t.User == "" {
		return fmt.Errorf("token: %w: an id and a user are required", ErrInvalid)
	}
	if t.Created.IsZero() {
		t.Created = s.clk.Now()
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = $1`, t.User).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("user %q: %w", t.User, ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE id = $1 OR hash = $2`, t.ID, t.Hash[:]).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("token %s: %w: id or hash exists", t.ID, ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, user_name, hash, label, created, expires, revoked)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			t.ID, t.User, t.Hash[:], t.Label, t.Created.UnixMicro(), toMicro(t.Expires), t.Revoked)
		return err
	})
}

func (s *sqlStore) TokenUser(ctx context.Context, hash [32]byte) (User, error) {
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT t.user_name FROM tokens t JOIN users u ON u.name = t.user_name
		WHERE t.hash = $1 AND NOT t.revoked AND (t.expires = 0 OR t.expires > $2) AND NOT u.disabled`,
		hash[:], s.clk.Now().UnixMicro()).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, err
	}
	return s.User(ctx, name)
}

func (s *sqlStore) RevokeToken(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = TRUE WHERE id = $1`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("token %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

func (s *sqlStore) Tokens(ctx context.Context, user string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_name, hash, label, created, expires, revoked
		FROM tokens WHERE user_name = $1 ORDER BY created, id`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []Token
	for rows.Next() {
		var (
			t                Token
			hash             []byte
			created, expires int64
		)
		if err := rows.Scan(&t.ID, &t.User, &hash, &t.Label, &created, &expires, &t.Revoked); err != nil {
			return nil, err
		}
		copy(t.Hash[:], hash)
		t.Created, t.Expires = fromMicro(created), fromMicro(expires)
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// ---- Console roles (migration 0007) ----

// The roles of the web console (package web decides what each may see and
// do). A user has exactly one.
const (
	RoleAdmin   = "admin"   // everything, including peers, communities, audit and users
	RoleAnalyst = "analyst" // CSIRT analysts: read everything shared with them, act on every workflow
	RoleLiaison = "liaison" // liaison officers and 24/7 points of contact: alerts, pings, legal requests
	RoleViewer  = "viewer"  // reads, never acts
)

// AllRoles lists the roles from the most to the least powerful.
var AllRoles = []string{RoleAdmin, RoleAnalyst, RoleLiaison, RoleViewer}

// ValidRole reports whether r is one of AllRoles.
func ValidRole(r string) bool {
	for _, x := range AllRoles {
		if r == x {
			return true
		}
	}
	return false
}

// EffectiveRole is the role a user acts with: the admin flag makes an
// admin whatever the stored role (it grants everything on the other paths
// too); otherwise the stored role, and viewer — the least — when none was
// ever set or the stored one is unknown.
func EffectiveRole(u User, stored string) string {
	switch {
	case u.Admin:
		return RoleAdmin
	case ValidRole(stored) && stored != RoleAdmin:
		return stored
	}
	return RoleViewer
}

// RoleStore keeps each user's console role beside the user (the users
// table): PutUser neither sets nor clears it, so replacing a user keeps
// its role.
type RoleStore interface {
	// SetUserRole records a user's role. ErrInvalid if role is not one of
	// AllRoles; ErrNotFound if there is no such user.
	SetUserRole(ctx context.Context, name, role string) error
	// UserRole returns the stored role of a user: "" when none was ever
	// set (see EffectiveRole). ErrNotFound if there is no such user.
	UserRole(ctx context.Context, name string) (string, error)
	// UserRoles returns the stored role of every user that has one, by name.
	UserRoles(ctx context.Context) (map[string]string, error)
}

var _ RoleStore = (*sqlStore)(nil)

// Roles returns the role storage of a store that Open returned.
func Roles(s Store) (RoleStore, error) {
	if w, ok := s.(sealingStore); ok {
		s = w.Store
	}
	rs, ok := s.(RoleStore)
	if !ok {
		return nil, fmt.Errorf("store: %w: %T keeps no roles", ErrInvalid, s)
	}
	return rs, nil
}

func (s *sqlStore) SetUserRole(ctx context.Context, name, role string) error {
	if !ValidRole(role) {
		return fmt.Errorf("user %q: %w: role %q is not one of admin, analyst, liaison, viewer", name, ErrInvalid, role)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = $1 WHERE name = $2`, role, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		return nil
	})
}

func (s *sqlStore) UserRole(ctx context.Context, name string) (string, error) {
	var role string
	err := s.db.QueryRowContext(ctx, `SELECT role FROM users WHERE name = $1`, name).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return role, err
}

func (s *sqlStore) UserRoles(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, role FROM users WHERE role <> ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, role string
		if err := rows.Scan(&name, &role); err != nil {
			return nil, err
		}
		out[name] = role
	}
	return out, rows.Err()
}
