package incident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/cli"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/incident"
)

// The command line, as docs/workflows/incident.md walks through it: FR
// opens an incident with EE, EE joins and updates it, FR gives EE a task
// and records its early warning, both see the same incident; mistakes are
// usage errors (exit 2) that write nothing, forbidden actions failures
// (exit 1).
func TestIncidentFromTheCommandLine(t *testing.T) {
	frPort, eePort := freePort(t), freePort(t)
	fr := cliNode(t, "cert-fr", "FR", frPort)
	ee := cliNode(t, "cert-ee", "EE", eePort)
	frCard, eeCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "ee.card")
	mustCLI(t, "card", "export", "--data", fr, "--out", frCard)
	mustCLI(t, "card", "export", "--data", ee, "--out", eeCard)
	mustCLI(t, "peer", "add", "--data", fr, "--yes", eeCard)
	mustCLI(t, "peer", "add", "--data", ee, "--yes", frCard)

	open := []string{"incident", "open", "--data", fr, "--to", "cert-ee", "--tlp", "amber", "--title", "Ransomware at a hospital group"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--severity is required"},
		{[]string{"--severity", "3", "--rsit", "ransomware"}, "unknown RSIT class"},
		{[]string{"--severity", "3", "--detected", "2099-01-01T00:00:00Z"}, "in the future"},
		{[]string{"--severity", "3", "--nis2", "maybe"}, "--nis2 \"maybe\": want yes or no"},
		{[]string{"--severity", "3", "--status", "closed"}, "entraide incident close"},
		{[]string{"--severity", "3", "--country", "XX"}, "unknown country code"},
	} {
		r := runCLI(t, append(append([]string(nil), open...), c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("incident open %v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if r := mustCLI(t, "incident", "list", "--data", fr, "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("refused opens left incidents: %s", r.stdout)
	}

	r := mustCLI(t, append(open, "--severity", "high", "--rsit", "malicious-code:infected-system", "--sector", "health",
		"--country", "FR", "--detected", "2h ago", "--impact", "Admissions diverted", "--as", "alice")...)
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "incident--") {
		t.Fatalf("incident open printed %q, want the incident's id", r.stdout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, n := range []struct{ dir, port string }{{fr, frPort}, {ee, eePort}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cliCtx(ctx, t, "serve", "--data", n.dir, "--listen", "127.0.0.1:"+freePort(t), "--fed-listen", "127.0.0.1:"+n.port)
		}()
	}
	eventually(t, "EE receives the incident", func() string { return runCLI(t, "incident", "list", "--data", ee).stdout }, id)
	if out := mustCLI(t, "incident", "show", "--data", ee, id).stdout; !strings.Contains(out, "early-warning") || !strings.Contains(out, "due in 21h") ||
		!strings.Contains(out, "NIS2 clock of cert-fr") {
		t.Fatalf("EE's view of the NIS2 clock:\n%s", out)
	}

	mustCLI(t, "incident", "join", "--data", ee, id, "--note", "duty desk on it", "--as", "eve")
	mustCLI(t, "incident", "update", "--data", ee, id, "--status", "containment", "--add-country", "EE", "--note", "Same strain in Tartu", "--as", "eve")
	if r := runCLI(t, "incident", "update", "--data", ee, id, "--remove-country", "DE"); r.code != 2 || !strings.Contains(r.stderr, "country DE is not listed") {
		t.Errorf("removing a country not listed: exit %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, "incident", "update", "--data", ee, id, "--detected", "1h ago"); r.code != 1 || !strings.Contains(r.stderr, "the opener's") {
		t.Errorf("EE moves FR's clock: exit %d %s", r.code, r.stderr)
	}
	eventually(t, "FR sees EE's update", func() string { return runCLI(t, "incident", "show", "--data", fr, id).stdout }, "Same strain in Tartu")

	task := strings.TrimSpace(mustCLI(t, "incident", "task-add", "--data", fr, id, "--title", "Share the samples", "--owner", "cert-ee", "--due", "2d", "--as", "alice").stdout)
	if !strings.HasPrefix(task, "x-entraide-step--") {
		t.Fatalf("task-add printed %q", task)
	}
	short := strings.TrimPrefix(task, "x-entraide-step--")[:8]
	eventually(t, "EE sees its task", func() string { return runCLI(t, "incident", "show", "--data", ee, id).stdout }, short)
	mustCLI(t, "incident", "task-done", "--data", ee, id, "--task", short, "--note", "MISP event 4411", "--as", "eve")
	mustCLI(t, "incident", "nis2-sent", "--data", fr, id, "--report", "early-warning", "--at", "10m ago", "--sent-to", "ANSSI", "--as", "alice")
	if r := runCLI(t, "incident", "nis2-sent", "--data", ee, id, "--report", "notification"); r.code != 1 || !strings.Contains(r.stderr, "only the node that opened") {
		t.Errorf("EE records FR's report: exit %d %s", r.code, r.stderr)
	}
	out := eventually(t, "FR sees the task done", func() string { return runCLI(t, "incident", "show", "--data", fr, id).stdout }, "by cert-ee")
	for _, want := range []string{"status      containment   (cert-ee", "countries   FR, EE", "early-warning  ", "ANSSI", "cert-ee      participant",
		"task " + short + ` "Share the samples" done; note: MISP event 4411`} {
		if !strings.Contains(out, want) {
			t.Errorf("FR's show lacks %q:\n%s", want, out)
		}
	}
	var v struct {
		Status string `json:"status"`
		Detail struct {
			Status string           `json:"status"`
			Tasks  []incident.Task  `json:"tasks"`
			NIS2   incident.NIS2    `json:"nis2"`
			Parts  []map[string]any `json:"participants"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "incident", "show", "--data", ee, id, "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	eventually(t, "EE sees the early warning", func() string { return runCLI(t, "incident", "show", "--data", ee, id).stdout }, "ANSSI")
	if v.Status != "containment" || len(v.Detail.Tasks) != 1 || v.Detail.Tasks[0].DoneAt == nil || len(v.Detail.Parts) != 2 {
		t.Fatalf("EE's JSON view: %+v", v)
	}
	var list []struct {
		ID     string `json:"id"`
		Detail struct {
			RSIT string `json:"rsit"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "incident", "list", "--data", fr, "--json").stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Detail.RSIT != "malicious-code:infected-system" {
		t.Fatalf("FR's list: %+v", list)
	}
	if r := runCLI(t, "incident", "close", "--data", ee, id); r.code != 1 || !strings.Contains(r.stderr, "only the node that opened") {
		t.Errorf("EE closes FR's incident: exit %d %s", r.code, r.stderr)
	}
	mustCLI(t, "incident", "close", "--data", fr, id, "--note", "restored")
	if out := mustCLI(t, "incident", "list", "--data", fr).stdout; !strings.Contains(out, "closed, NIS2 reports pending") {
		t.Errorf("closed with the notification due:\n%s", out)
	}
	if r := runCLI(t, "incident", "show", "--data", fr, "incident--00000000-0000-4000-8000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "no incident") {
		t.Errorf("unknown incident: exit %d %s", r.code, r.stderr)
	}
}

// ---- running the command line in-process ----

const adminPassword = "a test password that is long"

type cliResult struct {
	code           int
	stdout, stderr string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func cliCtx(ctx context.Context, t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb lockedBuffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Clock: clock.System{},
		Getenv: func(k string) string {
			if k == "ENTRAIDE_ADMIN_PASSWORD" {
				return adminPassword
			}
			return ""
		}}
	code := cli.Main(ctx, args, env)
	return cliResult{code, out.String(), errb.String()}
}

func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	return cliCtx(context.Background(), t, args...)
}

func mustCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func cliNode(t *testing.T, name, country, port string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	mustCLI(t, "init", "--data", dir, "--name", name, "--org", strings.ToUpper(name), "--country", country,
		"--fed-endpoint", "https://127.0.0.1:"+port+"/", "--poc", "role=csirt-24x7,name=Duty desk,email=duty@"+country+".example")
	return dir
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// eventually polls get until its output contains want (deliveries run in
// the serving nodes), and returns that output.
func eventually(t *testing.T, what string, get func() string, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := get()
		if strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%q):\n%s", what, want, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
