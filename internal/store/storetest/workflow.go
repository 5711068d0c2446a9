package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// runWorkflow runs the cases of the workflow index (store.WorkflowStore).
func runWorkflow(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env, ws store.WorkflowStore)
	}{
		{"WorkflowIndexedWithObjects", testWorkflowIndexed},
		{"WorkflowNotIndexedOnConflict", testWorkflowConflict},
		{"WorkflowCaseStates", testWorkflowCases},
		{"WorkflowOlderFoldNeverWins", testWorkflowOlderFold},
		{"WorkflowFoldVersion", testWorkflowFoldVersion},
		{"WorkflowDeliveries", testWorkflowDeliveries},
		{"WorkflowInvalid", testWorkflowInvalid},
		{"WorkflowByOriginAndWaiting", testWorkflowByOrigin},
		{"WorkflowReceivedAmongManySent", testWorkflowReceivedAmongSent},
		{"WorkflowCountBy", testWorkflowCountBy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(Start)
			s := open(t, clk)
			t.Cleanup(func() { s.Close() })
			ws, err := store.Workflows(s)
			if err != nil {
				t.Fatal(err)
			}
			c.fn(t, &env{t: t, s: s, clk: clk, ctx: t.Context()}, ws)
		})
	}
}

// wfObject is a minimal custom object standing for a workflow object.
func wfObject(typ, id, created string, extra ...string) *stix.Object {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":"%s","spec_version":"2.1","id":"%s","created":"%s","modified":"%s"`, typ, id, created, created)
	for _, x := range extra {
		b.WriteString("," + x)
	}
	b.WriteString("}")
	return MustParse(b.String())
}

func testWorkflowIndexed(t *testing.T, e *env, ws store.WorkflowStore) {
	coll := e.collection()
	caseID := "x-test-case--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01"
	stepID := "x-test-step--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a02"
	at1, at2 := Start.Add(time.Minute), Start.Add(2*time.Minute)
	// The step comes first (a partner's answer arriving before the case).
	step := wfObject("x-test-step", stepID, stix.FormatTimestamp(at2), `"case_ref":"`+caseID+`"`)
	c := wfObject("x-test-case", caseID, stix.FormatTimestamp(at1))
	plain := indicator("indicator--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a03", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")
	e.addWith(coll, []*stix.Object{step, plain}, store.AddOptions{Workflow: []store.WorkflowIndex{
		{ObjectIndex: 0, Item: store.WorkflowItem{Case: caseID, Kind: "test", Step: true, Node: "identity--b", Action: "answer", At: at2}},
	}}, "added added")
	cases, err := ws.UnappliedWorkflowCases(e.ctx, 0)
	if err != nil || len(cases) != 1 || cases[0] != caseID {
		t.Fatalf("unapplied after the step: %v, %v", cases, err)
	}
	e.addWith(coll, []*stix.Object{c}, store.AddOptions{Workflow: []store.WorkflowIndex{
		{ObjectIndex: 0, Item: store.WorkflowItem{Case: caseID, Kind: "test", Node: "identity--a", At: at1}},
	}}, "added")
	// Indexing the same version again (a duplicate delivery) writes nothing new.
	e.addWith(coll, []*stix.Object{c}, store.AddOptions{Workflow: []store.WorkflowIndex{
		{ObjectIndex: 0, Item: store.WorkflowItem{Case: caseID, Kind: "test", Node: "identity--a", At: at1}},
	}}, "duplicate")
	items, err := ws.WorkflowItems(e.ctx, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("%d items, want 2: %+v", len(items), items)
	}
	// Ordered by At: the case (at1) before the step (at2), whatever the arrival.
	if items[0].ObjectID != caseID || items[0].Step || items[1].ObjectID != stepID || !items[1].Step || items[1].Action != "answer" {
		t.Fatalf("items out of order: %+v", items)
	}
	if !items[0].At.Equal(at1) || items[0].Node != "identity--a" || string(items[0].Raw) != string(c.Raw) || items[0].Version != c.Version() {
		t.Fatalf("case item: %+v", items[0])
	}
	if items[0].Applied || items[1].Applied {
		t.Fatal("items applied before any fold")
	}
	it, err := ws.WorkflowItem(e.ctx, stepID)
	if err != nil || it.Case != caseID {
		t.Fatalf("WorkflowItem: %+v, %v", it, err)
	}
	if _, err := ws.WorkflowItem(e.ctx, "x-test-step--00000000-0000-4000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent item: %v", err)
	}
	// Folding marks the items applied; nothing is left to reconcile.
	if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: caseID, Kind: "test", Origin: "identity--a", Title: "t", Severity: 2,
		Status: "open", Open: true, Opened: at1, Updated: at2}, max(items[0].Seq, items[1].Seq)); err != nil {
		t.Fatal(err)
	}
	if cases, err := ws.UnappliedWorkflowCases(e.ctx, 0); err != nil || len(cases) != 0 {
		t.Fatalf("unapplied after the fold: %v, %v", cases, err)
	}
	// MarkWorkflowApplied marks without writing a state.
	orphan := "x-test-case--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a04"
	step2 := wfObject("x-test-step", "x-test-step--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a05", stix.FormatTimestamp(at2))
	e.addWith(coll, []*stix.Object{step2}, store.AddOptions{Workflow: []store.WorkflowIndex{
		{ObjectIndex: 0, Item: store.WorkflowItem{Case: orphan, Kind: "test", Step: true, Node: "identity--b", Action: "answer", At: at2}},
	}}, "added")
	its, _ := ws.WorkflowItems(e.ctx, orphan)
	if err := ws.MarkWorkflowApplied(e.ctx, orphan, its[0].Seq); err != nil {
		t.Fatal(err)
	}
	if cases, _ := ws.UnappliedWorkflowCases(e.ctx, 0); len(cases) != 0 {
		t.Fatalf("unapplied after MarkWorkflowApplied: %v", cases)
	}
	if _, err := ws.WorkflowCase(e.ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MarkWorkflowApplied wrote a state: %v", err)
	}
}

