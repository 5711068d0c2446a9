package taxii

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPageObjects pages through a collection of N objects (default
// 20,000; ENTRAIDE_BENCH_OBJECTS sets it) over real HTTPS on loopback with
// limit=1000, on SQLite, and reports objects/s.
func BenchmarkPageObjects(b *testing.B) {
	total := 20000
	if s := os.Getenv("ENTRAIDE_BENCH_OBJECTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("ENTRAIDE_BENCH_OBJECTS=%q: want a positive integer", s)
		}
		total = n
	}
	n := newNode(b, "", Config{})
	ctx := context.Background()
	c := n.client(n.aliceToken)
	for start := 0; start < total; start += 1000 {
		var batch []json.RawMessage
		for i := start; i < min(start+1000, total); i++ {
			batch = append(batch, indicator(i, 0, "bench"))
		}
		if _, err := c.AddObjects(ctx, collRW, batch); err != nil {
			b.Fatal(err)
		}
	}
	// Each pass follows next from the first page to the last and times
	// both ends: with keyset paging the last page costs what the first does.
	loops := 0
	var firstPage, lastPage time.Duration
	for b.Loop() {
		k := 0
		q := Query{Limit: 1000}
		var last time.Duration
		for page := 0; ; page++ {
			t0 := time.Now()
			p, err := c.ObjectsPage(ctx, collRW, q)
			d := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if page == 0 {
				firstPage += d
			}
			last = d
			k += len(p.Objects)
			if p.Next == "" {
				break
			}
			q.Next = p.Next
		}
		lastPage += last
		if k != total {
			b.Fatalf("paged through %d objects, want %d", k, total)
		}
		loops++
	}
	b.ReportMetric(float64(total*loops)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(firstPage.Microseconds())/float64(loops)/1000, "first-page-ms")
	b.ReportMetric(float64(lastPage.Microseconds())/float64(loops)/1000, "last-page-ms")
}
