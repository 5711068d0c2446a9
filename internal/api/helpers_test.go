package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/api"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/workflow"
)

const adminPassword = "a test password that is long"

// single is one real node (init, open, cooperation.Open) with the API
// served over httptest.
type single struct {
	n    *node.Node
	wf   *workflow.Engine
	clk  *clock.Fake
	srv  *httptest.Server
	def  store.Collection // the default collection
	logs *strings.Builder
}

func newSingle(t *testing.T) *single {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	dir := filepath.Join(t.TempDir(), "fr")
	res, err := node.Init(ctx, node.InitOptions{Dir: dir, Name: "cert-fr", Org: "CERT-FR", Country: "FR", AdminPassword: adminPassword, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir, func(string) string { return "" }, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	_, wf, err := cooperation.Open(ctx, n, federation.Config{CosignInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := &single{n: n, wf: wf, clk: clk, def: res.DefaultCollection}
	s.srv = serveAPI(t, wf, n.Store, clk)
	return s
}

func serveAPI(t *testing.T, wf api.Engine, st store.Store, clk clock.Clock) *httptest.Server {
	t.Helper()
	a, err := api.New(context.Background(), api.Options{Engine: wf, Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// addUser adds a user without a password and returns a bearer token of it.
func addUser(t *testing.T, st store.Store, name string, admin bool, perms map[string]store.Permission) string {
	t.Helper()
	ctx := context.Background()
	if err := st.PutUser(ctx, store.User{Name: name, Admin: admin, Permissions: perms}); err != nil {
		t.Fatal(err)
	}
	secret, hash, err := user.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(ctx, store.Token{ID: "t-" + name, User: name, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// defaultCollection is a node's default collection.
func defaultCollection(t *testing.T, st store.Store) store.Collection {
	t.Helper()
	cs, err := st.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Alias == node.DefaultCollectionAlias {
			return c
		}
	}
	t.Fatal("no default collection")
	return store.Collection{}
}

// client calls the API as one user.
type client struct {
	t    *testing.T
	base string
	auth string // the Authorization header; "" for none
}

func bearer(srv *httptest.Server, t *testing.T, token string) client {
	return client{t: t, base: srv.URL, auth: "Bearer " + token}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// errorMessage is the "error" of a JSON error body ("" when the body is not one).
func (a answer) errorMessage() string {
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if json.Unmarshal(a.body, &e) != nil || e.Status != a.status {
		return ""
	}
	return e.Error
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
}

// do sends a request: with a body, Content-Type application/json unless
// headers (name, value pairs) say otherwise; Accept application/json
// unless they say otherwise.
func (c client) do(method, path, body string, headers ...string) answer {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