func testWorkflowConflict(t *testing.T, e *env, ws store.WorkflowStore) {
	coll := e.collection()
	id := "x-test-case--7f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01"
	at := stix.FormatTimestamp(Start)
	idx := []store.WorkflowIndex{{ObjectIndex: 0, Item: store.WorkflowItem{Case: id, Kind: "test", Node: "identity--a", At: Start}}}
	e.addWith(coll, []*stix.Object{wfObject("x-test-case", id, at, `"name":"one"`)}, store.AddOptions{Workflow: idx}, "added")
	// Another content under the same version is a conflict: not indexed.
	e.addWith(coll, []*stix.Object{wfObject("x-test-case", id, at, `"name":"two"`)}, store.AddOptions{Workflow: idx}, "conflict")
	items, err := ws.WorkflowItems(e.ctx, id)
	if err != nil || len(items) != 1 || !strings.Contains(string(items[0].Raw), `"one"`) {
		t.Fatalf("items after a conflict: %+v, %v", items, err)
	}
	// A batch that fails writes no index row either.
	bad := store.AddOptions{Workflow: idx, Outbox: []store.OutboxItem{{Peer: "", ObjectIndex: 0}}}
	if _, err := e.s.AddObjectsWith(e.ctx, coll, []*stix.Object{wfObject("x-test-case", "x-test-case--7f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a09", at)}, bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("invalid batch: %v", err)
	}
	if items, _ := ws.WorkflowItems(e.ctx, "x-test-case--7f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a09"); len(items) != 0 {
		t.Fatalf("a refused batch indexed %d items", len(items))
	}
}

