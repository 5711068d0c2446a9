package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// WorkflowItem indexes one workflow object version (package workflow): the
// case object of a cooperation workflow (an alert, an incident, a request…)
// or one of its steps (a state change, itself a signed object).
type WorkflowItem struct {
	Seq      int64  // insertion order, assigned by the store
	ObjectID string // the object's id and version
	Version  string
	Case     string // the case's id (ObjectID itself for the case object)
	Kind     string // the workflow kind: alert, incident, …
	Step     bool   // false for the case object
	Node     string // identity id of the node that signed the object
	Action   string // the step's action ("" for the case object)
	At       time.Time
	Raw      []byte // the object's exact JSON
	Applied  bool   // the case's state row takes it into account
}

// WorkflowIndex asks AddObjectsWith to index objs[ObjectIndex] as a workflow
// item, in the same transaction, when its outcome is Added or Duplicate.
type WorkflowIndex struct {
	ObjectIndex int
	Item        WorkflowItem // Seq, ObjectID, Version, Raw and Applied are filled in by the store
}

// WorkflowCase is the folded state of one case.
type WorkflowCase struct {
	ID        string
	Kind      string
	Origin    string // identity id of the node that opened it
	Title     string
	Severity  int // common severity 0–5, -1 for none
	Status    string
	Open      bool
	NextDue   time.Time // the earliest open deadline; zero for none
	WaitingOn []string  // the node identity ids that deadline waits on
	Opened    time.Time
	Updated   time.Time
	State     json.RawMessage // the kind's view of the case
	// FoldVersion is the version of the fold that computed State (the
	// engine's and the kind's, see workflow.Kind.FoldVersion); 0 for a
	// state folded before versions were recorded (migration 0011).
	FoldVersion int
}

// WorkflowQuery selects cases. The zero value selects every case.
//
// Origin, NotOrigin and WaitingOn name node identity ids; each is answered
// from an index (migration 0010), so that the cases a node received among
// the many it sent, or those waiting on it, are found directly however
// many others there are.
type WorkflowQuery struct {
	Kind     string    // "" for every kind
	OpenOnly bool      // only open cases
	DueOnly  bool      // only cases with an open deadline, ordered by it
	Before   time.Time // with DueOnly or WaitingOn: only deadlines before this instant (zero: no bound)
	// Origin keeps the cases this node opened (a node's own: sent).
	Origin string
	// NotOrigin keeps the cases any other node opened (received).
	NotOrigin string
	// WaitingOn keeps the open cases whose next deadline waits on this
	// node (WorkflowCase.WaitingOn holds it), ordered by that deadline as
	// DueOnly orders them. A later deadline on the node, behind an earlier
	// one on another party, does not count until it is the next one.
	WaitingOn string
	// OpenedSince and OpenedBefore keep the cases opened at or after
	// OpenedSince and before OpenedBefore (zero: no bound), a range of the
	// (kind, opened) and (kind, origin, opened) indexes.
	OpenedSince, OpenedBefore time.Time
	Limit                     int  // ≤ 0: 1000
	NoState                   bool // leave WorkflowCase.State empty (summaries)
}

// WorkflowGroup is what WorkflowCountBy groups cases by.
type WorkflowGroup int

const (
	// GroupSeverity groups by common severity: the key is the level 0–5,
	// or what the case holds when it has none (-1).
	GroupSeverity WorkflowGroup = iota + 1
	// GroupOpenedDay groups by the UTC day the case was opened: the key is
	// the number of days since 1970-01-01 (Day gives it for an instant).
	GroupOpenedDay
)

// Day is the key of GroupOpenedDay for an instant: its UTC day, counted
// from 1970-01-01 (before it: negative).
func Day(t time.Time) int64 {
	m := t.UnixMicro()
	d := m / microsPerDay
	if m%microsPerDay < 0 {
		d--
	}
	return d
}

const microsPerDay = int64(24 * time.Hour / time.Microsecond)

