package taxii

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is when every test node starts.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Collections of the test node. alice may read and write rw, read ro, write
// wo, and nothing on hidden; admin may do everything; bob nothing.
const (
	collRW     = "1f4d2a36-4a57-4a8a-9d2e-6b1b7a0f0001"
	collRO     = "1f4d2a36-4a57-4a8a-9d2e-6b1b7a0f0002"
	collWO     = "1f4d2a36-4a57-4a8a-9d2e-6b1b7a0f0003"
	collHidden = "1f4d2a36-4a57-4a8a-9d2e-6b1b7a0f0004"
	collGone   = "1f4d2a36-4a57-4a8a-9d2e-6b1b7a0f0009" // never created

	alicePassword = "correct horse battery staple"
	bobPassword   = "bob's long enough password"
	adminPassword = "administrator's passphrase"
)

// node is one TAXII server on a real store, with its users' credentials.
type node struct {
	t          testing.TB
	clk        *clock.Fake
	st         store.Store
	srv        *Server
	ts         *httptest.Server // HTTPS, TLS 1.2 at least
	aliceToken string
	bobToken   string
	adminToken string
	carolToken string // a disabled user's
}

// testIDs makes status and error ids deterministic: 00000000-0000-4000-8000-000000000001, …
func testIDs() func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n.Add(1)) }
}

// storeURL is the store the tests run on: SQLite in a temporary directory,
// or the URL given by a test that runs on PostgreSQL.
func openStore(t testing.TB, url string, clk clock.Clock) store.Store {
	t.Helper()
	if url == "" {
		url = filepath.Join(t.TempDir(), "entraide.db")
	}
	st, err := store.Open(context.Background(), url, clk)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// hashes are computed once: argon2id at 64 MiB is slow under -race.
var (
	hashesMu sync.Mutex
	hashes   = map[string]string{}
)

func hash(t testing.TB, pw string) string {
	hashesMu.Lock()
	defer hashesMu.Unlock()
	if h, ok := hashes[pw]; ok {
		return h
	}
	h, err := user.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	hashes[pw] = h
	return h
}

func newNode(t testing.TB, storeURL string, cfg Config) *node {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	st := openStore(t, storeURL, clk)
	for i, c := range []store.Collection{
		{ID: collRW, Title: "Shared indicators", Description: "Read and write", Alias: "shared"},
		{ID: collRO, Title: "Published reports"},
		{ID: collWO, Title: "Inbox", Description: "Drop box"},
		{ID: collHidden, Title: "Restricted"},
	} {
		c.Created = t0.Add(time.Duration(i) * time.Second)
		if err := st.CreateCollection(ctx, c); err != nil {
			t.Fatalf("CreateCollection: %v", err)
		}
	}
	users := []store.User{
		{Name: "alice", PasswordHash: hash(t, alicePassword), Permissions: map[string]store.Permission{
			collRW: {Read: true, Write: true}, collRO: {Read: true}, collWO: {Write: true}}},
		{Name: "bob", PasswordHash: hash(t, bobPassword)},
		{Name: "admin", PasswordHash: hash(t, adminPassword), Admin: true},
		{Name: "carol", Disabled: true, Permissions: map[string]store.Permission{collRW: {Read: true, Write: true}}},
	}
	n := &node{t: t, clk: clk, st: st}
	for _, u := range users {
		u.Created = t0
		if err := st.PutUser(ctx, u); err != nil {
			t.Fatalf("PutUser: %v", err)
		}
		secret, h, err := user.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddToken(ctx, store.Token{ID: "tok-" + u.Name, User: u.Name, Hash: h, Created: t0}); err != nil {
			t.Fatalf("AddToken: %v", err)
		}
		switch u.Name {
		case "alice":
			n.aliceToken = secret
		case "bob":
			n.bobToken = secret
		case "admin":
			n.adminToken = secret
		case "carol":
			n.carolToken = secret
		}
	}
	if cfg.Title == "" {
		cfg.Title = "Entraide test node"
		cfg.Description = "A node under test"
		cfg.Contact = "csirt@node.example"
	}
	n.srv = NewServer(st, clk, cfg, testLogger(t))
	n.srv.newID = testIDs()
	n.ts = httptest.NewUnstartedServer(n.srv.Handler())
	n.ts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	n.ts.StartTLS()
	t.Cleanup(n.ts.Close)
	return n
}

// testLogger sends the server's logs to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// client returns a TAXII client for the node with a user's bearer token.
func (n *node) client(token string) *Client {
	return &Client{BaseURL: n.ts.URL + "/api/", HTTP: n.ts.Client(), Token: token}
}

// request is one raw HTTP exchange with the node.
type request struct {
	method, path string
	body         []byte
	header       map[string]string // "" value deletes the header
}

// do sends a request with alice's token and TAXII headers unless overridden.
func (n *node) do(r request) (*http.Response, []byte) {
	n.t.Helper()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, n.ts.URL+r.path, body)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Accept", MediaType)
	req.Header.Set("Authorization", "Bearer "+n.aliceToken)
	if r.body != nil {
		req.Header.Set("Content-Type", MediaType)
	}
	for k, v := range r.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := n.ts.Client().Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	return resp, b
}

// indicator returns a valid STIX 2.1 indicator; i makes its id, and
// modified (a time offset from t0) its version.
func indicator(i int, modified time.Duration, name string) json.RawMessage {
	ts := func(d time.Duration) string { return t0.Add(-24 * time.Hour).Add(d).Format("2006-01-02T15:04:05.000Z") }
	return json.RawMessage(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"%s","created":"%s","modified":"%s",`+
		`"name":%q,"indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"%s"}`,
		indicatorID(i), ts(0), ts(modified), name, i%256, ts(0)))
}

func indicatorID(i int) string { return fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", i) }

// envelope wraps objects in a TAXII envelope.
func envelope(objs ...json.RawMessage) []byte {
	b, err := json.Marshal(Envelope{Objects: objs})
	if err != nil {
		panic(err)
	}
	return b
}

// golden compares got (JSON, indented before comparing) with
// testdata/name.json, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: response is not JSON: %v\n%s", name, err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, path, buf.Bytes(), want)
	}
}
