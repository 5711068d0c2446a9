package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/web"
)

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

// Disabling a user or changing a role takes effect at the next request.
func TestUserChangesApplyAtOnce(t *testing.T) {
	c := newConsole(t)
	addUser(t, c.n.Store, "lea", store.RoleAnalyst, nil)
	b := c.browser()
	b.login("lea")
	if p := b.get("/console/alerts/new"); p.status != 200 {
		t.Fatalf("analyst, new alert form: %d", p.status)
	}
	rs, _ := store.Roles(c.n.Store)
	if err := rs.SetUserRole(t.Context(), "lea", store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/alerts/new"); p.status != http.StatusForbidden {
		t.Fatalf("made a viewer, new alert form: %d", p.status)
	}
	u, _ := c.n.Store.User(t.Context(), "lea")
	u.Disabled = true
	if err := c.n.Store.PutUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("disabled user: %d, want the login page", p.status)
	}
	if p := b.post("/console/login", url.Values{"name": {"lea"}, "password": {password}}); p.status != http.StatusUnauthorized {
		t.Fatalf("disabled user logs in: %d", p.status)
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
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || count(p.body, "login-error") != 1 {
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
