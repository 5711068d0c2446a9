package web_test

// Page benchmarks: the server time of each console page on a node holding
// many cases and objects. The figure: every page in < 100 ms with
// 100,000 objects and 10,000 workflows.
//
//	go test -run '^$' -bench Pages -benchtime 20x ./internal/web/                 # smoke: 300 cases, 3,000 objects
//	ENTRAIDE_BENCH_CASES=10000 ENTRAIDE_BENCH_OBJECTS=100000 \
//	  go test -run '^$' -bench Pages -benchtime 50x -count 3 -timeout 60m ./internal/web/
//	go test -run '^$' -bench 'Pages/Overview' ./internal/web/                # one page
//
// ENTRAIDE_BENCH_CASES is the number of workflows FR holds (half alerts it
// sent, a quarter alerts it received, a quarter incidents it opened);
// ENTRAIDE_BENCH_OBJECTS the number of indicators in its default
// collection. The node is seeded once per run of BenchmarkPages. Pages
// are served by the console's handler in process: server time, no TLS,
// no network.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/web"
)

func benchEnv(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		b.Fatalf("%s=%q: want a number", name, s)
	}
	return n
}

// benchNode is FR, seeded, with its console handler and an admin session.
type benchNode struct {
	h      http.Handler
	cookie string
	alert  string // a received alert
	inc    string // an incident
}

func seed(b *testing.B) *benchNode {
	b.Helper()
	cases := benchEnv(b, "ENTRAIDE_BENCH_CASES", 300)
	objects := benchEnv(b, "ENTRAIDE_BENCH_OBJECTS", 3000)
	ctx := context.Background()
	clk := clock.NewFake(start)
	names := []string{"fr", "de", "ee", "be"}
	fed := fedtest.Start(b, fedtest.Options{Clock: clk, Kinds: cooperation.Kinds(),
		Federation: federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}},
		names...)
	fr, de := fed.Node("fr"), fed.Node("de")
	t0 := time.Now()
	bn := &benchNode{}
	// Received alerts first, while the nodes run: DE's to FR.
	recv := cases / 4
	// The clock moves a second per case: cases opened in the same
	// microsecond by the thousand would make every "newest first" query
	// sort them all, which no real node sees.
	parallel(b, recv, func(i int) error {
		clk.Advance(time.Second)
		res, err := de.Workflow.Open(ctx, "alert", "bench", mustJSON(b, map[string]any{"to": []string{"cert-fr"}, "tlp": "amber",
			"title": fmt.Sprintf("Credential phishing wave, report %d", i), "severity": strconv.Itoa(i % 6), "ack_by": fmt.Sprintf("%dh", 1+i%47)}))
		if err == nil && i == 0 {
			bn.alert = res.ID
		}
		return err
	})
	fed.WaitFor(fmt.Sprintf("%d alerts received at FR", recv), time.Duration(10+recv/20)*time.Second, func() bool {
		l, err := fr.Workflow.List(ctx, "alert", false, recv+1)
		return err == nil && len(l) >= recv
	})
	fed.StopAll() // what follows is read while nothing else runs
	sent, incidents := cases/2, cases-cases/2-recv
	parallel(b, sent, func(i int) error {
		clk.Advance(time.Second)
		to := []string{"cert-de", "cert-ee", "cert-be"}[:1+i%3]
		_, err := fr.Workflow.Open(ctx, "alert", "bench", mustJSON(b, map[string]any{"to": to, "tlp": "amber",
			"title": fmt.Sprintf("Ransomware against hospitals, report %d", i), "severity": strconv.Itoa(i % 6), "ack_by": fmt.Sprintf("%dh", 1+i%47)}))
		return err
	})
	parallel(b, incidents, func(i int) error {
		clk.Advance(time.Second)
		res, err := fr.Workflow.Open(ctx, "incident", "bench", mustJSON(b, map[string]any{"to": []string{"cert-de"}, "tlp": "amber",
			"title": fmt.Sprintf("Wiper at an operator, case %d", i), "severity": strconv.Itoa(i % 6)}))
		if err == nil && i == 0 {
			bn.inc = res.ID
		}
		return err
	})
	var def store.Collection
	cs, err := fr.Store.Collections(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cs {
		if c.Alias == node.DefaultCollectionAlias {
			def = c
		}
	}
	for i := 0; i < objects; i += 1000 {
		var batch []*stix.Object
		for j := i; j < min(i+1000, objects); j++ {
			o, err := stix.Parse(fedtest.Indicator(fmt.Sprintf("Indicator %d of the seeded collection", j)))
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, o)
		}
		if _, err := fr.Store.AddObjects(ctx, def.ID, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d workflows and %d objects in %v", cases, objects, time.Since(t0).Round(time.Millisecond))
	clk.Advance(12 * time.Hour)
	w, err := web.New(web.Options{Engine: fr.Workflow, Federation: fr.Fed, Store: fr.Store, Clock: clk,
		Node: web.NodeInfo{Name: "cert-fr", Country: "FR"},
		Directory: func(ctx context.Context) ([]contact.Node, error) {
			return contact.Nodes(ctx, fr.Node, fr.Fed.Registry())
		}})
	if err != nil {
		b.Fatal(err)
	}
	bn.h = w.Handler()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "https://node.example/console/login", strings.NewReader(url.Values{"name": {"admin"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	bn.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("login: %d", rec.Code)
	}
	bn.cookie = strings.Split(rec.Header().Get("Set-Cookie"), ";")[0]
	return bn
}

func parallel(b *testing.B, n int, f func(i int) error) {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPages: each console page's server time, one sub-benchmark a
// page, on one seeded node (seeding 10,000 workflows takes minutes: it is
// done once per run, not once per page).
func BenchmarkPages(b *testing.B) {
	bn := seed(b)
	for _, pg := range []struct{ name, path string }{
		{"Overview", "/console/"},
		{"Alerts", "/console/alerts?box=inbox"},
		{"AlertsSent", "/console/alerts?box=sent&limit=200"},
		{"AlertDetail", "/console/alerts/" + bn.alert},
		{"Incidents", "/console/incidents"},
		{"IncidentDetail", "/console/incidents/" + bn.inc},
		{"Contacts", "/console/contacts"},
		{"Intel", "/console/intel?type=indicator"},
		// A text that matches nothing, the worst case (the search reads
		// its whole budget of pages).
		{"IntelSearch", "/console/intel?q=no-such-text-anywhere"},
		{"Peers", "/console/peers"},
		{"Sharing", "/console/sharing"},
		{"Audit", "/console/audit"},
	} {
		b.Run(pg.name, func(b *testing.B) { benchPage(b, bn, pg.path) })
	}
}

// benchPage benchmarks one GET as the admin, checking the answer.
func benchPage(b *testing.B, bn *benchNode, p string) {
	var size int
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "https://node.example"+p, nil)
		req.Header.Set("Cookie", bn.cookie)
		bn.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("GET %s: %d\n%s", p, rec.Code, rec.Body.String())
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}