// WorkflowStore keeps the cooperation workflows' index and states (migration
// 0005). Workflow items are written with their objects (AddOptions.Workflow);
// case states are derived and can always be recomputed from the items.
type WorkflowStore interface {
	// WorkflowItems returns the items of a case (the case object and its
	// steps, and steps that name it before it arrived), ordered by (At, Seq).
	WorkflowItems(ctx context.Context, caseID string) ([]WorkflowItem, error)
	// WorkflowItem returns the latest version of one workflow object, or
	// ErrNotFound.
	WorkflowItem(ctx context.Context, objectID string) (WorkflowItem, error)
	// UnappliedWorkflowCases returns at most limit (≤ 0: 1000) case ids that
	// have items their state row does not take into account yet.
	UnappliedWorkflowCases(ctx context.Context, limit int) ([]string, error)
	// PutWorkflowCase writes a case's folded state (insert or replace by ID)
	// and marks its items up to seq upTo applied, in one transaction. A
	// state folded from fewer items than the stored one (upTo lower: two
	// processes folded the case at once), or from as many by an older fold
	// (FoldVersion lower), does not replace it.
	// ErrInvalid if ID or Kind is empty.
	PutWorkflowCase(ctx context.Context, c WorkflowCase, upTo int64) error
	// StaleWorkflowCases returns at most limit (≤ 0: 1000) ids of the cases
	// of kind whose state was folded by a fold older than version
	// (FoldVersion < version), greater than after, ordered by id: the cases
	// to fold again after an upgrade changed the kind's fold.
	StaleWorkflowCases(ctx context.Context, kind string, version int, after string, limit int) ([]string, error)
	// MarkWorkflowApplied marks a case's items up to seq upTo applied
	// without writing a state (steps that arrived before their case).
	MarkWorkflowApplied(ctx context.Context, caseID string, upTo int64) error
	// WorkflowCase returns one case's state, or ErrNotFound.
	WorkflowCase(ctx context.Context, id string) (WorkflowCase, error)
	// WorkflowCases lists case states matching q: by DueOnly or WaitingOn,
	// ordered by (NextDue, ID); otherwise by (Opened, ID) descending, newest
	// first.
	WorkflowCases(ctx context.Context, q WorkflowQuery) ([]WorkflowCase, error)
	// WorkflowCount counts the cases matching q (its Limit and NoState
	// aside), from the same indexes.
	WorkflowCount(ctx context.Context, q WorkflowQuery) (int, error)
	// WorkflowCountBy counts the cases matching q (its Limit and NoState
	// aside) per group, in one grouped query on the same indexes: every
	// matching case is counted, however many there are, so a summary
	// (alerts per day, open incidents per severity) needs no bound.
	// Groups without a case are absent; the counts add up to
	// WorkflowCount(q). ErrInvalid for an unknown group.
	WorkflowCountBy(ctx context.Context, q WorkflowQuery, by WorkflowGroup) (map[int64]int, error)
	// WorkflowDueCounts counts the open cases with an open deadline, and
	// those whose deadline is before now (overdue).
	WorkflowDueCounts(ctx context.Context, now time.Time) (due, overdue int, err error)
	// Deliveries returns, per peer identity id, the delivery of the latest
	// outbox row of an object version (ErrNotFound never: no row, no entry).
	Deliveries(ctx context.Context, objectID, version string) (map[string]Delivery, error)
}

// Delivery is the state of one object version's delivery to one peer.
type Delivery struct {
	Queued      time.Time
	DeliveredAt time.Time // zero while not delivered
	FailedAt    time.Time // a final failure
	Attempts    int
	LastError   string
}

var _ WorkflowStore = (*sqlStore)(nil)

// Workflows returns the workflow storage of a store that Open returned.
func Workflows(s Store) (WorkflowStore, error) {
	if w, ok := s.(sealingStore); ok {
		s = w.Store
	}
	ws, ok := s.(WorkflowStore)
	if !ok {
		return nil, fmt.Errorf("store: %w: %T keeps no workflows", ErrInvalid, s)
	}
	return ws, nil
}

var workflowItemColumns = []string{"seq", "object_id", "version", "case_id", "kind", "step", "node", "action", "at", "raw", "applied"}

