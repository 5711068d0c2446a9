package federation_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// TestSenderKilledMidDeliveryLosesNothing: two nodes made with the real
// binary; FR queues 20,000 objects for EE while its server is down, starts
// it, and is killed with SIGKILL in the middle of the delivery. Nothing is
// corrupt (FR's audit log verifies, the queue reads); when FR serves again
// the queue drains and EE holds exactly the 20,000 objects, each added
// exactly once (a batch EE stored but FR never saw acknowledged comes again
// and is recorded as a duplicate, not a second copy).
func TestSenderKilledMidDeliveryLosesNothing(t *testing.T) {
	const total = 20_000
	bin := filepath.Join(t.TempDir(), "entraide")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/entraide/entraide/cmd/entraide").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "ENTRAIDE_ADMIN_PASSWORD=a test password that is long")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("entraide %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	frFed, eeFed := loopbackPort(t), loopbackPort(t)
	fr, ee := filepath.Join(t.TempDir(), "fr"), filepath.Join(t.TempDir(), "ee")
	cli("init", "--data", fr, "--name", "cert-fr", "--org", "CERT-FR", "--country", "FR",
		"--fed-endpoint", "https://"+frFed+"/", "--poc", "role=csirt-24x7,name=Permanence CERT-FR,email=cert-fr@ssi.example")
	cli("init", "--data", ee, "--name", "cert-ee", "--org", "CERT-EE", "--country", "EE",
		"--fed-endpoint", "https://"+eeFed+"/", "--poc", "role=csirt-24x7,name=CERT-EE duty desk,email=cert@ria.example")
	frCard, eeCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "ee.card")
	cli("card", "export", "--data", fr, "--out", frCard)
	cli("card", "export", "--data", ee, "--out", eeCard)
	cli("peer", "add", "--data", fr, "--yes", eeCard)
	cli("peer", "add", "--data", ee, "--yes", frCard)

	// FR queues everything while its server is down.
	var src bytes.Buffer
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for i := range total {
		fmt.Fprintf(&src, `{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"crash %d","pattern":"[ipv4-addr:value = '203.0.113.7']","pattern_type":"stix","valid_from":%q}`+"\n",
			stix.NewID("indicator"), now, now, i, now)
	}
	objs := filepath.Join(t.TempDir(), "objects.ndjson")
	if err := os.WriteFile(objs, src.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := cli("share", "--data", fr, "--to", "cert-ee", "--tlp", "amber", objs); !strings.Contains(out, fmt.Sprintf("%d deliveries queued", total)) {
		t.Fatalf("share: %.500s", out[max(0, len(out)-500):])
	}

	eeSrv := serve(t, bin, ee, eeFed)
	defer eeSrv.stop(t)
	frSrv := serve(t, bin, fr, frFed)
	// Kill FR once some, but not all, deliveries are acknowledged. FR's
	// store is read by this test while FR's server writes it, as the CLI
	// does (SQLite in WAL mode).
	frStore := openStore(t, fr)
	deadline := time.Now().Add(60 * time.Second)
	delivered := 0
	for delivered == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		delivered = queueStats(t, frStore).Delivered
	}
	if err := frSrv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	frSrv.cmd.Wait()
	before := queueStats(t, frStore)
	frStore.Close()
	if before.Delivered == 0 {
		t.Fatalf("FR delivered nothing within 60 s:\n%s", frSrv.out.String())
	}
	if before.Delivered == total {
		t.Fatal("FR delivered everything before the kill; the test proves nothing (queue more objects)")
	}
	t.Logf("killed FR with %d of %d deliveries acknowledged", before.Delivered, total)
	if before.Pending+before.Delivered != total || before.Failed != 0 {
		t.Fatalf("FR's queue after the kill: %+v, want %d rows, none failed", before, total)
	}
	cli("audit", "verify", "--data", fr) // fails the test unless FR's audit log verifies

	frSrv = serve(t, bin, fr, frFed)
	defer frSrv.stop(t)
	deadline = time.Now().Add(60 * time.Second)
	for {
		st := openStore(t, fr)
		q := queueStats(t, st)
		st.Close()
		if q.Pending == 0 {
			if q.Delivered != total || q.Failed != 0 {
				t.Fatalf("FR's queue drained as %+v, want %d delivered", q, total)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FR's queue not drained within 60 s of the restart: %+v\n%s", q, frSrv.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	frSrv.stop(t)
	eeSrv.stop(t)

	// EE: exactly the objects, each added once.
	n, err := node.Open(context.Background(), ee, func(string) string { return "" }, nil, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fed, err := federation.New(context.Background(), n, federation.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := countInbox(t, n.Store); got != total {
		t.Fatalf("EE holds %d objects in its inbox, want %d", got, total)
	}
	added := map[string]int{}
	duplicates := 0
	q := audit.Query{Limit: 10000}
	for range 1000 {
		es, err := fed.Audit().Entries(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind != audit.KindReceive {
				continue
			}
			switch e.Detail["outcome"] {
			case "added":
				added[e.ObjectID]++
			case "duplicate":
				duplicates++
			}
		}
		if len(es) < q.Limit {
			break
		}
		q.From = es[len(es)-1].Seq + 1
	}
	if len(added) != total {
		t.Fatalf("EE's audit log records %d distinct objects added, want %d", len(added), total)
	}
	for id, k := range added {
		if k != 1 {
			t.Fatalf("EE's audit log records %s added %d times", id, k)
		}
	}
	t.Logf("EE: %d objects, each added once; %d re-sent after the kill and recorded as duplicates", total, duplicates)
	rep, err := fed.Audit().Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("EE's audit log: %v\n%s", err, rep.String())
	}
}

type server struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// serve starts `entraide serve` on a node with its federation listener on
// fedAddr, and waits (bounded) until that listener accepts connections.
func serve(t *testing.T, bin, dir, fedAddr string) *server {
	t.Helper()
	s := &server{out: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--data", dir, "--listen", loopbackPort(t), "--fed-listen", fedAddr)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fedAddr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			s.cmd.Wait()
			t.Fatalf("serve %s: the federation listener never came up:\n%s", dir, s.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server gracefully (SIGTERM, then SIGKILL after 30 s); it
// may be called more than once.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan struct{})
	go func() { s.cmd.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-waited
		t.Errorf("serve did not stop on SIGTERM:\n%s", s.out.String())
	}
}

func loopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), node.DBURL(dir, ""), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// queueStats is the state of a node's only peer's queue.
func queueStats(t *testing.T, st store.Store) store.QueueStats {
	t.Helper()
	m, err := st.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m) > 1 {
		t.Fatalf("queues for %d peers, want 1", len(m))
	}
	for _, q := range m {
		return q
	}
	return store.QueueStats{}
}

func countInbox(t *testing.T, st store.Store) int {
	t.Helper()
	ctx := context.Background()
	cols, err := st.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c.Alias != federation.InboxAlias {
			continue
		}
		n := 0
		q := store.Query{Limit: 10000}
		for range 1000 {
			p, err := st.ListObjects(ctx, c.ID, q, false)
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Entries)
			if p.Next == "" {
				break
			}
			q.Next = p.Next
		}
		return n
	}
	t.Fatal("no inbox")
	return 0
}
