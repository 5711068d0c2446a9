package store

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/stix"
)

// Peer is a pinned partner node (migrations/0002_federation.sql).
type Peer struct {
	IdentityID   string // its STIX identity id: fixed for the node's whole life
	Name         string // how this node calls it; unique; never starts with "identity--"
	Organisation string
	Country      string
	Endpoint     string // its federation endpoint, https://host:port/
	TLSSPKI      string // SHA-256 of its federation certificate's SubjectPublicKeyInfo, lowercase hex (pinned)
	Card         []byte // its signed card, as received
	Keys         []PeerKey
	Added        time.Time
	LastContact  time.Time // last successful exchange
	LastError    string    // last failed exchange, "" if none since the last success
	LastErrorAt  time.Time
}

// PeerKey is one signing key of a peer, with the time it was pinned.
type PeerKey struct {
	Key   ed25519.PublicKey
	Added time.Time
}

// PublicKeys returns the peer's signing keys, oldest first.
func (p Peer) PublicKeys() []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, len(p.Keys))
	for i, k := range p.Keys {
		out[i] = k.Key
	}
	return out
}

// CurrentKey returns the peer's newest signing key (nil if it has none).
func (p Peer) CurrentKey() ed25519.PublicKey {
	if len(p.Keys) == 0 {
		return nil
	}
	return p.Keys[len(p.Keys)-1].Key
}

// Community is a named trust group and its policy.
type Community struct {
	Name       string   // 1–63 lowercase letters, digits, hyphens; the alias of its collection
	MaxTLP     stix.TLP // the highest TLP level it carries
	Types      []string // the STIX types it carries; empty for every type
	Members    []string // node identity ids, sorted; this node's own id when it is a member
	Collection string   // id of its TAXII collection (set by the store)
	Created    time.Time
}

// Provenance is where an object version came from, as this node first learnt
// it. It mirrors what the policy engine needs (policy.Object).
type Provenance struct {
	Origin        string // the signer's identity id; "" when unknown (an import)
	ReceivedFrom  string // the peer that delivered it; "" for our own objects
	ReceivedVia   string // the community it came through; "" for a direct send or our own
	Distribution  Distribution
	RedRecipients []Recipient
	ReceivedAt    time.Time // zero: the store's clock at the write
}

// IsZero reports whether p records nothing.
func (p Provenance) IsZero() bool {
	return p.Origin == "" && p.ReceivedFrom == "" && p.ReceivedVia == "" && len(p.Distribution.Communities) == 0 &&
		len(p.Distribution.Nodes) == 0 && len(p.RedRecipients) == 0 && p.ReceivedAt.IsZero()
}

// Distribution is the originator's choice of recipients.
type Distribution struct {
	Communities []string `json:"communities"`
	Nodes       []string `json:"nodes"`
}

// Recipient is a named person at a node (the recipients of TLP:RED).
type Recipient struct {
	Node string `json:"node"`
	User string `json:"user"`
}

// AddOptions is what AddObjectsWith does besides adding objects.
type AddOptions struct {
	AlsoCollections []string     // other collections the objects are added to
	Provenance      []Provenance // parallel to the objects; nil for none
	Outbox          []OutboxItem // deliveries to queue
	// Sealer, when set, seals the TLP:RED versions the batch stores for
	// the first time (see Sealer); nil stores every version in clear.
	Sealer Sealer
	// Workflow indexes workflow objects (package workflow) in the same
	// transaction (see WorkflowStore).
	Workflow []WorkflowIndex
	// Fold, when set with Workflow, folds the cases the batch's workflow
	// items belong to in the same transaction (see CaseFolder), so that a
	// stored item is never left waiting for its case's state; nil leaves
	// the items unapplied (UnappliedWorkflowCases) for the caller to fold.
	Fold CaseFolder
	// Audit, when set, appends to the audit log in the same transaction
	// what it returns for the batch's outcomes: the build function of an
	// append, as audit.Storage.AppendAudit takes it (audit.Log.Prepare);
	// nil appends nothing. The entries that record a batch (received,
	// shared, refused) are then written with it or not at all.
	Audit func(results []AddResult) AuditBuild
}

// AuditBuild builds an append to the audit log from its tip (see
// audit.Storage.AppendAudit).
type AuditBuild = func(audit.Tip, tlog.HashReader) ([]audit.Entry, []tlog.Hash, error)

// CaseFolder computes the state of a case from its items, as WorkflowItems
// returns them (the batch's own included), inside the transaction of
// AddObjectsWith; it must not use the store. The store writes the state it
// returns as PutWorkflowCase does, with upTo the largest Seq of the items,
// or, when ok is false (steps whose case has not arrived), only marks the
// items applied. An error leaves that case's items unapplied, for a later
// fold (Reconcile) to retry, and does not fail the batch. The store calls
// it only for a case with an item not applied yet: a batch of duplicates
// of applied items folds nothing.
type CaseFolder func(caseID string, items []WorkflowItem) (c WorkflowCase, ok bool, err error)

