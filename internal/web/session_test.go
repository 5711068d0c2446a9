package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/web"
)

// cookie is the session token the browser holds for the console.
func (b *browser) cookie(t *testing.T) string {
	t.Helper()
	u, _ := url.Parse(b.base + "/console/")
	for _, ck := range b.hc.Jar.Cookies(u) {
		if ck.Name == "__Host-entraide-session" {
			return ck.Value
		}
	}
	t.Fatal("the browser holds no session cookie")
	return ""
}

// A person logs in, sees the overview, logs out; the old cookie is then
// worth nothing.
func TestLoginLogout(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	p := b.get("/console/alerts?box=sent")
	if p.status != http.StatusSeeOther || p.location() != "/console/login?next="+url.QueryEscape("/console/alerts?box=sent") {
		t.Fatalf("without a session: %d %q", p.status, p.location())
	}
	p = b.get("/console/login")
	if p.status != 200 || count(p.body, "login-form") != 1 || !strings.Contains(p.body, `autocomplete="current-password"`) {
		t.Fatalf("login page: %d\n%s", p.status, p.body)
	}
	p = b.post("/console/login", url.Values{"name": {"admin"}, "password": {"not the password at all"}})
	if p.status != http.StatusUnauthorized || count(p.body, "login-error") != 1 || len(p.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("wrong password: %d %v\n%s", p.status, p.header.Values("Set-Cookie"), p.body)
	}
	p = b.post("/console/login", url.Values{"name": {"nobody"}, "password": {password}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", p.status)
	}
	p = b.post("/console/login", url.Values{"name": {"admin"}, "password": {password}, "next": {"/console/alerts?box=sent"}})
	if p.status != http.StatusSeeOther || p.location() != "/console/alerts?box=sent" {
		t.Fatalf("login: %d %q\n%s", p.status, p.location(), p.body)
	}
	ck := p.header.Get("Set-Cookie")
	for _, want := range []string{"__Host-entraide-session=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "Domain=") || strings.Contains(ck, "Max-Age") || strings.Contains(ck, "Expires") {
		t.Errorf("session cookie %q: want host-only, ending with the browser", ck)
	}
	value := strings.TrimPrefix(strings.Split(ck, ";")[0], "__Host-entraide-session=")
	if len(value) != 43 {
		t.Errorf("session id %q: want 256 random bits, base64url", value)
	}
	p = b.get("/console/")
	if p.status != 200 || count(p.body, "page-overview") != 1 || !strings.Contains(p.body, `data-role="admin"`) {
		t.Fatalf("overview after login: %d\n%s", p.status, p.body)
	}
	// The login page sends a logged-in person on.
	if p := b.get("/console/login?next=/console/alerts"); p.status != http.StatusSeeOther || p.location() != "/console/alerts" {
		t.Errorf("login page while logged in: %d %q", p.status, p.location())
	}

	// An open redirect is not one.
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "/console/../taxii2/", "javascript:alert(1)", "/console/login"} {
		b2 := c.browser()
		p := b2.post("/console/login", url.Values{"name": {"admin"}, "password": {password}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location() != "/console/" {
			t.Errorf("next=%q: %d %q, want the overview", next, p.status, p.location())
		}
	}

	p = b.post("/console/logout", nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") ||
		!strings.Contains(p.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q %q", p.status, p.location(), p.header.Get("Set-Cookie"))
	}
	// Its row is gone (the open-redirect browsers' sessions stay).
	tok, _ := base64.RawURLEncoding.DecodeString(value)
	if _, err := c.n.Store.Session(t.Context(), sha256.Sum256(tok)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the session's row after logout: %v, want none", err)
	}
	if ss, err := c.n.Store.Sessions(t.Context(), "admin"); err != nil || len(ss) != 6 {
		t.Fatalf("after logout: %d sessions of admin (%v), want the other 6", len(ss), err)
	}
	// Replaying the old cookie after logout: no session.
	b3 := c.browser()
	p = b3.get("/console/")
	p = b3.do("GET", "/console/", nil, "Cookie", "__Host-entraide-session="+value)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") {
		t.Fatalf("the cookie of a session ended by logout: %d %q", p.status, p.location())
	}
	// An action without a session is refused, not redirected.
	if p := b3.post("/console/alerts", url.Values{"title": {"x"}}); p.status != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d", p.status)
	}
}

// Sessions end after an hour without a request, and after twelve hours
// whatever happens, on the node's clock.
func TestSessionExpiry(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	b.login("admin")
	c.clk.Advance(web.DefaultIdleTimeout - time.Second)
	if p := b.get("/console/"); p.status != 200 {
		t.Fatalf("just before the idle timeout: %d", p.status)
	}
	c.clk.Advance(web.DefaultIdleTimeout)
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("after an idle hour: %d, want the login page", p.status)
	}

	b.login("admin")
	// Active all day: a request every 50 minutes.
	for elapsed := time.Duration(0); elapsed+50*time.Minute < web.DefaultMaxAge; elapsed += 50 * time.Minute {
		c.clk.Advance(50 * time.Minute)
		if p := b.get("/console/"); p.status != 200 {
			t.Fatalf("active session after %v: %d", elapsed+50*time.Minute, p.status)
		}
	}
	c.clk.Advance(50 * time.Minute)
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("a session older than %v: %d, want the login page", web.DefaultMaxAge, p.status)
	}
}

