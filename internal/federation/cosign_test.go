package federation_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store/pgtest"
)

// noCosignLoop is fast() without the cosign loop: tests drive the rounds.
func noCosignLoop() federation.Config {
	c := fast()
	c.CosignInterval = -1
	return c
}

// databases records the database URL of each node, so that a test can
// tamper with it behind the node's back.
type databases struct {
	mu  sync.Mutex
	dsn map[string]string // short node name → DSN
}

func (d *databases) postgres(t testing.TB, name string) string {
	dsn := pgtest.DSN(t)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dsn == nil {
		d.dsn = map[string]string{}
	}
	d.dsn[name] = dsn
	return dsn
}

// open returns a raw connection to node name's database.
func (d *databases) open(t *testing.T, fed *fedtest.Federation, name string) *sql.DB {
	t.Helper()
	n := fed.Node(name)
	d.mu.Lock()
	dsn, pg := d.dsn[name]
	d.mu.Unlock()
	driver := "pgx"
	if !pg {
		driver, dsn = "sqlite", filepath.Join(n.Dir, node.DBFile)+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestCosignStory: FR shares, checkpoints, and EE and DE cosign; rounds
// settle (cosignings do not cause checkpoints); then FR rewrites its
// history in SQL as a dishonest node would, and its partners catch it.
func TestCosignStory(t *testing.T) {
	runCosignStory(t, fedtest.Options{Federation: noCosignLoop()}, &databases{})
}

func TestCosignStoryOnPostgreSQL(t *testing.T) {
	dbs := &databases{}
	runCosignStory(t, fedtest.Options{Federation: noCosignLoop(), DB: dbs.postgres}, dbs)
}

func runCosignStory(t *testing.T, opts fedtest.Options, dbs *databases) {
	fed := fedtest.Start(t, opts, "fr", "ee", "de")
	ctx := context.Background()
	fr := fed.Node("fr").Fed

	// FR shares with EE; its log records the share and the delivery.
	res := share(t, fed, "fr", stix.TLPGreen, nil, []string{"cert-ee"}, fedtest.Indicator("GREEN for EE"))
	id := res.Objects[0].ID
	fed.WaitFor("EE to receive", 10*time.Second, func() bool { return fed.Has("ee", id) })
	fed.WaitFor("FR to log the delivery", 10*time.Second, func() bool { return countAudit(t, fed, "fr", audit.KindSend) == 1 })

	// FR checkpoints; EE and DE cosign.
	if err := fr.CosignOnce(ctx); err != nil {
		t.Fatalf("FR's cosign round: %v", err)
	}
	honest := latestCheckpoint(t, fr)
	for _, by := range []string{"ee", "de"} {
		es := entriesOf(t, fed, by, audit.KindCheckpointCosigned)
		if len(es) != 1 || es[0].Peer != "cert-fr" || es[0].Detail["size"] != strconv.FormatInt(honest.Size, 10) {
			t.Fatalf("%s's cosign entries: %+v", by, es)
		}
		if size, _ := fed.Node(by).Fed.Audit().CosignedSize(ctx, "cert-fr"); size != honest.Size {
			t.Fatalf("%s cosigned size %d of FR's log, want %d", by, size, honest.Size)
		}
	}
	rep, err := fr.Audit().Verify(ctx)
	if err != nil {
		t.Fatalf("FR verify: %v\n%s", err, rep.String())
	}
	if rep.Cosignatures != 2 || !slices.Equal(rep.Cosigners, []string{"cert-de", "cert-ee"}) || rep.CosignedSize != honest.Size {
		t.Fatalf("FR's report: %d cosignatures by %v up to %d, want 2 by cert-de, cert-ee up to %d",
			rep.Cosignatures, rep.Cosigners, rep.CosignedSize, honest.Size)
	}

	// The wire: EE tells FR the size it cosigned; a request proving from
	// the wrong size is answered with the right one.
	var cosigned struct{ Size int64 }
	if st := callRaw(t, fed, "fr", "ee", http.MethodGet, federation.PathCosigned, "", nil, &cosigned); st != http.StatusOK || cosigned.Size != honest.Size {
		t.Fatalf("GET cosigned: %d, size %d, want %d", st, cosigned.Size, honest.Size)
	}
	share(t, fed, "fr", stix.TLPGreen, nil, []string{"cert-ee"}, fedtest.Indicator("second"))
	fed.WaitFor("FR to log the second delivery", 10*time.Second, func() bool { return countAudit(t, fed, "fr", audit.KindSend) == 2 })
	cp2, err := fr.Audit().Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req, err := fr.Audit().NewCosignRequest(ctx, cp2, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(req)
	var werr wireErr
	if st := callRaw(t, fed, "fr", "ee", http.MethodPost, federation.PathCosign, "application/json", body, &werr); st != http.StatusConflict ||
		werr.Code != "proof-needed" || werr.Size == nil || *werr.Size != honest.Size {
		t.Fatalf("request without proof: %d %+v, want 409 proof-needed from %d", st, werr, honest.Size)
	}

	// Rounds settle: every node checkpoints what it did, the others cosign,
	// and then nobody's log grows any more — a cosigning adds an entry to
	// the cosigner's log, but never a checkpoint.
	for round := 0; round < 2; round++ {
		for _, n := range []string{"fr", "ee", "de"} {
			if err := fed.Node(n).Fed.CosignOnce(ctx); err != nil {
				t.Fatalf("round %d of %s: %v", round, n, err)
			}
		}
	}
	sizes := logSizes(t, fed, "fr", "ee", "de")
	cps := checkpointCount(t, fed, "fr", "ee", "de")
	for _, n := range []string{"fr", "ee", "de"} {
		if err := fed.Node(n).Fed.CosignOnce(ctx); err != nil {
			t.Fatalf("quiet round of %s: %v", n, err)
		}
	}
	if got := logSizes(t, fed, "fr", "ee", "de"); !slices.Equal(got, sizes) {
		t.Fatalf("logs grew in a round with nothing new: %v → %v", sizes, got)
	}
	if got := checkpointCount(t, fed, "fr", "ee", "de"); !slices.Equal(got, cps) {
		t.Fatalf("checkpoints signed in a round with nothing new: %v → %v", cps, got)
	}
	beforeFork := latestCheckpoint(t, fr)

	// FR rewrites its history: an entry edited, the hashes recomputed, the
	// checkpoints and cosignatures that would betray it dropped. Its own
	// Verify can no longer tell.
	db := dbs.open(t, fed, "fr")
	execSQL(t, db, `UPDATE audit_entries SET reason = 'forged' WHERE seq = 1`)
	rewriteHashes(t, db, fr.Audit())
	execSQL(t, db, `DELETE FROM audit_checkpoints`)
	execSQL(t, db, `DELETE FROM audit_cosignatures`)
	if rep, err := fr.Audit().Verify(ctx); err != nil {
		t.Fatalf("the rewrite is incomplete: %v\n%s", err, rep.String())
	}

	// FR's next round signs a checkpoint of the rewritten log; EE and DE
	// refuse it as a fork, and record it.
	err = fr.CosignOnce(ctx)
	if !errors.Is(err, audit.ErrForkDetected) || !strings.Contains(err.Error(), "cert-ee") || !strings.Contains(err.Error(), "cert-de") {
		t.Fatalf("FR's round after the rewrite: %v, want fork-detected from EE and DE", err)
	}
	var re *federation.RemoteError
	if !errors.As(err, &re) || re.Code != "fork-detected" {
		t.Fatalf("FR's round error is not a remote fork-detected: %#v", err)
	}
	for _, by := range []string{"ee", "de"} {
		forks := entriesOf(t, fed, by, audit.KindForkDetected)
		if len(forks) != 1 || forks[0].Peer != "cert-fr" || forks[0].Detail["cosigned_size"] != strconv.FormatInt(beforeFork.Size, 10) {
			t.Fatalf("%s's fork entries: %+v", by, forks)
		}
		if size, _ := fed.Node(by).Fed.Audit().CosignedSize(ctx, "cert-fr"); size != beforeFork.Size {
			t.Fatalf("%s now holds size %d of FR's log, want the honest %d", by, size, beforeFork.Size)
		}
		if rep, err := fed.Node(by).Fed.Audit().Verify(ctx); err != nil {
			t.Fatalf("%s's own log: %v\n%s", by, err, rep.String())
		}
	}
	// Growing the forged log does not help: no proof can join it to the
	// checkpoint EE cosigned.
	share(t, fed, "fr", stix.TLPGreen, nil, []string{"cert-ee"}, fedtest.Indicator("after the rewrite"))
	fed.WaitFor("FR to log the third delivery", 10*time.Second, func() bool { return countAudit(t, fed, "fr", audit.KindSend) == 3 })
	if err := fr.CosignOnce(ctx); !errors.Is(err, audit.ErrForkDetected) {
		t.Fatalf("FR's round on the grown forged log: %v, want fork-detected", err)
	}
	if n := len(entriesOf(t, fed, "ee", audit.KindForkDetected)); n != 2 {
		t.Fatalf("EE logged %d forks, want 2", n)
	}
	// The status of EE and DE shows FR's log forked, as often as logged.
	for _, by := range []string{"ee", "de"} {
		want := len(entriesOf(t, fed, by, audit.KindForkDetected))
		ps, err := fed.Node(by).Fed.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if got := p.Forks; (p.Name == "cert-fr" && (got != want || p.LastFork.IsZero())) || (p.Name != "cert-fr" && got != 0) {
				t.Fatalf("%s's status of %s: %d forks (last %v)", by, p.Name, got, p.LastFork)
			}
		}
	}
}

// The endpoints answer JSON errors with a kind; bodies are bounded.
func TestCosignEndpointErrors(t *testing.T) {
	fed := fedtest.Start(t, fedtest.Options{Federation: noCosignLoop()}, "fr", "ee")
	big := bytes.Repeat([]byte("x"), 1<<20+1)
	for _, c := range []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		code                      string
	}{
		{"garbage", http.MethodPost, federation.PathCosign, "application/json", []byte(`{"checkpoint":`), 400, "invalid-input"},
		{"unknown member", http.MethodPost, federation.PathCosign, "application/json", []byte(`{"checkpoint":"x","old_size":0,"extra":1}`), 400, "invalid-input"},
		{"not signed by the caller", http.MethodPost, federation.PathCosign, "application/json",
			[]byte(`{"checkpoint":"entraide/audit/v1/cert-fr\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— cert-fr AAAAAAAAAAAA\n","old_size":0}`), 400, "invalid-input"},
		{"media type", http.MethodPost, federation.PathCosign, "text/plain", []byte(`{}`), 415, "unsupported-media-type"},
		{"too large", http.MethodPost, federation.PathCosign, "application/json", big, 413, "too-large"},
		{"method", http.MethodGet, federation.PathCosign, "", nil, 405, "method-not-allowed"},
		{"method on cosigned", http.MethodPost, federation.PathCosigned, "application/json", []byte(`{}`), 405, "method-not-allowed"},
		{"no such endpoint", http.MethodGet, "/entraide/nothing", "", nil, 404, "not-found"},
		{"rotation garbage", http.MethodPost, federation.PathRotation, "application/json", []byte(`[]`), 400, "invalid-input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var werr wireErr
			st := callRaw(t, fed, "fr", "ee", c.method, c.path, c.ctype, c.body, &werr)
			if st != c.status || werr.Code != c.code || werr.Title == "" {
				t.Fatalf("%s %s: %d %+v, want %d %s", c.method, c.path, st, werr, c.status, c.code)
			}
		})
	}
	if n := countAudit(t, fed, "ee", audit.KindCheckpointCosigned) + countAudit(t, fed, "ee", audit.KindForkDetected); n != 0 {
		t.Fatalf("refused requests left %d cosign entries", n)
	}
}