// OutboxItem queues the object objs[ObjectIndex] for delivery to Peer (an
// identity id) for Community ("" for a direct send).
type OutboxItem struct {
	Peer        string
	ObjectIndex int
	Community   string
}

// OutboxRow is one pending delivery, as PendingOutbox returns it.
type OutboxRow struct {
	Seq         int64
	Peer        string
	Community   string
	ID          string // the object's id, version, type and exact bytes
	Version     string
	Type        string
	Raw         []byte // nil when Sealed
	Sealed      bool   // the version is stored sealed: Ciphertext holds it (see Sealer)
	Ciphertext  []byte
	TLP         stix.TLP // the object's strictest TLP level when it was shared, 0 for none
	Created     time.Time
	Attempts    int
	NextAttempt time.Time
	LastError   string
}

// QueueStats is the state of one peer's outbox.
type QueueStats struct {
	Pending       int
	OldestPending time.Time // creation of the oldest pending row; zero when none
	Delivered     int
	Failed        int // final failures
	LastDelivered time.Time
}

// ObjectRef names one object version.
type ObjectRef struct {
	ID      string
	Version string
}

// ShareRecord is one line of the sharing log: an object version queued for
// a peer, and what became of it.
type ShareRecord struct {
	Seq         int64
	Peer        string
	ObjectID    string
	Version     string
	Type        string
	TLP         stix.TLP // 0 for none
	Community   string
	Created     time.Time
	DeliveredAt time.Time // zero while not delivered
	Failed      bool      // a final failure
	FailedAt    time.Time
	Attempts    int
	LastError   string
}

// check validates the options of a batch of n objects.
func (o AddOptions) check(n int) error {
	if o.Provenance != nil && len(o.Provenance) != n {
		return fmt.Errorf("%w: %d provenance entries for %d objects", ErrInvalid, len(o.Provenance), n)
	}
	for i, it := range o.Outbox {
		if it.Peer == "" {
			return fmt.Errorf("%w: outbox item %d has no peer", ErrInvalid, i)
		}
		if it.ObjectIndex < 0 || it.ObjectIndex >= n {
			return fmt.Errorf("%w: outbox item %d: object index %d out of range (%d objects)", ErrInvalid, i, it.ObjectIndex, n)
		}
	}
	return checkWorkflow(o.Workflow, n)
}

// tlpValue is the stored spelling of a level: "amber+strict"; "" for none.
func tlpValue(t stix.TLP) string {
	if !t.Valid() {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(t.String(), "TLP:"))
}

func parseTLPValue(s string) stix.TLP {
	if s == "" {
		return 0
	}
	t, _ := stix.ParseTLP(s)
	return t
}

// addWith writes, in AddObjectsWith's transaction tx and after the objects,
// what opt asks besides them: provenance, workflow index rows (and their
// cases' states), outbox rows, audit entries.
func (s *sqlStore) addWith(ctx context.Context, tx *sql.Tx, objs []*stix.Object, results []AddResult, vers []*version, opt AddOptions) error {
	if len(opt.Provenance) > 0 {
		if err := s.insertProvenance(ctx, tx, vers, opt.Provenance); err != nil {
			return err
		}
	}
	if len(opt.Workflow) > 0 {
		if err := s.insertWorkflow(ctx, tx, results, opt.Workflow, objs); err != nil {
			return err
		}
		if opt.Fold != nil {
			if err := s.foldCases(ctx, tx, results, opt.Workflow, opt.Fold); err != nil {
				return err
			}
		}
	}
	if len(opt.Outbox) > 0 {
		if err := s.insertOutbox(ctx, tx, objs, results, vers, opt.Outbox); err != nil {
			return err
		}
	}
	if opt.Audit != nil {
		if build := opt.Audit(slices.Clone(results)); build != nil {
			if _, err := s.appendAuditTx(ctx, tx, build); err != nil {
				return err
			}
		}
	}
	return nil
}

