package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/api"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/workflow"
)

// An unauthenticated request is refused with 401, a WWW-Authenticate
// challenge for both schemes and a JSON body; wrong credentials, a revoked
// or unknown token and a disabled user likewise; the admin's password and
// a token are accepted; repeated failures from one address are throttled.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := newSingle(t)
	tok := addUser(t, s.n.Store, "analyst", false, map[string]store.Permission{s.def.ID: {Read: true}})
	off := addUser(t, s.n.Store, "gone", false, map[string]store.Permission{s.def.ID: {Read: true, Write: true}})
	if err := s.n.Store.PutUser(t.Context(), store.User{Name: "gone", Disabled: true,
		Permissions: map[string]store.Permission{s.def.ID: {Read: true, Write: true}}}); err != nil {
		t.Fatal(err)
	}
	anon := client{t: t, base: s.srv.URL}

	a := anon.do("GET", "/entraide/v1/workflows", "")
	if a.status != 401 {
		t.Fatalf("no credentials: %d %s", a.status, a.body)
	}
	if ch := a.header.Values("WWW-Authenticate"); len(ch) != 2 || !strings.HasPrefix(ch[0], "Basic ") || !strings.HasPrefix(ch[1], "Bearer ") {
		t.Fatalf("WWW-Authenticate = %q", ch)
	}
	if a.errorMessage() == "" || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("401 body %s (%s)", a.body, a.header.Get("Content-Type"))
	}
	// A POST without credentials is refused before its body is looked at.
	if a := anon.do("POST", "/entraide/v1/workflows/alert", "not json"); a.status != 401 {
		t.Fatalf("POST without credentials: %d %s", a.status, a.body)
	}

	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"admin password", basic("admin", adminPassword), 200},
		{"admin password again (remembered)", basic("admin", adminPassword), 200},
		{"token", "Bearer " + tok, 200},
		{"token scheme of the OASIS client", "Token " + tok, 200},
		{"wrong password", basic("admin", "not the password at all"), 401},
		{"unknown user", basic("nobody", adminPassword), 401},
		{"unknown token", "Bearer etd_nope", 401},
		{"disabled user's token", "Bearer " + off, 401},
		{"unknown scheme", "Digest x", 401},
		{"empty bearer", "Bearer ", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := client{t: t, base: s.srv.URL, auth: c.auth}.do("GET", "/entraide/v1/workflows", "")
			if a.status != c.want {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if c.want == 401 && len(a.header.Values("WWW-Authenticate")) == 0 {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}

	// Ten failures so far would be too many: 6 above, 4 more, then 429.
	bad := client{t: t, base: s.srv.URL, auth: basic("admin", "wrong wrong wrong")}
	for i := 0; i < 4; i++ {
		bad.do("GET", "/entraide/v1/kinds", "")
	}
	a = client{t: t, base: s.srv.URL, auth: "Bearer " + tok}.do("GET", "/entraide/v1/kinds", "")
	if a.status != 429 || a.header.Get("Retry-After") == "" {
		t.Fatalf("after 10 failures: %d %s (Retry-After %q)", a.status, a.body, a.header.Get("Retry-After"))
	}
	s.clk.Advance(user.FailureWindow)
	if a := (client{t: t, base: s.srv.URL, auth: "Bearer " + tok}).do("GET", "/entraide/v1/kinds", ""); a.status != 200 {
		t.Fatalf("after the window: %d %s", a.status, a.body)
	}
}

func basic(name, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(name, pw)
	return r.Header.Get("Authorization")
}

// Reading needs read (or write) permission on the default collection, where
// the workflow objects live; acting needs write permission or admin.
func TestPermissions(t *testing.T) {
	t.Parallel()
	s := newSingle(t)
	ctx := t.Context()
	other := store.Collection{ID: "5b1f3c1e-7a0e-4d7b-9a53-0b9a3d3c6e01", Title: "FR-EE exchange", Alias: "fr-ee"}
	if err := s.n.Store.CreateCollection(ctx, other); err != nil {
		t.Fatal(err)
	}
	outsider := addUser(t, s.n.Store, "outsider", false, map[string]store.Permission{other.ID: {Read: true, Write: true}})
	reader := addUser(t, s.n.Store, "reader", false, map[string]store.Permission{s.def.ID: {Read: true}})
	writer := addUser(t, s.n.Store, "writer", false, map[string]store.Permission{s.def.ID: {Write: true}})
	admin := addUser(t, s.n.Store, "boss", true, nil)
	// A request that passes the permission check reaches the engine, which
	// refuses it for want of a peer (400); one that does not gets 403.
	open := `{"tlp":"amber","to":["cert-xx"],"title":"t","severity":"3"}`
	for _, c := range []struct {
		who, token   string
		read, create int
	}{
		{"outsider", outsider, 403, 403},
		{"reader", reader, 200, 403},
		{"writer", writer, 200, 400},
		{"admin", admin, 200, 400},
	} {
		t.Run(c.who, func(t *testing.T) {
			cl := bearer(s.srv, t, c.token)
			for _, path := range []string{"/entraide/v1/workflows", "/entraide/v1/workflows/due", "/entraide/v1/kinds", "/entraide/v1/"} {
				if a := cl.do("GET", path, ""); a.status != c.read {
					t.Fatalf("GET %s: %d %s", path, a.status, a.body)
				}
			}
			a := cl.do("POST", "/entraide/v1/workflows/alert", open)
			if a.status != c.create {
				t.Fatalf("POST: %d %s", a.status, a.body)
			}
			if c.create == 403 && !strings.Contains(a.errorMessage(), "--write default") {
				t.Fatalf("403 does not say how to fix it: %s", a.body)
			}
			if c.create == 400 && !strings.Contains(a.errorMessage(), "cert-xx") {
				t.Fatalf("400 is not the engine's: %s", a.body)
			}
		})
	}
	// Permissions are read on every request: revoking takes effect at once.
	if err := s.n.Store.PutUser(ctx, store.User{Name: "writer"}); err != nil {
		t.Fatal(err)
	}
	if a := bearer(s.srv, t, writer).do("POST", "/entraide/v1/workflows/alert", open); a.status != 403 {
		t.Fatalf("after revoking: %d %s", a.status, a.body)
	}
}

// Every kind cooperation runs is listed with its actions and extension ids,
// and reachable for opening through the generic endpoint: the kind's own
// checks answer (400), not a 404.
func TestKindsGeneric(t *testing.T) {
	t.Parallel()
	s := newSingle(t)
	cl := bearer(s.srv, t, addUser(t, s.n.Store, "boss", true, nil))
	a := cl.do("GET", "/entraide/v1/kinds", "")
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var kinds []api.KindInfo
	a.decode(t, &kinds)
	want := cooperation.Kinds()
	if len(kinds) != len(want) {
		t.Fatalf("%d kinds listed, cooperation runs %d", len(kinds), len(want))
	}
	for _, k := range want {
		i := slices.IndexFunc(kinds, func(ki api.KindInfo) bool { return ki.Name == k.Name })
		if i < 0 {
			t.Fatalf("kind %s not listed", k.Name)
		}
		ki := kinds[i]
		if ki.CaseType != k.CaseType || ki.Extension.ID != k.Extension.ID || !slices.Equal(ki.Actions, k.Actions) ||
			ki.StepExtension.ID != workflow.StepExtension.ID || ki.Open != "/entraide/v1/workflows/"+k.Name {
			t.Fatalf("kind %s listed as %+v", k.Name, ki)
		}
		a := cl.do("POST", "/entraide/v1/workflows/"+k.Name, `{"tlp":"amber","to":["cert-nowhere"]}`)
		if a.status != 400 || a.errorMessage() == "" {
			t.Fatalf("opening a %s with too little: %d %s", k.Name, a.status, a.body)
		}
	}
}

// Every refusal has its status and a JSON body saying what is wrong.
func TestRequestErrors(t *testing.T) {
	t.Parallel()
	s := newSingle(t)
	cl := bearer(s.srv, t, addUser(t, s.n.Store, "boss", true, nil))
	missing := "/entraide/v1/workflows/x-entraide-alert--6f1a1a3e-0c56-4f0e-a3a5-5e8e7a4b9c01"
	big := `{"title":"` + strings.Repeat("x", api.DefaultMaxBody) + `"}`
	for _, c := range []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		want                     string // in the error message
	}{
		{"accept html", "GET", "/entraide/v1/workflows", "", []string{"Accept", "text/html"}, 406, "Accept"},
		{"accept json q=0", "GET", "/entraide/v1/workflows", "", []string{"Accept", "application/json;q=0, text/html"}, 406, "Accept"},
		{"content type text", "POST", "/entraide/v1/workflows/alert", `{}`, []string{"Content-Type", "text/plain"}, 415, "Content-Type"},
		{"content type form", "POST", "/entraide/v1/workflows/alert", `a=b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"no content type", "POST", "/entraide/v1/workflows/alert", `{}`, []string{"Content-Type", ""}, 415, "no Content-Type"},
		{"charset latin1", "POST", "/entraide/v1/workflows/alert", `{}`, []string{"Content-Type", "application/json; charset=latin1"}, 415, "UTF-8"},
		{"too large", "POST", "/entraide/v1/workflows/alert", big, nil, 413, "larger than"},
		{"malformed", "POST", "/entraide/v1/workflows/alert", "{\n  \"tlp\": amber}", nil, 400, "line 2, column 10"},
		{"truncated", "POST", "/entraide/v1/workflows/alert", `{"tlp":"amber"`, nil, 400, "ends at line 1, column 15"},
		{"array", "POST", "/entraide/v1/workflows/alert", `[{"tlp":"amber"}]`, nil, 400, "JSON object"},
		{"empty", "POST", "/entraide/v1/workflows/alert", ` `, nil, 400, "empty"},
		{"trailing", "POST", "/entraide/v1/workflows/alert", `{} {}`, nil, 400, "after the object, at line 1, column 4"},
		{"duplicate", "POST", "/entraide/v1/workflows/alert", `{"tlp":"clear","tlp":"amber"}`, nil, 400, `"tlp" appears twice, the second time at line 1, column 16 (byte 15)`},
		{"nested duplicate", "POST", "/entraide/v1/workflows/alert", "{\"a\": [{\"b\": 1,\n \"b\": 2}]}", nil, 400, `"a[0].b" appears twice, the second time at line 2, column 2 (byte 17)`},
		{"not utf-8", "POST", "/entraide/v1/workflows/alert", "{\"title\":\"caf\xe9\"}", nil, 400, "UTF-8 at line 1, column 14"},
		{"too deep", "POST", "/entraide/v1/workflows/alert", `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, nil, 400, "nested"},
		{"engine: tlp missing", "POST", "/entraide/v1/workflows/alert", `{"to":["cert-de"]}`, nil, 400, "tlp is required"},
		{"engine: red", "POST", "/entraide/v1/workflows/alert", `{"tlp":"red"}`, nil, 400, "TLP:RED"},
		{"kind: unknown field", "POST", "/entraide/v1/workflows/alert", `{"tlp":"amber","title":"t","severity":"3","colour":"blue"}`, nil, 400, "colour"},
		{"kind: bad severity", "POST", "/entraide/v1/workflows/alert", `{"tlp":"amber","title":"t","severity":"9"}`, nil, 400, "severity"},
		{"unknown kind", "POST", "/entraide/v1/workflows/nokind", `{}`, nil, 404, "alert"},
		{"unknown case", "GET", missing, "", nil, 404, "no case"},
		{"not an id", "GET", "/entraide/v1/workflows/hello", "", nil, 404, "neither a workflow kind"},
		{"act on unknown case", "POST", missing + "/ack", `{}`, nil, 404, "no case"},
		{"act on a non-id", "POST", "/entraide/v1/workflows/hello/ack", `{}`, nil, 404, "no case"},
		{"unknown path", "GET", "/entraide/v1/cases", "", nil, 404, "GET /entraide/v1/workflows"},
		{"too many segments", "GET", "/entraide/v1/workflows/a/b/c", "", nil, 404, "no endpoint"},
		{"list: unknown kind", "GET", "/entraide/v1/workflows?kind=nokind", "", nil, 400, "alert"},
		{"list: bad limit", "GET", "/entraide/v1/workflows?limit=0", "", nil, 400, "limit"},
		{"list: limit too big", "GET", "/entraide/v1/workflows?limit=1001", "", nil, 400, "1 to 1000"},
		{"list: bad open", "GET", "/entraide/v1/workflows?open=maybe", "", nil, 400, "true or false"},
		{"list: unknown parameter", "GET", "/entraide/v1/workflows?state=open", "", nil, 400, `"state"`},
		{"list: repeated parameter", "GET", "/entraide/v1/workflows?kind=alert&kind=alert", "", nil, 400, "once"},
		{"due: unknown parameter", "GET", "/entraide/v1/workflows/due?kind=alert", "", nil, 400, "limit"},
		{"GET a kind", "GET", "/entraide/v1/workflows/alert", "", nil, 405, "POST"},
		{"POST to a case", "POST", missing, `{}`, nil, 405, "GET"},
		{"DELETE", "DELETE", "/entraide/v1/workflows", "", nil, 405, "GET, HEAD"},
		{"GET an action", "GET", missing + "/ack", "", nil, 405, "POST"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := cl
			cl.t = t
			a := cl.do(c.method, c.path, c.body, c.headers...)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			msg := a.errorMessage()
			if msg == "" || !strings.Contains(msg, c.want) {
				t.Fatalf("error %q does not say %q (body %s)", msg, c.want, a.body)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if c.status == 405 && a.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

// With nothing opened yet, lists are empty arrays, not null; a trailing
// slash and HEAD are served; the index names the endpoints.
func TestEmptyLists(t *testing.T) {
	t.Parallel()
	s := newSingle(t)
	cl := bearer(s.srv, t, addUser(t, s.n.Store, "boss", true, nil))
	if a := cl.do("GET", "/entraide/v1/workflows/?kind=alert&open=true&limit=5", ""); a.status != 200 || strings.TrimSpace(string(a.body)) != "[]" {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	if a := cl.do("GET", "/entraide/v1/workflows/due", ""); a.status != 200 || strings.TrimSpace(string(a.body)) != `{"due":[],"count":0,"overdue":0}` {
		t.Fatalf("due: %d %s", a.status, a.body)
	}
	if a := cl.do("HEAD", "/entraide/v1/kinds", ""); a.status != 200 || len(a.body) != 0 {
		t.Fatalf("HEAD: %d %q", a.status, a.body)
	}
	var idx api.Index
	a := cl.do("GET", "/entraide/v1/", "")
	a.decode(t, &idx)
	if len(idx.Endpoints) != 6 || !slices.Contains(idx.Kinds, "alert") {
		t.Fatalf("index %s", a.body)
	}
}
