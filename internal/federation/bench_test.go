package federation_test

// Benchmarks of the federation on one machine: every node runs in this
// process (fedtest), so the figures include every node's CPU on the same
// cores — a pessimistic stand-in for nodes on their own machines.
//
// Sizes come from the environment so that CI can run them all quickly:
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/federation/               # defaults
//	ENTRAIDE_BENCH_OBJECTS=100000 go test -run '^$' -bench OfflinePeerDrain -benchtime 1x ./internal/federation/
//
// ENTRAIDE_BENCH_OBJECTS is the queue of BenchmarkOfflinePeerDrain (default
// 20,000) and caps the bundle of BenchmarkBundleToPeers (10,000);
// ENTRAIDE_BENCH_SHARES is the number of shares of BenchmarkShareFanout
// (default 200). Results and their reading are in docs/benchmarks.md.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/taxii"
)

// europe is 31 national CSIRTs by ISO country code: FR and 30 peers.
var europe = []string{"fr", "ee", "de", "be", "it", "pl", "nl", "lu", "at", "cz", "sk", "si", "hr", "hu", "ro", "bg",
	"gr", "cy", "mt", "pt", "es", "ie", "dk", "se", "fi", "lv", "lt", "is", "no", "ch", "gb"}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// acks counts acknowledgements (rows marked delivered), through the
// federation's Delivered hook, per object id and in total.
type acks struct {
	mu    sync.Mutex
	per   map[string]int
	first map[string]time.Time // object id → its first acknowledgement
	total int
	want  map[string]chan struct{} // object id → closed when per[id] reaches need
	need  int
	all   chan struct{} // closed when total reaches allN
	allN  int
}

func newAcks() *acks {
	return &acks{per: map[string]int{}, first: map[string]time.Time{}, want: map[string]chan struct{}{}}
}

func (a *acks) hook(_ string, rows []store.OutboxRow) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for _, r := range rows {
		if a.per[r.ID] == 0 {
			a.first[r.ID] = now
		}
		a.per[r.ID]++
		a.total++
		if ch, ok := a.want[r.ID]; ok && a.per[r.ID] == a.need {
			close(ch)
			delete(a.want, r.ID)
		}
	}
	if a.all != nil && a.total >= a.allN {
		close(a.all)
		a.all = nil
	}
}

// expect returns a channel closed once id has been acknowledged by need
// peers (counting acknowledgements that already arrived).
func (a *acks) expect(id string, need int) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{})
	a.need = need
	if a.per[id] >= need {
		close(ch)
		return ch
	}
	a.want[id] = ch
	return ch
}

// expectTotal returns a channel closed once n acknowledgements in all have arrived.
func (a *acks) expectTotal(n int) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{})
	if a.total >= n {
		close(ch)
		return ch
	}
	a.all, a.allN = ch, n
	return ch
}

func (a *acks) firstAck(id string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.first[id]
}