// foldCases folds, in tx, the cases of the batch's indexed items that were
// stored (Added or Duplicate) and have an item not applied yet.
func (s *sqlStore) foldCases(ctx context.Context, tx *sql.Tx, results []AddResult, idx []WorkflowIndex, fold CaseFolder) error {
	var cases []string
	for _, w := range idx {
		if o := results[w.ObjectIndex].Outcome; (o == Added || o == Duplicate) && !slices.Contains(cases, w.Item.Case) {
			cases = append(cases, w.Item.Case)
		}
	}
	for _, id := range cases {
		rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(workflowItemColumns, ", ")+`
			FROM workflow_items WHERE case_id = $1 ORDER BY at, seq`, id)
		if err != nil {
			return err
		}
		items, err := scanWorkflowItems(rows)
		if err != nil {
			return err
		}
		var upTo int64
		pending := false
		for _, it := range items {
			upTo = max(upTo, it.Seq)
			pending = pending || !it.Applied
		}
		if !pending {
			continue
		}
		c, ok, err := fold(id, items)
		switch {
		case err != nil, ok && (c.ID != id || c.Kind == ""):
			continue // left unapplied: Reconcile folds it again
		case !ok:
			err = markWorkflowApplied(ctx, tx, id, upTo)
		default:
			err = putWorkflowCase(ctx, tx, c, upTo)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// insertProvenance records the provenance of the batch's versions (vers,
// parallel to provs; nil for conflicts) unless one is recorded already; a
// version shared again by its originator (same Origin) gets the union of the
// distributions (mergeDistributions).
func (s *sqlStore) insertProvenance(ctx context.Context, tx *sql.Tx, vers []*version, provs []Provenance) error {
	now := s.clk.Now().UnixMicro()
	seen := map[int64]bool{}
	var rows [][]any
	merge := map[int64]Provenance{} // versions with a distribution, by pk: what to merge into a stored row
	for i, v := range vers {
		p := provs[i]
		if v == nil || p.IsZero() {
			continue
		}
		if hasDistribution(p.Distribution) {
			if m, ok := merge[v.pk]; !ok {
				merge[v.pk] = p
			} else if m.Origin == p.Origin {
				m.Distribution = unionDistribution(m.Distribution, p.Distribution)
				merge[v.pk] = m
			}
		}
		if seen[v.pk] {
			continue
		}
		seen[v.pk] = true
		dist := p.Distribution
		if dist.Communities == nil {
			dist.Communities = []string{}
		}
		if dist.Nodes == nil {
			dist.Nodes = []string{}
		}
		red := p.RedRecipients
		if red == nil {
			red = []Recipient{}
		}
		db, err := json.Marshal(dist)
		if err != nil {
			return err
		}
		rb, err := json.Marshal(red)
		if err != nil {
			return err
		}
		at := now
		if !p.ReceivedAt.IsZero() {
			at = p.ReceivedAt.UnixMicro()
		}
		rows = append(rows, []any{v.pk, p.Origin, p.ReceivedFrom, p.ReceivedVia, string(db), string(rb), at})
	}
	const cols = "object, origin, received_from, received_via, distribution, red_recipients, received_at"
	for len(rows) > 0 {
		chunk := rows[:min(500, len(rows))]
		rows = rows[len(chunk):]
		p := params{anon: s.d.anonParams}
		var b strings.Builder
		b.WriteString(`INSERT INTO provenance (` + cols + `) VALUES `)
		for i, r := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for j, v := range r {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(p.add(v))
			}
			b.WriteByte(')')
		}
		b.WriteString(` ON CONFLICT (object) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, b.String(), p.vals...); err != nil {
			return err
		}
	}
	return s.mergeDistributions(ctx, tx, merge)
}

// mergeDistributions widens, in tx, the recorded distribution of versions
// shared again: a stored row whose origin is the new share's gets the union
// of its distribution and the new one (communities and nodes, in first-seen
// order, without duplicates). Nothing else of the row changes: the
// first origin, sender, community of arrival, RED recipients and time stay.
// A row of another origin is left as it is: the distribution is the
// originator's choice, and only the originator's own shares (which the
// sharing policy decided when they were made) extend it. Writers are
// serialised (BEGIN IMMEDIATE, PostgreSQL's write lock), so the read and the
// update see no other writer in between.
func (s *sqlStore) mergeDistributions(ctx context.Context, tx *sql.Tx, merge map[int64]Provenance) error {
	if len(merge) == 0 {
		return nil
	}
	pks := make([]int64, 0, len(merge))
	for pk := range merge {
		pks = append(pks, pk)
	}
	slices.Sort(pks)
	var p params
	rows, err := tx.QueryContext(ctx, `SELECT object, origin, distribution FROM provenance WHERE `+
		s.d.inList("object", p.add(s.d.listArg(pks))), p.vals...)
	if err != nil {
		return err
	}
	type update struct {
		pk   int64
		dist string
	}
	var ups []update
	for rows.Next() {
		var (
			pk           int64
			origin, dist string
			cur          Distribution
		)
		if err := rows.Scan(&pk, &origin, &dist); err != nil {
			rows.Close()
			return err
		}
		m := merge[pk]
		if origin != m.Origin {
			continue
		}
		if err := json.Unmarshal([]byte(dist), &cur); err != nil {
			rows.Close()
			return fmt.Errorf("provenance of object row %d: %w", pk, err)
		}
		u := unionDistribution(cur, m.Distribution)
		if len(u.Communities) == len(cur.Communities) && len(u.Nodes) == len(cur.Nodes) {
			continue // nothing new
		}
		b, err := json.Marshal(u)
		if err != nil {
			rows.Close()
			return err
		}
		ups = append(ups, update{pk, string(b)})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, u := range ups {
		if _, err := tx.ExecContext(ctx, `UPDATE provenance SET distribution = $1 WHERE object = $2`, u.dist, u.pk); err != nil {
			return err
		}
	}
	return nil
}

func hasDistribution(d Distribution) bool { return len(d.Communities) > 0 || len(d.Nodes) > 0 }

// unionDistribution returns a's communities and nodes followed by those of b
// that a lacks; never nil slices.
func unionDistribution(a, b Distribution) Distribution {
	u := Distribution{Communities: []string{}, Nodes: []string{}}
	for _, c := range slices.Concat(a.Communities, b.Communities) {
		if !slices.Contains(u.Communities, c) {
			u.Communities = append(u.Communities, c)
		}
	}
	for _, n := range slices.Concat(a.Nodes, b.Nodes) {
		if !slices.Contains(u.Nodes, n) {
			u.Nodes = append(u.Nodes, n)
		}
	}
	return u
}

var outboxColumns = []string{"seq", "peer", "object", "community", "tlp", "created", "attempts", "next_attempt",
	"delivered_at", "failed_at", "last_error"}

// insertOutbox queues the items whose object was Added or is a Duplicate.
func (s *sqlStore) insertOutbox(ctx context.Context, tx *sql.Tx, objs []*stix.Object, results []AddResult, vers []*version, items []OutboxItem) error {
	var keep []OutboxItem
	for _, it := range items {
		if o := results[it.ObjectIndex].Outcome; (o == Added || o == Duplicate) && vers[it.ObjectIndex] != nil {
			keep = append(keep, it)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	seq, err := allocate(ctx, tx, "outbox_seq", len(keep))
	if err != nil {
		return err
	}
	// Every peer with a queue has its row of totals from its first
	// queued row on: OutboxStats starts from that table.
	var peers []string
	for _, it := range keep {
		if !slices.Contains(peers, it.Peer) {
			peers = append(peers, it.Peer)
		}
	}
	if err := s.ensureTotals(ctx, tx, peers); err != nil {
		return err
	}
	now := s.clk.Now().UnixMicro()
	rows := make([][]any, len(keep))
	for i, it := range keep {
		t, _ := objs[it.ObjectIndex].TLP()
		rows[i] = []any{seq, it.Peer, vers[it.ObjectIndex].pk, it.Community, tlpValue(t), now, 0, now, int64(0), int64(0), ""}
		seq++
	}
	return s.insertRows(ctx, tx, "outbox", outboxColumns, rows)
}

func (s *sqlStore) PendingOutbox(ctx context.Context, peer string, now time.Time, limit int) ([]OutboxRow, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT o.seq, o.peer, o.community, o.tlp, o.created, o.attempts, o.next_attempt, o.last_error,
			b.id, b.version, b.type, b.raw, b.sealed
		FROM outbox o JOIN objects b ON b.pk = o.object
		WHERE o.peer = $1 AND o.delivered_at = 0 AND o.failed_at = 0 AND o.next_attempt <= $2
		ORDER BY o.seq LIMIT $3`, peer, now.UnixMicro(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var (
			r             OutboxRow
			tlp           string
			created, next int64
		)
		if err := rows.Scan(&r.Seq, &r.Peer, &r.Community, &tlp, &created, &r.Attempts, &next, &r.LastError,
			&r.ID, &r.Version, &r.Type, &r.Raw, &r.Sealed); err != nil {
			return nil, err
		}
		if r.Sealed {
			r.Raw, r.Ciphertext = nil, r.Raw
		}
		r.TLP, r.Created, r.NextAttempt = parseTLPValue(tlp), fromMicro(created), fromMicro(next)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) MarkDelivered(ctx context.Context, seqs []int64, at time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var p params
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET delivered_at = `+p.add(at.UnixMicro())+`, attempts = attempts + 1
			WHERE delivered_at = 0 AND `+s.d.inList("seq", p.add(s.d.listArg(seqs)))+`
			RETURNING peer, failed_at`, p.vals...)
		if err != nil {
			return err
		}
		// The totals move with the rows, in this transaction: a row
		// delivered after a final failure leaves the failures.
		moved := map[string]*totalsDelta{}
		for rows.Next() {
			var peer string
			var failedAt int64
			if err := rows.Scan(&peer, &failedAt); err != nil {
				rows.Close()
				return err
			}
			d := moved[peer]
			if d == nil {
				d = &totalsDelta{lastDelivered: at.UnixMicro()}
				moved[peer] = d
			}
			d.delivered++
			if failedAt != 0 {
				d.failed--
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for peer, d := range moved {
			if err := addTotals(ctx, tx, peer, *d); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *sqlStore) MarkFailed(ctx context.Context, seq int64, at time.Time, msg string, retryAt time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var (
			peer string
			err  error
		)
		if retryAt.IsZero() {
			err = tx.QueryRowContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $1, failed_at = $2
				WHERE seq = $3 AND delivered_at = 0 AND failed_at = 0 RETURNING peer`, msg, at.UnixMicro(), seq).Scan(&peer)
			if err == nil {
				return addTotals(ctx, tx, peer, totalsDelta{failed: 1})
			}
		} else {
			err = tx.QueryRowContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt = $2
				WHERE seq = $3 AND delivered_at = 0 AND failed_at = 0 RETURNING peer`, msg, retryAt.UnixMicro(), seq).Scan(&peer)
			if err == nil {
				return nil
			}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE seq = $1`, seq).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("outbox row %d: %w", seq, ErrNotFound)
		}
		return nil // already settled: left as it is
	})
}