// The loop: at start and then on its timer, without anyone asking.
func TestCosignLoop(t *testing.T) {
	cfg := fast()
	cfg.CosignInterval = 50 * time.Millisecond
	fed := fedtest.Start(t, fedtest.Options{Federation: cfg}, "fr", "ee")
	ctx := context.Background()
	for i := range 2 {
		share(t, fed, "fr", stix.TLPGreen, nil, []string{"cert-ee"}, fedtest.Indicator("loop"))
		fed.WaitFor("FR to log the delivery", 10*time.Second, func() bool { return countAudit(t, fed, "fr", audit.KindSend) == i+1 })
		sends := entriesOf(t, fed, "fr", audit.KindSend)
		last := sends[len(sends)-1].Seq
		fed.WaitFor("FR to hold EE's cosignature of its log with the delivery", 10*time.Second, func() bool {
			size, _ := fed.Node("ee").Fed.Audit().CosignedSize(ctx, "cert-fr")
			rep, err := fed.Node("fr").Fed.Audit().Verify(ctx)
			return err == nil && size > last && rep.CosignedSize > last
		})
	}
}

type wireErr struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Code        string `json:"error_code"`
	Size        *int64 `json:"size"`
}

// callRaw makes node from call node to's endpoint over the real mutual-TLS
// listener, and decodes the JSON answer into out. It returns the status.
func callRaw(t *testing.T, fed *fedtest.Federation, from, to, method, path, ctype string, body []byte, out any) int {
	t.Helper()
	src := fed.Node(from)
	p, err := src.Fed.Registry().Get(context.Background(), "cert-"+to)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := src.FedTLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: peer.ClientTLS(cert, p)}}
	defer c.CloseIdleConnections()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, strings.TrimRight(p.Endpoint, "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s answered %q", method, path, ct)
	}
	b, _ := io.ReadAll(resp.Body)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s %s answered %d %s: %v", method, path, resp.StatusCode, b, err)
	}
	return resp.StatusCode
}

