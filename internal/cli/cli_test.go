package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testPassword = "correct horse battery staple"

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runCtx(context.Background(), t, env, stdin, args...)
}

func runCtx(ctx context.Context, t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	e := Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Clock:  clock.System{},
	}
	code := Main(ctx, args, e)
	return result{code, out.String(), errb.String()}
}

func initNode(t *testing.T, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node")
	args := append([]string{"init", "--data", dir, "--name", "cert-fr", "--org", "CERT-FR", "--country", "FR"}, extra...)
	r := run(t, map[string]string{"ENTRAIDE_ADMIN_PASSWORD": testPassword}, "", args...)
	if r.code != 0 {
		t.Fatalf("init: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return dir
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := initNode(t)
	key, err := os.ReadFile(filepath.Join(dir, node.SigningKey))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "", "init", "--data", dir, "--name", "cert-fr", "--org", "X", "--country", "FR")
	if r.code != 1 || !strings.Contains(r.stderr, "refuses to overwrite") {
		t.Fatalf("second init: exit %d, stderr %q", r.code, r.stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, node.SigningKey))
	if !bytes.Equal(key, after) {
		t.Fatal("second init changed the signing key")
	}
	// A non-empty directory that is not a node is refused too.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o600)
	r = run(t, nil, "", "init", "--data", other, "--name", "cert-fr", "--org", "X", "--country", "FR")
	if r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("init in non-empty dir: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestInitGeneratesPasswordOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	r := run(t, nil, "", "init", "--data", dir, "--name", "cert-ee", "--org", "CERT-EE", "--country", "EE")
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "admin password:") || !strings.Contains(r.stdout, "shown once") {
		t.Fatalf("generated password not shown:\n%s", r.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"init", "--data", "x"}, 2, "--name is required"},
		{[]string{"init", "--data", t.TempDir() + "/n", "--name", "Bad Name", "--org", "o", "--country", "FR"}, 1, "node name"},
		{[]string{"init", "--data", t.TempDir() + "/n", "--name", "ok", "--org", "o", "--country", "france"}, 1, "ISO 3166-1"},
		{[]string{"import", "--data", t.TempDir()}, 2, "at least one FILE"},
		{[]string{"import", "--data", t.TempDir(), "f.json"}, 1, "is not an Entraide node"},
		{[]string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{[]string{"user", "add"}, 2, "exactly one user NAME"},
		{[]string{"collection"}, 2, "missing subcommand"},
		{[]string{"generate", "cats"}, 2, "only kind is: indicators"},
	}
	for _, c := range cases {
		r := run(t, nil, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.want)
		}
	}
}

