package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
)

// Console roles on the command line: add with a role or a derived one,
// set-role with the default collection's permissions following, the last
// administrator kept, and list showing each user's role.
func TestUserRoles(t *testing.T) {
	dir := initNode(t)
	type perm struct {
		Collection  string
		Read, Write bool
	}
	type row struct {
		Name, Role  string
		Admin       bool
		Permissions []perm
	}
	list := func() map[string]row {
		t.Helper()
		r := run(t, nil, "", "user", "list", "--data", dir, "--json")
		var rows []row
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("user list --json: %v\n%s%s", err, r.stdout, r.stderr)
		}
		m := map[string]row{}
		for _, r := range rows {
			m[r.Name] = r
		}
		return m
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"liz", "--role", "liaison"}, "role liaison"},
		{[]string{"ana", "--write", "default"}, "role analyst"},
		{[]string{"vic", "--read", "default"}, "role viewer"},
		{[]string{"root2", "--admin"}, "role admin"},
	} {
		r := run(t, nil, "", append([]string{"user", "add", "--data", dir}, c.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, c.want) {
			t.Fatalf("user add %v: exit %d\n%s%s", c.args, r.code, r.stdout, r.stderr)
		}
	}
	users := list()
	for name, want := range map[string]string{"admin": "admin", "liz": "liaison", "ana": "analyst", "vic": "viewer", "root2": "admin"} {
		if users[name].Role != want {
			t.Errorf("%s: role %q, want %q", name, users[name].Role, want)
		}
	}
	// --role liaison gave read and write on the default collection.
	if p := users["liz"].Permissions; len(p) != 1 || !p[0].Read || !p[0].Write {
		t.Errorf("liaison's permissions: %+v", p)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"add", "--data", dir, "x", "--role", "root"}, 2, "want one of admin, analyst, liaison, viewer"},
		{[]string{"add", "--data", dir, "x", "--admin", "--role", "viewer"}, 2, "cannot be combined"},
		{[]string{"set-role", "--data", dir, "liz"}, 2, "give a user NAME and a ROLE"},
		{[]string{"set-role", "--data", dir, "liz", "boss"}, 2, `role "boss"`},
		{[]string{"set-role", "--data", dir, "nobody", "viewer"}, 1, "not found"},
	} {
		r := run(t, nil, "", append([]string{"user"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("user %v: exit %d, want %d with %q\n%s", c.args, r.code, c.code, c.want, r.stderr)
		}
	}

	// A liaison officer made a viewer loses write on the default collection,
	// and her open console sessions end (they carried the old role).
	openSessions(t, dir, "liz", 2)
	r := run(t, nil, "", "user", "set-role", "--data", dir, "liz", "viewer")
	if r.code != 0 || !strings.Contains(r.stdout, "role viewer (was liaison); 2 console session(s) ended") {
		t.Fatalf("set-role: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := len(userSessions(t, dir, "liz")); n != 0 {
		t.Errorf("liz has %d console sessions after set-role, want 0", n)
	}
	users = list()
	if u := users["liz"]; u.Role != "viewer" || len(u.Permissions) != 1 || !u.Permissions[0].Read || u.Permissions[0].Write {
		t.Errorf("liz after set-role viewer: %+v", u)
	}
	// Made an admin, then an analyst: the flag follows the role.
	if r := run(t, nil, "", "user", "set-role", "--data", dir, "liz", "admin"); r.code != 0 {
		t.Fatalf("set-role admin: %s", r.stderr)
	}
	if u := list()["liz"]; u.Role != "admin" || !u.Admin {
		t.Errorf("liz after set-role admin: %+v", u)
	}
	if r := run(t, nil, "", "user", "set-role", "--data", dir, "liz", "analyst"); r.code != 0 {
		t.Fatalf("set-role analyst: %s", r.stderr)
	}
	if u := list()["liz"]; u.Role != "analyst" || u.Admin || !u.Permissions[0].Write {
		t.Errorf("liz after set-role analyst: %+v", u)
	}
	// The last administrator stays one.
	if r := run(t, nil, "", "user", "set-role", "--data", dir, "root2", "viewer"); r.code != 0 {
		t.Fatalf("demoting one of two admins: %s", r.stderr)
	}
	r = run(t, nil, "", "user", "set-role", "--data", dir, "admin", "analyst")
	if r.code != 1 || !strings.Contains(r.stderr, "only administrator") {
		t.Errorf("demoting the last admin: exit %d\n%s", r.code, r.stderr)
	}
	if u := list()["admin"]; u.Role != "admin" || !u.Admin {
		t.Errorf("the last admin after a refused set-role: %+v", u)
	}
	// The table shows the role.
	r = run(t, nil, "", "user", "list", "--data", dir)
	if !strings.Contains(r.stdout, "ROLE") || !strings.Contains(r.stdout, "analyst") {
		t.Errorf("user list:\n%s", r.stdout)
	}
}

func withStore(t *testing.T, dir string, f func(store.Store)) {
	t.Helper()
	st, err := store.Open(context.Background(), node.DBURL(dir, ""), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f(st)
}

// openSessions stores n console sessions for a user, as a login would.
func openSessions(t *testing.T, dir, name string, n int) {
	t.Helper()
	withStore(t, dir, func(st store.Store) {
		now := time.Now()
		for i := range n {
			s := store.Session{Hash: sha256.Sum256([]byte(name + string(rune('a'+i)))), User: name,
				Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
			if err := st.CreateSession(context.Background(), s, 0); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func userSessions(t *testing.T, dir, name string) []store.Session {
	t.Helper()
	var out []store.Session
	withStore(t, dir, func(st store.Store) {
		var err error
		if out, err = st.Sessions(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	})
	return out
}
