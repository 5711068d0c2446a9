package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/api"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// fakeEngine records what the API hands the engine and runs the alert
// kind's own decoding of it (a pure function) in place of signing and
// sharing, so that a fuzzer can push many bodies through the whole decoding
// path: HTTP body → API checks → engine input → the kind's strict decoding.
type fakeEngine struct {
	mu    sync.Mutex
	calls int
	last  json.RawMessage
}

const fakeCase = "x-entraide-alert--6f1a1a3e-0c56-4f0e-a3a5-5e8e7a4b9c01"

func (f *fakeEngine) Kinds() []string { return []string{"alert"} }
func (f *fakeEngine) Kind(name string) (*workflow.Kind, bool) {
	if name == "alert" {
		return alert.Kind, true
	}
	return nil, false
}
func (f *fakeEngine) List(context.Context, string, bool, int) ([]workflow.Summary, error) {
	return nil, nil
}
func (f *fakeEngine) Due(context.Context, int) ([]workflow.Summary, error) { return nil, nil }
func (f *fakeEngine) DueCounts(context.Context) (int, int, error)          { return 0, 0, nil }
func (f *fakeEngine) Get(_ context.Context, id string) (*workflow.View, error) {
	if id != fakeCase {
		return nil, store.ErrNotFound
	}
	return &workflow.View{ID: id, Kind: "alert"}, nil
}

func (f *fakeEngine) record(in json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.last = append(json.RawMessage(nil), in...)
}

func (f *fakeEngine) Open(_ context.Context, kind, actor string, in json.RawMessage) (*workflow.Result, error) {
	f.record(in)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(in, &m); err != nil {
		return nil, errors.New("the API handed the engine a body that is not a JSON object: " + err.Error())
	}
	delete(m, "to")
	delete(m, "communities")
	delete(m, "tlp")
	rest, _ := json.Marshal(m)
	env := &workflow.Env{Self: "identity--self", Now: time.Now(), Actor: actor, Known: func(string) bool { return true }}
	if _, err := alert.Kind.Open(env, rest); err != nil {
		return nil, err
	}
	return &workflow.Result{ID: fakeCase, Object: fakeCase}, nil
}

func (f *fakeEngine) Act(_ context.Context, id, action, actor string, in json.RawMessage) (*workflow.Result, error) {
	f.record(in)
	var i alert.AckInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return nil, err
	}
	return &workflow.Result{ID: id, Object: "x-entraide-step--0b7e3a4e-5c4f-4c6a-9d62-3f3d0d9b1f20"}, nil
}

// FuzzRequestBody sends arbitrary bodies to the two POST endpoints. The
// API must answer 201, 400 or 413 with a JSON body, never fail; it hands
// the engine exactly the bytes sent, and only a UTF-8 JSON object with no
// name twice; a well-formed object is refused only for a repeated name or
// deep nesting, or by the kind's own checks.
func FuzzRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"tlp":"amber","to":["cert-de"],"title":"t","severity":"3"}`, `{"answer":"affected"}`,
		`{"tlp":"clear","tlp":"amber"}`, `{"a":{"b":[{"c":1},{"c":2}]}}`, `{"a":{"b":1,"b":2}}`, `[1]`, `"x"`, `null`,
		`{} {}`, `{"title":"caf` + "\xe9" + `"}`, `{"n":1e999}`, " \n{\"x\":\"\\u00e9\"}\n", `{"a":[[[[[[[[[[]]]]]]]]]]}`, ``, `{`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	dir := filepath.Join(f.TempDir(), "n")
	if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Name: "cert-fr", Org: "CERT-FR", Country: "FR", AdminPassword: adminPassword, Clock: clk}); err != nil {
		f.Fatal(err)
	}
	n, err := node.Open(ctx, dir, func(string) string { return "" }, nil, clk)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	eng := &fakeEngine{}
	a, err := api.New(ctx, api.Options{Engine: eng, Store: n.Store, Clock: clk, MaxBody: 4096})
	if err != nil {
		f.Fatal(err)
	}
	h := a.Handler()
	var token string
	f.Fuzz(func(t *testing.T, body []byte, act bool) {
		if token == "" {
			token = addUser(t, n.Store, "fuzzer", true, nil)
		}
		path := "/entraide/v1/workflows/alert"
		if act {
			path = "/entraide/v1/workflows/" + fakeCase + "/ack"
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		eng.mu.Lock()
		before := eng.calls
		eng.mu.Unlock()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		eng.mu.Lock()
		called, got := eng.calls > before, eng.last
		eng.mu.Unlock()

		var e struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		switch w.Code {
		case http.StatusCreated:
			if !called || !bytes.Equal(got, body) {
				t.Fatalf("201, but the engine got %q for %q", got, body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Status != w.Code || e.Error == "" {
				t.Fatalf("%d with body %q", w.Code, w.Body.Bytes())
			}
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body.Bytes())
		}
		if called && !bytes.Equal(got, body) {
			t.Fatalf("the engine got %q for %q", got, body)
		}
		wellFormed := json.Valid(body) && utf8.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
		if called && !wellFormed {
			t.Fatalf("the engine was handed %q", body)
		}
		if wellFormed && !called && len(body) <= 4096 &&
			!strings.Contains(e.Error, "appears twice") && !strings.Contains(e.Error, "nested more than") {
			t.Fatalf("a JSON object was refused before the engine: %s (%q)", e.Error, body)
		}
	})
}
