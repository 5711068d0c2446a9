package storetest

import (
	"fmt"
	"testing"

	"github.com/entraide/entraide/internal/store"
)

// testWorkflowFoldVersion: a case's state carries the version of the fold
// that computed it; StaleWorkflowCases finds, per kind and page by page,
// the cases an older fold computed; a fold from as many items by an older
// version does not replace a newer one's, a fold from more items does.
func testWorkflowFoldVersion(t *testing.T, e *env, ws store.WorkflowStore) {
	put := func(n int, kind string, version int, status string, upTo int64) {
		t.Helper()
		id := fmt.Sprintf("x-a--00000000-0000-4000-8000-%012d", n)
		if err := ws.PutWorkflowCase(e.ctx, store.WorkflowCase{ID: id, Kind: kind, Status: status, Open: true, Opened: Start,
			Updated: Start, FoldVersion: version}, upTo); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 5; n++ {
		put(n, "alert", n%3, "first", 5) // versions 1 2 0 1 2
	}
	put(6, "notice", 0, "first", 5)
	stale := func(kind string, version int, after string, limit int) string {
		t.Helper()
		ids, err := ws.StaleWorkflowCases(e.ctx, kind, version, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, id := range ids {
			out += id[len(id)-1:]
		}
		return out
	}
	for _, c := range []struct {
		kind    string
		version int
		after   string
		limit   int
		want    string
	}{
		{"alert", 2, "", 0, "134"},
		{"alert", 3, "", 0, "12345"},
		{"alert", 1, "", 0, "3"},
		{"alert", 0, "", 0, ""},
		{"alert", 3, "", 2, "12"},
		{"alert", 3, "x-a--00000000-0000-4000-8000-000000000002", 2, "34"},
		{"notice", 1, "", 0, "6"},
		{"incident", 9, "", 0, ""},
	} {
		if got := stale(c.kind, c.version, c.after, c.limit); got != c.want {
			t.Errorf("StaleWorkflowCases(%s, %d, %q, %d) = %q, want %q", c.kind, c.version, c.after, c.limit, got, c.want)
		}
	}
	get := func(n int) store.WorkflowCase {
		t.Helper()
		c, err := ws.WorkflowCase(e.ctx, fmt.Sprintf("x-a--00000000-0000-4000-8000-%012d", n))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := get(2); c.FoldVersion != 2 {
		t.Errorf("FoldVersion %d, want 2", c.FoldVersion)
	}
	// Folded again by the newer fold: no longer stale.
	put(3, "alert", 2, "refolded", 5)
	if c := get(3); c.FoldVersion != 2 || c.Status != "refolded" {
		t.Errorf("refolded: %+v", c)
	}
	if got := stale("alert", 2, "", 0); got != "14" {
		t.Errorf("stale after a refold: %q, want 14", got)
	}
	// An older fold of as many items (another process not upgraded yet)
	// does not replace it; an older fold of more items does (and the case
	// is stale again).
	put(3, "alert", 1, "older fold", 5)
	if c := get(3); c.FoldVersion != 2 || c.Status != "refolded" {
		t.Errorf("an older fold of as many items replaced a newer one: %+v", c)
	}
	put(3, "alert", 1, "older fold, one more item", 6)
	if c := get(3); c.FoldVersion != 1 || c.Status != "older fold, one more item" {
		t.Errorf("a fold of more items: %+v", c)
	}
	// In a listing too.
	cs, err := ws.WorkflowCases(e.ctx, store.WorkflowQuery{Kind: "notice"})
	if err != nil || len(cs) != 1 || cs[0].FoldVersion != 0 {
		t.Errorf("listing: %+v, %v", cs, err)
	}
}