// insertWorkflow writes the index rows of the objects whose outcome is
// Added or Duplicate; a row already present is left as it is.
func (s *sqlStore) insertWorkflow(ctx context.Context, tx *sql.Tx, results []AddResult, idx []WorkflowIndex, objs []*stix.Object) error {
	var keep []WorkflowIndex
	for _, w := range idx {
		if o := results[w.ObjectIndex].Outcome; o == Added || o == Duplicate {
			w.Item.ObjectID, w.Item.Version = results[w.ObjectIndex].ID, results[w.ObjectIndex].Version
			w.Item.Raw = objs[w.ObjectIndex].Raw
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	seq, err := allocate(ctx, tx, "workflow_seq", len(keep))
	if err != nil {
		return err
	}
	for _, w := range keep {
		it := w.Item
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_items (`+strings.Join(workflowItemColumns, ", ")+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (object_id, version) DO NOTHING`,
			seq, it.ObjectID, it.Version, it.Case, it.Kind, it.Step, it.Node, it.Action, it.At.UnixMicro(), it.Raw, false); err != nil {
			return err
		}
		seq++
	}
	return nil
}

func checkWorkflow(idx []WorkflowIndex, n int) error {
	for i, w := range idx {
		if w.ObjectIndex < 0 || w.ObjectIndex >= n {
			return fmt.Errorf("%w: workflow item %d: object index %d out of range (%d objects)", ErrInvalid, i, w.ObjectIndex, n)
		}
		if w.Item.Case == "" || w.Item.Kind == "" || w.Item.Node == "" {
			return fmt.Errorf("%w: workflow item %d: case, kind and node are required", ErrInvalid, i)
		}
	}
	return nil
}

func scanWorkflowItems(rows *sql.Rows) ([]WorkflowItem, error) {
	defer rows.Close()
	var out []WorkflowItem
	for rows.Next() {
		var it WorkflowItem
		var at int64
		if err := rows.Scan(&it.Seq, &it.ObjectID, &it.Version, &it.Case, &it.Kind, &it.Step, &it.Node, &it.Action, &at, &it.Raw, &it.Applied); err != nil {
			return nil, err
		}
		it.At = fromMicro(at)
		out = append(out, it)
	}
	return out, rows.Err()
}

func (s *sqlStore) WorkflowItems(ctx context.Context, caseID string) ([]WorkflowItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+strings.Join(workflowItemColumns, ", ")+`
		FROM workflow_items WHERE case_id = $1 ORDER BY at, seq`, caseID)
	if err != nil {
		return nil, err
	}
	return scanWorkflowItems(rows)
}

func (s *sqlStore) WorkflowItem(ctx context.Context, objectID string) (WorkflowItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+strings.Join(workflowItemColumns, ", ")+`
		FROM workflow_items WHERE object_id = $1 ORDER BY version DESC LIMIT 1`, objectID)
	if err != nil {
		return WorkflowItem{}, err
	}
	its, err := scanWorkflowItems(rows)
	if err != nil {
		return WorkflowItem{}, err
	}
	if len(its) == 0 {
		return WorkflowItem{}, fmt.Errorf("store: workflow object %s: %w", objectID, ErrNotFound)
	}
	return its[0], nil
}

func (s *sqlStore) UnappliedWorkflowCases(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return s.ids(ctx, `SELECT DISTINCT case_id FROM workflow_items WHERE applied = FALSE ORDER BY case_id LIMIT $1`, limit)
}

var workflowCaseColumns = "id, kind, origin, title, severity, status, open, next_due, waiting_on, opened, updated, state, fold_version"

func (s *sqlStore) StaleWorkflowCases(ctx context.Context, kind string, version int, after string, limit int) ([]string, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return s.ids(ctx, `SELECT id FROM workflow_cases WHERE kind = $1 AND fold_version < $2 AND id > $3
		ORDER BY id LIMIT $4`, kind, version, after, limit)
}

// ids runs a query of one text column and returns its values.
func (s *sqlStore) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (s *sqlStore) MarkWorkflowApplied(ctx context.Context, caseID string, upTo int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return markWorkflowApplied(ctx, tx, caseID, upTo) })
}

func (s *sqlStore) PutWorkflowCase(ctx context.Context, c WorkflowCase, upTo int64) error {
	if c.ID == "" || c.Kind == "" {
		return fmt.Errorf("store: workflow case: %w: id and kind are required", ErrInvalid)
	}
	return s.write(ctx, func(tx *sql.Tx) error { return putWorkflowCase(ctx, tx, c, upTo) })
}