// outboxStatsQuery is OutboxStats' statement. MIN(created + 0), not
// MIN(created): PostgreSQL would otherwise answer the minimum by walking
// the outbox_created index from its start (the min/max rewrite), through
// every row ever delivered, rather than read the peer's pending range.
func (s *sqlStore) outboxStatsQuery() string {
	from := ` FROM outbox` + s.d.indexedBy("outbox_pending") + ` WHERE peer = t.peer AND delivered_at = 0 AND failed_at = 0`
	return `SELECT t.peer, t.delivered, t.failed, t.last_delivered, (SELECT COUNT(*)` + from + `), (SELECT MIN(created + 0)` + from + `)
		FROM outbox_totals t`
}

// ensureTotals gives the peers a row of totals (zero) if they have none.
func (s *sqlStore) ensureTotals(ctx context.Context, tx *sql.Tx, peers []string) error {
	for len(peers) > 0 {
		chunk := peers[:min(500, len(peers))]
		peers = peers[len(chunk):]
		var p params
		var b strings.Builder
		b.WriteString(`INSERT INTO outbox_totals (peer, delivered, failed, last_delivered) VALUES `)
		for i, peer := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + p.add(peer) + ", 0, 0, 0)")
		}
		b.WriteString(` ON CONFLICT (peer) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, b.String(), p.vals...); err != nil {
			return err
		}
	}
	return nil
}

// totalsDelta is a change of one peer's row of outbox_totals.
type totalsDelta struct {
	delivered, failed int64
	lastDelivered     int64 // the delivery time of the rows delivered; 0 for none
}

// addTotals applies d to peer's totals (migration 0008), in the write
// transaction that settles the rows.
func addTotals(ctx context.Context, tx *sql.Tx, peer string, d totalsDelta) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox_totals (peer, delivered, failed, last_delivered) VALUES ($1, $2, $3, $4)
		ON CONFLICT (peer) DO UPDATE SET delivered = outbox_totals.delivered + excluded.delivered,
			failed = outbox_totals.failed + excluded.failed,
			last_delivered = CASE WHEN excluded.last_delivered > outbox_totals.last_delivered
				THEN excluded.last_delivered ELSE outbox_totals.last_delivered END`,
		peer, d.delivered, d.failed, d.lastDelivered)
	return err
}

