package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/node"
)

// serve mounts the web console on the user listener: a browser at the
// root is led to it, the node's admin logs in, and TAXII clients keep
// their answers at the root, /taxii2/ and /api/.
func TestServeConsole(t *testing.T) {
	dir := initNode(t)
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- runCtx(ctx, t, nil, "", "serve", "--data", dir, "--listen", addr) }()
	defer func() {
		cancel()
		select {
		case r := <-done:
			if r.code != 0 || !strings.Contains(r.stderr, "serving the web console") {
				t.Errorf("serve exit %d\n%s", r.code, r.stderr)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop after cancellation")
		}
	}()
	pem, _ := os.ReadFile(filepath.Join(dir, node.TLSCert))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Timeout: 10 * time.Second, Jar: jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "https://" + addr
	get := func(path, accept string) (*http.Response, string, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	var (
		resp *http.Response
		body string
		err  error
	)
	for i := 0; i < 100; i++ { // bounded wait for the listener
		if resp, body, err = get("/", "text/html,application/xhtml+xml,*/*;q=0.8"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v", err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("a browser at /: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A TAXII client at the root gets TAXII's answer, not a redirect.
	resp, _, _ = get("/", "application/taxii+json;version=2.1")
	if resp.StatusCode == http.StatusFound {
		t.Fatalf("a TAXII client at / was redirected to the console")
	}
	resp, body, _ = get("/console/login", "text/html")
	if resp.StatusCode != 200 || !strings.Contains(body, `id="login-form"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("login page: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("POST", base+"/console/login", strings.NewReader(url.Values{"name": {"admin"}, "password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	resp, body, _ = get("/console/", "text/html")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="page-overview"`) || !strings.Contains(body, "cert-fr") {
		t.Fatalf("overview: %d\n%s", resp.StatusCode, body)
	}
	// TAXII and the JSON API are where they were.
	req, _ = http.NewRequest("GET", base+"/taxii2/", nil)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.SetBasicAuth("admin", testPassword)
	if resp, err = client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("TAXII discovery: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("GET", base+"/entraide/v1/kinds", nil)
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth("admin", testPassword)
	if resp, err = client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("JSON API: %v %v", resp, err)
	}
	resp.Body.Close()
}
