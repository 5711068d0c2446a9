package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/taxii"
)

// pushRaw makes node from POST raw objects straight to node to's collection,
// over the real mutual-TLS federation listener, bypassing from's policy —
// what a misbehaving node could do.
func pushRaw(t *testing.T, fed *fedtest.Federation, from, to, coll string, raws ...[]byte) *taxii.Status {
	t.Helper()
	src := fed.Node(from)
	p, err := src.Fed.Registry().Get(context.Background(), "cert-"+to)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := src.FedTLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	c := &taxii.Client{BaseURL: strings.TrimRight(p.Endpoint, "/") + "/api/",
		HTTP: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: peer.ClientTLS(cert, p)}}}
	objs := make([]json.RawMessage, len(raws))
	for i, r := range raws {
		objs[i] = r
	}
	st, err := c.AddObjects(context.Background(), coll, objs)
	if err != nil {
		t.Fatalf("%s pushes to %s: %v", from, to, err)
	}
	return st
}