func testWorkflowCases(t *testing.T, e *env, ws store.WorkflowStore) {
	put := func(id, kind string, open bool, opened time.Time, due time.Time, waiting ...string) {
		t.Helper()
		state, _ := json.Marshal(map[string]string{"id": id})
		if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: id, Kind: kind, Origin: "identity--a", Title: "title " + id,
			Severity: -1, Status: "s", Open: open, NextDue: due, WaitingOn: waiting, Opened: opened, Updated: opened, State: state}, 0); err != nil {
			t.Fatal(err)
		}
	}
	h := func(n int) time.Time { return Start.Add(time.Duration(n) * time.Hour) }
	put("x-a--00000000-0000-4000-8000-000000000001", "alert", true, h(1), h(10), "identity--b")
	put("x-a--00000000-0000-4000-8000-000000000002", "alert", true, h(2), h(5), "identity--b", "identity--c")
	put("x-a--00000000-0000-4000-8000-000000000003", "alert", false, h(3), h(1)) // closed: never due
	put("x-n--00000000-0000-4000-8000-000000000004", "notice", true, h(4), time.Time{})
	put("x-n--00000000-0000-4000-8000-000000000005", "notice", true, h(5), h(7), "identity--d")

	ids := func(cs []store.WorkflowCase) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID[len(c.ID)-1:])
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		q    store.WorkflowQuery
		want string
	}{
		{store.WorkflowQuery{}, "5 4 3 2 1"},
		{store.WorkflowQuery{Kind: "alert"}, "3 2 1"},
		{store.WorkflowQuery{OpenOnly: true}, "5 4 2 1"},
		{store.WorkflowQuery{DueOnly: true}, "2 5 1"},
		{store.WorkflowQuery{DueOnly: true, Before: h(8)}, "2 5"},
		{store.WorkflowQuery{DueOnly: true, Kind: "notice"}, "5"},
		{store.WorkflowQuery{Limit: 2}, "5 4"},
	} {
		cs, err := ws.WorkflowCases(e.ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(cs); got != c.want {
			t.Errorf("WorkflowCases(%+v) = %s, want %s", c.q, got, c.want)
		}
	}
	got, err := ws.WorkflowCase(e.ctx, "x-a--00000000-0000-4000-8000-000000000002")
	if err != nil {
		t.Fatal(err)
	}
	if !got.NextDue.Equal(h(5)) || strings.Join(got.WaitingOn, ",") != "identity--b,identity--c" || !got.Open ||
		!got.Opened.Equal(h(2)) || got.Severity != -1 || !strings.Contains(string(got.State), "000000000002") {
		t.Fatalf("case: %+v", got)
	}
	cs, err := ws.WorkflowCases(e.ctx, store.WorkflowQuery{DueOnly: true, NoState: true})
	if err != nil || len(cs) != 3 || strings.Contains(string(cs[0].State), "id") {
		t.Fatalf("NoState: %+v, %v", cs, err)
	}
	if none, err := ws.WorkflowCase(e.ctx, "x-a--00000000-0000-4000-8000-000000000009"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent case: %+v, %v", none, err)
	}
	if due, overdue, err := ws.WorkflowDueCounts(e.ctx, h(6)); err != nil || due != 3 || overdue != 1 {
		t.Fatalf("due counts at +6h: %d due, %d overdue, %v; want 3, 1", due, overdue, err)
	}
	// Replacing a case keeps one row.
	put("x-a--00000000-0000-4000-8000-000000000001", "alert", false, h(1), time.Time{})
	if cs, _ := ws.WorkflowCases(e.ctx, store.WorkflowQuery{DueOnly: true}); ids(cs) != "2 5" {
		t.Fatalf("after closing 1: %s", ids(cs))
	}
	if due, overdue, err := ws.WorkflowDueCounts(e.ctx, h(8)); err != nil || due != 2 || overdue != 2 {
		t.Fatalf("due counts at +8h: %d due, %d overdue, %v; want 2, 2", due, overdue, err)
	}
}

func testWorkflowOlderFold(t *testing.T, e *env, ws store.WorkflowStore) {
	id := "x-a--00000000-0000-4000-8000-000000000001"
	put := func(status string, upTo int64) {
		t.Helper()
		if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: id, Kind: "alert", Status: status, Open: true, Opened: Start, Updated: Start}, upTo); err != nil {
			t.Fatal(err)
		}
	}
	put("folded from 5 items", 5)
	put("folded from 3 items", 3) // a slower process's older fold
	if c, _ := ws.WorkflowCase(e.ctx, id); c.Status != "folded from 5 items" {
		t.Fatalf("an older fold replaced a newer one: %q", c.Status)
	}
	// Two processes racing: the newest fold stands.
	var wg sync.WaitGroup
	for i := int64(6); i <= 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); put(fmt.Sprintf("folded from %d items", i), i) }()
	}
	wg.Wait()
	if c, _ := ws.WorkflowCase(e.ctx, id); c.Status != "folded from 20 items" {
		t.Fatalf("after concurrent folds: %q", c.Status)
	}
}

