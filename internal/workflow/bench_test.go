package workflow_test

// Benchmarks of reading the cooperation workflows at scale: what
// `entraide status` costs on a node with many open cases. Results and their
// reading are in docs/benchmarks.md (issue 4).
//
//	go test -run '^$' -bench StatusDue10k -benchtime 1x ./internal/workflow/                 # 500 cases, smoke
//	ENTRAIDE_BENCH_CASES=10000 go test -run '^$' -bench StatusDue10k -benchtime 20x -count 3 ./internal/workflow/
//
// ENTRAIDE_BENCH_CASES is the number of open cases (default 500, small
// enough for the CI smoke run; the figure is 10,000).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/cli"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/workflow"
)

func benchCases(b *testing.B) int {
	s := os.Getenv("ENTRAIDE_BENCH_CASES")
	if s == "" {
		return 500
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("ENTRAIDE_BENCH_CASES=%q: want a positive number", s)
	}
	return n
}

// BenchmarkStatusDue10k: a node holding ENTRAIDE_BENCH_CASES open alerts
// (10,000 for the figure), each with an open acknowledgement
// deadline, about half of them overdue; what `entraide status` costs there.
// Target (issue 4): < 50 ms.
//
// The cases are made the way a node makes them: Engine.Open, one alert at a
// time (signed, validated, stored with its index row and outbox rows in one
// transaction, folded), to 1–5 of five peers with deadlines spread over two
// days; the outbox rows are then marked delivered, as on a node whose peers
// are up (the peers never run: no delivery competes with the reads). Then
// the fake clock moves a day on.
//
// Sub-benchmarks, per engine: query (the store's due query, as Due runs
// it), due (Engine.Due(ctx, 0), what status calls: at most 1,000 items),
// due-all (Engine.Due for every case), peers (Federation.Status, the
// peers' queues, the other half of status), open (what status does before
// it reads anything: opening the node, its federation and workflows), and
// status (`entraide status --data DIR`, in process: all of it and the
// table).
func BenchmarkStatusDue10k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchStatusDue(b, nil) })
	b.Run("postgresql", func(b *testing.B) {
		benchStatusDue(b, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
	})
}

func benchStatusDue(b *testing.B, db func(testing.TB, string) string) {
	n := benchCases(b)
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	names := []string{"fr", "de", "ee", "be", "it", "nl"}
	fed := fedtest.Start(b, fedtest.Options{DB: db, Clock: clk, Kinds: []*workflow.Kind{alert.Kind},
		Federation: federation.Config{CosignInterval: -1}}, names...)
	fed.StopAll() // no listener, no delivery: the node is read while nothing else runs
	fr := fed.Node("fr")

	// Four at a time, as concurrent users would: signing and checking
	// overlap with the other opens' commits.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				if err := openAlert(ctx, fr.Workflow, names[1:], i); err != nil {
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
	opened := time.Since(start)
	delivered := 0
	for _, p := range names[1:] {
		for {
			rows, err := fr.Store.PendingOutbox(ctx, fed.ID(p), clk.Now().Add(time.Hour), 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(rows) == 0 {
				break
			}
			seqs := make([]int64, len(rows))
			for i, r := range rows {
				seqs[i] = r.Seq
			}
			if err := fr.Store.MarkDelivered(ctx, seqs, clk.Now()); err != nil {
				b.Fatal(err)
			}
			delivered += len(rows)
		}
	}
	b.Logf("%d cases opened in %v (%.0f/s), %d deliveries marked", n, opened.Round(time.Millisecond), float64(n)/opened.Seconds(), delivered)
	clk.Advance(24 * time.Hour)

	ws, err := store.Workflows(fr.Store)
	if err != nil {
		b.Fatal(err)
	}
	want := min(n, store.DefaultLimit)
	b.Run("query", func(b *testing.B) {
		for b.Loop() {
			cs, err := ws.WorkflowCases(ctx, store.WorkflowQuery{DueOnly: true, NoState: true})
			if err != nil || len(cs) != want {
				b.Fatalf("%d cases, want %d: %v", len(cs), want, err)
			}
		}
	})
	b.Run("due", func(b *testing.B) {
		overdue := 0
		for b.Loop() {
			due, err := fr.Workflow.Due(ctx, 0)
			if err != nil || len(due) != want {
				b.Fatalf("%d due, want %d: %v", len(due), want, err)
			}
			overdue = 0
			for _, d := range due {
				if d.Overdue {
					overdue++
				}
			}
		}
		b.ReportMetric(float64(overdue), "overdue")
	})
	b.Run("due-all", func(b *testing.B) {
		for b.Loop() {
			due, err := fr.Workflow.Due(ctx, n)
			if err != nil || len(due) != n {
				b.Fatalf("%d due, want %d: %v", len(due), n, err)
			}
		}
	})
	b.Run("peers", func(b *testing.B) {
		for b.Loop() {
			ps, err := fr.Fed.Status(ctx)
			if err != nil || len(ps) != len(names)-1 {
				b.Fatalf("%d peers: %v", len(ps), err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			nd, err := node.Open(ctx, fr.Dir, func(string) string { return "" }, nil, clk)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := cooperation.Open(ctx, nd, federation.Config{}); err != nil {
				b.Fatal(err)
			}
			nd.Close()
		}
	})
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Clock: clk,
		Getenv: func(string) string { return "" }, IsTerminal: func(io.Writer) bool { return false }}
	b.Run("status", func(b *testing.B) {
		for b.Loop() {
			if code := cli.Main(ctx, []string{"status", "--data", fr.Dir}, env); code != 0 {
				b.Fatalf("status exited %d", code)
			}
		}
	})
	// What status says against what the node holds: its counts come from
	// the due list, which Due caps at 1,000 items.
	var out bytes.Buffer
	env.Stdout = &out
	if code := cli.Main(ctx, []string{"status", "--data", fr.Dir}, env); code != 0 {
		b.Fatalf("status exited %d", code)
	}
	all, err := fr.Workflow.Due(ctx, n)
	if err != nil {
		b.Fatal(err)
	}
	overdue := 0
	for _, d := range all {
		if d.Overdue {
			overdue++
		}
	}
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, "item(s) due") {
			b.Logf("status says %q; the node holds %d due, %d overdue", strings.TrimSpace(line), len(all), overdue)
		}
	}
}

// openAlert opens alert number i: to 1–5 of the peers, deadline in 1–47 h.
func openAlert(ctx context.Context, e *workflow.Engine, peers []string, i int) error {
	to := []string{}
	for j := range i%len(peers) + 1 {
		to = append(to, "cert-"+peers[(i+j)%len(peers)])
	}
	in, err := json.Marshal(map[string]any{"to": to, "tlp": "amber", "title": fmt.Sprintf("Phishing wave against ministries, report %d", i),
		"severity": strconv.Itoa(i % 6), "sectors": []string{"public-administration"}, "countries": []string{"FR"},
		"ack_by": fmt.Sprintf("%dh", 1+i%47)})
	if err != nil {
		return err
	}
	_, err = e.Open(ctx, "alert", "bench", in)
	return err
}