func (a *acks) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// benchConfig: the default poll unless ENTRAIDE_BENCH_POLL (a duration)
// says otherwise — it only matters for rows queued by another process, as
// Share wakes the workers, but every worker of every node polls its queue
// at that interval, so with 31 nodes in one process (930 workers) a short
// poll is most of the CPU; and short backoffs, so that a peer that comes
// back is retried within a second.
func benchConfig(b *testing.B, a *acks) federation.Config {
	poll := 250 * time.Millisecond
	if s := os.Getenv("ENTRAIDE_BENCH_POLL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			b.Fatalf("ENTRAIDE_BENCH_POLL=%q: want a duration such as 100ms", s)
		}
		poll = d
	}
	return federation.Config{PollInterval: poll, BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second, Delivered: a.hook}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1)*p + 0.5)
	return sorted[min(i, len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkShareFanout: 31 nodes in one community (max GREEN); FR shares one
// GREEN indicator at a time; the latency of a share is from the call to
// Share until all 30 peers have stored it and acknowledged it to FR (FR has
// marked its 30 outbox rows delivered). Target: p99 < 300 ms.
func BenchmarkShareFanout(b *testing.B) {
	shares := envInt(b, "ENTRAIDE_BENCH_SHARES", 200)
	a := newAcks()
	fed := fedtest.Start(b, fedtest.Options{Federation: benchConfig(b, a)}, europe...)
	fed.Community("eu-csirts", stix.TLPGreen, europe...)
	fr := fed.Node("fr")
	peers := len(europe) - 1
	ctx := context.Background()
	// One share to open the 30 connections (TLS handshakes) before measuring.
	warm := shareOne(b, fr, fedtest.Indicator("warm-up"))
	waitAck(b, a.expect(warm, peers), warm, a)

	var lat, call, first []time.Duration
	var ids []string
	var wall time.Duration
	for b.Loop() {
		start := time.Now()
		for i := range shares {
			t0 := time.Now()
			res, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{fedtest.Indicator(fmt.Sprint("fanout ", i))},
				TLP: stix.TLPGreen, Communities: []string{"eu-csirts"}, Actor: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			call = append(call, time.Since(t0))
			o := res.Objects[0]
			if len(o.To) != peers {
				b.Fatalf("queued for %d peers, want %d (refused: %+v)", len(o.To), peers, o.Refused)
			}
			waitAck(b, a.expect(o.ID, peers), o.ID, a)
			lat = append(lat, time.Since(t0))
			first = append(first, a.firstAck(o.ID).Sub(t0))
			ids = append(ids, o.ID)
		}
		wall += time.Since(start)
	}
	b.StopTimer()
	// Acknowledged means stored: check a sample on every peer.
	for _, name := range europe[1:] {
		for _, id := range []string{ids[0], ids[len(ids)/2], ids[len(ids)-1]} {
			if !fed.Has(name, id) {
				b.Fatalf("%s acknowledged %s but does not hold it", name, id)
			}
		}
	}
	slices.Sort(lat)
	slices.Sort(call)
	slices.Sort(first)
	b.ReportMetric(ms(percentile(call, 0.50)), "share-call-p50-ms")
	b.ReportMetric(ms(percentile(first, 0.50)), "first-ack-p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(len(lat))/wall.Seconds(), "shares/s")
}

func shareOne(b *testing.B, n *fedtest.Node, raw []byte) string {
	b.Helper()
	res, err := n.Fed.Share(context.Background(), federation.ShareRequest{Objects: [][]byte{raw}, TLP: stix.TLPGreen,
		Communities: []string{"eu-csirts"}, Actor: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return res.Objects[0].ID
}

func waitAck(b *testing.B, ch <-chan struct{}, what string, a *acks) {
	b.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		b.Fatalf("%s not acknowledged by every peer within 60 s (%d acknowledgements in all)", what, a.count())
	}
}

// indicators returns n fresh unsigned indicators, each with its own id.
func indicators(n int, label string) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fedtest.Indicator(fmt.Sprint(label, " ", i))
	}
	return out
}

// BenchmarkBundleToPeers: FR shares a 10,000-indicator bundle with a
// community of 6 (5 peers); the rate is objects delivered, verified and
// stored by the peers per second, 10,000 × 5 / the time from the Share call
// until every row is acknowledged. Target ≥ 5,000/s.
func BenchmarkBundleToPeers(b *testing.B) {
	size := min(10_000, envInt(b, "ENTRAIDE_BENCH_OBJECTS", 10_000))
	names := []string{"fr", "ee", "de", "be", "it", "pl"}
	a := newAcks()
	fed := fedtest.Start(b, fedtest.Options{Federation: benchConfig(b, a)}, names...)
	fed.Community("eu-csirts", stix.TLPGreen, names...)
	fr := fed.Node("fr")
	peers := len(names) - 1
	waitAck(b, a.expect(shareOne(b, fr, fedtest.Indicator("warm-up")), peers), "warm-up", a)

	var shareT, total time.Duration
	delivered := 0
	for b.Loop() {
		b.StopTimer()
		objs := indicators(size, "bundle")
		b.StartTimer()
		done := a.expectTotal(a.count() + size*peers)
		t0 := time.Now()
		res, err := fr.Fed.Share(context.Background(), federation.ShareRequest{Objects: objs, TLP: stix.TLPGreen,
			Communities: []string{"eu-csirts"}, Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if res.Queued != size*peers {
			b.Fatalf("queued %d, want %d", res.Queued, size*peers)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("not all delivered within 5 minutes: %d acknowledgements", a.count())
		}
		shareT += t1.Sub(t0)
		total += time.Since(t0)
		delivered += size * peers
	}
	b.StopTimer()
	for _, name := range names[1:] {
		if n := countCollection(b, fed.Node(name), "eu-csirts"); n < size {
			b.Fatalf("%s holds %d objects in eu-csirts, want at least %d", name, n, size)
		}
	}
	b.ReportMetric(float64(delivered)/total.Seconds(), "objects/s")
	b.ReportMetric(float64(delivered)/(total-shareT).Seconds(), "delivery-only-objects/s")
	b.ReportMetric(ms(shareT)/float64(b.N), "share-ms")
	b.ReportMetric(ms(total)/float64(b.N), "total-ms")
}

// countCollection counts the objects (latest versions) of a node's collection by alias.
func countCollection(b *testing.B, n *fedtest.Node, alias string) int {
	b.Helper()
	ctx := context.Background()
	cols, err := n.Store.Collections(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cols {
		if c.Alias != alias {
			continue
		}
		total := 0
		q := store.Query{Limit: 10000}
		for range 10_000 { // bounded: 100 M objects
			p, err := n.Store.ListObjects(ctx, c.ID, q, false)
			if err != nil {
				b.Fatal(err)
			}
			total += len(p.Entries)
			if p.Next == "" {
				return total
			}
			q.Next = p.Next
		}
		return total
	}
	b.Fatalf("%s has no collection %q", n.Name, alias)
	return 0
}

// BenchmarkReceiveVerify compares the signature check of the receive path
// with bare Ed25519 on the same machine in the same run. Each round, FR signs
// n fresh indicators; they are pushed to EE's inbox over mutual TLS in
// batches of 500 (EE's whole receive path: TLS, TAXII, Verify, Parse, policy,
// store, audit), and the same n objects are verified again with
// provenance.Verify against EE's peer registry — exactly the call ingest
// makes — alternating object by object with ed25519.Verify of the same
// canonical message, so both see the same load. Reported: the verify rate of
// each, their ratio (target ≥ 0.70), and the share of the ingest time that
// Verify accounts for.
func BenchmarkReceiveVerify(b *testing.B) {
	n := min(2000, envInt(b, "ENTRAIDE_BENCH_OBJECTS", 2000))
	fed := fedtest.Start(b, fedtest.Options{Federation: fast()}, "fr", "ee")
	fr, ee := fed.Node("fr"), fed.Node("ee")
	client := taxiiClient(b, fed, "fr", "ee")
	ctx := context.Background()

	var ingestT, verifyT, rawT time.Duration
	objects := 0
	for b.Loop() {
		b.StopTimer()
		raws := make([][]byte, n)
		msgs := make([]signedMsg, n)
		now := time.Now()
		for i, u := range indicators(n, "verify") {
			s, err := provenance.Sign(u, fr.Signer, fr.Identity.IdentityID, now)
			if err != nil {
				b.Fatal(err)
			}
			raws[i] = s
			msgs[i] = message(b, s)
		}
		b.StartTimer()
		t0 := time.Now()
		for k := 0; k < n; k += 500 {
			batch := make([]json.RawMessage, 0, 500)
			for _, r := range raws[k:min(k+500, n)] {
				batch = append(batch, r)
			}
			st, err := client.AddObjects(ctx, federation.InboxAlias, batch)
			if err != nil {
				b.Fatal(err)
			}
			if st.FailureCount != 0 || st.SuccessCount != len(batch) {
				b.Fatalf("EE refused objects: %+v", st.Failures)
			}
		}
		ingestT += time.Since(t0)
		reg := ee.Fed.Registry()
		for i, r := range raws {
			t1 := time.Now()
			if _, err := provenance.Verify(r, reg); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			m := msgs[i]
			if !ed25519.Verify(m.pub, m.msg, m.sig) {
				b.Fatal("raw ed25519 does not verify")
			}
			verifyT += t2.Sub(t1)
			rawT += time.Since(t2)
		}
		objects += n
	}
	b.StopTimer()
	perSec := func(d time.Duration) float64 { return float64(objects) / d.Seconds() }
	b.ReportMetric(perSec(ingestT), "ingest-objects/s")
	b.ReportMetric(perSec(verifyT), "verify/s")
	b.ReportMetric(perSec(rawT), "raw-ed25519/s")
	b.ReportMetric(float64(rawT)/float64(verifyT), "ratio")
	b.ReportMetric(float64(verifyT)/float64(ingestT), "verify-share-of-ingest")
}

type signedMsg struct {
	pub      ed25519.PublicKey
	msg, sig []byte
}

// message rebuilds, independently of provenance, what a signature covers:
// the RFC 8785 form of the object without the signature member.
func message(b *testing.B, signed []byte) signedMsg {
	b.Helper()
	d := json.NewDecoder(bytes.NewReader(signed))
	d.UseNumber()
	var o map[string]any
	if err := d.Decode(&o); err != nil {
		b.Fatal(err)
	}
	ext := o["extensions"].(map[string]any)[provenance.ExtensionID].(map[string]any)
	sig, err := base64.RawURLEncoding.DecodeString(ext["signature"].(string))
	if err != nil {
		b.Fatal(err)
	}
	pub, err := base64.RawURLEncoding.DecodeString(ext["key"].(string))
	if err != nil {
		b.Fatal(err)
	}
	delete(ext, "signature")
	j, err := json.Marshal(o)
	if err != nil {
		b.Fatal(err)
	}
	msg, err := stix.Canonicalize(j)
	if err != nil {
		b.Fatal(err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		b.Fatal("the rebuilt message does not verify")
	}
	return signedMsg{pub: pub, msg: msg, sig: sig}
}

// taxiiClient is node from's TAXII client of node to's federation API, over
// the real mutual-TLS listener, with connections kept between requests.
func taxiiClient(b *testing.B, fed *fedtest.Federation, from, to string) *taxii.Client {
	b.Helper()
	src := fed.Node(from)
	p, err := src.Fed.Registry().Get(context.Background(), "cert-"+to)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := src.FedTLSCertificate()
	if err != nil {
		b.Fatal(err)
	}
	return &taxii.Client{BaseURL: strings.TrimRight(p.Endpoint, "/") + "/api/",
		HTTP: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: peer.ClientTLS(cert, p), ForceAttemptHTTP2: true}}}
}

// BenchmarkOfflinePeerDrain: EE is down while FR shares N objects with it
// (in batches of 1,000, each one transaction); EE comes back; the drain is
// the time from EE's start until FR has every row acknowledged. Then EE
// must hold exactly N objects, each received ("added") exactly once.
func BenchmarkOfflinePeerDrain(b *testing.B) {
	total := envInt(b, "ENTRAIDE_BENCH_OBJECTS", 20_000)
	a := newAcks()
	fed := fedtest.Start(b, fedtest.Options{Federation: benchConfig(b, a)}, "fr", "ee")
	fr := fed.Node("fr")
	ctx := context.Background()

	var drain, queueT time.Duration
	rounds := 0
	for b.Loop() {
		b.StopTimer()
		if rounds > 0 {
			b.Fatal("run with -benchtime 1x: every round would add N objects to the same nodes")
		}
		fed.Stop("ee")
		t0 := time.Now()
		base := a.count()
		for k := 0; k < total; k += 1000 {
			_, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: indicators(min(1000, total-k), "queued"),
				TLP: stix.TLPAmber, Nodes: []string{"cert-ee"}, Actor: "bench"})
			if err != nil {
				b.Fatal(err)
			}
		}
		queueT += time.Since(t0)
		done := a.expectTotal(base + total)
		b.StartTimer()
		t1 := time.Now()
		fed.Start("ee")
		select {
		case <-done:
		case <-time.After(10 * time.Minute):
			b.Fatalf("drain not finished within 10 minutes: %d of %d acknowledged", a.count()-base, total)
		}
		drain += time.Since(t1)
		rounds++
	}
	b.StopTimer()
	if st := queueOf(b, fed, "fr", "ee"); st.Pending != 0 || st.Delivered != total || st.Failed != 0 {
		b.Fatalf("FR's queue to EE after the drain: %+v, want %d delivered", st, total)
	}
	if n := countCollection(b, fed.Node("ee"), federation.InboxAlias); n != total {
		b.Fatalf("EE holds %d objects, want %d", n, total)
	}
	receipts, added, distinct := receiveCounts(b, fed.Node("ee"))
	if receipts != total || added != total || distinct != total {
		b.Fatalf("EE's audit log: %d receipts, %d added, %d distinct objects; want %d of each", receipts, added, distinct, total)
	}
	b.ReportMetric(drain.Seconds(), "drain-s")
	b.ReportMetric(float64(total)/drain.Seconds(), "objects/s")
	b.ReportMetric(queueT.Seconds(), "queue-s")
	b.ReportMetric(float64(total), "objects")
}

func queueOf(b *testing.B, fed *fedtest.Federation, from, to string) store.QueueStats {
	b.Helper()
	ps, err := fed.Node(from).Fed.Status(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range ps {
		if p.IdentityID == fed.ID(to) {
			return p.Queue
		}
	}
	b.Fatalf("%s has no peer %s", from, to)
	return store.QueueStats{}
}

// receiveCounts reads a node's whole audit log (paged): receive entries, how
// many say "added", and how many distinct objects they name.
func receiveCounts(b *testing.B, n *fedtest.Node) (receipts, added, distinct int) {
	b.Helper()
	seen := map[string]bool{}
	q := audit.Query{Limit: 10000}
	for range 100_000 { // bounded: a billion entries
		es, err := n.Fed.Audit().Entries(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range es {
			if e.Kind != audit.KindReceive {
				continue
			}
			receipts++
			if e.Detail["outcome"] == "added" {
				added++
			}
			seen[e.ObjectID] = true
		}
		if len(es) < q.Limit {
			break
		}
		q.From = es[len(es)-1].Seq + 1
	}
	return receipts, added, len(seen)
}
