package taxii

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/user"
)

// serve runs a request through the handler in-process (no TLS), with alice's
// token unless overridden, so that the Host (example.com) is fixed.
func (n *node) serve(r request) *httptest.ResponseRecorder {
	n.t.Helper()
	var body *bytes.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	} else {
		body = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(r.method, "https://node.example"+r.path, body)
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
	w := httptest.NewRecorder()
	n.srv.Handler().ServeHTTP(w, req)
	return w
}

// TestGolden freezes the JSON of every resource and of every kind of error.
func TestGolden(t *testing.T) {
	n := newNode(t, "", Config{MaxContentLength: 4096})
	n.seed()
	coll := "/api/collections/" + collRW
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"discovery", request{method: "GET", path: "/taxii2/"}, 200},
		{"api_root", request{method: "GET", path: "/api/"}, 200},
		{"collections", request{method: "GET", path: "/api/collections/"}, 200},
		{"collections_empty", request{method: "GET", path: "/api/collections/", header: map[string]string{"Authorization": "Bearer " + n.bobToken}}, 200},
		{"collection", request{method: "GET", path: coll + "/"}, 200},
		{"objects", request{method: "GET", path: coll + "/objects/"}, 200},
		{"objects_page", request{method: "GET", path: coll + "/objects/?match[version]=all&limit=2"}, 200},
		{"objects_empty", request{method: "GET", path: coll + "/objects/?match[type]=malware"}, 200},
		{"object", request{method: "GET", path: coll + "/objects/" + indicatorID(1) + "/?match[version]=first"}, 200},
		{"manifest", request{method: "GET", path: coll + "/manifest/?match[version]=all"}, 200},
		{"versions", request{method: "GET", path: coll + "/objects/" + indicatorID(1) + "/versions/"}, 200},
		{"status", request{method: "GET", path: "/api/status/00000000-0000-4000-8000-000000000001/"}, 200},

		{"error_400", request{method: "GET", path: coll + "/objects/?limit=0"}, 400},
		{"error_400_json", request{method: "POST", path: coll + "/objects/", body: []byte(`{"objects":[}`)}, 400},
		{"error_401", request{method: "GET", path: "/api/", header: map[string]string{"Authorization": ""}}, 401},
		{"error_403", request{method: "GET", path: "/api/collections/" + collWO + "/objects/"}, 403},
		{"error_404", request{method: "GET", path: "/api/collections/" + collHidden + "/"}, 404},
		{"error_405", request{method: "PATCH", path: coll + "/objects/"}, 405},
		{"error_406", request{method: "GET", path: "/api/", header: map[string]string{"Accept": "application/taxii+json;version=2.0"}}, 406},
		{"error_413", request{method: "POST", path: coll + "/objects/", body: envelope(json.RawMessage(`{"x":"` + strings.Repeat("x", 5000) + `"}`))}, 413},
		{"error_415", request{method: "POST", path: coll + "/objects/", body: envelope(indicator(3, 0, "x")), header: map[string]string{"Content-Type": "application/stix+json;version=2.1"}}, 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n.t = t
			w := n.serve(tc.req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d\n%s", w.Code, tc.status, w.Body)
			}
			golden(t, tc.name, w.Body.Bytes())
		})
	}

	t.Run("error_429", func(t *testing.T) {
		n.t = t
		bad := map[string]string{"Authorization": "Bearer etd_wrong"}
		for range user.MaxAddrFailures {
			if w := n.serve(request{method: "GET", path: "/api/", header: bad}); w.Code != 401 {
				t.Fatalf("status %d", w.Code)
			}
		}
		n.clk.Advance(user.FailureWindow - 45*time.Second)
		w := n.serve(request{method: "GET", path: "/api/"})
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "45" {
			t.Fatalf("status %d, Retry-After %q, want 429 and 45", w.Code, w.Header().Get("Retry-After"))
		}
		golden(t, "error_429", w.Body.Bytes())
		n.clk.Advance(45 * time.Second)
		if w := n.serve(request{method: "GET", path: "/api/"}); w.Code != 200 {
			t.Fatalf("after the window: status %d", w.Code)
		}
	})

	t.Run("error_500", func(t *testing.T) {
		n.t = t
		n.st.Close() // every store call fails from now on
		w := n.serve(request{method: "GET", path: "/api/collections/"})
		if w.Code != 500 {
			t.Fatalf("status %d, want 500", w.Code)
		}
		golden(t, "error_500", w.Body.Bytes())
		if strings.Contains(w.Body.String(), "closed") {
			t.Errorf("the internal detail leaked: %s", w.Body)
		}
	})
}
