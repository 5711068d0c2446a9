package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/exercise"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// syncBuffer collects a log written from several goroutines.
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

// waitFor polls cond until it holds, for at most timeout (bounded).
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client trusts one node's self-signed user-listener certificate.
func client(t *testing.T, n *Node) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(n.Dir, node.TLSCert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in " + node.TLSCert)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// refused reports whether nothing listens on addr any more.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

// Three nations and the hub start, each pins the three others, the
// communities exist on each of their members, every node serves its
// console, TAXII and the API with the logins printed, an alert crosses
// and its acknowledgement comes back — and Close leaves no file and no
// listener behind.
func TestFederationOfThree(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	var logBuf syncBuffer
	f, err := Start(ctx, Options{Nations: 3, Dir: parent, Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); !slices.Equal(got, []string{"cert-fr", "cert-ee", "cert-de", "cert-eu"}) {
		t.Fatalf("nodes %v", got)
	}
	if filepath.Dir(f.Dir) != parent {
		t.Errorf("temporary directory %s is not in %s", f.Dir, parent)
	}

	// Peered: each node holds the others, by the names the scenario uses.
	for _, n := range f.Nodes {
		peers, err := n.Store.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range peers {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		want := slices.DeleteFunc(f.Names(), func(s string) bool { return s == n.Name })
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("%s pins %v; want %v", n.Name, names, want)
		}
	}

	// The communities, on each member with the same members; not on others.
	for _, c := range f.Communities() {
		var ids []string
		for _, m := range c.Members {
			ids = append(ids, f.Node(m).Identity.IdentityID)
		}
		slices.Sort(ids)
		for _, n := range f.Nodes {
			got, err := n.Store.Community(ctx, c.Name)
			member := slices.Contains(c.Members, n.Name)
			switch {
			case member && err != nil:
				t.Errorf("%s on %s: %v", c.Name, n.Name, err)
			case member && (!slices.Equal(got.Members, ids) || got.MaxTLP != c.MaxTLP):
				t.Errorf("%s on %s: members %v, max %v; want %v, %v", c.Name, n.Name, got.Members, got.MaxTLP, ids, c.MaxTLP)
			case !member && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s exists on %s, not a member (err %v)", c.Name, n.Name, err)
			}
		}
	}
	if len(f.Communities()[0].Members) != 2 || len(f.Communities()[1].Members) != 4 || len(f.Communities()[2].Members) != 3 {
		t.Errorf("communities %+v", f.Communities())
	}

	// The user listener: TAXII and the API with the analyst's login, the
	// console's login page, a browser at / sent to the console.
	fr := f.Node("cert-fr")
	hc := client(t, fr)
	req, _ := http.NewRequest("GET", fr.URL+"taxii2/", nil)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.SetBasicAuth(fr.User, fr.Password)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "api_roots") {
		t.Fatalf("TAXII discovery as %s: %d %s", fr.User, resp.StatusCode, body)
	}
	req.SetBasicAuth(fr.User, f.Node("cert-ee").Password) // another node's password
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another node's password: %d; want 401", resp.StatusCode)
	}
	resp, err = hc.Get(fr.ConsoleURL + "login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<form") {
		t.Errorf("console login page: %d %.200s", resp.StatusCode, body)
	}
	// The printed login opens the console.
	resp, err = hc.PostForm(fr.ConsoleURL+"login", url.Values{"name": {fr.User}, "password": {fr.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) == 0 {
		t.Fatalf("console login as %s: %d, cookies %v", fr.User, resp.StatusCode, cookies)
	}
	req, _ = http.NewRequest("GET", fr.ConsoleURL, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "cert-fr") {
		t.Errorf("console overview after login: %d %.300s", resp.StatusCode, body)
	}
	req, _ = http.NewRequest("GET", fr.URL, nil)
	req.Header.Set("Accept", "text/html")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Errorf("a browser at /: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	roles, err := store.Roles(fr.Store)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := roles.UserRole(ctx, ConsoleUser); err != nil || r != store.RoleAnalyst {
		t.Errorf("role of %s: %q, %v", ConsoleUser, r, err)
	}

	// An alert crosses from France to Estonia, and its acknowledgement
	// comes back, over the federation listeners.
	ee := f.Node("cert-ee")
	in := `{"to":["cert-ee"],"tlp":"amber","title":"Wiper against grid operators","severity":"4","sectors":["energy"],"countries":["FR"],"ack_by":"4h"}`
	r, err := fr.Engine.Open(ctx, "alert", "analyst", json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Refused) > 0 {
		t.Fatalf("refused: %+v", r.Refused)
	}
	waitFor(t, "the alert to reach cert-ee", 20*time.Second, func() bool {
		_, err := ee.Engine.Get(ctx, r.ID)
		return err == nil
	})
	ack, err := ee.Engine.Act(ctx, r.ID, "ack", "analyst", json.RawMessage(`{"answer":"affected","comment":"two substations"}`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the acknowledgement to reach cert-fr", 20*time.Second, func() bool {
		v, err := fr.Engine.Get(ctx, r.ID)
		if err != nil {
			return false
		}
		return slices.ContainsFunc(v.Timeline, func(e workflow.EventView) bool { return e.ID == ack.Object })
	})
	// cert-fr holds the acknowledgement once its transaction commits; its
	// answer to the push (after the audit) comes a little later. Close
	// only when cert-ee has it, so that no push is cut short.
	waitFor(t, "cert-ee's push to be answered", 20*time.Second, func() bool {
		st, err := ee.Fed.Status(ctx)
		if err != nil {
			return false
		}
		for _, p := range st {
			if p.Name == "cert-fr" {
				return p.Queue.Pending == 0
			}
		}
		return false
	})

	// Close: every listener refuses, the temporary directory is gone.
	addrs := []string{}
	for _, n := range f.Nodes {
		addrs = append(addrs, strings.TrimSuffix(strings.TrimPrefix(n.URL, "https://"), "/"), n.FedAddr)
	}
	t0 := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Errorf("Close took %v", d)
	}
	if _, err := os.Stat(f.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Close (%v)", f.Dir, err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left in %s: %v", parent, ents)
	}
	for _, a := range addrs {
		if !refused(a) {
			t.Errorf("%s still accepts connections after Close", a)
		}
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if strings.Contains(logBuf.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", logBuf.String())
	}
}

// --nations out of range is refused before anything is made.
func TestStartRefusesNations(t *testing.T) {
	parent := t.TempDir()
	for _, n := range []int{-1, 1, MaxNations + 1} {
		_, err := Start(context.Background(), Options{Nations: n, Dir: parent})
		var ne *NationsError
		if !errors.As(err, &ne) || ne.N != n || !strings.Contains(err.Error(), "2 to 30") {
			t.Errorf("--nations %d: %v", n, err)
		}
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left in %s: %v", parent, ents)
	}
}

// A start that fails half-way (a console port taken) removes what it
// made.
func TestStartFailureCleansUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	parent := t.TempDir()
	// The second node's console port is the one taken.
	_, err = Start(context.Background(), Options{Nations: 2, Dir: parent, ConsolePort: port - 1})
	if err == nil || !strings.Contains(err.Error(), "console listener") {
		t.Fatalf("err %v; want the console listener's", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left in %s: %v", parent, ents)
	}
	// The first node's port, taken then released, is free again.
	if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port-1)); err != nil {
		t.Errorf("port %d still held: %v", port-1, err)
	} else {
		l.Close()
	}
}