// putWorkflowCase is PutWorkflowCase in the write transaction tx. It is also
// how AddObjectsWith folds cases in the transaction that stores their items
// (AddOptions.Fold), so that both write the same row.
func putWorkflowCase(ctx context.Context, tx *sql.Tx, c WorkflowCase, upTo int64) error {
	if c.ID == "" || c.Kind == "" {
		return fmt.Errorf("store: workflow case: %w: id and kind are required", ErrInvalid)
	}
	waiting := c.WaitingOn
	if waiting == nil {
		waiting = []string{}
	}
	wb, err := json.Marshal(waiting)
	if err != nil {
		return err
	}
	state := c.State
	if len(state) == 0 {
		state = json.RawMessage("{}")
	}
	micro := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMicro()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO workflow_cases (`+workflowCaseColumns+`, folded_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, origin = excluded.origin, title = excluded.title,
			severity = excluded.severity, status = excluded.status, open = excluded.open, next_due = excluded.next_due,
			waiting_on = excluded.waiting_on, opened = excluded.opened, updated = excluded.updated, state = excluded.state,
			fold_version = excluded.fold_version, folded_seq = excluded.folded_seq
		WHERE workflow_cases.folded_seq < excluded.folded_seq OR (workflow_cases.folded_seq = excluded.folded_seq
			AND workflow_cases.fold_version <= excluded.fold_version)`,
		c.ID, c.Kind, c.Origin, c.Title, c.Severity, c.Status, c.Open, micro(c.NextDue), string(wb),
		micro(c.Opened), micro(c.Updated), string(state), c.FoldVersion, upTo)
	if err != nil {
		return err
	}
	// An older fold left the row as it was: its waiting rows stand too.
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		if err := putWorkflowWaiting(ctx, tx, c, micro(c.NextDue)); err != nil {
			return err
		}
	}
	return markWorkflowApplied(ctx, tx, c.ID, upTo)
}

// putWorkflowWaiting rewrites a case's rows of workflow_waiting: one per
// node its next deadline waits on, while it is open.
func putWorkflowWaiting(ctx context.Context, tx *sql.Tx, c WorkflowCase, due int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM workflow_waiting WHERE case_id = $1`, c.ID); err != nil {
		return err
	}
	if !c.Open || due == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, n := range c.WaitingOn {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_waiting (case_id, node, kind, next_due) VALUES ($1, $2, $3, $4)`,
			c.ID, n, c.Kind, due); err != nil {
			return err
		}
	}
	return nil
}

// markWorkflowApplied is MarkWorkflowApplied in the write transaction tx.
func markWorkflowApplied(ctx context.Context, tx *sql.Tx, caseID string, upTo int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE workflow_items SET applied = TRUE WHERE case_id = $1 AND seq <= $2 AND applied = FALSE`, caseID, upTo)
	return err
}

func scanWorkflowCases(rows *sql.Rows) ([]WorkflowCase, error) {
	defer rows.Close()
	var out []WorkflowCase
	for rows.Next() {
		var (
			c                     WorkflowCase
			next, opened, updated int64
			waiting, state        string
		)
		if err := rows.Scan(&c.ID, &c.Kind, &c.Origin, &c.Title, &c.Severity, &c.Status, &c.Open, &next, &waiting,
			&opened, &updated, &state, &c.FoldVersion); err != nil {
			return nil, err
		}
		if next != 0 {
			c.NextDue = fromMicro(next)
		}
		c.Opened, c.Updated = fromMicro(opened), fromMicro(updated)
		if err := json.Unmarshal([]byte(waiting), &c.WaitingOn); err != nil {
			return nil, fmt.Errorf("store: workflow case %s: waiting_on: %v", c.ID, err)
		}
		c.State = json.RawMessage(state)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *sqlStore) WorkflowCase(ctx context.Context, id string) (WorkflowCase, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+workflowCaseColumns+` FROM workflow_cases WHERE id = $1`, id)
	if err != nil {
		return WorkflowCase{}, err
	}
	cs, err := scanWorkflowCases(rows)
	if err != nil {
		return WorkflowCase{}, err
	}
	if len(cs) == 0 {
		return WorkflowCase{}, fmt.Errorf("store: workflow case %s: %w", id, ErrNotFound)
	}
	return cs[0], nil
}

// workflowWhere is the FROM and WHERE of a query of cases (columns of
// workflow_cases prefixed c.), and whether it is ordered by deadline.
func workflowWhere(q WorkflowQuery, p *params) (from string, byDue bool) {
	from = ` FROM workflow_cases c`
	var where []string
	byDue = q.DueOnly || q.WaitingOn != ""
	if q.WaitingOn != "" {
		// The node's range of workflow_waiting, soonest first; its rows
		// exist for open cases with an open deadline only.
		from += ` JOIN workflow_waiting w ON w.case_id = c.id`
		where = append(where, "w.node = "+p.add(q.WaitingOn))
		if q.Kind != "" {
			where = append(where, "w.kind = "+p.add(q.Kind))
		}
		if !q.Before.IsZero() {
			where = append(where, "w.next_due < "+p.add(q.Before.UnixMicro()))
		}
	} else if q.Kind != "" {
		where = append(where, "c.kind = "+p.add(q.Kind))
	}
	if q.Origin != "" {
		where = append(where, "c.origin = "+p.add(q.Origin))
	}
	if q.NotOrigin != "" {
		// Two ranges of the (kind, origin, opened) index rather than a
		// filter on every case of the kind: what is read is what another
		// node opened, however many this one did.
		x := p.add(q.NotOrigin)
		where = append(where, "(c.origin < "+x+" OR c.origin > "+x+")")
	}
	if !q.OpenedSince.IsZero() {
		where = append(where, "c.opened >= "+p.add(q.OpenedSince.UnixMicro()))
	}
	if !q.OpenedBefore.IsZero() {
		where = append(where, "c.opened < "+p.add(q.OpenedBefore.UnixMicro()))
	}
	if q.OpenOnly || byDue {
		where = append(where, "c.open = TRUE")
	}
	if q.DueOnly && q.WaitingOn == "" {
		where = append(where, "c.next_due > 0")
		if !q.Before.IsZero() {
			where = append(where, "c.next_due < "+p.add(q.Before.UnixMicro()))
		}
	}
	if len(where) > 0 {
		from += " WHERE " + strings.Join(where, " AND ")
	}
	return from, byDue
}