func testWorkflowDeliveries(t *testing.T, e *env, ws store.WorkflowStore) {
	de, ee := "identity--0a000000-0000-4000-8000-0000000000de", "identity--0a000000-0000-4000-8000-0000000000ee"
	e.putPeer(testPeer(de, "cert-de"))
	e.putPeer(testPeer(ee, "cert-ee"))
	coll := e.collection()
	id := "x-test-case--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01"
	o := wfObject("x-test-case", id, stix.FormatTimestamp(Start))
	e.addWith(coll, []*stix.Object{o}, store.AddOptions{Outbox: share([]*stix.Object{o}, "", de, ee)}, "added")
	rows := e.pending(de, 0)
	e.clk.Advance(time.Second)
	if err := e.s.MarkDelivered(e.ctx, []int64{rows[0].Seq}, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	ds, err := ws.Deliveries(e.ctx, id, o.Version())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || !ds[de].DeliveredAt.Equal(Start.Add(time.Second)) || !ds[ee].DeliveredAt.IsZero() || !ds[ee].Queued.Equal(Start) {
		t.Fatalf("deliveries: %+v", ds)
	}
	if ds, err := ws.Deliveries(e.ctx, "x-test-case--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a09", o.Version()); err != nil || len(ds) != 0 {
		t.Fatalf("deliveries of an unknown object: %+v, %v", ds, err)
	}
}

func testWorkflowInvalid(t *testing.T, e *env, ws store.WorkflowStore) {
	coll := e.collection()
	o := wfObject("x-test-case", "x-test-case--9f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01", stix.FormatTimestamp(Start))
	for name, idx := range map[string][]store.WorkflowIndex{
		"index out of range": {{ObjectIndex: 1, Item: store.WorkflowItem{Case: o.ID, Kind: "k", Node: "n"}}},
		"no case":            {{ObjectIndex: 0, Item: store.WorkflowItem{Kind: "k", Node: "n"}}},
		"no kind":            {{ObjectIndex: 0, Item: store.WorkflowItem{Case: o.ID, Node: "n"}}},
		"no node":            {{ObjectIndex: 0, Item: store.WorkflowItem{Case: o.ID, Kind: "k"}}},
	} {
		if _, err := e.s.AddObjectsWith(e.ctx, coll, []*stix.Object{o}, store.AddOptions{Workflow: idx}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{Kind: "k"}, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("case without id: %v", err)
	}
}

// testWorkflowByOrigin: Origin, NotOrigin and WaitingOn select the cases a
// node opened, those it received, and those whose next deadline waits on
// it; WorkflowCount counts what WorkflowCases lists; the waiting index
// follows every new state of a case (closed, deadline met, another party
// awaited) but not an older fold.
func testWorkflowByOrigin(t *testing.T, e *env, ws store.WorkflowStore) {
	const a, b, c = "identity--a", "identity--b", "identity--c"
	h := func(n int) time.Time { return Start.Add(time.Duration(n) * time.Hour) }
	seq := int64(0)
	put := func(n int, kind, origin string, open bool, due time.Time, waiting ...string) {
		t.Helper()
		seq++
		id := fmt.Sprintf("x-a--00000000-0000-4000-8000-00000000000%d", n)
		if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: id, Kind: kind, Origin: origin, Title: "t", Severity: -1, Status: "s",
			Open: open, NextDue: due, WaitingOn: waiting, Opened: h(n), Updated: h(n), State: json.RawMessage(`{"n":1}`)}, seq); err != nil {
			t.Fatal(err)
		}
	}
	put(1, "alert", a, true, h(30), b, c)  // a's alert to b and c, both to acknowledge
	put(2, "alert", b, true, h(20), a)     // b's alert to a: a acknowledges
	put(3, "alert", c, true, h(10), a, b)  // c's alert to a and b
	put(4, "alert", b, false, h(5), a)     // closed: waits on no one
	put(5, "notice", b, true, h(15), a)    // b's notice to a
	put(6, "notice", a, true, time.Time{}) // no open deadline
	put(7, "alert", c, true, h(40), a, a)  // a listed twice: one row
	put(8, "incident", a, true, h(12), a)  // a waits on itself
	ids := func(cs []store.WorkflowCase) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID[len(c.ID)-1:])
		}
		return strings.Join(out, " ")
	}
	check := func(when string) func(q store.WorkflowQuery, want string) {
		return func(q store.WorkflowQuery, want string) {
			t.Helper()
			for _, noState := range []bool{false, true} {
				q.NoState = noState
				cs, err := ws.WorkflowCases(e.ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(cs); got != want {
					t.Errorf("%s: WorkflowCases(%+v) = %q, want %q", when, q, got, want)
				}
				if len(cs) > 0 && noState == strings.Contains(string(cs[0].State), `"n"`) {
					t.Errorf("%s: WorkflowCases(%+v): state %s with NoState %v", when, q, cs[0].State, noState)
				}
			}
			if q.Limit > 0 {
				return // the count is of every match
			}
			q.Limit = 1 // ignored by the count
			n, err := ws.WorkflowCount(e.ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(strings.Fields(want)); n != want {
				t.Errorf("%s: WorkflowCount(%+v) = %d, want %d", when, q, n, want)
			}
		}
	}
	c1 := check("first")
	c1(store.WorkflowQuery{Origin: a}, "8 6 1")
	c1(store.WorkflowQuery{Kind: "alert", Origin: a}, "1")
	c1(store.WorkflowQuery{Kind: "alert", NotOrigin: a}, "7 4 3 2")
	c1(store.WorkflowQuery{Kind: "alert", NotOrigin: a, OpenOnly: true}, "7 3 2")
	c1(store.WorkflowQuery{NotOrigin: a, Limit: 2}, "7 5")
	c1(store.WorkflowQuery{WaitingOn: a}, "3 8 5 2 7")
	c1(store.WorkflowQuery{WaitingOn: a, Kind: "alert"}, "3 2 7")
	c1(store.WorkflowQuery{WaitingOn: a, Kind: "alert", NotOrigin: a}, "3 2 7")
	c1(store.WorkflowQuery{WaitingOn: a, NotOrigin: a}, "3 5 2 7")
	c1(store.WorkflowQuery{WaitingOn: a, Before: h(16)}, "3 8 5")
	c1(store.WorkflowQuery{WaitingOn: a, DueOnly: true, Kind: "notice"}, "5")
	c1(store.WorkflowQuery{WaitingOn: b}, "3 1")
	c1(store.WorkflowQuery{WaitingOn: "identity--nobody"}, "")
	c1(store.WorkflowQuery{DueOnly: true, Kind: "alert", NotOrigin: a}, "3 2 7")

	// New states: a acknowledged c's alert 3 (it now waits on b alone), b's
	// alert 2 was closed, a's own alert 1 now waits on c only.
	put(3, "alert", c, true, h(10), b)
	put(2, "alert", b, false, time.Time{})
	put(1, "alert", a, true, h(30), c)
	c2 := check("after new states")
	c2(store.WorkflowQuery{WaitingOn: a}, "8 5 7")
	c2(store.WorkflowQuery{WaitingOn: b}, "3")
	c2(store.WorkflowQuery{WaitingOn: c}, "1")
	// An older fold of case 3 (from fewer items) changes nothing.
	id3 := "x-a--00000000-0000-4000-8000-000000000003"
	if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: id3, Kind: "alert", Origin: c, Open: true, NextDue: h(10),
		WaitingOn: []string{a}, Opened: h(3), Updated: h(3)}, 1); err != nil {
		t.Fatal(err)
	}
	c3 := check("after an older fold")
	c3(store.WorkflowQuery{WaitingOn: a}, "8 5 7")
	c3(store.WorkflowQuery{WaitingOn: b}, "3")
}

