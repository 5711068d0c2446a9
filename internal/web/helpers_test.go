package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/web"
	"github.com/entraide/entraide/internal/workflow"
)

var update = flag.Bool("update", false, "rewrite golden files")

// password is every test user's password.
const password = "a test password that is long"

// hashOnce: argon2id takes 64 MiB and tens of milliseconds; the test
// users share one hash.
var (
	hashOnce sync.Once
	pwHash   string
)

func passwordHash(t testing.TB) string {
	hashOnce.Do(func() {
		h, err := user.HashPassword(password)
		if err != nil {
			panic(err)
		}
		pwHash = h
	})
	return pwHash
}

// console is one real node (init, open, cooperation.Open) with its
// console served over TLS by httptest.
type console struct {
	t   testing.TB
	n   *node.Node
	fed *federation.Federation
	wf  *workflow.Engine
	clk *clock.Fake
	srv *httptest.Server
	def store.Collection
	web *web.Server
}

// start is the test's instant: a fixed one, so that golden pages are stable.
var start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func newConsole(t testing.TB) *console {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(start)
	dir := filepath.Join(t.TempDir(), "fr")
	res, err := node.Init(ctx, node.InitOptions{Dir: dir, Name: "cert-fr", Org: "CERT-FR", Country: "FR", AdminPassword: password, Clock: clk})
	if err != nil {
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
	c := &console{t: t, n: n, fed: fed, wf: wf, clk: clk, def: res.DefaultCollection}
	c.serve(wf, fed)
	return c
}

func (c *console) serve(wf *workflow.Engine, fed *federation.Federation) {
	w, err := web.New(web.Options{Engine: wf, Federation: fed, Store: c.n.Store, Clock: c.clk,
		Node:      web.NodeInfo{Name: c.n.Identity.Name, Org: c.n.Identity.Org, Country: c.n.Identity.Country},
		Directory: func(ctx context.Context) ([]contact.Node, error) { return contact.Nodes(ctx, c.n, fed.Registry()) }})
	if err != nil {
		c.t.Fatal(err)
	}
	c.web = w
	c.srv = httptest.NewTLSServer(w.Handler())
	c.t.Cleanup(c.srv.Close)
}

// addUser adds a user with the test password and a role.
func addUser(t testing.TB, st store.Store, name, role string, perms map[string]store.Permission) {
	t.Helper()
	ctx := context.Background()
	if err := st.PutUser(ctx, store.User{Name: name, PasswordHash: passwordHash(t), Admin: role == store.RoleAdmin, Permissions: perms}); err != nil {
		t.Fatal(err)
	}
	rs, err := store.Roles(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.SetUserRole(ctx, name, role); err != nil {
		t.Fatal(err)
	}
}

// browser is one person's browser: a cookie jar and the server's
// certificate, redirects not followed (the tests look at them).
type browser struct {
	t    testing.TB
	base string
	hc   *http.Client
	lang string // Accept-Language; "" for none
}

func (c *console) browser() *browser {
	return newBrowser(c.t, c.srv)
}

func newBrowser(t testing.TB, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	hc := srv.Client()
	hc = &http.Client{Transport: hc.Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, base: srv.URL, hc: hc}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return b.do("POST", path, form, headers...)
}

// login logs in and fails the test unless it worked.
func (b *browser) login(name string) {
	b.t.Helper()
	p := b.post("/console/login", url.Values{"name": {name}, "password": {password}, "next": {"/console/"}})
	if p.status != http.StatusSeeOther || p.location() != "/console/" {
		b.t.Fatalf("login %s: %d %s\n%s", name, p.status, p.location(), p.body)
	}
}

// testid finds the elements with a data-testid; their count is what most
// checks need.
func count(body, testid string) int {
	return strings.Count(body, `data-testid="`+testid+`"`)
}

var tagRE = regexp.MustCompile(`<[^>]+>`)

// text is the page's text without tags, spaces collapsed.
func text(body string) string {
	return strings.Join(strings.Fields(tagRE.ReplaceAllString(body, " ")), " ")
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTLSServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}