// Disabling a user, changing their role or their password ends their
// sessions at once: the next request goes to the login page, and the
// rows are gone. Logging in again gives the new role.
func TestUserChangesApplyAtOnce(t *testing.T) {
	c := newConsole(t)
	ctx := t.Context()
	addUser(t, c.n.Store, "lea", store.RoleAnalyst, nil)
	b := c.browser()
	b.login("lea")
	other := c.browser() // a second session of hers
	other.login("lea")
	if p := b.get("/console/alerts/new"); p.status != 200 {
		t.Fatalf("analyst, new alert form: %d", p.status)
	}
	rs, _ := store.Roles(c.n.Store)
	if err := rs.SetUserRole(ctx, "lea", store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/alerts/new"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") {
		t.Fatalf("made a viewer, new alert form: %d %q, want the login page", p.status, p.location())
	}
	if ss, err := c.n.Store.Sessions(ctx, "lea"); err != nil || len(ss) != 0 {
		t.Fatalf("after a role change, %d sessions of lea are left (%v)", len(ss), err)
	}
	if p := other.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("her other session after the role change: %d", p.status)
	}
	b.login("lea")
	if p := b.get("/console/alerts/new"); p.status != http.StatusForbidden {
		t.Fatalf("logged in again as a viewer, new alert form: %d", p.status)
	}

	// A new password: the session ends.
	u, _ := c.n.Store.User(ctx, "lea")
	h, err := user.HashPassword("another long password")
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = h
	if err := c.n.Store.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("after a password change: %d, want the login page", p.status)
	}
	u.PasswordHash = passwordHash(t)
	if err := c.n.Store.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}

	// A change that is neither (a permission) keeps the session.
	b.login("lea")
	u.Permissions = map[string]store.Permission{c.def.ID: {Read: true}}
	if err := c.n.Store.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/"); p.status != 200 {
		t.Fatalf("after a permission change: %d, want the page", p.status)
	}

	u.Disabled = true
	if err := c.n.Store.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("disabled user: %d, want the login page", p.status)
	}
	if ss, _ := c.n.Store.Sessions(ctx, "lea"); len(ss) != 0 {
		t.Fatalf("a disabled user keeps %d sessions", len(ss))
	}
	if p := b.post("/console/login", url.Values{"name": {"lea"}, "password": {password}}); p.status != http.StatusUnauthorized {
		t.Fatalf("disabled user logs in: %d", p.status)
	}
}

