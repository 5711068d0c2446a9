package peer_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/peer"
)

// refusals records ServerTLS's onRefuse calls.
type refusals struct {
	mu   sync.Mutex
	list []string
}

func (r *refusals) add(spki, reason string) {
	r.mu.Lock()
	r.list = append(r.list, spki+" "+reason)
	r.mu.Unlock()
}

func (r *refusals) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.list...)
}

// serve starts n's federation listener on 127.0.0.1: each accepted
// connection that completes the handshake is answered with the name of the
// peer at the other end, and closed.
func serve(t *testing.T, n *testNode) (addr string, refused *refusals) {
	t.Helper()
	refused = &refusals{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := peer.ServerTLS(n.cert, n.reg, refused.add)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := tc.Handshake(); err != nil {
					return
				}
				cs := tc.ConnectionState()
				p, ok := n.reg.PeerFromConn(&cs)
				if !ok {
					io.WriteString(tc, "?\n")
					return
				}
				io.WriteString(tc, p.Name+"\n")
			})
		}
	})
	return ln.Addr().String(), refused
}

// dial connects as client to the server at addr with cfg and returns the
// line the server answers, or the error of the handshake or of the read (a
// TLS 1.3 client learns that the server refused its certificate only when
// it reads).
func dial(t *testing.T, addr string, cfg *tls.Config) (string, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		return "", errors.New("connection closed without an answer")
	}
	return strings.TrimSpace(string(b)), nil
}

func TestMutualTLS(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	eeAtFR := fr.pin(t, ee)
	frAtEE := ee.pin(t, fr)
	frAddr, frRefused := serve(t, fr)
	eeAddr, _ := serve(t, ee)

	t.Run("pinned both ways", func(t *testing.T) {
		got, err := dial(t, frAddr, peer.ClientTLS(ee.cert, frAtEE))
		if err != nil || got != "cert-ee" {
			t.Errorf("ee → fr: %q, %v; want fr to see cert-ee", got, err)
		}
		got, err = dial(t, eeAddr, peer.ClientTLS(fr.cert, eeAtFR))
		if err != nil || got != "cert-fr" {
			t.Errorf("fr → ee: %q, %v; want ee to see cert-fr", got, err)
		}
		cfg := peer.ClientTLS(ee.cert, frAtEE)
		if cfg.MinVersion != tls.VersionTLS13 || peer.ServerTLS(fr.cert, fr.reg, nil).MinVersion != tls.VersionTLS13 {
			t.Error("TLS 1.3 only")
		}
	})

	t.Run("unpinned client refused in the handshake", func(t *testing.T) {
		stranger := newNode(t, "cert-xx", "LU")
		before := len(frRefused.all())
		_, err := dial(t, frAddr, peer.ClientTLS(stranger.cert, frAtEE))
		if err == nil {
			t.Fatal("a client fr did not pin was answered")
		}
		if !strings.Contains(err.Error(), "bad certificate") {
			t.Errorf("error %v, want the bad_certificate alert", err)
		}
		got := frRefused.all()[before:]
		if len(got) != 1 || got[0] != stranger.spki()+" "+peer.RefuseNotPinned {
			t.Errorf("onRefuse calls: %q", got)
		}
	})

	t.Run("no client certificate", func(t *testing.T) {
		before := len(frRefused.all())
		cfg := peer.ClientTLS(ee.cert, frAtEE)
		cfg.Certificates = nil
		if _, err := dial(t, frAddr, cfg); err == nil {
			t.Fatal("a client without a certificate was answered")
		}
		if got := frRefused.all()[before:]; len(got) != 1 || !strings.HasSuffix(got[0], peer.RefuseNoCertificate) {
			t.Errorf("onRefuse calls: %q", got)
		}
	})

	t.Run("server with the wrong key refused by the client", func(t *testing.T) {
		// ee's pin of fr, but the server at that address is a stranger.
		stranger := newNode(t, "cert-xx", "LU")
		stranger.pin(t, ee) // so that only the client side can refuse
		addr, _ := serve(t, stranger)
		_, err := dial(t, addr, peer.ClientTLS(ee.cert, frAtEE))
		if err == nil || !strings.Contains(err.Error(), "is not cert-fr") {
			t.Errorf("connecting to an impostor: %v", err)
		}
	})

	t.Run("mutual: pinned one way only", func(t *testing.T) {
		// de pins fr, fr has not pinned de: de's connection to fr fails.
		de := newNode(t, "cert-de", "DE")
		frAtDE := de.pin(t, fr)
		before := len(frRefused.all())
		if _, err := dial(t, frAddr, peer.ClientTLS(de.cert, frAtDE)); err == nil {
			t.Fatal("fr answered a node it did not pin")
		}
		if got := frRefused.all()[before:]; len(got) != 1 || got[0] != de.spki()+" "+peer.RefuseNotPinned {
			t.Errorf("onRefuse calls: %q", got)
		}
		// Once fr pins de, it works.
		fr.pin(t, de)
		if got, err := dial(t, frAddr, peer.ClientTLS(de.cert, frAtDE)); err != nil || got != "cert-de" {
			t.Errorf("after fr pinned de: %q, %v", got, err)
		}
		// And once fr removes it, it stops at once.
		if _, err := fr.reg.Remove(t.Context(), "cert-de"); err != nil {
			t.Fatal(err)
		}
		if _, err := dial(t, frAddr, peer.ClientTLS(de.cert, frAtDE)); err == nil {
			t.Error("fr answered a peer it removed")
		}
	})
}

func TestExpiredCertificates(t *testing.T) {
	fr, ee := newNode(t, "cert-fr", "FR"), newNode(t, "cert-ee", "EE")
	// ee's certificate expires an hour after start; fr pins its key.
	ee.cert = newCert(t, "cert-ee", start.Add(-time.Hour), start.Add(time.Hour))
	eeAtFR := fr.pin(t, ee)
	frAtEE := ee.pin(t, fr)
	frAddr, frRefused := serve(t, fr)
	eeAddr, _ := serve(t, ee)

	client := func(own tls.Certificate, p peer.Peer, now time.Time) *tls.Config {
		cfg := peer.ClientTLS(own, p)
		cfg.Time = func() time.Time { return now }
		return cfg
	}
	if got, err := dial(t, frAddr, client(ee.cert, frAtEE, start)); err != nil || got != "cert-ee" {
		t.Fatalf("before expiry: %q, %v", got, err)
	}
	// Two hours later, by fr's clock, ee's certificate has expired.
	fr.clk.Advance(2 * time.Hour)
	ee.clk.Advance(2 * time.Hour)
	before := len(frRefused.all())
	if _, err := dial(t, frAddr, client(ee.cert, frAtEE, start.Add(2*time.Hour))); err == nil {
		t.Error("an expired client certificate was accepted")
	}
	if got := frRefused.all()[before:]; len(got) != 1 || got[0] != ee.spki()+" "+peer.RefuseExpired {
		t.Errorf("onRefuse calls: %q", got)
	}
	// And fr, as a client, refuses ee's expired server certificate.
	_, err := dial(t, eeAddr, client(fr.cert, eeAtFR, start.Add(2*time.Hour)))
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired server certificate: %v", err)
	}
}
