package taxii

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/user"
)

// seed adds objects to the node's shared collection: indicator 1 in two
// versions (a day apart, added a minute apart) and indicator 2 in one.
// It returns the id of the status of the first POST.
func (n *node) seed() string {
	n.t.Helper()
	ctx := context.Background()
	c := n.client(n.aliceToken)
	st, err := c.AddObjects(ctx, collRW, []json.RawMessage{indicator(1, 0, "first"), indicator(2, 0, "second")})
	if err != nil {
		n.t.Fatalf("seed: %v", err)
	}
	if st.SuccessCount != 2 {
		n.t.Fatalf("seed: status %+v", st)
	}
	n.clk.Advance(time.Minute)
	if _, err := c.AddObjects(ctx, collRW, []json.RawMessage{indicator(1, 24*time.Hour, "first, revised")}); err != nil {
		n.t.Fatalf("seed: %v", err)
	}
	return st.ID
}

// TestEndpoints runs every endpoint through the ways a request can go wrong.
func TestEndpoints(t *testing.T) { testEndpoints(t, "") }

func testEndpoints(t *testing.T, storeURL string) {
	n := newNode(t, storeURL, Config{MaxContentLength: 64 << 10})
	statusID := n.seed()
	obj := indicatorID(1)

	type tcase struct {
		name   string
		req    request
		status int
	}
	noAuth := map[string]string{"Authorization": ""}
	bob := map[string]string{"Authorization": "Bearer " + n.bobToken}
	wrongAccept := map[string]string{"Accept": "application/json"}
	good := envelope(indicator(10, 0, "posted"))

	type endpoint struct {
		name, method, path string // path has {c} for the collection, {o} for the object
		body               []byte
		good               int
		read, write        bool // needs read / write access to the collection
		listing            bool // takes paging filters
	}
	endpoints := []endpoint{
		{name: "discovery", method: "GET", path: "/taxii2/", good: 200},
		{name: "api root", method: "GET", path: "/api/", good: 200},
		{name: "status", method: "GET", path: "/api/status/" + statusID + "/", good: 200},
		{name: "collections", method: "GET", path: "/api/collections/", good: 200},
		{name: "collection", method: "GET", path: "/api/collections/{c}/", good: 200},
		{name: "manifest", method: "GET", path: "/api/collections/{c}/manifest/", good: 200, read: true, listing: true},
		{name: "get objects", method: "GET", path: "/api/collections/{c}/objects/", good: 200, read: true, listing: true},
		{name: "add objects", method: "POST", path: "/api/collections/{c}/objects/", body: good, good: 202, write: true},
		{name: "get object", method: "GET", path: "/api/collections/{c}/objects/{o}/", good: 200, read: true, listing: true},
		{name: "versions", method: "GET", path: "/api/collections/{c}/objects/{o}/versions/", good: 200, read: true, listing: true},
		{name: "delete object", method: "DELETE", path: "/api/collections/{c}/objects/{o}/", good: 200, read: true, write: true},
	}
	for _, ep := range endpoints {
		path := func(coll string) string {
			return strings.NewReplacer("{c}", coll, "{o}", obj).Replace(ep.path)
		}
		req := func(coll string, h map[string]string) request {
			return request{method: ep.method, path: path(coll), body: ep.body, header: h}
		}
		perCollection := strings.Contains(ep.path, "{c}")
		cases := []tcase{
			{"wrong Accept", req(collRW, wrongAccept), 406},
			{"no auth", req(collRW, noAuth), 401},
			{"bad token", req(collRW, map[string]string{"Authorization": "Bearer etd_nope"}), 401},
			{"disabled user", req(collRW, map[string]string{"Authorization": "Bearer " + n.carolToken}), 401},
		}
		if perCollection {
			cases = append(cases,
				tcase{"unknown collection", req(collGone, nil), 404},
				tcase{"no permission", req(collRW, bob), 404},
				tcase{"hidden collection", req(collHidden, nil), 404},
			)
			switch {
			case ep.read && ep.write:
				cases = append(cases, tcase{"read only", req(collRO, nil), 403}, tcase{"write only", req(collWO, nil), 403})
			case ep.read:
				cases = append(cases, tcase{"write only", req(collWO, nil), 403})
			case ep.write:
				cases = append(cases, tcase{"read only", req(collRO, nil), 403})
			}
		}
		if ep.name == "status" {
			cases = append(cases, tcase{"not the owner", req("", bob), 404},
				tcase{"unknown status", request{method: "GET", path: "/api/status/00000000-0000-4000-8000-999999999999/"}, 404})
		}
		if ep.method == "POST" {
			r := req(collRW, map[string]string{"Content-Type": "application/json"})
			cases = append(cases, tcase{"wrong Content-Type", r, 415})
			r = req(collRW, map[string]string{"Content-Type": "application/taxii+json;version=2.0"})
			cases = append(cases, tcase{"TAXII 2.0 Content-Type", r, 415})
			r = req(collRW, nil)
			r.body = envelope(json.RawMessage(`{"pad":"` + strings.Repeat("x", 65<<10) + `"}`))
			cases = append(cases, tcase{"oversized", r, 413})
			for name, body := range map[string]string{
				"malformed JSON":     `{"objects": [`,
				"not an envelope":    `[{"type":"indicator"}]`,
				"no objects":         `{"more":false}`,
				"objects not a list": `{"objects":{"type":"indicator"}}`,
				"empty envelope":     `{"objects":[]}`,
				"trailing garbage":   `{"objects":[{}]} {}`,
			} {
				r := req(collRW, nil)
				r.body = []byte(body)
				cases = append(cases, tcase{name, r, 400})
			}
		}
		if ep.listing {
			for _, q := range []string{"limit=0", "limit=-1", "limit=ten", "added_after=yesterday", "added_after=2026-01-01T00:00:00Z&added_after=2026-01-01T00:00:00Z", "next=bogus!cursor", "match[spec_version]=two"} {
				cases = append(cases, tcase{"bad filter " + q, request{method: "GET", path: path(collRW) + "?" + q}, 400})
			}
			if ep.name != "versions" {
				for _, q := range []string{"match[version]=all,last", "match[version]=last,last", "match[version]=yesterday", "match[version]=2026-01-01T00:00:00Z,2026-01-01T00:00:00.000Z"} {
					cases = append(cases, tcase{"bad filter " + q, request{method: "GET", path: path(collRW) + "?" + q}, 400})
				}
			} else {
				cases = append(cases, tcase{"match[version] on versions", request{method: "GET", path: path(collRW) + "?match[version]=all"}, 400})
			}
			if ep.name == "get objects" || ep.name == "manifest" {
				for _, q := range []string{"match[id]=not-an-id", "match[type]=Indicator", "match[type]=indicator,,malware"} {
					cases = append(cases, tcase{"bad filter " + q, request{method: "GET", path: path(collRW) + "?" + q}, 400})
				}
			} else {
				cases = append(cases, tcase{"match[type] on one object", request{method: "GET", path: path(collRW) + "?match[type]=indicator"}, 400})
			}
		}
		if ep.name == "get object" || ep.name == "versions" || ep.name == "delete object" {
			r := req(collRW, nil)
			r.path = strings.Replace(r.path, obj, "indicator--00000000-0000-4000-8000-0000000000ff", 1)
			cases = append(cases, tcase{"unknown object", r, 404})
			r = req(collRW, nil)
			r.path = strings.Replace(r.path, obj, "not-an-id", 1)
			cases = append(cases, tcase{"malformed object id", r, 400})
		}
		if ep.method == "GET" {
			cases = append(cases, tcase{"HEAD", request{method: "HEAD", path: path(collRW)}, ep.good})
		}
		cases = append(cases,
			tcase{"wrong method", request{method: "PUT", path: path(collRW), body: good}, 405},
			tcase{"no trailing slash", request{method: ep.method, path: strings.TrimSuffix(path(collRW), "/"), body: ep.body}, ep.good},
		)
		if perCollection {
			cases = append(cases, tcase{"alias", req("shared", nil), ep.good})
		}
		// Last, because it may delete the object.
		cases = append(cases, tcase{"good", req(collRW, nil), ep.good})

		for _, tc := range cases {
			t.Run(ep.name+"/"+tc.name, func(t *testing.T) {
				n.t = t
				if ep.method == "DELETE" {
					// Put the object back first: an earlier case may have deleted it.
					if _, err := n.client(n.aliceToken).AddObjects(context.Background(), collRW, []json.RawMessage{indicator(1, 0, "first")}); err != nil {
						t.Fatal(err)
					}
				}
				resp, body := n.do(tc.req)
				if resp.StatusCode != tc.status {
					t.Fatalf("%s %s: status %d, want %d\n%s", tc.req.method, tc.req.path, resp.StatusCode, tc.status, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != MediaType {
					t.Errorf("Content-Type %q, want %q", ct, MediaType)
				}
				if tc.status >= 400 {
					checkErrorBody(t, tc.status, body, tc.req.method)
				}
				if tc.status == 401 {
					wa := resp.Header.Values("WWW-Authenticate")
					if len(wa) != 2 || wa[0] != `Basic realm="entraide", charset="UTF-8"` || !strings.HasPrefix(wa[1], "Bearer ") {
						t.Errorf("WWW-Authenticate = %q", wa)
					}
				}
				if tc.status == 401 {
					n.clk.Advance(user.FailureWindow) // do not let the failed logins throttle the next cases
				}
				if tc.status == 405 && resp.Header.Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			})
		}
	}
}

// checkErrorBody checks that body is a TAXII error message for status.
func checkErrorBody(t *testing.T, status int, body []byte, method string) {
	t.Helper()
	if method == "HEAD" {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	if title, _ := m["title"].(string); title == "" {
		t.Errorf("error body has no title: %s", body)
	}
	if d, _ := m["description"].(string); d == "" {
		t.Errorf("error body has no description: %s", body)
	}
	if hs, _ := m["http_status"].(string); hs != strconv.Itoa(status) {
		t.Errorf("http_status %q, want %d", m["http_status"], status)
	}
}
