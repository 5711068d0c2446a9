package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// leftIn lists what a demo left in the directory it was given.
func leftIn(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// What CI runs: the headless demo plays the built-in exercise to the end,
// prints the scoreboard, exits 0, and leaves nothing behind.
func TestDemoHeadless(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now()
	r := run(t, nil, "", "demo", "--headless", "--nations", "3", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo --headless: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("demo --headless --nations 3 took %v", time.Since(t0))
	for _, s := range []string{
		"*** EXERCISE ransomware-hospitals — scoreboard from the stores of its 4 nodes at ",
		"\nRansomware wave against hospitals\n",
		" played, 0 failed, in ",
		"NODE     OPENED  RECEIVED",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	// One row per node, in the scenario's order, the hub last.
	rows := regexp.MustCompile(`(?m)^(cert-[a-z]{2}) +\d`).FindAllStringSubmatch(r.stdout, -1)
	var nodes []string
	for _, m := range rows {
		nodes = append(nodes, m[1])
	}
	if strings.Join(nodes, " ") != "cert-fr cert-ee cert-de cert-eu" {
		t.Errorf("scoreboard rows %v:\n%s", nodes, r.stdout)
	}
	// Every node met what the scenario expected of it (the scenario's
	// missed acknowledgement is CERT-PL's, not started here).
	if strings.Contains(r.stdout, "missed") || strings.Contains(r.stdout, "Steps that failed") {
		t.Errorf("misses with three nations:\n%s", r.stdout)
	}
	for _, s := range []string{`msg="federation up" nodes=4 peerings=12`, "msg=inject at=+35m from=cert-eu kind=alert label=@eu-alert",
		"msg=answer at=+43m node=cert-fr action=ack on=@eu-alert", `msg="@be-alert left out: cert-be is not started"`,
		`msg="federation stopped; temporary directory removed"`} {
		if !strings.Contains(r.stderr, s) && !strings.Contains(r.stderr, strings.ReplaceAll(s, `msg="@`, `change="@`)) {
			t.Errorf("log lacks %q:\n%s", s, r.stderr)
		}
	}
	if left := leftIn(t, dir); len(left) != 0 {
		t.Errorf("left in %s: %v", dir, left)
	}
}

// --json gives the report and the scoreboard to scripts.
func TestDemoHeadlessJSON(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a federation")
	}
	r := run(t, nil, "", "demo", "--headless", "--nations", "2", "--json", "--dir", t.TempDir(), "--log-level", "warn")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var out struct {
		Report struct {
			Exercise string `json:"exercise"`
			Events   []struct {
				Error string `json:"error"`
			} `json:"events"`
		} `json:"report"`
		Scoreboard struct {
			Nodes []struct {
				Node string `json:"node"`
			} `json:"nodes"`
		} `json:"scoreboard"`
		Fitted []struct {
			Change string `json:"change"`
		} `json:"fitted"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if out.Report.Exercise != "ransomware-hospitals" || len(out.Report.Events) == 0 || len(out.Scoreboard.Nodes) != 3 || len(out.Fitted) == 0 {
		t.Errorf("JSON: %s", r.stdout)
	}
	if strings.Contains(r.stderr, "level=INFO") {
		t.Errorf("--log-level warn logged info:\n%s", r.stderr)
	}
}

func TestDemoUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nations", "31"}, "--nations 31: the demo starts 2 to 30 nations"},
		{[]string{"--nations", "1"}, "--nations 1: the demo starts 2 to 30 nations"},
		{[]string{"--nations", "many"}, "invalid value"},
		{[]string{"--speed", "0.5"}, "cannot play slower than real time"},
		{[]string{"--speed", "100000"}, "want a factor from 1"},
		{[]string{"--json"}, "--json goes with --headless"},
		{[]string{"--headless", "--no-exercise"}, "cannot go with --no-exercise"},
		{[]string{"--port", "70000"}, "--port 70000"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		dir := t.TempDir()
		r := run(t, nil, "", append([]string{"demo", "--dir", dir}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "entraide demo --help") {
			t.Errorf("demo %v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
		if left := leftIn(t, dir); len(left) != 0 {
			t.Errorf("demo %v left %v", c.args, left)
		}
	}
}

// The interactive demo prints each node's console and logins, keeps
// running, and stops on Ctrl-C (a cancelled context) within a bound,
// leaving no file and no listener.
func TestDemoInteractiveStops(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Clock: OSEnv().Clock}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"demo", "--nations", "2", "--no-exercise", "--dir", dir}, env) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "keeps running") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("never ready:\n%s\n%s", out.String(), errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("exited %d before Ctrl-C:\n%s\n%s", code, out.String(), errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	text := out.String()
	urls := regexp.MustCompile(`https://(127\.0\.0\.1:\d+)/console/`).FindAllStringSubmatch(text, -1)
	if len(urls) != 3 {
		t.Fatalf("%d console URLs:\n%s", len(urls), text)
	}
	for _, s := range []string{"NODE     COUNTRY  CONSOLE", "cert-fr  FR", "cert-ee  EE", "cert-eu  EU", `log in as "analyst"`, "fr-ee (2 members, up to TLP:AMBER+STRICT)"} {
		if !strings.Contains(text, s) {
			t.Errorf("output lacks %q:\n%s", s, text)
		}
	}
	for _, u := range urls {
		c, err := net.DialTimeout("tcp", u[1], time.Second)
		if err != nil {
			t.Errorf("console %s: %v", u[1], err)
			continue
		}
		c.Close()
	}
	t0 := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after Ctrl-C:\n%s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop within 20 s of Ctrl-C")
	}
	t.Logf("stopped in %v", time.Since(t0))
	for _, u := range urls {
		if c, err := net.DialTimeout("tcp", u[1], time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo stopped", u[1])
		}
	}
	if left := leftIn(t, dir); len(left) != 0 {
		t.Errorf("left in %s: %v", dir, left)
	}
}

// BenchmarkDemoHeadless measures the command CI runs, at the default size
// (six nations and the hub): start, peering, the whole built-in exercise,
// the scoreboard and the clean-up. The figure: under 60 s on two
// cores.
func BenchmarkDemoHeadless(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		var out, errb syncBuffer
		env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Clock: OSEnv().Clock}
		if code := Main(context.Background(), []string{"demo", "--headless", "--dir", dir, "--log-level", "warn"}, env); code != 0 {
			b.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
		}
	}
}