// testWorkflowReceivedAmongSent: the one case a node received is found
// among thousands it sent since, however few rows are asked for, and so
// is the one that waits on it.
func testWorkflowReceivedAmongSent(t *testing.T, e *env, ws store.WorkflowStore) {
	const self, peer = "identity--self", "identity--peer"
	received := "x-a--00000000-0000-4000-8000-000000000000"
	if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: received, Kind: "alert", Origin: peer, Open: true,
		NextDue: Start.Add(48 * time.Hour), WaitingOn: []string{self}, Opened: Start, Updated: Start}, 1); err != nil {
		t.Fatal(err)
	}
	const sent = 600
	for i := 1; i <= sent; i++ {
		at := Start.Add(time.Duration(i) * time.Second)
		if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: fmt.Sprintf("x-a--00000000-0000-4000-8000-%012d", i), Kind: "alert",
			Origin: self, Open: true, NextDue: at.Add(4 * time.Hour), WaitingOn: []string{peer}, Opened: at, Updated: at}, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []store.WorkflowQuery{
		{Kind: "alert", NotOrigin: self, Limit: 1, NoState: true},
		{Kind: "alert", NotOrigin: self, OpenOnly: true, Limit: 1},
		{Kind: "alert", WaitingOn: self, NotOrigin: self, Limit: 1},
		{Kind: "alert", WaitingOn: self, DueOnly: true, Limit: 1},
	} {
		cs, err := ws.WorkflowCases(e.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || cs[0].ID != received {
			t.Errorf("WorkflowCases(%+v) = %d cases, want the one received", q, len(cs))
		}
		if n, err := ws.WorkflowCount(e.ctx, q); err != nil || n != 1 {
			t.Errorf("WorkflowCount(%+v) = %d, %v; want 1", q, n, err)
		}
	}
	if n, err := ws.WorkflowCount(e.ctx, store.WorkflowQuery{Kind: "alert", Origin: self}); err != nil || n != sent {
		t.Errorf("sent: %d, %v; want %d", n, err, sent)
	}
	if n, err := ws.WorkflowCount(e.ctx, store.WorkflowQuery{WaitingOn: peer}); err != nil || n != sent {
		t.Errorf("waiting on the peer: %d, %v; want %d", n, err, sent)
	}
}
