package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/user"
)

// TestPaging adds 5,000 objects at one instant and pages through them with
// next: every object comes exactly once, whatever the page size.
func TestPaging(t *testing.T) {
	total := 5000
	if testing.Short() {
		total = 700
	}
	testPaging(t, newNode(t, "", Config{}), total)
}

func testPaging(t *testing.T, n *node, total int) {
	ctx := context.Background()
	c := n.client(n.aliceToken)
	for start := 0; start < total; start += 1000 {
		var batch []json.RawMessage
		for i := start; i < min(start+1000, total); i++ {
			batch = append(batch, indicator(i, 0, "bulk"))
		}
		st, err := c.AddObjects(ctx, collRW, batch)
		if err != nil {
			t.Fatal(err)
		}
		if st.SuccessCount != len(batch) || st.FailureCount != 0 {
			t.Fatalf("batch at %d: %d successes, %d failures: %+v", start, st.SuccessCount, st.FailureCount, st.Failures)
		}
	}
	for _, limit := range []int{7, 1000} {
		t.Run(fmt.Sprint("objects limit=", limit), func(t *testing.T) {
			c := n.client(n.aliceToken)
			seen := map[string]int{}
			pages := 0
			q := Query{Limit: limit}
			for {
				p, err := c.ObjectsPage(ctx, collRW, q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(p.Objects) > limit {
					t.Fatalf("page of %d objects with limit %d", len(p.Objects), limit)
				}
				if p.More != (p.Next != "") {
					t.Fatalf("more=%v next=%q", p.More, p.Next)
				}
				for _, o := range p.Objects {
					var h struct{ ID string }
					if err := json.Unmarshal(o, &h); err != nil {
						t.Fatal(err)
					}
					seen[h.ID]++
				}
				if len(p.Objects) > 0 && (p.DateAddedFirst.IsZero() || p.DateAddedLast.IsZero()) {
					t.Fatal("page without X-TAXII-Date-Added headers")
				}
				if !p.More {
					break
				}
				q.Next = p.Next
			}
			if len(seen) != total {
				t.Fatalf("saw %d distinct objects, want %d", len(seen), total)
			}
			for id, k := range seen {
				if k != 1 {
					t.Fatalf("%s seen %d times", id, k)
				}
			}
			if want := (total + limit - 1) / limit; pages != want && pages != want+1 {
				t.Errorf("%d pages, want %d", pages, want)
			}
		})
	}
	// The manifest pages the same way (with 500: 7 is slow under -race on SQLite).
	for _, limit := range []int{500, 1000} {
		t.Run(fmt.Sprint("manifest limit=", limit), func(t *testing.T) {
			seen := map[string]bool{}
			for rec, err := range c.Manifest(ctx, collRW, Query{Limit: limit}) {
				if err != nil {
					t.Fatal(err)
				}
				if seen[rec.ID] {
					t.Fatalf("%s seen twice", rec.ID)
				}
				seen[rec.ID] = true
				if rec.MediaType != STIXMediaType || rec.DateAdded != "2026-03-01T09:00:00.000000Z" {
					t.Fatalf("record %+v", rec)
				}
			}
			if len(seen) != total {
				t.Fatalf("saw %d, want %d", len(seen), total)
			}
		})
	}
	t.Run("iterator", func(t *testing.T) {
		k := 0
		for _, err := range c.Objects(ctx, collRW, Query{Limit: 999}) {
			if err != nil {
				t.Fatal(err)
			}
			k++
		}
		if k != total {
			t.Fatalf("iterated %d objects, want %d", k, total)
		}
	})
}

// TestAddObjectsMixed posts valid, invalid, duplicate and conflicting
// objects in one envelope: each gets its own line in the status, the good
// ones are stored, and the status can be read again by its owner only.
func TestAddObjectsMixed(t *testing.T) { testAddObjectsMixed(t, "") }

func testAddObjectsMixed(t *testing.T, storeURL string) {
	n := newNode(t, storeURL, Config{})
	ctx := context.Background()
	c := n.client(n.aliceToken)
	if _, err := c.AddObjects(ctx, collRW, []json.RawMessage{indicator(1, 0, "original")}); err != nil {
		t.Fatal(err)
	}
	n.clk.Advance(time.Second)
	objs := []json.RawMessage{
		indicator(2, 0, "new"),                  // added
		json.RawMessage(`{"type":"indicator"}`), // no id
		indicator(1, 0, "original"),             // duplicate
		indicator(1, 0, "rewritten"),            // same version, other content: conflict
		json.RawMessage(`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000077","created":"yesterday","modified":"yesterday"}`),
		json.RawMessage(`42`),                  // not an object
		indicator(3, time.Hour, "new as well"), // added
	}
	st, err := c.AddObjects(ctx, collRW, objs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "complete" || st.TotalCount != 7 || st.SuccessCount != 3 || st.FailureCount != 4 || st.PendingCount != 0 {
		t.Fatalf("status %+v", st)
	}
	wantOK := []string{indicatorID(2), indicatorID(1), indicatorID(3)}
	for i, d := range st.Successes {
		if d.ID != wantOK[i] || d.Version == "" {
			t.Errorf("success %d = %+v, want id %s", i, d, wantOK[i])
		}
	}
	if !strings.Contains(st.Successes[1].Message, "already present") {
		t.Errorf("duplicate's message %q", st.Successes[1].Message)
	}
	wantFail := []string{"", indicatorID(1), "indicator--00000000-0000-4000-8000-000000000077", ""}
	for i, d := range st.Failures {
		if d.ID != wantFail[i] || d.Message == "" {
			t.Errorf("failure %d = %+v, want id %q and a message", i, d, wantFail[i])
		}
	}
	if st.Failures[1].Version != "2026-02-28T09:00:00.000Z" {
		t.Errorf("conflict's version %q", st.Failures[1].Version)
	}
	if st.RequestTimestamp != "2026-03-01T09:00:01.000000Z" {
		t.Errorf("request_timestamp %q", st.RequestTimestamp)
	}
	again, err := c.Status(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again) != fmt.Sprint(st) {
		t.Errorf("status read back\n%+v\nwant\n%+v", again, st)
	}
	if _, err := n.client(n.adminToken).Status(ctx, st.ID); err != nil {
		t.Errorf("admin reading the status: %v", err)
	}
	_, err = n.client(n.bobToken).Status(ctx, st.ID)
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Kind != KindNotFound {
		t.Errorf("bob reading alice's status: %v, want 404", err)
	}
	// What was stored: indicators 1 (original), 2 and 3.
	var names []string
	for o, err := range c.Objects(ctx, collRW, Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Name string }
		json.Unmarshal(o, &h)
		names = append(names, h.Name)
	}
	if want := []string{"original", "new", "new as well"}; !slices.Equal(names, want) {
		t.Errorf("stored %q, want %q", names, want)
	}
}

// TestMatchVersion checks last (the default), first, all, a timestamp, and
// combinations, on the objects, object, manifest and versions endpoints.
func TestMatchVersion(t *testing.T) { testMatchVersion(t, "") }

func testMatchVersion(t *testing.T, storeURL string) {
	n := newNode(t, storeURL, Config{})
	ctx := context.Background()
	c := n.client(n.aliceToken)
	// Object 1 in three versions added one minute apart, object 2 in one.
	for i, d := range []time.Duration{0, time.Hour, 2 * time.Hour} {
		objs := []json.RawMessage{indicator(1, d, fmt.Sprint("v", i))}
		if i == 1 {
			objs = append(objs, indicator(2, 30*time.Minute, "other"))
		}
		if _, err := c.AddObjects(ctx, collRW, objs); err != nil {
			t.Fatal(err)
		}
		n.clk.Advance(time.Minute)
	}
	v := func(d time.Duration) string { return t0.Add(-24 * time.Hour).Add(d).Format("2006-01-02T15:04:05.000Z") }
	names := func(objs []json.RawMessage) []string {
		var out []string
		for _, o := range objs {
			var h struct{ Name string }
			json.Unmarshal(o, &h)
			out = append(out, h.Name)
		}
		return out
	}
	for _, tc := range []struct {
		versions []string
		want     []string // names, in date_added order
	}{
		{nil, []string{"other", "v2"}},
		{[]string{"last"}, []string{"other", "v2"}},
		{[]string{"first"}, []string{"v0", "other"}},
		{[]string{"first", "last"}, []string{"v0", "other", "v2"}},
		{[]string{"all"}, []string{"v0", "v1", "other", "v2"}},
		{[]string{v(time.Hour)}, []string{"v1"}},
		{[]string{"2026-02-28T10:00:00Z"}, []string{"v1"}}, // the same instant, spelt otherwise
		{[]string{v(0), v(2 * time.Hour)}, []string{"v0", "v2"}},
		{[]string{"first", v(time.Hour)}, []string{"v0", "v1", "other"}},
		{[]string{v(5 * time.Hour)}, nil},
	} {
		t.Run(strings.Join(tc.versions, ","), func(t *testing.T) {
			var got []json.RawMessage
			for o, err := range c.Objects(ctx, collRW, Query{Versions: tc.versions}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, o)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("objects: %q, want %q", names(got), tc.want)
			}
			var recs int
			for _, err := range c.Manifest(ctx, collRW, Query{Versions: tc.versions}) {
				if err != nil {
					t.Fatal(err)
				}
				recs++
			}
			if recs != len(tc.want) {
				t.Errorf("manifest: %d records, want %d", recs, len(tc.want))
			}
			one, err := c.Object(ctx, collRW, indicatorID(1), Query{Versions: tc.versions})
			var want []string
			for _, w := range tc.want {
				if w != "other" {
					want = append(want, w)
				}
			}
			if len(want) == 0 {
				var e *Error
				if !errors.As(err, &e) || e.Status != 404 {
					t.Errorf("object: %v, want 404", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(one), want) {
				t.Errorf("object: %q, want %q", names(one), want)
			}
		})
	}
	vs, err := c.Versions(ctx, collRW, indicatorID(1), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{v(0), v(time.Hour), v(2 * time.Hour)}; !slices.Equal(vs, want) {
		t.Errorf("versions %q, want %q", vs, want)
	}
	// added_after: only what was added after the first minute.
	var got []json.RawMessage
	for o, err := range c.Objects(ctx, collRW, Query{Versions: []string{"all"}, AddedAfter: t0}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o)
	}
	if want := []string{"v1", "other", "v2"}; !slices.Equal(names(got), want) {
		t.Errorf("added_after: %q, want %q", names(got), want)
	}
	// Delete one version, then the rest.
	if err := c.DeleteObject(ctx, collRW, indicatorID(1), Query{Versions: []string{v(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if vs, _ := c.Versions(ctx, collRW, indicatorID(1), Query{}); len(vs) != 2 {
		t.Errorf("after deleting one version: %q", vs)
	}
	if err := c.DeleteObject(ctx, collRW, indicatorID(1), Query{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Object(ctx, collRW, indicatorID(1), Query{Versions: []string{"all"}})
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("object after delete: %v, want 404", err)
	}
	err = c.DeleteObject(ctx, collRW, indicatorID(1), Query{})
	if !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("deleting again: %v, want 404", err)
	}
}

// TestBasicAuth checks HTTP Basic: the verification cache (argon2id runs
// once for many requests, and again after a password change), wrong
// passwords, unknown users, and throttling by address.
func TestBasicAuth(t *testing.T) {
	n := newNode(t, "", Config{})
	ctx := context.Background()
	a := n.srv.auth
	c := &Client{BaseURL: n.ts.URL + "/api/", HTTP: n.ts.Client(), User: "alice", Password: alicePassword}
	for range 20 {
		if _, err := c.Collections(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if v := a.Stats().Verifications; v != 1 {
		t.Errorf("%d argon2id verifications for 20 requests, want 1", v)
	}
	n.clk.Advance(user.VerifiedTTL)
	if _, err := c.Collections(ctx); err != nil {
		t.Fatal(err)
	}
	if v := a.Stats().Verifications; v != 2 {
		t.Errorf("after the cache entry expired: %d verifications, want 2", v)
	}
	// A new password: the old one stops working at once.
	u, err := n.st.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = hash(t, "a brand new passphrase")
	if err := n.st.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	_, err = c.Collections(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Kind != KindUnauthorized {
		t.Fatalf("old password after the change: %v, want 401", err)
	}
	c.Password = "a brand new passphrase"
	if _, err := c.Collections(ctx); err != nil {
		t.Fatalf("new password: %v", err)
	}
	// Disabled: refused even with the right password, even if cached.
	u.PasswordHash = hash(t, "a brand new passphrase")
	u.Disabled = true
	if err := n.st.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collections(ctx); !errors.As(err, &e) || e.Status != 401 {
		t.Fatalf("disabled user: %v, want 401", err)
	}
	// Unknown users and wrong passwords, until the address is throttled.
	n.clk.Advance(time.Hour) // a fresh failure window
	bad := &Client{BaseURL: c.BaseURL, HTTP: c.HTTP, User: "mallory", Password: "guess"}
	for i := 0; i < user.MaxAddrFailures-1; i++ {
		if _, err := bad.APIRoot(ctx); !errors.As(err, &e) || e.Status != 401 {
			t.Fatalf("attempt %d: %v, want 401", i, err)
		}
	}
	bad.User = "bob"
	if _, err := bad.APIRoot(ctx); !errors.As(err, &e) || e.Status != 401 {
		t.Fatalf("wrong password: %v", err)
	}
	before := a.Stats().Verifications
	good := &Client{BaseURL: c.BaseURL, HTTP: c.HTTP, User: "bob", Password: bobPassword}
	if _, err := good.APIRoot(ctx); !errors.As(err, &e) || e.Status != http.StatusTooManyRequests || e.Kind != KindTooManyRequests {
		t.Fatalf("after %d failures: %v, want 429", user.MaxAddrFailures, err)
	}
	if a.Stats().Verifications != before {
		t.Error("a throttled request ran argon2id")
	}
	n.clk.Advance(user.FailureWindow)
	if _, err := good.APIRoot(ctx); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// The Token scheme (OASIS's Python client) works like Bearer.
	resp, _ := n.do(request{method: "GET", path: "/api/", header: map[string]string{"Authorization": "Token " + n.adminToken}})
	if resp.StatusCode != 200 {
		t.Errorf("Token scheme: %d", resp.StatusCode)
	}
}

// TestCollections checks what each user sees of the collections.
func TestCollections(t *testing.T) {
	n := newNode(t, "", Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		token string
		want  string
	}{
		{n.aliceToken, collRW + " rw," + collRO + " r-," + collWO + " -w"},
		{n.adminToken, collRW + " rw," + collRO + " rw," + collWO + " rw," + collHidden + " rw"},
		{n.bobToken, ""},
	} {
		cs, err := n.client(tc.token).Collections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			rw := map[bool]string{true: "r", false: "-"}[c.CanRead] + map[bool]string{true: "w", false: "-"}[c.CanWrite]
			got = append(got, c.ID+" "+rw)
			if !slices.Equal(c.MediaTypes, []string{STIXMediaType}) {
				t.Errorf("media types %q", c.MediaTypes)
			}
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("collections %q, want %q", strings.Join(got, ","), tc.want)
		}
	}
	col, err := n.client(n.aliceToken).Collection(ctx, "shared")
	if err != nil || col.ID != collRW || !col.CanRead || !col.CanWrite {
		t.Errorf("by alias: %+v, %v", col, err)
	}
	d, err := n.client(n.aliceToken).Discovery(ctx)
	if err != nil || d.Default != n.ts.URL+"/api/" || !slices.Equal(d.APIRoots, []string{d.Default}) {
		t.Errorf("discovery %+v, %v", d, err)
	}
	r, err := n.client(n.aliceToken).APIRoot(ctx)
	if err != nil || r.MaxContentLength != DefaultMaxContentLength || !slices.Equal(r.Versions, []string{MediaType}) {
		t.Errorf("api root %+v, %v", r, err)
	}
}

// TestChunkedOversized sends a body without Content-Length that grows past
// max_content_length: http.MaxBytesReader stops it.
func TestChunkedOversized(t *testing.T) {
	n := newNode(t, "", Config{MaxContentLength: 1024})
	body := envelope(json.RawMessage(`{"x":"` + strings.Repeat("y", 2048) + `"}`))
	req, _ := http.NewRequest("POST", n.ts.URL+"/api/collections/"+collRW+"/objects/", struct{ *strings.Reader }{strings.NewReader(string(body))})
	req.ContentLength = -1 // unknown: chunked
	req.Header.Set("Accept", MediaType)
	req.Header.Set("Content-Type", MediaType)
	req.Header.Set("Authorization", "Bearer "+n.aliceToken)
	resp, err := n.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	// Exactly max_content_length is accepted (the body is then judged on its merits).
	exact := envelope(indicator(1, 0, strings.Repeat("n", 1024-len(envelope(indicator(1, 0, ""))))))
	if len(exact) != 1024 {
		t.Fatalf("test body is %d bytes", len(exact))
	}
	resp2, b := n.do(request{method: "POST", path: "/api/collections/" + collRW + "/objects/", body: exact})
	if resp2.StatusCode != http.StatusAccepted {
		t.Fatalf("body of exactly max_content_length: %d %s", resp2.StatusCode, b)
	}
}

// TestContentNegotiation runs Accept and Content-Type headers real clients send.
func TestContentNegotiation(t *testing.T) {
	n := newNode(t, "", Config{})
	for _, tc := range []struct {
		accept string
		status int
	}{
		{MediaType, 200},
		{"application/taxii+json", 200},
		{"application/taxii+json; version=2.1", 200},
		{"Application/TAXII+JSON;Version=2.1", 200},
		{"*/*", 200},
		{"application/*", 200},
		{"", 200},
		{"text/html, application/taxii+json;version=2.1;q=0.5", 200},
		{"application/taxii+json;version=2.1,application/stix+json;version=2.1", 200},
		{"application/json", 406},
		{"application/stix+json;version=2.1", 406},
		{"application/taxii+json;version=2.0", 406},
		{"application/taxii+json;version=2.1;q=0", 406},
		{"application/taxii+json;version=2.1;q=0, */*", 406},
		{"text/html", 406},
	} {
		resp, body := n.do(request{method: "GET", path: "/api/", header: map[string]string{"Accept": tc.accept}})
		if resp.StatusCode != tc.status {
			t.Errorf("Accept %q: %d, want %d: %s", tc.accept, resp.StatusCode, tc.status, body)
		}
	}
	for _, tc := range []struct {
		ct     string
		status int
	}{
		{MediaType, 202},
		{"application/taxii+json", 202},
		{"application/taxii+json ; version=2.1", 202},
		{"APPLICATION/taxii+json;version=\"2.1\"", 202},
		{"application/taxii+json;version=2.1;charset=utf-8", 202},
		{"application/taxii+json;version=2.1;charset=latin1", 415},
		{"application/json", 415},
		{"application/stix+json;version=2.1", 415},
		{"", 415},
	} {
		resp, body := n.do(request{method: "POST", path: "/api/collections/" + collRW + "/objects/",
			body: envelope(indicator(5, 0, "x")), header: map[string]string{"Content-Type": tc.ct}})
		if resp.StatusCode != tc.status {
			t.Errorf("Content-Type %q: %d, want %d: %s", tc.ct, resp.StatusCode, tc.status, body)
		}
	}
}

// TestPostgres runs the end-to-end tests on PostgreSQL (skipped when no
// server is reachable, except under CI=true).
func TestPostgres(t *testing.T) {
	t.Run("paging", func(t *testing.T) {
		total := 5000
		if testing.Short() {
			total = 700
		}
		testPaging(t, newNode(t, pgtest.DSN(t), Config{}), total)
	})
	t.Run("add objects", func(t *testing.T) { testAddObjectsMixed(t, pgtest.DSN(t)) })
	t.Run("match version", func(t *testing.T) { testMatchVersion(t, pgtest.DSN(t)) })
	t.Run("endpoints", func(t *testing.T) { testEndpoints(t, pgtest.DSN(t)) })
}

// TestVerifySemaphore sends a burst of bad Basic logins at once: no more
// than user.MaxConcurrentVerify argon2id runs (64 MiB each) happen together.
func TestVerifySemaphore(t *testing.T) {
	n := newNode(t, "", Config{})
	ctx := context.Background()
	const burst = user.MaxAddrFailures - 1 // stay under the throttle
	errs := make(chan error, burst)
	for i := range burst {
		go func() {
			c := &Client{BaseURL: n.ts.URL + "/api/", HTTP: n.ts.Client(), User: "bob", Password: fmt.Sprint("guess ", i)}
			_, err := c.APIRoot(ctx)
			errs <- err
		}()
	}
	for range burst {
		var e *Error
		if err := <-errs; !errors.As(err, &e) || e.Status != 401 {
			t.Errorf("bad login: %v, want 401", err)
		}
	}
	a := n.srv.auth
	if got := a.Stats().Verifications; got != burst {
		t.Errorf("%d verifications, want %d", got, burst)
	}
	if m := a.Stats().MaxConcurrent; m > user.MaxConcurrentVerify || m < 1 {
		t.Errorf("%d verifications ran at once, want 1 to %d", m, user.MaxConcurrentVerify)
	}
}