// Cancelling the context (Ctrl-C) stops an exercise playing in real time
// promptly, and Close then stops everything within its bound.
func TestCancelStopsPromptly(t *testing.T) {
	f, err := Start(context.Background(), Options{Nations: 2, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		// At speed 1 the scenario would take hours.
		res, err := f.Play(ctx, PlayOptions{Speed: 1})
		done <- out{res, err}
	}()
	waitFor(t, "the first inject", 20*time.Second, func() bool {
		cases, err := f.Node("cert-eu").Engine.List(context.Background(), "", false, 10)
		return err == nil && len(cases) > 0
	})
	t0 := time.Now()
	cancel()
	select {
	case o := <-done:
		if !errors.Is(o.err, context.Canceled) {
			t.Errorf("Play after cancel: %v", o.err)
		}
		if o.res == nil || o.res.Report == nil || len(o.res.Report.Events) == 0 {
			t.Errorf("no report of what was played: %+v", o.res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Play did not return within 5 s of the cancel")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Errorf("stopping took %v", d)
	}
	if _, err := os.Stat(f.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists", f.Dir)
	}
}

// The built-in exercise plays to the end across the default federation on
// a simulated clock: every step played, on time to the millisecond, and
// the scoreboard shows what the scenario says — CERT-PL's acknowledgement
// missed (no simulated player), CERT-EE's late, everything else met.
func TestPlayBuiltin(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("plays the whole built-in exercise")
	}
	clk := clock.NewFake(time.Now())
	var logBuf syncBuffer
	f, err := Start(context.Background(), Options{Dir: t.TempDir(), Clock: clk, Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := f.Play(context.Background(), PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fl := res.Failed(); len(fl) > 0 {
		t.Fatalf("failed steps: %+v", fl)
	}
	if len(res.Fitted) != 0 {
		t.Errorf("the default federation needs no fitting: %+v", res.Fitted)
	}
	want := len(exercise.Builtin().Events())
	if len(res.Report.Events) != want {
		t.Errorf("%d steps played; the scenario has %d", len(res.Report.Events), want)
	}
	for _, e := range res.Report.Events {
		if e.PlayedAt == nil || !e.PlayedAt.Equal(e.Scheduled) {
			t.Errorf("%s %s %s played at %v, scheduled %v", e.Offset, e.Node, e.Action, e.PlayedAt, e.Scheduled)
		}
	}
	status := map[string]string{}
	for _, x := range res.Board.Expected {
		status[x.Label+" "+x.Node+" "+x.Action] = x.Status
	}
	for k, want := range map[string]string{
		"be-alert cert-pl ack":                   exercise.Missed,
		"be-alert cert-ee ack":                   exercise.Late,
		"be-alert cert-fr ack":                   exercise.Met,
		"eu-ping cert-pl answer":                 exercise.Late,
		"fr-assist cert-fr accept":               exercise.Met,
		"fr-preservation-de cert-de acknowledge": exercise.Met,
		"it-notice cert-pl respond":              exercise.Met,
	} {
		if status[k] != want {
			t.Errorf("%s: %q; want %q", k, status[k], want)
		}
	}
	var buf bytes.Buffer
	if err := WriteScoreboard(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"*** EXERCISE ransomware-hospitals — scoreboard from the stores of its 7 nodes", "Ransomware wave", "0 failed", "cert-pl",
		"MISSED  cert-pl ack on @be-alert (a person)", "LATE    cert-ee ack on @be-alert (a simulated player): 42m"} {
		if !strings.Contains(out, s) {
			t.Errorf("scoreboard lacks %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"msg=inject at=+0m from=cert-be kind=alert label=@be-alert", "msg=answer at=+9m node=cert-fr action=ack on=@be-alert",
		`msg="exercise over"`} {
		if !strings.Contains(logBuf.String(), s) {
			t.Errorf("log lacks %q", s)
		}
	}
}

// brokenDrill has a step only the nodes can refuse (a community nobody
// has): it fails when played, the rest goes on.
const brokenDrill = `{"name":"broken-drill","participants":["cert-fr","cert-ee","cert-eu"],"injects":[
 {"label":"ok","at":"+0m","from":"cert-fr","kind":"alert","input":{"to":["cert-ee"],"tlp":"amber","title":"Fine","severity":"2","ack_by":"1h"},
  "expect":[{"node":"cert-ee","action":"ack","within":"30m","auto":{"after":"5m","input":{"answer":"not-affected"}}}]},
 {"label":"bad","at":"+10m","from":"cert-fr","kind":"alert","input":{"communities":["nowhere"],"tlp":"amber","title":"To a community nobody has","severity":"2"}},
 {"label":"after","at":"+20m","from":"cert-eu","kind":"ping","input":{"to":["cert-fr"],"tlp":"green","role":"csirt-24x7","challenge":"DRILL-7","answer_by":"1h"},
  "expect":[{"node":"cert-fr","action":"answer","within":"15m","auto":{"after":"1m","input":{"challenge":"DRILL-7"}}}]}]}`

// A step that fails is reported, logged and listed on the scoreboard;
// the exercise goes on with the others.
func TestPlayReportsFailedStep(t *testing.T) {
	clk := clock.NewFake(time.Now())
	var logBuf syncBuffer
	f, err := Start(context.Background(), Options{Nations: 2, Dir: t.TempDir(), Clock: clk, Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := f.Play(context.Background(), PlayOptions{Scenario: []byte(brokenDrill)})
	if err != nil {
		t.Fatal(err)
	}
	failed := res.Failed()
	if len(failed) != 1 || failed[0].Label != "bad" || !strings.Contains(failed[0].Error, "nowhere") {
		t.Fatalf("failed %+v", failed)
	}
	if len(res.Report.Events) != 5 {
		t.Errorf("%d steps; want 5", len(res.Report.Events))
	}
	var buf bytes.Buffer
	if err := WriteScoreboard(&buf, &Result{Scenario: res.Scenario, Report: res.Report, Board: res.Board, Took: res.Took}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Steps that failed (1):\n  +10m cert-fr: open alert on @bad: ") || !strings.Contains(buf.String(), "5 steps played, 1 failed") {
		t.Errorf("scoreboard:\n%s", buf.String())
	}
	if !strings.Contains(logBuf.String(), `level=WARN msg="exercise step failed" at=+10m node=cert-fr kind=alert action=open on=@bad`) {
		t.Errorf("log:\n%s", logBuf.String())
	}
}

// A peer that cannot be reached is logged as a delivery problem, once,
// while the object waits in the outbox.
func TestWatchLogsDeliveryProblems(t *testing.T) {
	ctx := context.Background()
	var logBuf syncBuffer
	f, err := Start(ctx, Options{Nations: 2, Dir: t.TempDir(), Log: slog.New(slog.NewTextHandler(&logBuf, nil)),
		Federation: federation.Config{PollInterval: 50 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A partner whose node is not running: its card names a port nobody
	// listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	dir := filepath.Join(t.TempDir(), "cert-xx")
	if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Name: "cert-xx", Org: "A partner that is down", Country: "LU",
		AdminPassword: "a long enough password", FedEndpoint: "https://" + down + "/",
		Contacts: []card.Contact{{Role: card.RoleCSIRT24x7, Name: "Duty officer", Email: "duty@xx.demo.example"}}}); err != nil {
		t.Fatal(err)
	}
	xx, err := node.Open(ctx, dir, func(string) string { return "" }, nil, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer xx.Close()
	card, err := xx.Card()
	if err != nil {
		t.Fatal(err)
	}
	fr := f.Node("cert-fr")
	if _, err := fr.Fed.Registry().AddAs(ctx, card, "cert-xx", time.Now()); err != nil {
		t.Fatal(err)
	}
	fr.Fed.Registry().Invalidate()
	in := `{"to":["cert-xx"],"tlp":"green","title":"To a partner that is down","severity":"1"}`
	if _, err := fr.Engine.Open(ctx, "alert", "analyst", json.RawMessage(in)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delivery problem in the log", 20*time.Second, func() bool {
		return strings.Contains(logBuf.String(), `msg="delivery problem" node=cert-fr peer=cert-xx queued=1`)
	})
	time.Sleep(3 * watchEvery) // retries go on: the problem is not logged again
	if n := strings.Count(logBuf.String(), `msg="delivery problem"`); n != 1 {
		t.Errorf("%d delivery problems logged; want 1:\n%s", n, logBuf.String())
	}
}
