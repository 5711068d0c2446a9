package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// newEngine is one node (SQLite) with the alert kind.
func newEngine(t *testing.T, clk clock.Clock) (*node.Node, *workflow.Engine) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "fr")
	if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Name: "cert-fr", Org: "CERT-FR", Country: "FR",
		AdminPassword: "a test password that is long", Clock: clk,
		Contacts: []card.Contact{{Role: "csirt-24x7", Name: "Duty", Email: "duty@fr.example"}}}); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir, func(string) string { return "" }, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	fed, err := federation.New(ctx, n, federation.Config{CosignInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	e, err := workflow.New(n, fed, alert.Kind)
	if err != nil {
		t.Fatal(err)
	}
	return n, e
}

const (
	sender = "identity--11111111-1111-5111-8111-111111111111"
	rcptB  = "identity--22222222-2222-5222-8222-222222222222"
	rcptC  = "identity--33333333-3333-5333-8333-333333333333"
	rcptX  = "identity--44444444-4444-5444-8444-444444444444" // no party
)

// items builds a partner's alert and the steps answering it, as they
// would arrive (already verified: the engine indexes by signer).
func alertObjects(t *testing.T, start time.Time) (caseID string, objs []*stix.Object, signers []string) {
	t.Helper()
	caseID = stix.NewID(alert.Type)
	ts := func(d time.Duration) string { return stix.FormatTimestamp(start.Add(d)) }
	add := func(signer string, m map[string]any) {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		o, err := stix.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		objs, signers = append(objs, o), append(signers, signer)
	}
	add(sender, map[string]any{"type": alert.Type, "spec_version": "2.1", "id": caseID, "created": ts(0), "modified": ts(0),
		"created_by_ref": sender, "name": "Wiper", "common_severity": 4, "sectors": []string{"energy"}, "countries": []string{"FR"},
		"recipient_refs": []string{rcptB, rcptC}, "ack_by": ts(4 * time.Hour),
		"extensions": map[string]any{alert.Extension.ID: map[string]any{"extension_type": "new-sdo"}}})
	step := func(signer string, at time.Duration, action string, extra map[string]any) {
		m := map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
			"created": ts(at), "modified": ts(at), "created_by_ref": signer, "case_ref": caseID, "transition": action, "actor": "someone",
			"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}}
		for k, v := range extra {
			m[k] = v
		}
		add(signer, m)
	}
	step(rcptB, time.Minute, "ack", map[string]any{"answer": "investigating"})
	step(rcptB, 2*time.Hour, "ack", map[string]any{"answer": "affected", "comment": "two substations"})
	step(rcptC, 5*time.Hour, "ack", map[string]any{"answer": "not-affected"})
	step(rcptX, 3*time.Hour, "ack", map[string]any{"answer": "affected"}) // a non-party, arriving before its case could be checked
	step(sender, 6*time.Hour, "close", nil)
	return caseID, objs, signers
}

// store adds objects as the receive path does: indexed in the same
// transaction, then folded.
func storeItems(t *testing.T, n *node.Node, e *workflow.Engine, objs []*stix.Object, signers []string, fold bool) {
	t.Helper()
	ctx := context.Background()
	cols, err := n.Store.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var idx []store.WorkflowIndex
	for i, o := range objs {
		it, ok, err := e.Index(o, signers[i])
		if err != nil || !ok {
			t.Fatalf("index %s: %v %v", o.ID, ok, err)
		}
		idx = append(idx, store.WorkflowIndex{ObjectIndex: i, Item: it})
	}
	opt := store.AddOptions{Workflow: idx}
	if fold {
		opt.Fold = e.FoldCase // as the federation stores them
	}
	if _, err := n.Store.AddObjectsWith(ctx, cols[0].ID, objs, opt); err != nil {
		t.Fatal(err)
	}
}

func caseState(t *testing.T, n *node.Node, id string) store.WorkflowCase {
	t.Helper()
	ws, _ := store.Workflows(n.Store)
	c, err := ws.WorkflowCase(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The state of a case depends on its objects, not on the order they
// arrive in, nor on duplicates: every permutation folds to the same state.
func TestFoldIgnoresArrivalOrderAndDuplicates(t *testing.T) {
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var want string
	for trial := range 6 {
		n, e := newEngine(t, clock.NewFake(start))
		caseID, objs, signers := alertObjects(t, start)
		// Same objects, fresh ids per trial: compare the states without ids.
		r := rand.New(rand.NewPCG(uint64(trial), 7))
		order := r.Perm(len(objs))
		for _, i := range order {
			storeItems(t, n, e, objs[i:i+1], signers[i:i+1], true)
			if r.IntN(2) == 0 { // a duplicated delivery
				storeItems(t, n, e, objs[i:i+1], signers[i:i+1], true)
			}
		}
		c := caseState(t, n, caseID)
		var st struct {
			State struct {
				Status string     `json:"status"`
				Open   bool       `json:"open"`
				View   alert.View `json:"view"`
			} `json:"state"`
			Timeline []struct {
				Action  string `json:"action"`
				Ignored string `json:"ignored"`
			} `json:"timeline"`
		}
		if err := json.Unmarshal(c.State, &st); err != nil {
			t.Fatal(err)
		}
		v := st.State.View
		if st.State.Status != "closed" || st.State.Open || v.Acknowledged != 2 {
			t.Fatalf("trial %d (order %v): %+v", trial, order, st.State)
		}
		for _, r := range v.Recipients {
			switch r.Node {
			case rcptB:
				if r.Answer != "affected" || r.AcknowledgedAt == nil || !r.AcknowledgedAt.Equal(start.Add(time.Minute)) {
					t.Fatalf("trial %d: B: %+v", trial, r)
				}
			case rcptC:
				if r.Answer != "not-affected" {
					t.Fatalf("trial %d: C: %+v", trial, r)
				}
			default:
				t.Fatalf("trial %d: unexpected recipient %s", trial, r.Node)
			}
		}
		ignored := 0
		for _, ev := range st.Timeline {
			if ev.Ignored != "" {
				ignored++
			}
		}
		if len(st.Timeline) != 5 || ignored != 1 {
			t.Fatalf("trial %d: timeline %+v", trial, st.Timeline)
		}
		got := fmt.Sprintf("%s %v %d %+v", st.State.Status, st.State.Open, v.Acknowledged, len(st.Timeline))
		if want == "" {
			want = got
		} else if got != want {
			t.Fatalf("trial %d: %s, want %s", trial, got, want)
		}
	}
}

// A node stopped between storing objects and folding their case folds it
// when it opens again (Reconcile).
func TestReconcileFoldsWhatAStopLeft(t *testing.T) {
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	n, e := newEngine(t, clock.NewFake(start))
	caseID, objs, signers := alertObjects(t, start)
	storeItems(t, n, e, objs, signers, false)
	ws, _ := store.Workflows(n.Store)
	if _, err := ws.WorkflowCase(context.Background(), caseID); err == nil {
		t.Fatal("the case was folded without a fold")
	}
	if err := e.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := caseState(t, n, caseID); c.Status != "closed" {
		t.Fatalf("after reconcile: %+v", c)
	}
	if ids, _ := ws.UnappliedWorkflowCases(context.Background(), 0); len(ids) != 0 {
		t.Fatalf("still unapplied: %v", ids)
	}
}

// A step from a node that is not a party, arriving after its case, is
// refused (Admit) before anything is stored.
func TestAdmitRefusesNonParty(t *testing.T) {
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	n, e := newEngine(t, clock.NewFake(start))
	_, objs, signers := alertObjects(t, start)
	storeItems(t, n, e, objs[:1], signers[:1], true)
	ctx := context.Background()
	for i, o := range objs[1:] {
		it, _, err := e.Index(o, signers[i+1])
		if err != nil {
			t.Fatal(err)
		}
		err = e.Admit(ctx, signers[i+1], o, it)
		if refused := err != nil; refused != (signers[i+1] == rcptX) {
			t.Errorf("step by %s: admit error %v", signers[i+1], err)
		}
	}
	// The sender's own ack is not allowed either.
	b, _ := json.Marshal(map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
		"created": stix.FormatTimestamp(start), "modified": stix.FormatTimestamp(start), "case_ref": objs[0].ID, "transition": "ack", "actor": "a", "answer": "affected"})
	o, err := stix.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	it, _, _ := e.Index(o, sender)
	if err := e.Admit(ctx, sender, o, it); err == nil {
		t.Error("the sender's own acknowledgement was admitted")
	}
}

// Index refuses malformed workflow objects with a reason.
func TestIndexRefusesMalformedSteps(t *testing.T) {
	_, e := newEngine(t, clock.System{})
	now := stix.FormatTimestamp(time.Now())
	for name, extra := range map[string]string{
		"unknown kind":   `"case_ref":"x-unknown--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01","transition":"ack","actor":"a"`,
		"unknown action": `"case_ref":"x-entraide-alert--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01","transition":"approve","actor":"a"`,
		"no actor":       `"case_ref":"x-entraide-alert--6f1f5e1e-0b5e-4c8e-9a4e-2f9f3d0c1a01","transition":"ack"`,
		"bad case_ref":   `"case_ref":"nothing","transition":"ack","actor":"a"`,
	} {
		o, err := stix.Parse(fmt.Appendf(nil, `{"type":%q,"spec_version":"2.1","id":%q,"created":%q,"modified":%q,%s}`,
			workflow.StepType, stix.NewID(workflow.StepType), now, now, extra))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, err := e.Index(o, sender); err == nil {
			t.Errorf("%s: indexed", name)
		}
	}
	// Other objects are not workflow objects.
	o, _ := stix.Parse(fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":%q}`,
		stix.NewID("indicator"), now, now, now))
	if _, ok, err := e.Index(o, sender); ok || err != nil {
		t.Errorf("an indicator: %v %v", ok, err)
	}
}

// The shipped extension ids are UUIDv5 of their schema URLs (recomputed
// here with another implementation), and the definitions validate.
func TestExtensionDefinitions(t *testing.T) {
	for _, x := range []workflow.Extension{workflow.StepExtension, alert.Extension} {
		want := "extension-definition--" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(x.SchemaURL)).String()
		if x.ID != want {
			t.Errorf("%s: id %s, want %s", x.Name, x.ID, want)
		}
		stixschema.Validate(t, x.Definition())
		if _, err := stix.Parse(x.Definition()); err != nil {
			t.Errorf("%s: %v", x.Name, err)
		}
		var s map[string]any
		if err := json.Unmarshal(x.Schema, &s); err != nil || s["$id"] != x.SchemaURL {
			t.Errorf("%s: schema: %v, $id %v", x.Name, err, s["$id"])
		}
	}
}

