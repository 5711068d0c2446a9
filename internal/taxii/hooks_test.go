package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// TestHooks checks the three hooks the federation listener relies on:
// identity from the request (not Basic/bearer), ingest in place of
// parse-and-store, and a filter on every listing.
func TestHooks(t *testing.T) {
	var ingested [][]byte
	cfg := Config{
		Authenticate: func(r *http.Request) (store.User, error) {
			if r.Header.Get("X-Test-Peer") == "cert-ee" {
				return store.User{Name: "peer:cert-ee", Permissions: map[string]store.Permission{collRW: {Read: true, Write: true}}}, nil
			}
			return store.User{}, errors.New("not a peer")
		},
		Ingest: func(ctx context.Context, u store.User, c store.Collection, raws []json.RawMessage) ([]Outcome, error) {
			out := make([]Outcome, len(raws))
			for i, r := range raws {
				ingested = append(ingested, r)
				out[i] = Outcome{ID: "indicator--x", Version: "v", OK: i%2 == 0, Message: "decided by the hook"}
			}
			return out, nil
		},
		Visible: func(ctx context.Context, u store.User, c store.Collection, es []store.Entry) ([]store.Entry, error) {
			var keep []store.Entry
			for _, e := range es {
				if !strings.HasSuffix(e.ID, "1-0000-4000-8000-000000000000") { // hide indicator 1
					keep = append(keep, e)
				}
			}
			return keep, nil
		},
	}
	n := newNode(t, "", cfg)
	// Seed through the store directly (the hooked POST does not store).
	var seed []*stix.Object
	for i := range 3 {
		o, err := stix.Parse(indicator(i, 0, "seed"))
		if err != nil {
			t.Fatal(err)
		}
		seed = append(seed, o)
	}
	if _, err := n.st.AddObjects(context.Background(), collRW, seed); err != nil {
		t.Fatal(err)
	}

	// No peer header: refused although alice's token is valid.
	resp, body := n.do(request{method: "GET", path: "/api/collections/" + collRW + "/objects/"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the hook's identity: %d %s", resp.StatusCode, body)
	}
	hdr := map[string]string{"X-Test-Peer": "cert-ee"}
	resp, body = n.do(request{method: "GET", path: "/api/collections/" + collRW + "/objects/", header: hdr})
	if resp.StatusCode != 200 {
		t.Fatalf("GET as peer: %d %s", resp.StatusCode, body)
	}
	var env Envelope
	json.Unmarshal(body, &env)
	if len(env.Objects) != 2 || strings.Contains(string(body), indicatorID(1)) {
		t.Fatalf("Visible did not filter: %d objects\n%s", len(env.Objects), body)
	}
	resp, body = n.do(request{method: "GET", path: "/api/collections/" + collRW + "/manifest/", header: hdr})
	if resp.StatusCode != 200 || strings.Contains(string(body), indicatorID(1)) {
		t.Fatalf("manifest not filtered: %d %s", resp.StatusCode, body)
	}
	resp, _ = n.do(request{method: "GET", path: "/api/collections/" + collRW + "/objects/" + indicatorID(1) + "/", header: hdr})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a hidden object must be 404, got %d", resp.StatusCode)
	}

	resp, body = n.do(request{method: "POST", path: "/api/collections/" + collRW + "/objects/", header: hdr, body: envelope(indicator(10, 0, "a"), indicator(11, 0, "b"))})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST as peer: %d %s", resp.StatusCode, body)
	}
	var st Status
	json.Unmarshal(body, &st)
	if len(ingested) != 2 || st.TotalCount != 2 || st.SuccessCount != 1 || st.FailureCount != 1 || !strings.Contains(string(body), "decided by the hook") {
		t.Fatalf("ingest hook: %d ingested, status %s", len(ingested), body)
	}
}
