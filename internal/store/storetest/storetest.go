// Package storetest is the conformance suite of store.Store: every storage
// engine runs Run, and an engine is done when it passes. It also generates
// realistic STIX objects for tests and benchmarks (Indicators).
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// Opener opens a fresh, empty store on the given clock. The suite closes it.
type Opener func(t *testing.T, clk *clock.Fake) store.Store

// Start is the fake clock's initial time in every case of the suite.
var Start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// Run runs the conformance suite against the engine open opens.
func Run(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Collections", testCollections},
		{"AddOutcomes", testAddOutcomes},
		{"Atomicity", testAtomicity},
		{"Versions", testVersions},
		{"OlderVersionLater", testOlderVersionLater},
		{"RevokedIsFinal", testRevokedIsFinal},
		{"Unversioned", testUnversioned},
		{"DateAddedPerCollection", testDateAddedPerCollection},
		{"DateAddedNeverGoesBack", testDateAddedNeverGoesBack},
		{"AddedAfter", testAddedAfter},
		{"MatchFilters", testMatchFilters},
		{"PagingStable", testPagingStable},
		{"PagingWithConcurrentAdds", testPagingWithConcurrentAdds},
		{"Cursors", testCursors},
		{"Manifest", testManifest},
		{"Delete", testDelete},
		{"Status", testStatus},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"ConcurrentAdds", testConcurrentAdds},
		{"Closed", testClosed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(Start)
			s := open(t, clk)
			t.Cleanup(func() { s.Close() })
			c.fn(t, &env{t: t, s: s, clk: clk, ctx: t.Context()})
		})
	}
	RunAudit(t, open)
	runFederation(t, open)
	runRed(t, open)
	runWorkflow(t, open)
	runSessions(t, open)
}

type env struct {
	t   *testing.T
	s   store.Store
	clk *clock.Fake
	ctx context.Context
}

var collSeq atomic.Uint64

// collection creates a collection and returns its id.
func (e *env) collection() string {
	e.t.Helper()
	n := collSeq.Add(1)
	id := fmt.Sprintf("2a1e1c3b-0d4f-4e5a-8b6c-%012x", n)
	if err := e.s.CreateCollection(e.ctx, store.Collection{ID: id, Title: fmt.Sprintf("Collection %d", n)}); err != nil {
		e.t.Fatalf("CreateCollection: %v", err)
	}
	return id
}