// Durations take days and weeks; deadlines must be in the future.
func TestDeadlineInput(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	env := &workflow.Env{Now: now}
	for in, want := range map[string]time.Time{
		"4h": now.Add(4 * time.Hour), "3d": now.Add(72 * time.Hour), "2w": now.Add(14 * 24 * time.Hour),
		"2026-12-01T00:00:00Z": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "": now.Add(time.Hour),
	} {
		got, err := env.Deadline("due", in, time.Hour)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-4h", "0s", "2020-01-01T00:00:00Z", "3x", "d", "1.5d", "tomorrow"} {
		if _, err := env.Deadline("due", in, 0); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"4h", "3d", "2w", "-1d", "1h30m", "", "d", "99999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := workflow.ParseDuration(s)
		if err == nil && s != "" && s[len(s)-1] == 'd' && d%(24*time.Hour) != 0 {
			t.Fatalf("%q: %v is not whole days", s, d)
		}
	})
}

// A case whose state an older fold computed (stored before fold versions,
// or by a version whose fold differed) is folded again when the node opens
// (Reconcile); a case folded by this version is left as it is.
func TestReconcileRefoldsOlderFolds(t *testing.T) {
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	n, e := newEngine(t, clock.NewFake(start))
	ctx := context.Background()
	ws, _ := store.Workflows(n.Store)
	// The state this version folds, on another node.
	n2, e2 := newEngine(t, clock.NewFake(start))
	caseID, objs, signers := alertObjects(t, start)
	storeItems(t, n2, e2, objs, signers, true)
	want := caseState(t, n2, caseID)
	if want.FoldVersion != workflow.EngineFoldVersion+alert.Kind.FoldVersion || want.Status != "closed" {
		t.Fatalf("folded: version %d, status %q", want.FoldVersion, want.Status)
	}
	// What an older version left here: the same items, another state.
	ids := []string{caseID}
	storeItems(t, n, e, objs, signers, false)
	c2, objs2, signers2 := alertObjects(t, start)
	storeItems(t, n, e, objs2, signers2, false)
	ids = append(ids, c2)
	for i, id := range ids {
		items, err := ws.WorkflowItems(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var upTo int64
		for _, it := range items {
			upTo = max(upTo, it.Seq)
		}
		old := want
		old.ID, old.Status, old.State, old.FoldVersion = id, "as an older fold saw it", json.RawMessage(`{"older":true}`), 0
		if i == 1 { // the same stale-looking state, but folded by this version
			old.FoldVersion = want.FoldVersion
		}
		if err := ws.PutWorkflowCase(ctx, old, upTo); err != nil {
			t.Fatal(err)
		}
	}
	if c := caseState(t, n, ids[0]); c.Status != "as an older fold saw it" {
		t.Fatalf("the older state was not stored: %q", c.Status)
	}
	if err := e.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	got := caseState(t, n, ids[0])
	if got.Status != want.Status || string(got.State) != string(want.State) || got.FoldVersion != want.FoldVersion {
		t.Errorf("after reconcile: status %q, version %d, state %.80s; want %q, %d, %.80s",
			got.Status, got.FoldVersion, got.State, want.Status, want.FoldVersion, want.State)
	}
	if c := caseState(t, n, ids[1]); c.Status != "as an older fold saw it" {
		t.Errorf("a case folded by this version was folded again: %q", c.Status)
	}
}
