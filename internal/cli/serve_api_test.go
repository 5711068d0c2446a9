package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/node"
)

// serve mounts the workflow API beside TAXII on the user listener: both
// answer, with the same logins, and the API refuses what it must.
func TestServeWorkflowAPI(t *testing.T) {
	dir := initNode(t)
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- runCtx(ctx, t, nil, "", "serve", "--data", dir, "--listen", addr) }()
	defer func() {
		cancel()
		select {
		case r := <-done:
			if r.code != 0 || !strings.Contains(r.stderr, "serving the workflow API") {
				t.Errorf("serve exit %d\n%s", r.code, r.stderr)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop after cancellation")
		}
	}()
	pem, _ := os.ReadFile(filepath.Join(dir, node.TLSCert))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	call := func(method, path, accept, contentType, body string, auth bool) (int, http.Header, string, error) {
		req, _ := http.NewRequest(method, "https://"+addr+path, strings.NewReader(body))
		req.Header.Set("Accept", accept)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if auth {
			req.SetBasicAuth("admin", testPassword)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b), nil
	}
	var err error
	var status int
	var body string
	for i := 0; i < 100; i++ { // bounded wait for the listener
		if status, _, body, err = call("GET", "/entraide/v1/kinds", "application/json", "", "", true); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v", err)
	}
	var kinds []struct {
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &kinds) != nil || len(kinds) == 0 {
		t.Fatalf("kinds: %d %s", status, body)
	}
	status, h, body, _ := call("GET", "/entraide/v1/workflows", "application/json", "", "", false)
	if status != 401 || len(h.Values("WWW-Authenticate")) == 0 || !strings.Contains(body, `"status":401`) {
		t.Fatalf("without credentials: %d %s", status, body)
	}
	if status, _, body, _ = call("POST", "/entraide/v1/workflows/alert", "application/json", "text/plain", "{}", true); status != 415 {
		t.Fatalf("text/plain: %d %s", status, body)
	}
	if status, _, body, _ = call("POST", "/entraide/v1/workflows/alert", "application/json", "application/json", `{"tlp":"amber","title":"t","severity":"2"}`, true); status != 400 || !strings.Contains(body, "say who receives") {
		t.Fatalf("an alert to nobody: %d %s", status, body)
	}
	// TAXII is still served at its paths.
	if status, _, body, _ = call("GET", "/taxii2/", "application/taxii+json;version=2.1", "", "", true); status != 200 || !strings.Contains(body, "api_roots") {
		t.Fatalf("TAXII discovery: %d %s", status, body)
	}
}
