package cli

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestObjectCrossesTheFederation is the README's walk-through: two nodes,
// cards exchanged, peered both ways, both serving the federation; FR shares
// an indicator with EE, which stores it with FR's signature verified; FR's
// status shows it delivered; both audit logs verify; the sharing report
// shows the exchange from both sides.
func TestObjectCrossesTheFederation(t *testing.T) {
	frPort, eePort := freePortNum(t), freePortNum(t)
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", frPort, pocFR)
	ee := fedNode(t, "cert-ee", "CERT-EE", "EE", eePort, pocEE)
	frCard, eeCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "ee.card")
	mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	mustRun(t, "", "card", "export", "--data", ee, "--out", eeCard)
	mustRun(t, "", "peer", "add", "--data", fr, "--yes", eeCard)
	mustRun(t, "", "peer", "add", "--data", ee, "--yes", frCard)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 2)
	for _, n := range []struct{ dir, port string }{{fr, frPort}, {ee, eePort}} {
		go func() {
			done <- runCtx(ctx, t, nil, "", "serve", "--data", n.dir, "--listen", "127.0.0.1:"+freePortNum(t), "--fed-listen", "127.0.0.1:"+n.port)
		}()
	}

	ind := filepath.Join(t.TempDir(), "ind.json")
	os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--0b9ba5c2-6bb2-4b8b-9c8e-2d6f1f4a5e01","created":"2026-11-20T08:00:00.000Z","modified":"2026-11-20T08:00:00.000Z","name":"Ransomware C2","pattern":"[ipv4-addr:value = '203.0.113.9']","pattern_type":"stix","valid_from":"2026-11-20T08:00:00Z"}`), 0o600)
	r := mustRun(t, "", "share", "--data", fr, "--to", "cert-ee", "--tlp", "amber", ind)
	if !strings.Contains(r.stdout, "queued for 1 recipient") {
		t.Fatalf("share:\n%s", r.stdout)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = run(t, nil, "", "export", "--data", ee, "--collection", "inbox")
		if strings.Contains(r.stdout, "indicator--0b9ba5c2") {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("EE never received the indicator; FR status:\n%s", run(t, nil, "", "status", "--data", fr).stdout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// It arrived signed by FR, marked AMBER.
	if !strings.Contains(r.stdout, "extension-definition--835b6450") || !strings.Contains(r.stdout, "marking-definition--55d920b0") {
		t.Fatalf("the received object lost its signature or marking:\n%s", r.stdout)
	}
	// FR sees it delivered; the reports of both sides show the exchange.
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(run(t, nil, "", "report", "sharing", "--data", fr).stdout, "delivered") {
		if time.Now().After(deadline) {
			t.Fatal("FR's report never shows the delivery")
		}
		time.Sleep(50 * time.Millisecond)
	}
	st := mustRun(t, "", "status", "--data", fr)
	if !strings.Contains(st.stdout, "cert-ee") || !strings.Contains(st.stdout, "up") {
		t.Fatalf("status:\n%s", st.stdout)
	}
	rep := mustRun(t, "", "report", "sharing", "--data", ee)
	if !strings.Contains(rep.stdout, "received") || !strings.Contains(rep.stdout, "cert-fr") || !strings.Contains(rep.stdout, "AMBER") {
		t.Fatalf("EE's report:\n%s", rep.stdout)
	}
	for _, dir := range []string{fr, ee} {
		v := mustRun(t, "", "audit", "verify", "--data", dir, "--checkpoint")
		if !strings.Contains(v.stdout, "signed checkpoint") {
			t.Fatalf("audit verify:\n%s", v.stdout)
		}
	}
	cancel()
	for range 2 {
		select {
		case r := <-done:
			if r.code != 0 {
				t.Fatalf("serve exited %d:\n%s", r.code, r.stderr)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
}

func freePortNum(t *testing.T) string {
	_, port, _ := net.SplitHostPort(freePort(t))
	return port
}