// Sessions live in the database: a new console over the same store (a
// restart, another replica) knows them, language included; logging out
// on one ends the session on all. What the database holds is no cookie:
// its hash, in any spelling, opens nothing.
func TestSessionInDatabase(t *testing.T) {
	c := newConsole(t)
	ctx := t.Context()
	b := c.browser()
	b.lang = "fr"
	b.login("admin")
	value := b.cookie(t)
	rows, err := c.n.Store.Sessions(ctx, "admin")
	if err != nil || len(rows) != 1 || rows[0].Lang != "fr" {
		t.Fatalf("the session row: %+v %v", rows, err)
	}

	// Another server over the same store, and a browser that sends only
	// the session cookie (no language cookie, no Accept-Language).
	c2 := &console{t: t, n: c.n, fed: c.fed, wf: c.wf, clk: c.clk, def: c.def}
	c2.serve(c.wf, c.fed)
	b2 := c2.browser()
	p := b2.do("GET", "/console/", nil, "Cookie", "__Host-entraide-session="+value)
	if p.status != 200 || count(p.body, "page-overview") != 1 || !strings.Contains(p.body, `<html lang="fr">`) {
		t.Fatalf("the session on a new server: %d\n%.300s", p.status, p.body)
	}
	// The idle timeout counts the request made on the other server.
	c.clk.Advance(web.DefaultIdleTimeout - time.Minute)
	if p := b.get("/console/"); p.status != 200 {
		t.Fatalf("the first server, within the idle timeout of the request on the second: %d", p.status)
	}

	// The stolen row: its hash as a cookie, however written.
	h := rows[0].Hash
	for _, forged := range []string{base64.RawURLEncoding.EncodeToString(h[:]), hex.EncodeToString(h[:]),
		base64.StdEncoding.EncodeToString(h[:]), base64.URLEncoding.EncodeToString(h[:])} {
		p := b2.do("GET", "/console/", nil, "Cookie", "__Host-entraide-session="+forged)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") {
			t.Fatalf("the stored hash %q as a cookie: %d %q", forged, p.status, p.location())
		}
	}

	// Logout on the second server ends the session on the first.
	if p := b2.do("POST", "/console/logout", url.Values{}, "Cookie", "__Host-entraide-session="+value); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if ss, _ := c.n.Store.Sessions(ctx, "admin"); len(ss) != 0 {
		t.Fatalf("%d session rows after logout", len(ss))
	}
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("the first server after logout on the second: %d", p.status)
	}
}

// A language chosen while logged in is the session's: a browser that
// lost its language cookie keeps it.
func TestSessionLanguage(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	b.login("admin")
	if p := b.post("/console/lang", url.Values{"lang": {"fr"}, "back": {"/console/"}}); p.status != http.StatusSeeOther {
		t.Fatalf("switch: %d", p.status)
	}
	b2 := c.browser()
	p := b2.do("GET", "/console/", nil, "Cookie", "__Host-entraide-session="+b.cookie(t))
	if p.status != 200 || !strings.Contains(p.body, `<html lang="fr">`) {
		t.Fatalf("without the language cookie: %d %.200s", p.status, p.body)
	}
	// The language cookie, when there is one, decides.
	p = b2.do("GET", "/console/", nil, "Cookie", "__Host-entraide-session="+b.cookie(t)+"; __Host-entraide-lang=en")
	if !strings.Contains(p.body, `<html lang="en">`) {
		t.Fatalf("with a language cookie en: %.200s", p.body)
	}
}

// Failed logins are throttled per address: past ten, even the right
// password is refused until the window ends.
func TestLoginThrottled(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	for i := range 10 {
		if p := b.post("/console/login", url.Values{"name": {"admin"}, "password": {"guess number " + string(rune('a'+i))}}); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, p.status)
		}
	}
	p := b.post("/console/login", url.Values{"name": {"admin"}, "password": {password}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "900" || count(p.body, "login-error") != 1 {
		t.Fatalf("after ten failures: %d %q", p.status, p.header.Get("Retry-After"))
	}
	c.clk.Advance(15 * time.Minute)
	b.login("admin")
}

// State-changing requests from another site are refused
// (http.CrossOriginProtection), before anything is done.
func TestCrossOriginRefused(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	b.login("admin")
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		p := b.post("/console/alerts", url.Values{"title": {"forged"}, "tlp": {"green"}}, h...)
		if p.status != http.StatusForbidden || count(p.body, "error") != 1 {
			t.Errorf("POST with %v: %d, want 403", h, p.status)
		}
		if p := b.post("/console/logout", nil, h...); p.status != http.StatusForbidden {
			t.Errorf("logout with %v: %d, want 403", h, p.status)
		}
		// A forged login is refused too (login CSRF).
		b2 := c.browser()
		if p := b2.post("/console/login", url.Values{"name": {"admin"}, "password": {password}}, h...); p.status != http.StatusForbidden {
			t.Errorf("login with %v: %d, want 403", h, p.status)
		}
	}
	list, err := c.wf.List(t.Context(), "alert", false, 10)
	if err != nil || len(list) != 0 {
		t.Fatalf("a refused request opened %d alerts (%v)", len(list), err)
	}
	// The same request from the console's own page goes through to the
	// engine (which refuses it for want of recipients: a 400, not a 403).
	if p := b.post("/console/alerts", url.Values{"title": {"forged"}, "tlp": {"green"}}, "Sec-Fetch-Site", "same-origin"); p.status != http.StatusBadRequest {
		t.Errorf("same-origin POST: %d, want the engine's 400", p.status)
	}
	// Still logged in: the refused logout did nothing.
	if p := b.get("/console/"); p.status != 200 {
		t.Errorf("after refused logouts: %d", p.status)
	}
}
