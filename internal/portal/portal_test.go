package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/portal"
	"github.com/entraide/entraide/internal/user"
)

const password = "a test password that is long"

type listener struct {
	t   *testing.T
	clk *clock.Fake
	srv *httptest.Server
}

// newListener inits and opens a node on a fake clock and serves its user
// listener (portal.Handler) over TLS.
func newListener(t *testing.T, opts ...portal.Option) *listener {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	dir := filepath.Join(t.TempDir(), "fr")
	if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Name: "cert-fr", Org: "CERT-FR", Country: "FR", AdminPassword: password, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir, func(string) string { return "" }, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	fed, wf, err := cooperation.Open(ctx, n, federation.Config{CosignInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := portal.Handler(ctx, n, fed, wf, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return &listener{t: t, clk: clk, srv: srv}
}

// do sends a request; pw "" sends no credentials. form non-nil makes it a
// POST of that form.
func (l *listener) do(method, path, accept, name, pw string, form url.Values) *http.Response {
	l.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, l.srv.URL+path, body)
	if err != nil {
		l.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if pw != "" {
		req.SetBasicAuth(name, pw)
	}
	hc := &http.Client{Transport: l.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

const (
	taxiiAccept = "application/taxii+json;version=2.1"
	apiAccept   = "application/json"
)

// The three ways in, each with the right password; the status of each.
func (l *listener) tryAll(t *testing.T) (taxiiStatus, apiStatus, consoleStatus int) {
	t.Helper()
	tx := l.do("GET", "/taxii2/", taxiiAccept, "admin", password, nil)
	ap := l.do("GET", "/entraide/v1/kinds", apiAccept, "admin", password, nil)
	co := l.do("POST", "/console/login", "text/html", "", "", url.Values{"name": {"admin"}, "password": {password}})
	for _, r := range []*http.Response{tx, ap, co} {
		if r.StatusCode == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", r.Request.URL.Path)
		}
	}
	return tx.StatusCode, ap.StatusCode, co.StatusCode
}

// Passwords guessed on one path of the user listener count on all of
// them: ten wrong guesses on TAXII, and the right password is refused on
// the console's login page and on the API too; likewise from the console
// to TAXII and the API. The window's end lets everyone in again.
func TestSharedThrottle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		guess func(l *listener, i int) *http.Response
	}{
		{"guessed on TAXII", func(l *listener, i int) *http.Response {
			return l.do("GET", "/taxii2/", taxiiAccept, "admin", "guess number "+string(rune('a'+i)), nil)
		}},
		{"guessed on the console", func(l *listener, i int) *http.Response {
			return l.do("POST", "/console/login", "text/html", "", "", url.Values{"name": {"admin"}, "password": {"guess number " + string(rune('a'+i))}})
		}},
		{"guessed on the API", func(l *listener, i int) *http.Response {
			return l.do("GET", "/entraide/v1/kinds", apiAccept, "admin", "guess number "+string(rune('a'+i)), nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newListener(t)
			if tx, ap, co := l.tryAll(t); tx != 200 || ap != 200 || co != http.StatusSeeOther {
				t.Fatalf("before any guess: TAXII %d, API %d, console %d", tx, ap, co)
			}
			for i := range user.MaxAddrFailures {
				if r := tc.guess(l, i); r.StatusCode != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d, want 401", i, r.StatusCode)
				}
			}
			tx, ap, co := l.tryAll(t)
			if tx != http.StatusTooManyRequests || ap != http.StatusTooManyRequests || co != http.StatusTooManyRequests {
				t.Fatalf("after %d guesses, the right password: TAXII %d, API %d, console %d; want 429 everywhere",
					user.MaxAddrFailures, tx, ap, co)
			}
			l.clk.Advance(user.FailureWindow)
			if tx, ap, co := l.tryAll(t); tx != 200 || ap != 200 || co != http.StatusSeeOther {
				t.Fatalf("after the window: TAXII %d, API %d, console %d", tx, ap, co)
			}
		})
	}
}

// The listener's paths: a browser at / goes to the console, a TAXII
// client at / gets TAXII's answer; discovery, the API and the login page
// each where they should be.
func TestRoutes(t *testing.T) {
	l := newListener(t)
	if r := l.do("GET", "/", "text/html,application/xhtml+xml;q=0.9", "", "", nil); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/console/" {
		t.Errorf("browser at /: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := l.do("GET", "/", taxiiAccept, "", "", nil); r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/taxii+json") {
		t.Errorf("TAXII client at / without credentials: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	for _, c := range []struct {
		path, accept string
		auth         bool
		status       int
		ctype        string
	}{
		{"/taxii2/", taxiiAccept, true, 200, "application/taxii+json"},
		{"/api/collections/", taxiiAccept, true, 200, "application/taxii+json"},
		{"/entraide/v1/kinds", apiAccept, true, 200, "application/json"},
		{"/entraide/v1/kinds", apiAccept, false, 401, "application/json"},
		{"/console/login", "text/html", false, 200, "text/html"},
		{"/console/", "text/html", false, http.StatusSeeOther, ""},
	} {
		pw := ""
		if c.auth {
			pw = password
		}
		r := l.do("GET", c.path, c.accept, "admin", pw, nil)
		if r.StatusCode != c.status || !strings.HasPrefix(r.Header.Get("Content-Type"), c.ctype) {
			t.Errorf("GET %s (credentials %v): %d %q, want %d %s", c.path, c.auth, r.StatusCode, r.Header.Get("Content-Type"), c.status, c.ctype)
		}
	}
}

func TestWantsHTML(t *testing.T) {
	for h, want := range map[string]bool{
		"":                                   false,
		"text/html":                          true,
		"TEXT/HTML; q=0.8":                   true,
		"application/xhtml+xml, text/html":   true,
		taxiiAccept:                          false,
		"application/json, text/plain":       false,
		"text/htmlx":                         false,
		"application/taxii+json, text/html;": true,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Accept", h)
		}
		if got := portal.WantsHTML(r); got != want {
			t.Errorf("Accept %q: %v, want %v", h, got, want)
		}
	}
}

// A console session on a listener built with SessionLifetimes lasts as
// long as it says, on the node's clock; the default ends it after an
// idle hour. (The demo's nodes run fast while its exercise plays.)
func TestSessionLifetimes(t *testing.T) {
	for _, c := range []struct {
		name  string
		opts  []portal.Option
		after time.Duration
		want  bool
	}{
		{"default, idle 2h", nil, 2 * time.Hour, false},
		{"default, idle 30m", nil, 30 * time.Minute, true},
		{"demo lifetimes, idle 2h", []portal.Option{portal.SessionLifetimes(7*24*time.Hour, 30*24*time.Hour)}, 2 * time.Hour, true},
		{"demo lifetimes, idle 8 days", []portal.Option{portal.SessionLifetimes(7*24*time.Hour, 30*24*time.Hour)}, 8 * 24 * time.Hour, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newListener(t, c.opts...)
			login := l.do("POST", "/console/login", "text/html", "", "", url.Values{"name": {"admin"}, "password": {password}})
			var cookies []*http.Cookie
			for _, ck := range login.Cookies() {
				if ck.Value != "" {
					cookies = append(cookies, ck)
				}
			}
			if login.StatusCode != http.StatusSeeOther && login.StatusCode != http.StatusFound || len(cookies) == 0 {
				t.Fatalf("login: %d, cookies %v", login.StatusCode, login.Cookies())
			}
			l.clk.Advance(c.after)
			req, err := http.NewRequest("GET", l.srv.URL+"/console/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/html")
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			hc := &http.Client{Transport: l.srv.Client().Transport,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusOK; got != c.want {
				t.Errorf("after %v idle: GET /console/ = %d, logged in %v, want %v", c.after, resp.StatusCode, got, c.want)
			}
		})
	}
}