// add adds objs and checks the outcomes, written like "added duplicate conflict".
func (e *env) add(coll string, objs []*stix.Object, want string) []store.AddResult {
	e.t.Helper()
	res, err := e.s.AddObjects(e.ctx, coll, objs)
	if err != nil {
		e.t.Fatalf("AddObjects: %v", err)
	}
	if len(res) != len(objs) {
		e.t.Fatalf("AddObjects: %d results for %d objects", len(res), len(objs))
	}
	var got []string
	for i, r := range res {
		got = append(got, r.Outcome.String())
		if r.ID != objs[i].ID {
			e.t.Errorf("result %d: id %s, want %s (results must be in input order)", i, r.ID, objs[i].ID)
		}
	}
	if want != "" && strings.Join(got, " ") != want {
		e.t.Fatalf("AddObjects outcomes:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	return res
}

// list returns every entry of a listing, following cursors with the given limit.
func (e *env) list(coll string, q store.Query) []store.Entry {
	e.t.Helper()
	var all []store.Entry
	for pages := 0; ; pages++ {
		p, err := e.s.ListObjects(e.ctx, coll, q, true)
		if err != nil {
			e.t.Fatalf("ListObjects(%+v): %v", q, err)
		}
		if q.Limit > 0 && len(p.Entries) > q.Limit {
			e.t.Fatalf("page of %d entries, limit %d", len(p.Entries), q.Limit)
		}
		all = append(all, p.Entries...)
		if p.Next == "" {
			return all
		}
		if len(p.Entries) == 0 {
			e.t.Fatalf("empty page with a next cursor")
		}
		if pages > 100000 {
			e.t.Fatalf("listing does not end")
		}
		q.Next = p.Next
	}
}

// versions renders entries as "id@version" lines, for comparisons.
func versions(es []store.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s@%s\n", e.ID, e.Version)
	}
	return b.String()
}

func ids(objs []*stix.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}

func entryIDs(es []store.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func expectErr(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: error %v, want %v", what, err, kind)
	}
}

func testCollections(t *testing.T, e *env) {
	cs, err := e.s.Collections(e.ctx)
	if err != nil || len(cs) != 0 {
		t.Fatalf("Collections of an empty store: %v, %v", cs, err)
	}
	b := store.Collection{ID: "b0c2d4e6-0000-4000-8000-000000000002", Title: "FR–EE bilateral", Description: "CERT-FR and CERT-EE", Alias: "fr-ee",
		MediaTypes: []string{"application/stix+json;version=2.1"}}
	a := store.Collection{ID: "a0c2d4e6-0000-4000-8000-000000000001", Title: "EU CSIRTs network"}
	for _, c := range []store.Collection{b, a} {
		if err := e.s.CreateCollection(e.ctx, c); err != nil {
			t.Fatalf("CreateCollection(%s): %v", c.ID, err)
		}
	}
	got, err := e.s.Collection(e.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.Created = Start
	if fmt.Sprint(got) != fmt.Sprint(b) {
		t.Errorf("Collection:\n got %+v\nwant %+v", got, b)
	}
	got, err = e.s.Collection(e.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.MediaTypes, []string{store.MediaTypeSTIX21}) || got.Alias != "" {
		t.Errorf("defaults: media types %q alias %q", got.MediaTypes, got.Alias)
	}
	cs, err = e.s.Collections(e.ctx)
	if err != nil || len(cs) != 2 || cs[0].ID != a.ID || cs[1].ID != b.ID {
		t.Errorf("Collections: %+v, %v; want a then b", cs, err)
	}
	expectErr(t, "same id", e.s.CreateCollection(e.ctx, store.Collection{ID: a.ID, Title: "again"}), store.ErrConflict)
	expectErr(t, "same alias", e.s.CreateCollection(e.ctx,
		store.Collection{ID: "c0c2d4e6-0000-4000-8000-000000000003", Title: "x", Alias: "fr-ee"}), store.ErrConflict)
	expectErr(t, "not a UUID", e.s.CreateCollection(e.ctx, store.Collection{ID: "fr-ee", Title: "x"}), store.ErrInvalid)
	_, err = e.s.Collection(e.ctx, "d0c2d4e6-0000-4000-8000-000000000004")
	expectErr(t, "unknown collection", err, store.ErrNotFound)
	_, err = e.s.AddObjects(e.ctx, "d0c2d4e6-0000-4000-8000-000000000004", Indicators(1, 1))
	expectErr(t, "add to unknown collection", err, store.ErrNotFound)
	_, err = e.s.ListObjects(e.ctx, "d0c2d4e6-0000-4000-8000-000000000004", store.Query{}, false)
	expectErr(t, "list unknown collection", err, store.ErrNotFound)
	_, err = e.s.DeleteObject(e.ctx, "d0c2d4e6-0000-4000-8000-000000000004", "indicator--0b6a2c2e-6a3c-4d3f-9d7c-3c0d6f1e2a11", store.Query{})
	expectErr(t, "delete from unknown collection", err, store.ErrNotFound)
}

const (
	idA = "indicator--6f0c3d2e-1b4a-4c5d-8e9f-0a1b2c3d4e5f"
	idB = "indicator--7a1d4e3f-2c5b-4d6e-9f0a-1b2c3d4e5f60"
	t1  = "2026-01-01T00:00:00.000Z"
	t2  = "2026-01-02T00:00:00.000Z"
	t3  = "2026-01-03T00:00:00.000Z"
	t4  = "2026-01-04T00:00:00.000Z"
	t5  = "2026-02-01T00:00:00.000Z" // after every generated indicator's creation
)

func testAddOutcomes(t *testing.T, e *env) {
	c := e.collection()
	a1 := indicator(idA, t1, t1)
	a1other := indicator(idA, t1, t1, `"name":"other content, same version"`)
	a2 := indicator(idA, t1, t2)
	b1 := indicator(idB, t1, t1)
	res := e.add(c, []*stix.Object{a1, b1, a1, a1other, a2}, "added added duplicate conflict added")
	now := Start
	for i, r := range res {
		switch r.Outcome {
		case store.Conflict:
			if r.Message == "" {
				t.Errorf("result %d: a conflict without a message", i)
			}
		default:
			if !r.DateAdded.Equal(now) {
				t.Errorf("result %d: date_added %v, want %v", i, r.DateAdded, now)
			}
		}
	}
	if res[4].Version != t2 {
		t.Errorf("version %q, want %q", res[4].Version, t2)
	}
	e.clk.Advance(time.Minute)
	// Again, later: nothing new, and the first date_added stays.
	res = e.add(c, []*stix.Object{a2, a1other, b1}, "duplicate conflict duplicate")
	if !res[0].DateAdded.Equal(now) {
		t.Errorf("duplicate: date_added %v, want the first one %v", res[0].DateAdded, now)
	}
	got := versions(e.list(c, store.Query{Versions: []string{"all"}}))
	want := idA + "@" + t1 + "\n" + idB + "@" + t1 + "\n" + idA + "@" + t2 + "\n"
	if got != want {
		t.Errorf("stored:\n%s\nwant:\n%s", got, want)
	}
	// A version spelled with another precision is the same version.
	a1z := indicator(idA, "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z")
	e.add(c, []*stix.Object{a1z}, "conflict")
	// The empty batch is fine.
	e.add(c, nil, "")
}

// failingContext is a context that is cancelled after its Done method has
// been called n times: whatever the store does with the context, each n
// makes it fail at another step of its work.
type failingContext struct {
	context.Context
	n     int64
	calls atomic.Int64
	once  sync.Once
	done  chan struct{}
}

func newFailingContext(n int64) *failingContext {
	return &failingContext{Context: context.Background(), n: n, done: make(chan struct{})}
}

func (c *failingContext) Done() <-chan struct{} {
	if c.calls.Add(1) > c.n {
		c.once.Do(func() { close(c.done) })
	}
	return c.done
}

func (c *failingContext) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// testAtomicity makes AddObjects fail at many steps of its work (by
// cancelling its context after n checks) and checks that every failed call
// wrote nothing, until a call succeeds and reports every object Added.
func testAtomicity(t *testing.T, e *env) {
	batch := func(seed uint64, old *stix.Object) []*stix.Object {
		return append(Indicators(700, seed), indicator(old.ID, old.Created, t2), ipv4(fmt.Sprintf("198.51.100.%d", seed)))
	}
	// How many checks a successful call makes, measured on a batch of the
	// same shape in another collection.
	c0 := e.collection()
	old0 := indicator(idB, t1, t1)
	e.add(c0, []*stix.Object{old0}, "added")
	counter := newFailingContext(1 << 62)
	if _, err := e.s.AddObjects(counter, c0, batch(8, old0)); err != nil {
		t.Fatal(err)
	}
	calls := counter.calls.Load()

	c := e.collection()
	old := indicator(idA, t1, t1)
	e.add(c, []*stix.Object{old}, "added")
	before := versions(e.list(c, store.Query{Versions: []string{"all"}}))
	objs := batch(7, old)
	e.clk.Advance(time.Second)
	var ns []int64
	for n := int64(0); n < calls; n = max(n+1, n*4/3) {
		ns = append(ns, n)
	}
	for n := max(0, calls-8); n <= calls+8; n++ {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	ns = slices.Compact(ns)
	// The count may differ a little from the measure (a fresh connection
	// prepares its statements): go on until a call succeeds.
	for n := calls + 9; n < 4*calls+100; n = max(n+1, n*9/8) {
		ns = append(ns, n)
	}
	failures := 0
	for _, n := range ns {
		res, err := e.s.AddObjects(newFailingContext(n), c, objs)
		if err != nil {
			failures++
			if res != nil {
				t.Errorf("n=%d: results with an error", n)
			}
			if got := versions(e.list(c, store.Query{Versions: []string{"all"}})); got != before {
				t.Fatalf("n=%d of %d: a failed AddObjects (%v) left something behind", n, calls, err)
			}
			continue
		}
		for i, r := range res {
			if r.Outcome != store.Added {
				t.Fatalf("n=%d: object %d is %v after %d failed attempts: they wrote something", n, i, r.Outcome, failures)
			}
		}
		break
	}
	if failures == len(ns) {
		t.Fatalf("AddObjects failed %d times, up to %d context checks", failures, ns[len(ns)-1])
	}
	if failures < 10 {
		t.Errorf("only %d failed attempts (of %d checks): the test does not reach inside AddObjects", failures, calls)
	}
	all := e.list(c, store.Query{Versions: []string{"all"}})
	if len(all) != 1+len(objs) {
		t.Errorf("%d entries, want %d", len(all), 1+len(objs))
	}
	latest := e.list(c, store.Query{IDs: []string{idA}})
	if len(latest) != 1 || latest[0].Version != t2 {
		t.Errorf("latest of %s: %s", idA, versions(latest))
	}
}

func testVersions(t *testing.T, e *env) {
	c := e.collection()
	e.add(c, []*stix.Object{indicator(idA, t1, t1), indicator(idA, t1, t2), indicator(idA, t1, t3)}, "added added added")
	e.add(c, []*stix.Object{indicator(idB, t1, t1)}, "added")
	for _, tc := range []struct {
		versions []string
		want     []string
	}{
		{nil, []string{t3}},
		{[]string{"last"}, []string{t3}},
		{[]string{"first"}, []string{t1}},
		{[]string{"all"}, []string{t1, t2, t3}},
		{[]string{"first", "last"}, []string{t1, t3}},
		{[]string{t2}, []string{t2}},
		{[]string{"2026-01-02T00:00:00Z"}, []string{t2}},
		{[]string{"2026-01-02T00:00:00.000000Z"}, []string{t2}},
		{[]string{"2026-01-02T00:00:00.001Z"}, nil},
		{[]string{t1, t3}, []string{t1, t3}},
		{[]string{"first", t2}, []string{t1, t2}},
	} {
		es := e.list(c, store.Query{IDs: []string{idA}, Versions: tc.versions})
		var got []string
		for _, en := range es {
			got = append(got, en.Version)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("match[version]=%q: got %q, want %q", tc.versions, got, tc.want)
		}
		// The same without match[id] must agree on idA.
		var got2 []string
		for _, en := range e.list(c, store.Query{Versions: tc.versions}) {
			if en.ID == idA {
				got2 = append(got2, en.Version)
			}
		}
		if !slices.Equal(got2, tc.want) {
			t.Errorf("match[version]=%q without match[id]: got %q, want %q", tc.versions, got2, tc.want)
		}
	}
	_, err := e.s.ListObjects(e.ctx, c, store.Query{Versions: []string{"yesterday"}}, false)
	expectErr(t, "match[version]=yesterday", err, store.ErrInvalid)
}

func testOlderVersionLater(t *testing.T, e *env) {
	c := e.collection()
	e.add(c, []*stix.Object{indicator(idA, t1, t3)}, "added")
	e.clk.Advance(time.Second)
	e.add(c, []*stix.Object{indicator(idA, t1, t2)}, "added")
	e.clk.Advance(time.Second)
	e.add(c, []*stix.Object{indicator(idA, t1, t1)}, "added")
	check := func(vs []string, want ...string) {
		t.Helper()
		var got []string
		for _, en := range e.list(c, store.Query{Versions: vs}) {
			got = append(got, en.Version)
		}
		if !slices.Equal(got, want) {
			t.Errorf("match[version]=%q: got %q, want %q", vs, got, want)
		}
	}
	check(nil, t3)
	check([]string{"first"}, t1)
	// All versions come in the order they were added, not in version order.
	check([]string{"all"}, t3, t2, t1)
}

func testRevokedIsFinal(t *testing.T, e *env) {
	c := e.collection()
	e.add(c, []*stix.Object{indicator(idA, t1, t1), indicator(idA, t1, t2, `"revoked":true`)}, "added added")
	res := e.add(c, []*stix.Object{indicator(idA, t1, t3)}, "conflict")
	if !strings.Contains(res[0].Message, "revoked") {
		t.Errorf("message %q, want one saying the object was revoked", res[0].Message)
	}
	// An older version may still arrive; it does not become the latest.
	e.add(c, []*stix.Object{indicator(idA, t1, "2026-01-01T12:00:00.000Z")}, "added")
	// In one batch: revoked, then newer.
	e.add(c, []*stix.Object{indicator(idB, t1, t2, `"revoked":true`), indicator(idB, t1, t3), indicator(idB, t1, t2, `"revoked":true`)},
		"added conflict duplicate")
	got := versions(e.list(c, store.Query{}))
	want := idA + "@" + t2 + "\n" + idB + "@" + t2 + "\n"
	if got != want {
		t.Errorf("latest:\n%s\nwant:\n%s", got, want)
	}
	// Revoked is final in every collection: the object, not the entry, is revoked.
	c2 := e.collection()
	e.add(c2, []*stix.Object{indicator(idA, t1, t4)}, "conflict")
}

func testUnversioned(t *testing.T, e *env) {
	c := e.collection()
	ip := ipv4("203.0.113.5")
	res := e.add(c, []*stix.Object{ip, ip}, "added duplicate")
	first := stix.FormatTimestamp(Start)
	for i, r := range res {
		if r.Version != first {
			t.Errorf("result %d: version %q, want the first date_added %q", i, r.Version, first)
		}
	}
	e.clk.Advance(time.Hour)
	res = e.add(c, []*stix.Object{ip}, "duplicate")
	if res[0].Version != first || !res[0].DateAdded.Equal(Start) {
		t.Errorf("again: version %q date_added %v", res[0].Version, res[0].DateAdded)
	}
	// Other content under the same id is another version.
	ip2 := ipv4("203.0.113.5", `"x_entraide_note":"seen again"`)
	if ip2.ID != ip.ID {
		t.Fatal("test objects should share an id")
	}
	second := stix.FormatTimestamp(Start.Add(time.Hour))
	res = e.add(c, []*stix.Object{ip2}, "added")
	if res[0].Version != second {
		t.Errorf("second content: version %q, want %q", res[0].Version, second)
	}
	if got := versions(e.list(c, store.Query{})); got != ip.ID+"@"+second+"\n" {
		t.Errorf("latest: %s", got)
	}
	if got := versions(e.list(c, store.Query{Versions: []string{"all"}})); got != ip.ID+"@"+first+"\n"+ip.ID+"@"+second+"\n" {
		t.Errorf("all: %s", got)
	}
	if got := versions(e.list(c, store.Query{Versions: []string{first}})); got != ip.ID+"@"+first+"\n" {
		t.Errorf("match[version]=%s: %s", first, got)
	}
	// In another collection, later: the same version, a date_added of its own.
	e.clk.Advance(time.Hour)
	c2 := e.collection()
	res = e.add(c2, []*stix.Object{ip}, "duplicate")
	if res[0].Version != first || !res[0].DateAdded.Equal(Start.Add(2*time.Hour)) {
		t.Errorf("other collection: version %q date_added %v", res[0].Version, res[0].DateAdded)
	}
	// Two contents first seen in one batch are two versions.
	ip3 := ipv4("203.0.113.5", `"x_entraide_note":"third"`)
	ip4 := ipv4("203.0.113.5", `"x_entraide_note":"fourth"`)
	e.add(c2, []*stix.Object{ip3, ip4, ip3}, "added added duplicate")
	if n := len(e.list(c2, store.Query{Versions: []string{"all"}})); n != 3 {
		t.Errorf("%d versions in the second collection, want 3", n)
	}
}

func testDateAddedPerCollection(t *testing.T, e *env) {
	c1, c2 := e.collection(), e.collection()
	objs := Indicators(3, 11)
	e.add(c1, objs, "added added added")
	e.clk.Advance(90 * time.Second)
	e.add(c2, objs[1:], "duplicate duplicate")
	for _, tc := range []struct {
		coll string
		n    int
		at   time.Time
	}{{c1, 3, Start}, {c2, 2, Start.Add(90 * time.Second)}} {
		es := e.list(tc.coll, store.Query{})
		if len(es) != tc.n {
			t.Errorf("%d entries, want %d", len(es), tc.n)
		}
		for _, en := range es {
			if !en.DateAdded.Equal(tc.at) {
				t.Errorf("date_added %v, want %v", en.DateAdded, tc.at)
			}
		}
	}
}

func testDateAddedNeverGoesBack(t *testing.T, e *env) {
	c := e.collection()
	e.clk.Set(Start.Add(time.Hour + 1500*time.Nanosecond))
	res := e.add(c, Indicators(1, 21), "added")
	want := Start.Add(time.Hour + time.Microsecond) // microsecond precision
	if !res[0].DateAdded.Equal(want) {
		t.Errorf("date_added %v, want %v", res[0].DateAdded, want)
	}
	e.clk.Set(Start) // the clock steps back
	res = e.add(c, Indicators(1, 22), "added")
	if !res[0].DateAdded.Equal(want) {
		t.Errorf("after the clock stepped back: date_added %v, want %v", res[0].DateAdded, want)
	}
	// Another collection has its own past.
	c2 := e.collection()
	res = e.add(c2, Indicators(1, 23), "added")
	if !res[0].DateAdded.Equal(Start) {
		t.Errorf("other collection: date_added %v, want %v", res[0].DateAdded, Start)
	}
}

func testAddedAfter(t *testing.T, e *env) {
	c := e.collection()
	batches := [][]*stix.Object{Indicators(2, 31), Indicators(2, 32), Indicators(2, 33)}
	for _, b := range batches {
		e.add(c, b, "added added")
		e.clk.Advance(time.Second)
	}
	got := entryIDs(e.list(c, store.Query{AddedAfter: Start.Add(time.Second)}))
	if !slices.Equal(got, ids(batches[2])) {
		t.Errorf("added_after the second batch: %q, want the third batch %q", got, ids(batches[2]))
	}
	got = entryIDs(e.list(c, store.Query{AddedAfter: Start.Add(time.Second - time.Microsecond)}))
	if want := append(ids(batches[1]), ids(batches[2])...); !slices.Equal(got, want) {
		t.Errorf("added_after just before the second batch: %q, want %q", got, want)
	}
	if got := e.list(c, store.Query{AddedAfter: Start.Add(2 * time.Second)}); len(got) != 0 {
		t.Errorf("added_after the last batch: %d entries", len(got))
	}
}

func testMatchFilters(t *testing.T, e *env) {
	c := e.collection()
	inds := Indicators(4, 41)
	ips := []*stix.Object{ipv4("192.0.2.10"), ipv4("192.0.2.11")}
	ident := MustParse(`{"type":"identity","spec_version":"2.1","id":"identity--5b0e3a9c-7d2f-4a1b-8c6e-9f0d1e2a3b4c",` +
		`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"CERT-EE","identity_class":"organization"}`)
	all := []*stix.Object{inds[0], ips[0], ident, inds[1], ips[1], inds[2], inds[3]}
	e.add(c, all, "")
	e.add(c, []*stix.Object{indicator(inds[0].ID, inds[0].Created, t5)}, "added") // a second version, at the end
	for _, tc := range []struct {
		name string
		q    store.Query
		want []string
	}{
		{"none", store.Query{}, []string{ips[0].ID, ident.ID, inds[1].ID, ips[1].ID, inds[2].ID, inds[3].ID, inds[0].ID}},
		{"one type", store.Query{Types: []string{"ipv4-addr"}}, []string{ips[0].ID, ips[1].ID}},
		{"two types", store.Query{Types: []string{"identity", "ipv4-addr"}}, []string{ips[0].ID, ident.ID, ips[1].ID}},
		{"unknown type", store.Query{Types: []string{"malware"}}, nil},
		{"ids", store.Query{IDs: []string{inds[3].ID, ips[0].ID, "malware--00000000-0000-4000-8000-000000000000"}}, []string{ips[0].ID, inds[3].ID}},
		{"id all versions", store.Query{IDs: []string{inds[0].ID}, Versions: []string{"all"}}, []string{inds[0].ID, inds[0].ID}},
		{"ids and type", store.Query{IDs: []string{inds[3].ID, ips[0].ID}, Types: []string{"indicator"}}, []string{inds[3].ID}},
		{"spec 2.1", store.Query{SpecVersions: []string{"2.1"}, Types: []string{"identity"}}, []string{ident.ID}},
		{"spec 2.0", store.Query{SpecVersions: []string{"2.0"}}, nil},
		{"spec 2.0 or 2.1", store.Query{SpecVersions: []string{"2.0", "2.1"}, Types: []string{"identity"}}, []string{ident.ID}},
		{"type, all versions", store.Query{Types: []string{"indicator"}, Versions: []string{"all"}},
			[]string{inds[0].ID, inds[1].ID, inds[2].ID, inds[3].ID, inds[0].ID}},
	} {
		for _, limit := range []int{0, 1, 2} {
			q := tc.q
			q.Limit = limit
			if got := entryIDs(e.list(c, q)); !slices.Equal(got, tc.want) {
				t.Errorf("%s, limit %d: got %q, want %q", tc.name, limit, got, tc.want)
			}
		}
	}
	es := e.list(c, store.Query{IDs: []string{ident.ID}})
	if len(es) != 1 {
		t.Fatalf("identity: %d entries", len(es))
	}
	en := es[0]
	if en.Type != "identity" || en.SpecVersion != "2.1" || en.Version != "2026-01-01T00:00:00.000Z" ||
		en.MediaType != "application/stix+json;version=2.1" || string(en.Raw) != string(ident.Raw) || !en.DateAdded.Equal(Start) {
		t.Errorf("entry: %+v", en)
	}
}

// testPagingStable pages through 5,000 objects that share one date_added
// (the clock does not move) with several page sizes.
func testPagingStable(t *testing.T, e *env) {
	c := e.collection()
	objs := Indicators(5000, 51)
	for i := 0; i < len(objs); i += 1000 {
		e.add(c, objs[i:i+1000], "")
	}
	want := ids(objs)
	for _, limit := range []int{7, 100, 1000, 5000, 6000} {
		es := e.list(c, store.Query{Limit: limit})
		if got := entryIDs(es); !slices.Equal(got, want) {
			t.Errorf("limit %d: %d entries, not every object exactly once in insertion order", limit, len(got))
		}
		for _, en := range es {
			if !en.DateAdded.Equal(Start) {
				t.Fatalf("date_added %v, want %v", en.DateAdded, Start)
			}
		}
	}
	// A page that ends exactly at the end has no next.
	p, err := e.s.ListObjects(e.ctx, c, store.Query{Limit: 5000}, false)
	if err != nil || len(p.Entries) != 5000 || p.Next != "" {
		t.Errorf("one page of exactly everything: %d entries, next %q, %v", len(p.Entries), p.Next, err)
	}
	p, err = e.s.ListObjects(e.ctx, c, store.Query{}, false)
	if err != nil || len(p.Entries) != store.DefaultLimit || p.Next == "" {
		t.Errorf("default limit: %d entries, next %q, %v", len(p.Entries), p.Next, err)
	}
}

// testPagingWithConcurrentAdds adds objects between pages, at the same
// date_added, later, and with a clock that went back: each appears once, at
// the end, and nothing is skipped or repeated.
func testPagingWithConcurrentAdds(t *testing.T, e *env) {
	c := e.collection()
	objs := Indicators(2000, 61)
	e.add(c, objs[:1000], "")
	e.add(c, objs[1000:], "")
	want := ids(objs)
	extra := Indicators(30, 62)
	q := store.Query{Limit: 100}
	var got []string
	for i := 0; ; i++ {
		p, err := e.s.ListObjects(e.ctx, c, q, false)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entryIDs(p.Entries)...)
		if p.Next == "" {
			break
		}
		q.Next = p.Next
		if i < 10 {
			switch i % 3 {
			case 0: // same date_added as everything so far
			case 1:
				e.clk.Advance(time.Second)
			case 2:
				e.clk.Set(Start.Add(-time.Hour))
			}
			b := extra[3*i : 3*i+3]
			e.add(c, b, "added added added")
			want = append(want, ids(b)...)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paging while adding: %d entries, want %d in order, each once", len(got), len(want))
	}
}

func testCursors(t *testing.T, e *env) {
	c, c2 := e.collection(), e.collection()
	e.add(c, Indicators(10, 71), "")
	q := store.Query{Limit: 3, Types: []string{"indicator"}}
	p, err := e.s.ListObjects(e.ctx, c, q, false)
	if err != nil || p.Next == "" {
		t.Fatalf("first page: next %q, %v", p.Next, err)
	}
	for _, bad := range []string{"garbage", "!!!", "AAAA", p.Next + "A", p.Next[:len(p.Next)-2], strings.Repeat("A", 34)} {
		q2 := q
		q2.Next = bad
		_, err := e.s.ListObjects(e.ctx, c, q2, false)
		expectErr(t, fmt.Sprintf("cursor %q", bad), err, store.ErrInvalid)
	}
	for name, q2 := range map[string]store.Query{
		"other type":        {Limit: 3, Types: []string{"malware"}},
		"no type":           {Limit: 3},
		"other versions":    {Limit: 3, Types: []string{"indicator"}, Versions: []string{"all"}},
		"added_after":       {Limit: 3, Types: []string{"indicator"}, AddedAfter: Start.Add(-time.Hour)},
		"ids":               {Limit: 3, Types: []string{"indicator"}, IDs: []string{idA}},
		"spec_version":      {Limit: 3, Types: []string{"indicator"}, SpecVersions: []string{"2.1"}},
		"other limit is ok": {Limit: 5, Types: []string{"indicator"}},
	} {
		q2.Next = p.Next
		_, err := e.s.ListObjects(e.ctx, c, q2, false)
		if name == "other limit is ok" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		expectErr(t, "cursor reused with "+name, err, store.ErrInvalid)
	}
	q.Next = p.Next
	_, err = e.s.ListObjects(e.ctx, c2, q, false)
	expectErr(t, "cursor reused on another collection", err, store.ErrInvalid)
	_, err = e.s.ListObjects(e.ctx, c, store.Query{Limit: -1}, false)
	expectErr(t, "negative limit", err, store.ErrInvalid)
}

func testManifest(t *testing.T, e *env) {
	c := e.collection()
	objs := Indicators(3, 81)
	e.add(c, objs, "")
	p, err := e.s.ListObjects(e.ctx, c, store.Query{}, false)
	if err != nil || len(p.Entries) != 3 {
		t.Fatalf("manifest: %d entries, %v", len(p.Entries), err)
	}
	for i, en := range p.Entries {
		if en.Raw != nil || en.ID != objs[i].ID || en.Version != objs[i].Modified || en.Type != "indicator" {
			t.Errorf("manifest entry %d: %+v", i, en)
		}
	}
	p, err = e.s.ListObjects(e.ctx, c, store.Query{}, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, en := range p.Entries {
		if string(en.Raw) != string(objs[i].Raw) {
			t.Errorf("object %d: raw differs", i)
		}
	}
}

func testDelete(t *testing.T, e *env) {
	c, c2 := e.collection(), e.collection()
	vs := []*stix.Object{indicator(idA, t1, t1), indicator(idA, t1, t2), indicator(idA, t1, t3)}
	e.add(c, vs, "added added added")
	e.add(c2, vs, "duplicate duplicate duplicate")
	e.add(c, []*stix.Object{indicator(idB, t1, t1)}, "added")

	// One version: the latest; the one before it becomes the latest.
	n, err := e.s.DeleteObject(e.ctx, c, idA, store.Query{Versions: []string{"2026-01-03T00:00:00Z"}})
	if err != nil || n != 1 {
		t.Fatalf("delete one version: %d, %v", n, err)
	}
	if got := versions(e.list(c, store.Query{IDs: []string{idA}})); got != idA+"@"+t2+"\n" {
		t.Errorf("latest after deleting the latest: %s", got)
	}
	_, err = e.s.DeleteObject(e.ctx, c, idA, store.Query{Versions: []string{t3}})
	expectErr(t, "delete a deleted version", err, store.ErrNotFound)
	// The first version.
	n, err = e.s.DeleteObject(e.ctx, c, idA, store.Query{Versions: []string{"first"}})
	if err != nil || n != 1 {
		t.Fatalf("delete the first version: %d, %v", n, err)
	}
	if got := versions(e.list(c, store.Query{IDs: []string{idA}, Versions: []string{"first"}})); got != idA+"@"+t2+"\n" {
		t.Errorf("first after deleting the first: %s", got)
	}
	// Other collections keep everything.
	if got := e.list(c2, store.Query{IDs: []string{idA}, Versions: []string{"all"}}); len(got) != 3 {
		t.Errorf("other collection: %d versions, want 3", len(got))
	}
	// All versions (the default), then the object is gone from c only.
	n, err = e.s.DeleteObject(e.ctx, c, idA, store.Query{})
	if err != nil || n != 1 {
		t.Fatalf("delete all versions: %d, %v", n, err)
	}
	if got := versions(e.list(c, store.Query{Versions: []string{"all"}})); got != idB+"@"+t1+"\n" {
		t.Errorf("after deleting %s: %s", idA, got)
	}
	_, err = e.s.DeleteObject(e.ctx, c, idA, store.Query{})
	expectErr(t, "delete a deleted object", err, store.ErrNotFound)
	n, err = e.s.DeleteObject(e.ctx, c2, idA, store.Query{SpecVersions: []string{"2.0"}})
	expectErr(t, "delete with a spec_version that does not match", err, store.ErrNotFound)
	n, err = e.s.DeleteObject(e.ctx, c2, idA, store.Query{SpecVersions: []string{"2.1"}})
	if err != nil || n != 3 {
		t.Fatalf("delete all versions from the other collection: %d, %v", n, err)
	}
	// Re-adding a deleted version adds it back to the collection as a
	// duplicate of what the node still knows.
	e.clk.Advance(time.Minute)
	res := e.add(c, []*stix.Object{vs[0]}, "duplicate")
	if !res[0].DateAdded.Equal(Start.Add(time.Minute)) {
		t.Errorf("re-added: date_added %v", res[0].DateAdded)
	}
	if got := versions(e.list(c, store.Query{IDs: []string{idA}})); got != idA+"@"+t1+"\n" {
		t.Errorf("re-added: %s", got)
	}
}

func testStatus(t *testing.T, e *env) {
	st := store.Status{
		ID: "8d1c2b3a-4e5f-4a6b-9c7d-0e1f2a3b4c5d", Owner: "analyst", Status: "complete",
		RequestTimestamp: Start.Add(123456 * time.Microsecond), TotalCount: 3,
		Successes: []store.StatusDetail{{ID: idA, Version: t1}},
		Failures:  []store.StatusDetail{{ID: idB, Version: t1, Message: "object was revoked"}},
		Pendings:  []store.StatusDetail{{ID: idA, Version: t2}},
	}
	if err := e.s.PutStatus(e.ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.Status(e.ctx, st.ID)
	if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", st) {
		t.Errorf("Status:\n got %+v, %v\nwant %+v", got, err, st)
	}
	st.Status, st.Pendings, st.Successes = "complete", nil, append(st.Successes, store.StatusDetail{ID: idA, Version: t2})
	if err := e.s.PutStatus(e.ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err = e.s.Status(e.ctx, st.ID)
	if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", st) {
		t.Errorf("replaced Status:\n got %+v, %v\nwant %+v", got, err, st)
	}
	_, err = e.s.Status(e.ctx, "9d1c2b3a-4e5f-4a6b-9c7d-0e1f2a3b4c5d")
	expectErr(t, "unknown status", err, store.ErrNotFound)
}

func testUsers(t *testing.T, e *env) {
	c1, c2 := e.collection(), e.collection()
	u := store.User{Name: "marie", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		Permissions: map[string]store.Permission{c1: {Read: true}, c2: {Read: true, Write: true}}}
	if err := e.s.PutUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutUser(e.ctx, store.User{Name: "admin", Admin: true}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.User(e.ctx, "marie")
	u.Created = Start
	if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", u) {
		t.Errorf("User:\n got %+v, %v\nwant %+v", got, err, u)
	}
	// Replace: fewer permissions, disabled; the creation time stays.
	e.clk.Advance(time.Hour)
	u2 := store.User{Name: "marie", Disabled: true, Permissions: map[string]store.Permission{c1: {Write: true}}}
	if err := e.s.PutUser(e.ctx, u2); err != nil {
		t.Fatal(err)
	}
	got, err = e.s.User(e.ctx, "marie")
	if err != nil || !got.Disabled || got.PasswordHash != "" || len(got.Permissions) != 1 || got.Permissions[c1] != (store.Permission{Write: true}) ||
		!got.Created.Equal(Start) {
		t.Errorf("replaced user: %+v, %v", got, err)
	}
	us, err := e.s.Users(e.ctx)
	if err != nil || len(us) != 2 || us[0].Name != "admin" || !us[0].Admin || us[1].Name != "marie" || len(us[1].Permissions) != 1 {
		t.Errorf("Users: %+v, %v", us, err)
	}
	_, err = e.s.User(e.ctx, "nobody")
	expectErr(t, "unknown user", err, store.ErrNotFound)
	testUserRoles(t, e)
}

// testUserRoles: console roles are kept beside the users (store.RoleStore).
func testUserRoles(t *testing.T, e *env) {
	rs, err := store.Roles(e.s)
	if err != nil {
		t.Fatal(err)
	}
	// marie and admin exist (testUsers); no role was ever set.
	if r, err := rs.UserRole(e.ctx, "marie"); err != nil || r != "" {
		t.Errorf("role never set: %q, %v; want \"\"", r, err)
	}
	if m, err := rs.UserRoles(e.ctx); err != nil || len(m) != 0 {
		t.Errorf("UserRoles with none set: %v, %v", m, err)
	}
	for _, r := range store.AllRoles {
		if err := rs.SetUserRole(e.ctx, "marie", r); err != nil {
			t.Fatalf("SetUserRole(%s): %v", r, err)
		}
		if got, err := rs.UserRole(e.ctx, "marie"); err != nil || got != r {
			t.Errorf("UserRole after setting %s: %q, %v", r, got, err)
		}
	}
	if err := rs.SetUserRole(e.ctx, "marie", store.RoleLiaison); err != nil {
		t.Fatal(err)
	}
	// Replacing the user keeps the role.
	if err := e.s.PutUser(e.ctx, store.User{Name: "marie", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	if got, err := rs.UserRole(e.ctx, "marie"); err != nil || got != store.RoleLiaison {
		t.Errorf("role after PutUser replaced the user: %q, %v; want liaison", got, err)
	}
	if m, err := rs.UserRoles(e.ctx); err != nil || len(m) != 1 || m["marie"] != store.RoleLiaison {
		t.Errorf("UserRoles: %v, %v", m, err)
	}
	expectErr(t, "unknown role", rs.SetUserRole(e.ctx, "marie", "superuser"), store.ErrInvalid)
	expectErr(t, "empty role", rs.SetUserRole(e.ctx, "marie", ""), store.ErrInvalid)
	expectErr(t, "role of an unknown user", rs.SetUserRole(e.ctx, "nobody", store.RoleViewer), store.ErrNotFound)
	_, err = rs.UserRole(e.ctx, "nobody")
	expectErr(t, "role read of an unknown user", err, store.ErrNotFound)
	if got, err := rs.UserRole(e.ctx, "marie"); err != nil || got != store.RoleLiaison {
		t.Errorf("a refused SetUserRole changed the role: %q, %v", got, err)
	}
	// The role a user acts with.
	for _, c := range []struct {
		admin  bool
		stored string
		want   string
	}{
		{true, "", store.RoleAdmin}, {true, store.RoleViewer, store.RoleAdmin}, {false, "", store.RoleViewer},
		{false, store.RoleAnalyst, store.RoleAnalyst}, {false, store.RoleLiaison, store.RoleLiaison},
		{false, store.RoleAdmin, store.RoleViewer}, {false, "root", store.RoleViewer},
	} {
		if got := store.EffectiveRole(store.User{Admin: c.admin}, c.stored); got != c.want {
			t.Errorf("EffectiveRole(admin=%v, %q) = %q, want %q", c.admin, c.stored, got, c.want)
		}
	}
}

func testTokens(t *testing.T, e *env) {
	for _, name := range []string{"jaan", "lea"} {
		if err := e.s.PutUser(e.ctx, store.User{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	h1, h2, h3 := sha256.Sum256([]byte("secret-1")), sha256.Sum256([]byte("secret-2")), sha256.Sum256([]byte("secret-3"))
	for _, tok := range []store.Token{
		{ID: "t1", User: "jaan", Hash: h1, Label: "laptop"},
		{ID: "t2", User: "jaan", Hash: h2, Label: "script", Expires: Start.Add(time.Hour)},
		{ID: "t3", User: "lea", Hash: h3},
	} {
		if err := e.s.AddToken(e.ctx, tok); err != nil {
			t.Fatalf("AddToken(%s): %v", tok.ID, err)
		}
	}
	expectErr(t, "token of an unknown user", e.s.AddToken(e.ctx, store.Token{ID: "t4", User: "nobody", Hash: sha256.Sum256([]byte("x"))}), store.ErrNotFound)
	expectErr(t, "same hash", e.s.AddToken(e.ctx, store.Token{ID: "t5", User: "lea", Hash: h1}), store.ErrConflict)
	for h, want := range map[[32]byte]string{h1: "jaan", h2: "jaan", h3: "lea"} {
		u, err := e.s.TokenUser(e.ctx, h)
		if err != nil || u.Name != want {
			t.Errorf("TokenUser: %q, %v; want %q", u.Name, err, want)
		}
	}
	_, err := e.s.TokenUser(e.ctx, sha256.Sum256([]byte("guess")))
	expectErr(t, "unknown token", err, store.ErrNotFound)

	e.clk.Advance(time.Hour - time.Microsecond)
	if _, err := e.s.TokenUser(e.ctx, h2); err != nil {
		t.Errorf("token just before its expiry: %v", err)
	}
	e.clk.Advance(time.Microsecond)
	_, err = e.s.TokenUser(e.ctx, h2)
	expectErr(t, "expired token", err, store.ErrNotFound)

	if err := e.s.RevokeToken(e.ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.TokenUser(e.ctx, h1)
	expectErr(t, "revoked token", err, store.ErrNotFound)
	expectErr(t, "revoke unknown token", e.s.RevokeToken(e.ctx, "t9"), store.ErrNotFound)

	ts, err := e.s.Tokens(e.ctx, "jaan")
	if err != nil || len(ts) != 2 {
		t.Fatalf("Tokens: %+v, %v", ts, err)
	}
	want := []store.Token{
		{ID: "t1", User: "jaan", Hash: h1, Label: "laptop", Created: Start, Revoked: true},
		{ID: "t2", User: "jaan", Hash: h2, Label: "script", Created: Start, Expires: Start.Add(time.Hour)},
	}
	if fmt.Sprintf("%+v", ts) != fmt.Sprintf("%+v", want) {
		t.Errorf("Tokens:\n got %+v\nwant %+v", ts, want)
	}
	// A disabled user's tokens stop working.
	if err := e.s.PutUser(e.ctx, store.User{Name: "lea", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.TokenUser(e.ctx, h3)
	expectErr(t, "token of a disabled user", err, store.ErrNotFound)
}

// testConcurrentAdds runs 8 writers with overlapping batches into two
// collections: every version is stored once (one Added in all), every
// collection lists every object once, and nothing conflicts.
func testConcurrentAdds(t *testing.T, e *env) {
	colls := []string{e.collection(), e.collection()}
	objs := Indicators(600, 91)
	type outcome struct {
		coll string
		r    store.AddResult
	}
	var (
		mu   sync.Mutex
		outs []outcome
		wg   sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 6 {
				lo := r.IntN(500)
				batch := objs[lo : lo+1+r.IntN(100)]
				coll := colls[r.IntN(2)]
				res, err := e.s.AddObjects(e.ctx, coll, batch)
				if err != nil {
					t.Errorf("writer %d: %v", g, err)
					return
				}
				mu.Lock()
				for _, x := range res {
					outs = append(outs, outcome{coll, x})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	added := map[string]int{}
	seen := map[string]map[string]bool{}
	for _, o := range outs {
		switch o.r.Outcome {
		case store.Added:
			added[o.r.ID]++
		case store.Conflict:
			t.Errorf("conflict for %s: %s", o.r.ID, o.r.Message)
		}
		if seen[o.coll] == nil {
			seen[o.coll] = map[string]bool{}
		}
		seen[o.coll][o.r.ID] = true
	}
	for id, n := range added {
		if n != 1 {
			t.Errorf("%s added %d times", id, n)
		}
	}
	total := 0
	for _, c := range colls {
		es := e.list(c, store.Query{Versions: []string{"all"}, Limit: 97})
		got := map[string]int{}
		for _, en := range es {
			got[en.ID]++
		}
		for id, n := range got {
			if n != 1 || !seen[c][id] {
				t.Errorf("%s listed %d times in a collection (sent there: %v)", id, n, seen[c][id])
			}
		}
		if len(got) != len(seen[c]) {
			t.Errorf("collection lists %d objects, %d were sent to it", len(got), len(seen[c]))
		}
		total += len(es)
	}
	if len(added) == 0 || total == 0 {
		t.Error("nothing was added")
	}
}

// testClosed checks that a closed store fails cleanly.
func testClosed(t *testing.T, e *env) {
	c := e.collection()
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := e.ctx
	errs := map[string]error{}
	errs["CreateCollection"] = e.s.CreateCollection(ctx, store.Collection{ID: "e0c2d4e6-0000-4000-8000-000000000005", Title: "x"})
	_, errs["Collection"] = e.s.Collection(ctx, c)
	_, errs["Collections"] = e.s.Collections(ctx)
	_, errs["AddObjects"] = e.s.AddObjects(ctx, c, Indicators(1, 99))
	_, errs["ListObjects"] = e.s.ListObjects(ctx, c, store.Query{}, true)
	_, errs["DeleteObject"] = e.s.DeleteObject(ctx, c, idA, store.Query{})
	errs["PutStatus"] = e.s.PutStatus(ctx, store.Status{ID: "s"})
	_, errs["Status"] = e.s.Status(ctx, "s")
	errs["PutUser"] = e.s.PutUser(ctx, store.User{Name: "u"})
	_, errs["User"] = e.s.User(ctx, "u")
	_, errs["Users"] = e.s.Users(ctx)
	errs["AddToken"] = e.s.AddToken(ctx, store.Token{ID: "t", User: "u"})
	_, errs["TokenUser"] = e.s.TokenUser(ctx, [32]byte{})
	errs["RevokeToken"] = e.s.RevokeToken(ctx, "t")
	_, errs["Tokens"] = e.s.Tokens(ctx, "u")
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s on a closed store: no error", name)
		}
	}
}