func entriesOf(t *testing.T, fed *fedtest.Federation, name string, kind audit.Kind) []audit.Entry {
	t.Helper()
	es, err := fed.Node(name).Fed.Audit().Entries(context.Background(), audit.Query{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range es {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func latestCheckpoint(t *testing.T, f *federation.Federation) audit.StoredCheckpoint {
	t.Helper()
	cp, err := f.Audit().LatestCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func logSizes(t *testing.T, fed *fedtest.Federation, names ...string) []int64 {
	t.Helper()
	var out []int64
	for _, n := range names {
		s, err := fed.Node(n).Fed.Audit().Size(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func checkpointCount(t *testing.T, fed *fedtest.Federation, names ...string) []int {
	t.Helper()
	var out []int
	for _, n := range names {
		rep, err := fed.Node(n).Fed.Audit().Verify(context.Background())
		if err != nil {
			t.Fatalf("%s: %v\n%s", n, err, rep.String())
		}
		out = append(out, rep.Checkpoints)
	}
	return out
}

func execSQL(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// rewriteHashes recomputes the whole hash table from the entry rows, as a
// node rewriting its history would after editing entries.
func rewriteHashes(t *testing.T, db *sql.DB, l *audit.Log) {
	t.Helper()
	var all []audit.Entry
	for {
		es, err := l.Entries(context.Background(), audit.Query{From: int64(len(all)), Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		all = append(all, es...)
	}
	var hs []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hs[x]
		}
		return out, nil
	})
	for _, e := range all {
		h, err := tlog.StoredHashes(e.Seq, e.Leaf(), r)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h...)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM audit_hashes`); err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		if _, err := tx.Exec(`INSERT INTO audit_hashes (idx, hash) VALUES ($1, $2)`, int64(i), h[:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