// OutboxStats reads each peer's settled rows from outbox_totals and counts
// its pending rows on the outbox_pending index (a range of it per peer: the
// cost grows with what is waiting, not with what was ever sent), in one
// statement, so that both are of the same moment.
func (s *sqlStore) OutboxStats(ctx context.Context) (map[string]QueueStats, error) {
	rows, err := s.db.QueryContext(ctx, s.outboxStatsQuery())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]QueueStats{}
	for rows.Next() {
		var (
			peer   string
			q      QueueStats
			last   int64
			oldest sql.NullInt64
		)
		if err := rows.Scan(&peer, &q.Delivered, &q.Failed, &last, &q.Pending, &oldest); err != nil {
			return nil, err
		}
		q.LastDelivered, q.OldestPending = fromMicro(last), fromMicro(oldest.Int64)
		out[peer] = q
	}
	return out, rows.Err()
}

func (s *sqlStore) Provenance(ctx context.Context, refs []ObjectRef) (map[ObjectRef]Provenance, error) {
	out := map[ObjectRef]Provenance{}
	if len(refs) == 0 {
		return out, nil
	}
	var ids []string
	for _, r := range refs {
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	var p params
	rows, err := s.db.QueryContext(ctx, `SELECT o.id, o.version_key, o.version,
			p.origin, p.received_from, p.received_via, p.distribution, p.red_recipients, p.received_at
		FROM objects o JOIN provenance p ON p.object = o.pk
		WHERE `+s.d.inList("o.id", p.add(s.d.listArg(ids))), p.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byKey := map[[2]string]Provenance{}
	byVersion := map[[2]string]Provenance{} // unversioned objects, by assigned version
	for rows.Next() {
		var (
			id, key, ver, dist, red string
			at                      int64
			pr                      Provenance
		)
		if err := rows.Scan(&id, &key, &ver, &pr.Origin, &pr.ReceivedFrom, &pr.ReceivedVia, &dist, &red, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(dist), &pr.Distribution); err != nil {
			return nil, fmt.Errorf("provenance of %s: %w", id, err)
		}
		if err := json.Unmarshal([]byte(red), &pr.RedRecipients); err != nil {
			return nil, fmt.Errorf("provenance of %s: %w", id, err)
		}
		if len(pr.RedRecipients) == 0 {
			pr.RedRecipients = nil
		}
		pr.ReceivedAt = fromMicro(at)
		if strings.Contains(key, "~") {
			if _, ok := byVersion[[2]string{id, ver}]; !ok {
				byVersion[[2]string{id, ver}] = pr
			}
			continue
		}
		byKey[[2]string{id, key}] = pr
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range refs {
		if k, err := stix.TimestampKey(r.Version); err == nil {
			if pr, ok := byKey[[2]string{r.ID, k}]; ok {
				out[r] = pr
				continue
			}
		}
		if pr, ok := byVersion[[2]string{r.ID, r.Version}]; ok {
			out[r] = pr
		}
	}
	return out, nil
}

func (s *sqlStore) SharingLog(ctx context.Context, since time.Time, peer string, limit int) ([]ShareRecord, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var p params
	q := `SELECT o.seq, o.peer, b.id, b.version, b.type, o.tlp, o.community, o.created, o.delivered_at, o.failed_at,
			o.attempts, o.last_error
		FROM outbox o JOIN objects b ON b.pk = o.object
		WHERE o.created >= ` + p.add(toMicro(since))
	if peer != "" {
		q += ` AND o.peer = ` + p.add(peer)
	}
	q += ` ORDER BY o.seq LIMIT ` + p.add(limit)
	rows, err := s.db.QueryContext(ctx, q, p.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ShareRecord
	for rows.Next() {
		var (
			r                          ShareRecord
			tlp                        string
			created, delivered, failed int64
		)
		if err := rows.Scan(&r.Seq, &r.Peer, &r.ObjectID, &r.Version, &r.Type, &tlp, &r.Community, &created, &delivered,
			&failed, &r.Attempts, &r.LastError); err != nil {
			return nil, err
		}
		r.TLP, r.Created, r.DeliveredAt, r.FailedAt = parseTLPValue(tlp), fromMicro(created), fromMicro(delivered), fromMicro(failed)
		r.Failed = failed != 0
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- Peers ----

const peerColumns = `identity_id, name, organisation, country, endpoint, tls_spki, card, added, last_contact, last_error, last_error_at`

func scanPeer(sc interface{ Scan(...any) error }) (Peer, error) {
	var (
		p                     Peer
		added, contact, errAt int64
	)
	err := sc.Scan(&p.IdentityID, &p.Name, &p.Organisation, &p.Country, &p.Endpoint, &p.TLSSPKI, &p.Card, &added, &contact,
		&p.LastError, &errAt)
	p.Added, p.LastContact, p.LastErrorAt = fromMicro(added), fromMicro(contact), fromMicro(errAt)
	return p, err
}

func (s *sqlStore) PutPeer(ctx context.Context, p Peer) error {
	switch {
	case p.IdentityID == "" || p.Name == "" || p.TLSSPKI == "" || len(p.Card) == 0:
		return fmt.Errorf("peer %q: %w: identity id, name, TLS SPKI and card are required", p.Name, ErrInvalid)
	case strings.HasPrefix(p.Name, "identity--"):
		return fmt.Errorf("peer name %q: %w: a name cannot look like an identity id", p.Name, ErrInvalid)
	}
	for _, k := range p.Keys {
		if len(k.Key) != ed25519.PublicKeySize {
			return fmt.Errorf("peer %s: %w: a key of %d bytes", p.Name, ErrInvalid, len(k.Key))
		}
	}
	now := s.clk.Now()
	if p.Added.IsZero() {
		p.Added = now
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var other, otherName string
		err := tx.QueryRowContext(ctx, `SELECT identity_id, name FROM peers WHERE (name = $1 OR tls_spki = $2) AND identity_id <> $3`,
			p.Name, p.TLSSPKI, p.IdentityID).Scan(&other, &otherName)
		if err == nil {
			if otherName == p.Name {
				return fmt.Errorf("peer name %q: %w: it is the name of %s", p.Name, ErrConflict, other)
			}
			return fmt.Errorf("peer %s: %w: peer %s (%s) has the same TLS key", p.Name, ErrConflict, otherName, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO peers (`+peerColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (identity_id) DO UPDATE SET name = excluded.name, organisation = excluded.organisation,
				country = excluded.country, endpoint = excluded.endpoint, tls_spki = excluded.tls_spki, card = excluded.card,
				last_contact = excluded.last_contact, last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
			p.IdentityID, p.Name, p.Organisation, p.Country, p.Endpoint, p.TLSSPKI, p.Card, p.Added.UnixMicro(),
			toMicro(p.LastContact), p.LastError, toMicro(p.LastErrorAt))
		if err != nil {
			return err
		}
		for _, k := range p.Keys {
			at := k.Added
			if at.IsZero() {
				at = now
			}
			if err := addPeerKey(ctx, tx, p.IdentityID, k.Key, at); err != nil {
				return err
			}
		}
		return nil
	})
}

// addPeerKey appends key to a peer's keys unless it has it.
func addPeerKey(ctx context.Context, tx *sql.Tx, peer string, key ed25519.PublicKey, at time.Time) error {
	var n, last int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(CASE WHEN pubkey = $1 THEN 1 END), COALESCE(MAX(seq), 0) FROM peer_keys WHERE peer = $2`,
		[]byte(key), peer).Scan(&n, &last); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO peer_keys (peer, seq, pubkey, added) VALUES ($1, $2, $3, $4)`,
		peer, last+1, []byte(key), at.UnixMicro())
	return err
}

// resolvePeer returns the identity id of the peer called nameOrID.
func resolvePeer(ctx context.Context, q querier, nameOrID string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT identity_id FROM peers WHERE identity_id = $1 OR name = $1`, nameOrID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("peer %q: %w", nameOrID, ErrNotFound)
	}
	return id, err
}

func (s *sqlStore) Peer(ctx context.Context, nameOrID string) (Peer, error) {
	p, err := scanPeer(s.db.QueryRowContext(ctx, `SELECT `+peerColumns+` FROM peers WHERE identity_id = $1 OR name = $1`, nameOrID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("peer %q: %w", nameOrID, ErrNotFound)
	}
	if err != nil {
		return p, err
	}
	ps := []Peer{p}
	if err := s.withKeys(ctx, ps, p.IdentityID); err != nil {
		return p, err
	}
	return ps[0], nil
}

func (s *sqlStore) Peers(ctx context.Context) ([]Peer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+peerColumns+` FROM peers ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var ps []Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ps, s.withKeys(ctx, ps, "")
}

// withKeys fills in the keys of ps: of one peer, or of all ("").
func (s *sqlStore) withKeys(ctx context.Context, ps []Peer, one string) error {
	if len(ps) == 0 {
		return nil
	}
	q := `SELECT peer, pubkey, added FROM peer_keys ORDER BY peer, seq`
	var args []any
	if one != "" {
		q = `SELECT peer, pubkey, added FROM peer_keys WHERE peer = $1 ORDER BY seq`
		args = append(args, one)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	idx := map[string]int{}
	for i, p := range ps {
		idx[p.IdentityID] = i
	}
	for rows.Next() {
		var (
			peer  string
			key   []byte
			added int64
		)
		if err := rows.Scan(&peer, &key, &added); err != nil {
			return err
		}
		if i, ok := idx[peer]; ok {
			ps[i].Keys = append(ps[i].Keys, PeerKey{Key: ed25519.PublicKey(key), Added: fromMicro(added)})
		}
	}
	return rows.Err()
}

func (s *sqlStore) RemovePeer(ctx context.Context, nameOrID string) error {
	now := s.clk.Now().UnixMicro()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := resolvePeer(ctx, tx, nameOrID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM peer_keys WHERE peer = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM peers WHERE identity_id = $1`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET failed_at = $1, last_error = 'peer removed'
			WHERE peer = $2 AND delivered_at = 0 AND failed_at = 0`, now, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		return addTotals(ctx, tx, id, totalsDelta{failed: n})
	})
}

func (s *sqlStore) AddPeerKey(ctx context.Context, nameOrID string, key ed25519.PublicKey, at time.Time) error {
	if len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("peer %s: %w: a key of %d bytes", nameOrID, ErrInvalid, len(key))
	}
	if at.IsZero() {
		at = s.clk.Now()
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := resolvePeer(ctx, tx, nameOrID)
		if err != nil {
			return err
		}
		return addPeerKey(ctx, tx, id, key, at)
	})
}

func (s *sqlStore) RecordContact(ctx context.Context, nameOrID string, at time.Time, errMsg string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := resolvePeer(ctx, tx, nameOrID)
		if err != nil {
			return err
		}
		if errMsg == "" {
			_, err = tx.ExecContext(ctx, `UPDATE peers SET last_contact = $1, last_error = '' WHERE identity_id = $2`, at.UnixMicro(), id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE peers SET last_error = $1, last_error_at = $2 WHERE identity_id = $3`, errMsg, at.UnixMicro(), id)
		}
		return err
	})
}

// ---- Communities ----

var communityNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// normMembers returns members sorted, without duplicates or empty strings.
func normMembers(ms []string) []string {
	out := []string{}
	for _, m := range ms {
		if m != "" {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *sqlStore) PutCommunity(ctx context.Context, c Community) (Community, error) {
	if !communityNameRE.MatchString(c.Name) {
		return c, fmt.Errorf("community name %q: %w: use 1–63 lowercase letters, digits and hyphens", c.Name, ErrInvalid)
	}
	if !c.MaxTLP.Valid() {
		return c, fmt.Errorf("community %s: %w: max TLP %v is not a level", c.Name, ErrInvalid, c.MaxTLP)
	}
	types := c.Types
	if types == nil {
		types = []string{}
	}
	tb, err := json.Marshal(types)
	if err != nil {
		return c, err
	}
	c.Members = normMembers(c.Members)
	now := s.clk.Now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		var coll string
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT collection, created FROM communities WHERE name = $1`, c.Name).Scan(&coll, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			col := Collection{ID: stix.NewUUID(), Title: "Community " + c.Name, Alias: c.Name,
				Description: "Objects shared with the members of the community " + c.Name + ".", Created: now}
			mt, _ := json.Marshal([]string{MediaTypeSTIX21})
			if err := insertCollection(ctx, tx, col, col.Alias, string(mt)); err != nil {
				return fmt.Errorf("community %s: %w", c.Name, err)
			}
			c.Collection, c.Created = col.ID, fromMicro(now.UnixMicro())
			if _, err := tx.ExecContext(ctx, `INSERT INTO communities (name, max_tlp, types, collection, created) VALUES ($1, $2, $3, $4, $5)`,
				c.Name, tlpValue(c.MaxTLP), string(tb), c.Collection, now.UnixMicro()); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			c.Collection, c.Created = coll, fromMicro(created)
			if _, err := tx.ExecContext(ctx, `UPDATE communities SET max_tlp = $1, types = $2 WHERE name = $3`,
				tlpValue(c.MaxTLP), string(tb), c.Name); err != nil {
				return err
			}
		}
		return setMembers(ctx, tx, c.Name, c.Members)
	})
	if err != nil {
		return Community{}, err
	}
	c.Types = slices.Clone(types)
	return c, nil
}

func setMembers(ctx context.Context, tx *sql.Tx, name string, members []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM community_members WHERE community = $1`, name); err != nil {
		return err
	}
	for _, m := range members {
		if _, err := tx.ExecContext(ctx, `INSERT INTO community_members (community, member) VALUES ($1, $2)`, name, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) SetCommunityMembers(ctx context.Context, name string, members []string) error {
	members = normMembers(members)
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM communities WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("community %q: %w", name, ErrNotFound)
		}
		return setMembers(ctx, tx, name, members)
	})
}

func (s *sqlStore) DeleteCommunity(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var coll string
		err := tx.QueryRowContext(ctx, `SELECT collection FROM communities WHERE name = $1`, name).Scan(&coll)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("community %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM community_members WHERE community = $1`, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM communities WHERE name = $1`, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE collections SET alias = NULL WHERE id = $1 AND alias = $2`, coll, name)
		return err
	})
}

func (s *sqlStore) Community(ctx context.Context, name string) (Community, error) {
	cs, err := s.communities(ctx, name)
	if err != nil {
		return Community{}, err
	}
	if len(cs) == 0 {
		return Community{}, fmt.Errorf("community %q: %w", name, ErrNotFound)
	}
	return cs[0], nil
}

func (s *sqlStore) Communities(ctx context.Context) ([]Community, error) {
	return s.communities(ctx, "")
}

// communities reads one community, or all ("").
func (s *sqlStore) communities(ctx context.Context, one string) ([]Community, error) {
	q := `SELECT name, max_tlp, types, collection, created FROM communities`
	mq := `SELECT community, member FROM community_members`
	var args []any
	if one != "" {
		q += ` WHERE name = $1`
		mq += ` WHERE community = $1`
		args = append(args, one)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY name`, args...)
	if err != nil {
		return nil, err
	}
	var cs []Community
	idx := map[string]int{}
	for rows.Next() {
		var (
			c          Community
			tlp, types string
			created    int64
		)
		if err := rows.Scan(&c.Name, &tlp, &types, &c.Collection, &created); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(types), &c.Types); err != nil {
			rows.Close()
			return nil, fmt.Errorf("community %s: types: %w", c.Name, err)
		}
		c.MaxTLP, c.Created, c.Members = parseTLPValue(tlp), fromMicro(created), []string{}
		idx[c.Name] = len(cs)
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, nil
	}
	rows, err = s.db.QueryContext(ctx, mq+` ORDER BY community, member`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, m string
		if err := rows.Scan(&name, &m); err != nil {
			return nil, err
		}
		if i, ok := idx[name]; ok {
			cs[i].Members = append(cs[i].Members, m)
		}
	}
	return cs, rows.Err()
}