func (s *sqlStore) WorkflowCases(ctx context.Context, q WorkflowQuery) ([]WorkflowCase, error) {
	query, args := workflowCasesSQL(q)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanWorkflowCases(rows)
}

// workflowCasesSQL is the query of WorkflowCases.
func workflowCasesSQL(q WorkflowQuery) (string, []any) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var p params
	from, byDue := workflowWhere(q, &p)
	order := " ORDER BY c.opened DESC, c.id DESC"
	switch {
	case q.WaitingOn != "":
		order = " ORDER BY w.next_due, w.case_id"
	case byDue:
		order = " ORDER BY c.next_due, c.id"
	}
	cols := "c." + strings.ReplaceAll(workflowCaseColumns, ", ", ", c.")
	if q.NoState {
		cols = strings.Replace(cols, ", c.state", ", '{}'", 1)
	}
	return `SELECT ` + cols + from + order + " LIMIT " + p.add(limit), p.vals
}

func (s *sqlStore) WorkflowCount(ctx context.Context, q WorkflowQuery) (int, error) {
	var p params
	from, _ := workflowWhere(q, &p)
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+from, p.vals...).Scan(&n)
	return n, err
}

func (s *sqlStore) WorkflowCountBy(ctx context.Context, q WorkflowQuery, by WorkflowGroup) (map[int64]int, error) {
	query, args, err := workflowCountBySQL(q, by)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var (
			k int64
			n int
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// workflowCountBySQL is the query of WorkflowCountBy.
func workflowCountBySQL(q WorkflowQuery, by WorkflowGroup) (string, []any, error) {
	var key string
	switch by {
	case GroupSeverity:
		key = "c.severity"
	case GroupOpenedDay:
		// Whole days of microseconds since the epoch, rounded down (a
		// negative instant too), in integer arithmetic on both engines.
		d := strconv.FormatInt(microsPerDay, 10)
		key = "(CASE WHEN c.opened >= 0 THEN c.opened / " + d + " ELSE -((-c.opened + " + d + " - 1) / " + d + ") END)"
	default:
		return "", nil, fmt.Errorf("store: %w: unknown workflow group %d", ErrInvalid, by)
	}
	var p params
	from, _ := workflowWhere(q, &p)
	return `SELECT ` + key + `, COUNT(*)` + from + ` GROUP BY ` + key, p.vals, nil
}

func (s *sqlStore) Deliveries(ctx context.Context, objectID, version string) (map[string]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.peer, o.created, o.delivered_at, o.failed_at, o.attempts, o.last_error
		FROM outbox o JOIN objects b ON b.pk = o.object
		WHERE b.id = $1 AND b.version = $2 ORDER BY o.seq`, objectID, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Delivery{}
	for rows.Next() {
		var (
			peer                       string
			created, delivered, failed int64
			d                          Delivery
		)
		if err := rows.Scan(&peer, &created, &delivered, &failed, &d.Attempts, &d.LastError); err != nil {
			return nil, err
		}
		d.Queued = fromMicro(created)
		if delivered != 0 {
			d.DeliveredAt = fromMicro(delivered)
		}
		if failed != 0 {
			d.FailedAt = fromMicro(failed)
		}
		out[peer] = d
	}
	return out, rows.Err()
}

func (s *sqlStore) WorkflowDueCounts(ctx context.Context, now time.Time) (due, overdue int, err error) {
	var od sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(CASE WHEN next_due < $1 THEN 1 ELSE 0 END)
		FROM workflow_cases WHERE open = TRUE AND next_due > 0`, now.UnixMicro()).Scan(&due, &od)
	return due, int(od.Int64), err
}