// A step that fails makes the headless demo exit 1, after the scoreboard
// that lists it; a scenario of one's own (--scenario) is checked before
// any node is made.
func TestDemoHeadlessFailedStep(t *testing.T) {
	dir := t.TempDir()
	scen := filepath.Join(t.TempDir(), "drill.json")
	drill := `{"name":"broken-drill","participants":["cert-fr","cert-ee","cert-eu"],"injects":[
 {"label":"ok","at":"+0m","from":"cert-fr","kind":"alert","input":{"to":["cert-ee"],"tlp":"amber","title":"Fine","severity":"2","ack_by":"1h"},
  "expect":[{"node":"cert-ee","action":"ack","within":"30m","auto":{"after":"5m","input":{"answer":"not-affected"}}}]},
 {"label":"bad","at":"+10m","from":"cert-fr","kind":"alert","input":{"communities":["nowhere"],"tlp":"amber","title":"To a community nobody has","severity":"2"}}]}`
	if err := os.WriteFile(scen, []byte(drill), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "", "demo", "--headless", "--nations", "2", "--scenario", scen, "--dir", dir)
	if r.code != 1 {
		t.Fatalf("exit %d; want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Steps that failed (1):") || !strings.Contains(r.stdout, "open alert on @bad: ") {
		t.Errorf("scoreboard:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "entraide demo: 1 of the exercise's 3 steps failed (listed above)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if left := leftIn(t, dir); len(left) != 0 {
		t.Errorf("left in %s: %v", dir, left)
	}

	// A scenario that does not validate: its problems, no federation.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"name":"x","participants":["cert-fr"],"injects":[{"at":"+0m","from":"cert-xx","kind":"alert","input":{}}]}`), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--headless", "--scenario", bad}, 1, "problem"},
		{[]string{"--headless", "--scenario", filepath.Join(dir, "none.json")}, 1, "no such file"},
		{[]string{"--scenario", scen, "--no-exercise"}, 2, "choose one"},
	} {
		r := run(t, nil, "", append([]string{"demo", "--dir", dir}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "nodes created") {
			t.Errorf("demo %v: exit %d %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	if left := leftIn(t, dir); len(left) != 0 {
		t.Errorf("left in %s: %v", dir, left)
	}
}
