package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// testAddWithFold checks AddOptions.Fold: the cases of a batch's workflow
// items are folded in the transaction that stores them — the folder sees
// the batch's items with those stored before, the state it returns is
// written and the items applied; a case whose object has not arrived is
// only marked applied; a folder's error leaves the case unapplied without
// failing the batch; a batch of duplicates folds nothing. And the fold is
// in the same transaction: a call that fails at any step leaves neither an
// item nor a state behind, and the call that succeeds leaves both.
func testAddWithFold(t *testing.T, e *env) {
	ws, err := store.Workflows(e.s)
	if err != nil {
		t.Fatal(err)
	}
	coll := e.collection()
	caseID := "x-test-case--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01"
	at1, at2, at3 := Start.Add(time.Minute), Start.Add(2*time.Minute), Start.Add(3*time.Minute)
	caseItem := store.WorkflowItem{Case: caseID, Kind: "test", Node: "identity--a", At: at1}
	stepItem := func(at time.Time) store.WorkflowItem {
		return store.WorkflowItem{Case: caseID, Kind: "test", Step: true, Node: "identity--b", Action: "answer", At: at}
	}
	c := wfObject("x-test-case", caseID, stix.FormatTimestamp(at1))
	s1 := wfObject("x-test-step", "x-test-step--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a02", stix.FormatTimestamp(at2))
	s2 := wfObject("x-test-step", "x-test-step--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a03", stix.FormatTimestamp(at3))

	// What the folder saw, call by call; it "folds" into a state naming
	// the items it was given.
	var calls [][]string
	var failNext error
	folder := func(id string, items []store.WorkflowItem) (store.WorkflowCase, bool, error) {
		var seen []string
		hasCase := false
		for _, it := range items {
			seen = append(seen, it.ObjectID)
			hasCase = hasCase || !it.Step
		}
		calls = append(calls, seen)
		if err := failNext; err != nil {
			failNext = nil
			return store.WorkflowCase{}, false, err
		}
		if !hasCase {
			return store.WorkflowCase{}, false, nil
		}
		return store.WorkflowCase{ID: id, Kind: "test", Origin: "identity--a", Title: fmt.Sprintf("%d items", len(items)),
			Status: "open", Open: true, Opened: at1, Updated: items[len(items)-1].At}, true, nil
	}
	add := func(objs []*stix.Object, items []store.WorkflowItem, want string) {
		t.Helper()
		var idx []store.WorkflowIndex
		for i, it := range items {
			idx = append(idx, store.WorkflowIndex{ObjectIndex: i, Item: it})
		}
		e.addWith(coll, objs, store.AddOptions{Workflow: idx, Fold: folder}, want)
	}
	unapplied := func() []string {
		t.Helper()
		ids, err := ws.UnappliedWorkflowCases(e.ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}

	// A step before its case: the folder sees it, says there is nothing
	// to fold; the step is applied, no state is written.
	add([]*stix.Object{s1}, []store.WorkflowItem{stepItem(at2)}, "added")
	if len(calls) != 1 || !slices.Equal(calls[0], []string{s1.ID}) {
		t.Fatalf("folder calls for a lone step: %v", calls)
	}
	if ids := unapplied(); len(ids) != 0 {
		t.Fatalf("unapplied after a lone step: %v", ids)
	}
	if _, err := ws.WorkflowCase(e.ctx, caseID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a state was written for a case that has not arrived: %v", err)
	}
	// The case arrives: the folder sees both, in (At, Seq) order, and its
	// state is written with every item applied.
	add([]*stix.Object{c}, []store.WorkflowItem{caseItem}, "added")
	if len(calls) != 2 || !slices.Equal(calls[1], []string{caseID, s1.ID}) {
		t.Fatalf("folder calls when the case arrives: %v", calls)
	}
	if wc, err := ws.WorkflowCase(e.ctx, caseID); err != nil || wc.Title != "2 items" || !wc.Updated.Equal(at2) {
		t.Fatalf("state after the case arrived: %+v, %v", wc, err)
	}
	if ids := unapplied(); len(ids) != 0 {
		t.Fatalf("unapplied after the case arrived: %v", ids)
	}
	// Duplicates of applied items: nothing to fold.
	add([]*stix.Object{c, s1}, []store.WorkflowItem{caseItem, stepItem(at2)}, "duplicate duplicate")
	if len(calls) != 2 {
		t.Fatalf("the folder was called for duplicates of applied items: %v", calls[2:])
	}
	// A folder's error: the batch is stored, the case left unapplied
	// (Reconcile's job), its state as it was.
	failNext = errors.New("fold failed")
	add([]*stix.Object{s2}, []store.WorkflowItem{stepItem(at3)}, "added")
	if ids := unapplied(); !slices.Equal(ids, []string{caseID}) {
		t.Fatalf("unapplied after a failed fold: %v", ids)
	}
	if wc, _ := ws.WorkflowCase(e.ctx, caseID); wc.Title != "2 items" {
		t.Fatalf("a failed fold changed the state: %+v", wc)
	}
	// The next batch touching the case folds it (a duplicate of the item
	// left unapplied is enough).
	add([]*stix.Object{s2}, []store.WorkflowItem{stepItem(at3)}, "duplicate")
	if wc, _ := ws.WorkflowCase(e.ctx, caseID); wc.Title != "3 items" || len(unapplied()) != 0 {
		t.Fatalf("after folding again: %+v, unapplied %v", wc, unapplied())
	}

	// Atomicity: fail the call at every step of its work.
	atomicCase := "x-test-case--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a11"
	ac := wfObject("x-test-case", atomicCase, stix.FormatTimestamp(at1))
	as := wfObject("x-test-step", "x-test-step--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a12", stix.FormatTimestamp(at2))
	objs := append([]*stix.Object{ac, as}, Indicators(50, 1301)...)
	idx := []store.WorkflowIndex{
		{ObjectIndex: 0, Item: store.WorkflowItem{Case: atomicCase, Kind: "test", Node: "identity--a", At: at1}},
		{ObjectIndex: 1, Item: store.WorkflowItem{Case: atomicCase, Kind: "test", Step: true, Node: "identity--b", Action: "answer", At: at2}},
	}
	opt := store.AddOptions{Workflow: idx, Fold: folder}
	counter := newFailingContext(1 << 62)
	if _, err := e.s.AddObjectsWith(counter, e.collection(), append([]*stix.Object{
		wfObject("x-test-case", "x-test-case--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a21", stix.FormatTimestamp(at1)),
		wfObject("x-test-step", "x-test-step--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a22", stix.FormatTimestamp(at2))},
		Indicators(50, 1302)...), store.AddOptions{Workflow: []store.WorkflowIndex{
		{ObjectIndex: 0, Item: store.WorkflowItem{Case: "x-test-case--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a21", Kind: "test", Node: "identity--a", At: at1}},
		{ObjectIndex: 1, Item: store.WorkflowItem{Case: "x-test-case--8f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a21", Kind: "test", Step: true, Node: "identity--b", Action: "answer", At: at2}},
	}, Fold: folder}); err != nil {
		t.Fatal(err)
	}
	steps := counter.calls.Load()
	target := e.collection()
	failures := 0
	for n := int64(0); n < 2*steps+50; n++ {
		_, err := e.s.AddObjectsWith(newFailingContext(n), target, objs, opt)
		// A write of nothing takes the write lock, which a transaction
		// whose COMMIT the cancelled call stopped waiting for (PostgreSQL
		// goes on with it) holds until it ends: the reads below then see
		// its outcome, not half of it.
		if err := ws.MarkWorkflowApplied(e.ctx, "x-test-case--00000000-0000-4000-8000-000000000000", 0); err != nil {
			t.Fatal(err)
		}
		items, ierr := ws.WorkflowItems(e.ctx, atomicCase)
		if ierr != nil {
			t.Fatal(ierr)
		}
		wc, cerr := ws.WorkflowCase(e.ctx, atomicCase)
		none := len(items) == 0 && errors.Is(cerr, store.ErrNotFound)
		all := len(items) == 2 && cerr == nil && wc.Title == "2 items" && items[0].Applied && items[1].Applied
		switch {
		case err == nil && !all:
			t.Fatalf("n=%d: after the call that succeeded: %d items (%+v), state %+v, %v", n, len(items), items, wc, cerr)
		case !none && !all:
			t.Fatalf("n=%d: a failed call (%v) left %d items and a state (%v) behind: items without their fold", n, err, len(items), cerr)
		case err != nil:
			failures++
		}
		// A call cancelled while PostgreSQL committed reports the
		// cancellation yet wrote everything: whole, which is the point.
		if all {
			break
		}
	}
	if failures < 5 {
		t.Errorf("%d failed attempts (a call checks its context %d times): the test does not exercise the transaction", failures, steps)
	}
}
