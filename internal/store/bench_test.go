package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/store/storetest"
)

// Benchmarks run against both engines:
//
//	go test -run '^$' -bench . ./internal/store/
//	ENTRAIDE_BENCH_OBJECTS=1000000 go test -run '^$' -bench . -timeout 1h ./internal/store/
//
// BenchmarkListPage and BenchmarkReadAll share one store per engine holding
// ENTRAIDE_BENCH_OBJECTS indicators (default 100,000), built once.

const benchCollection = "5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"

// benchBatch is the AddObjects batch size of imports.
const benchBatch = 2000

func benchObjects() int {
	if v := os.Getenv("ENTRAIDE_BENCH_OBJECTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

// benchOpen opens a fresh store of the named engine; the cleanup is for the
// caller to run.
func benchOpen(engine string) (store.Store, func(), error) {
	ctx := context.Background()
	clk := clock.System{}
	switch engine {
	case "sqlite":
		dir, err := os.MkdirTemp("", "entraide-bench-")
		if err != nil {
			return nil, nil, err
		}
		s, err := store.Open(ctx, filepath.Join(dir, "entraide.db"), clk)
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		return s, func() { s.Close(); os.RemoveAll(dir) }, nil
	default:
		dsn, drop, err := pgtest.NewDatabase()
		if err != nil {
			return nil, nil, err
		}
		s, err := store.Open(ctx, dsn, clk)
		if err != nil {
			drop()
			return nil, nil, err
		}
		return s, func() { s.Close(); drop() }, nil
	}
}

func skipUnavailable(b *testing.B, engine string, err error) {
	b.Helper()
	if engine == "postgres" && os.Getenv("CI") != "true" {
		b.Skipf("postgres: %v", err)
	}
	b.Fatalf("%s: %v", engine, err)
}

// importAll adds objs to the bench collection in batches.
func importAll(ctx context.Context, s store.Store, objs []*stix.Object) error {
	for i := 0; i < len(objs); i += benchBatch {
		if _, err := s.AddObjects(ctx, benchCollection, objs[i:min(i+benchBatch, len(objs))]); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkAddObjects measures an import: batches of benchBatch new
// indicators into a store that grows as the benchmark runs.
func BenchmarkAddObjects(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			s, cleanup, err := benchOpen(engine)
			if err != nil {
				skipUnavailable(b, engine, err)
			}
			defer cleanup()
			ctx := context.Background()
			if err := s.CreateCollection(ctx, store.Collection{ID: benchCollection, Title: "bench"}); err != nil {
				b.Fatal(err)
			}
			// Generating (parsing) objects is not the store's work.
			const pool = 50
			batches := make([][]*stix.Object, 0, pool)
			b.ResetTimer()
			objects := 0
			for i := 0; b.Loop(); i++ {
				if i%pool == 0 {
					b.StopTimer()
					batches = batches[:0]
					for j := range pool {
						batches = append(batches, storetest.Indicators(benchBatch, uint64(1000+i+j)))
					}
					b.StartTimer()
				}
				if _, err := s.AddObjects(ctx, benchCollection, batches[i%pool]); err != nil {
					b.Fatal(err)
				}
				objects += benchBatch
			}
			b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// fixture is a store holding benchObjects() indicators, shared by the read
// benchmarks of one engine.
type fixture struct {
	s       store.Store
	n       int
	lastCur string // the cursor of the last page with limit 1000
	err     error
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*fixture{}
	cleanups   []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}

func benchFixture(b *testing.B, engine string) *fixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f := fixtures[engine]; f != nil {
		if f.err != nil {
			skipUnavailable(b, engine, f.err)
		}
		return f
	}
	f := &fixture{n: benchObjects()}
	fixtures[engine] = f
	s, cleanup, err := benchOpen(engine)
	if err != nil {
		f.err = err
		skipUnavailable(b, engine, err)
	}
	cleanups = append(cleanups, cleanup)
	f.s = s
	ctx := context.Background()
	if err := s.CreateCollection(ctx, store.Collection{ID: benchCollection, Title: "bench"}); err != nil {
		b.Fatal(err)
	}
	for done := 0; done < f.n; {
		k := min(100_000, f.n-done)
		if err := importAll(ctx, s, storetest.Indicators(k, uint64(done))); err != nil {
			b.Fatal(err)
		}
		done += k
	}
	// Walk to the last page once.
	q := store.Query{Limit: 1000}
	for {
		p, err := s.ListObjects(ctx, benchCollection, q, false)
		if err != nil {
			b.Fatal(err)
		}
		if p.Next == "" {
			break
		}
		f.lastCur = q.Next
		q.Next = p.Next
	}
	f.lastCur = q.Next
	return f
}

// BenchmarkListPage reads one page of 1000 objects (with their JSON) at the
// start and at the end of a large collection: keyset paging makes them cost
// the same.
func BenchmarkListPage(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			f := benchFixture(b, engine)
			for _, at := range []struct {
				name string
				next string
			}{{"first", ""}, {"last", f.lastCur}} {
				b.Run(at.name, func(b *testing.B) {
					ctx := context.Background()
					for b.Loop() {
						p, err := f.s.ListObjects(ctx, benchCollection, store.Query{Limit: 1000, Next: at.next}, true)
						if err != nil {
							b.Fatal(err)
						}
						if len(p.Entries) == 0 {
							b.Fatal("empty page")
						}
					}
				})
			}
		})
	}
}

// BenchmarkReadAll reads the whole collection (with the objects' JSON) in
// pages of 1000.
func BenchmarkReadAll(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			f := benchFixture(b, engine)
			ctx := context.Background()
			objects := 0
			for b.Loop() {
				q := store.Query{Limit: 1000}
				n := 0
				for {
					p, err := f.s.ListObjects(ctx, benchCollection, q, true)
					if err != nil {
						b.Fatal(err)
					}
					n += len(p.Entries)
					if p.Next == "" {
						break
					}
					q.Next = p.Next
				}
				if n != f.n {
					b.Fatal(fmt.Sprintf("read %d objects, want %d", n, f.n))
				}
				objects += n
			}
			b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}