// TestHelp freezes every command's --help text in golden files: it is part of
// the CLI contract that scripts and operators rely on.
func TestHelp(t *testing.T) {
	var all []string
	for _, c := range commands() {
		all = append(all, c.name)
	}
	all = append(all, "collection list", "collection add", "user add", "user list", "user token", "user grant", "user revoke-token", "generate indicators",
		"card export", "card verify", "key rotate", "peer add", "peer list", "peer show", "peer remove", "peer rotate",
		"community create", "community list", "community show", "community add-member", "community remove-member", "audit verify", "audit log", "report sharing")
	// Every subcommand a command's usage line lists (entraide X a|b|c) has
	// its own help golden.
	for _, c := range commands() {
		r := run(t, nil, "", c.name, "--help")
		first, _, _ := strings.Cut(strings.TrimSpace(r.stdout+r.stderr), "\n")
		rest, ok := strings.CutPrefix(first, "Usage: entraide "+c.name+" ")
		subs, _, _ := strings.Cut(rest, " ")
		if !ok || !strings.Contains(subs, "|") || strings.HasPrefix(subs, "-") {
			continue
		}
		for _, sub := range strings.Split(subs, "|") {
			if name := c.name + " " + sub; !slices.Contains(all, name) {
				all = append(all, name)
			}
		}
	}
	for _, name := range all {
		args := append(strings.Fields(name), "--help")
		if name == "generate" {
			args = []string{"generate", "--help"}
		}
		r := run(t, nil, "", args...)
		if r.code != 0 {
			t.Errorf("%s --help: exit %d: %s", name, r.code, r.stderr)
			continue
		}
		text := r.stdout + r.stderr
		if !strings.Contains(text, "Usage: entraide") {
			t.Errorf("%s --help: no usage line:\n%s", name, text)
		}
		golden(t, filepath.Join("testdata", "help", strings.ReplaceAll(name, " ", "_")+".golden"), text)
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from output (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func attackBundle(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "stix", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference data missing: %v", err)
	}
	return p
}

func countObjects(t *testing.T, dir, db string) int {
	t.Helper()
	st, err := store.Open(context.Background(), node.DBURL(dir, db), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := resolveCollection(context.Background(), st, "default")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	q := store.Query{Versions: []string{"all"}, Limit: 1000}
	for {
		p, err := st.ListObjects(context.Background(), c.ID, q, false)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Entries)
		if p.Next == "" {
			return n
		}
		q.Next = p.Next
	}
}

func TestImportExportAttack(t *testing.T) {
	dir := initNode(t)
	src := attackBundle(t, "attack-ics-18.1.json")
	r := run(t, nil, "", "import", "--data", dir, "--json", src)
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var sum struct {
		Total importSummary `json:"total"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("import --json output: %v\n%s", err, r.stdout)
	}
	var bundle struct {
		Objects []json.RawMessage `json:"objects"`
	}
	b, _ := os.ReadFile(src)
	json.Unmarshal(b, &bundle)
	if sum.Total.Read != len(bundle.Objects) || sum.Total.Added != len(bundle.Objects) || sum.Total.Rejected != 0 {
		t.Fatalf("import summary %+v, bundle has %d objects", sum.Total, len(bundle.Objects))
	}
	// Again: everything already present, nothing added.
	r = run(t, nil, "", "import", "--data", dir, src)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("0 added, %d already present, 0 rejected", len(bundle.Objects))) {
		t.Fatalf("second import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Export writes back every object byte for byte (compacted).
	out := filepath.Join(t.TempDir(), "out.json")
	r = run(t, nil, "", "export", "--data", dir, "--all-versions", "--out", out)
	if r.code != 0 {
		t.Fatalf("export: %d %s", r.code, r.stderr)
	}
	var exp struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	eb, _ := os.ReadFile(out)
	if err := json.Unmarshal(eb, &exp); err != nil {
		t.Fatalf("exported bundle is not JSON: %v", err)
	}
	if exp.Type != "bundle" || len(exp.Objects) != len(bundle.Objects) {
		t.Fatalf("exported %d objects (type %q), want %d", len(exp.Objects), exp.Type, len(bundle.Objects))
	}
	want := map[string]bool{}
	for _, o := range bundle.Objects {
		var c bytes.Buffer
		json.Compact(&c, o)
		want[c.String()] = true
	}
	for _, o := range exp.Objects {
		if !want[string(o)] {
			t.Fatalf("exported object not byte-identical to an imported one: %.200s", o)
		}
	}
	// --type filters.
	r = run(t, nil, "", "export", "--data", dir, "--type", "x-mitre-tactic")
	if r.code != 0 || strings.Contains(r.stdout, `"attack-pattern"`) || !strings.Contains(r.stdout, `"x-mitre-tactic"`) {
		t.Fatalf("export --type: exit %d, %.300s", r.code, r.stdout)
	}
}

func TestImportRejectsAndKeepsGoodObjects(t *testing.T) {
	dir := initNode(t)
	good := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	badPattern := `{"type":"indicator","spec_version":"2.1","id":"indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = ","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	noType := `{"id":"indicator--ae2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`
	conflict := strings.Replace(good, "198.51.100.1", "198.51.100.2", 1)
	file := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(file, []byte(strings.Join([]string{good, badPattern, noType}, "\n")+"\n"), 0o600)
	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	r := run(t, nil, "", "import", "--data", dir, "--rejects", rejects, file)
	if r.code != 1 {
		t.Fatalf("import with rejects: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "3 objects read: 1 added, 0 already present, 2 rejected") {
		t.Fatalf("summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "#2 indicator--9e2e2d2b") || !strings.Contains(r.stdout, "pattern") {
		t.Fatalf("rejection of the bad pattern not explained:\n%s", r.stdout)
	}
	rb, _ := os.ReadFile(rejects)
	if n := strings.Count(string(rb), "\n"); n != 2 {
		t.Fatalf("rejects file has %d lines, want 2:\n%s", n, rb)
	}
	// Same id and version with other content: a conflict, reported, not written.
	r = run(t, nil, conflict+"\n", "import", "--data", dir, "-")
	if r.code != 1 || !strings.Contains(r.stdout, "1 rejected") {
		t.Fatalf("conflicting version: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := countObjects(t, dir, ""); n != 1 {
		t.Fatalf("store holds %d object versions, want 1", n)
	}
}

func TestImportMalformedFileKeepsWhatCameBefore(t *testing.T) {
	dir := initNode(t)
	var b strings.Builder
	GenerateIndicators(&b, 2500, 7, true)
	b.WriteString(`{"type": "indicator", "id": ` + "\n") // truncated object
	r := run(t, nil, b.String(), "import", "--data", dir, "-")
	if r.code != 1 || !strings.Contains(r.stderr, "run the import again to resume") {
		t.Fatalf("malformed input: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := countObjects(t, dir, ""); n != 2500 {
		t.Fatalf("store holds %d objects, want the 2500 read before the error", n)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServeAndShutdown(t *testing.T) {
	dir := initNode(t)
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- runCtx(ctx, t, nil, "", "serve", "--data", dir, "--listen", addr) }()

	pem, _ := os.ReadFile(filepath.Join(dir, node.TLSCert))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ { // bounded wait for the listener
		req, _ := http.NewRequest("GET", "https://"+addr+"/taxii2/", nil)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		req.SetBasicAuth("admin", testPassword)
		resp, err = client.Do(req)
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("server never answered: %v (%+v)", err, <-done)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "api_roots") {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	// Plain HTTP is not served.
	if r, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + addr + "/taxii2/"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200")
		}
	}
	cancel()
	select {
	case r := <-done:
		if r.code != 0 || !strings.Contains(r.stderr, "stopped") {
			t.Fatalf("serve exit %d\n%s", r.code, r.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
}

func TestUsersAndCollections(t *testing.T) {
	dir := initNode(t)
	r := run(t, nil, "", "collection", "add", "--data", dir, "--title", "FR-EE exchange", "--alias", "fr-ee")
	if r.code != 0 {
		t.Fatalf("collection add: %s", r.stderr)
	}
	r = run(t, nil, "", "collection", "list", "--data", dir, "--json")
	var cols []struct{ ID, Alias string }
	if err := json.Unmarshal([]byte(r.stdout), &cols); err != nil || len(cols) != 2 {
		t.Fatalf("collection list --json: %v %s", err, r.stdout)
	}
	r = run(t, nil, "a-long-enough-password\n", "user", "add", "--data", dir, "analyst", "--read", "fr-ee", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	r = run(t, nil, "", "user", "add", "--data", dir, "analyst")
	if r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("duplicate user add: %d %s", r.code, r.stderr)
	}
	r = run(t, nil, "", "user", "add", "--data", dir, "bob", "--read", "nope")
	if r.code != 1 || !strings.Contains(r.stderr, `no collection "nope"`) {
		t.Fatalf("unknown collection in permissions: %d %s", r.code, r.stderr)
	}
	r = run(t, nil, "", "user", "token", "--data", dir, "analyst", "--json")
	var tok struct{ Token, ID string }
	if err := json.Unmarshal([]byte(r.stdout), &tok); err != nil || !strings.HasPrefix(tok.Token, "etd_") {
		t.Fatalf("user token --json: %v %s %s", err, r.stdout, r.stderr)
	}
	r = run(t, nil, "", "user", "list", "--data", dir, "--json")
	if !strings.Contains(r.stdout, `"analyst"`) || strings.Contains(r.stdout, tok.Token) || strings.Contains(r.stdout, "argon2id") {
		t.Fatalf("user list leaks secrets or misses the user:\n%s", r.stdout)
	}
	r = run(t, nil, "", "user", "revoke-token", "--data", dir, tok.ID)
	if r.code != 0 {
		t.Fatalf("revoke-token: %s", r.stderr)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := initNode(t)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"listen":"127.0.0.1:9443","db":"postgres://u:secret@h/db"}`), 0o600)
	r := run(t, map[string]string{"ENTRAIDE_LOG_LEVEL": "debug"}, "", "check-config", "--data", dir)
	if r.code != 0 || strings.Contains(r.stdout, "secret@") || !strings.Contains(r.stdout, "127.0.0.1:9443") || !strings.Contains(r.stdout, "(env;") {
		t.Fatalf("check-config: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"lisen":"x"}`), 0o600)
	r = run(t, nil, "", "check-config", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, `unknown setting(s) lisen`) {
		t.Fatalf("unknown key: %d %s", r.code, r.stderr)
	}
}
