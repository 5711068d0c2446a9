package peer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/entraide/entraide/internal/card"
)

// Reasons passed to ServerTLS's onRefuse, stable for audit logs.
const (
	RefuseNoCertificate = "no client certificate"
	RefuseNotPinned     = "not a pinned peer"
	RefuseExpired       = "certificate expired or not yet valid"
)

// ServerTLS is the TLS configuration of the federation listener: TLS 1.3
// only, our federation certificate, and a client certificate required and
// accepted only when its public key is a pinned peer's (SHA-256 of its
// SubjectPublicKeyInfo, card.SPKIHash) and it is within its validity dates
// by reg's clock. There is no CA: the chain is not checked, the key is; the
// TLS 1.3 handshake proves the client holds that key.
//
// A refused client fails during the handshake (a bad_certificate alert), and
// onRefuse (which may be nil) is called with the SPKI hash ("" when no
// certificate) and one of the Refuse reasons, so that the refusal can be
// audited. The check runs on every connection, resumed ones included, so an
// unpinned peer is locked out at once.
func ServerTLS(own tls.Certificate, reg *Registry, onRefuse func(spki, reason string)) *tls.Config {
	refuse := func(spki, reason string) error {
		if onRefuse != nil {
			onRefuse(spki, reason)
		}
		if spki == "" {
			return errors.New("federation: " + reason)
		}
		return fmt.Errorf("federation: client key %s: %s", spki, reason)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{own},
		// Required, but checked in VerifyConnection rather than by
		// RequireAnyClientCert, so that a client without one reaches
		// onRefuse too.
		ClientAuth: tls.RequestClientCert,
		Time:       reg.clk.Now,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return refuse("", RefuseNoCertificate)
			}
			leaf := cs.PeerCertificates[0]
			spki := card.SPKIHash(leaf)
			if !valid(leaf, reg.clk.Now()) {
				return refuse(spki, RefuseExpired)
			}
			if _, ok := reg.BySPKI(spki); !ok {
				return refuse(spki, RefuseNotPinned)
			}
			return nil
		},
	}
}

// ClientTLS is the TLS configuration for connecting to peer p: TLS 1.3
// only, our federation certificate presented, and the server accepted only
// if its certificate's public key is the one pinned for p and the
// certificate is within its validity dates (by the config's Time, the system
// clock unless set). No CA and no host name are checked: the pin is the
// whole trust.
func ClientTLS(own tls.Certificate, p Peer) *tls.Config {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{own},
		InsecureSkipVerify: true, // replaced by VerifyConnection's pin check
	}
	want, name := p.TLSSPKI, p.Name
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("federation: %s presented no certificate", name)
		}
		leaf := cs.PeerCertificates[0]
		if got := card.SPKIHash(leaf); got != want {
			return fmt.Errorf("federation: the server is not %s: its TLS key %s is not the pinned %s", name, got, want)
		}
		now := time.Now()
		if cfg.Time != nil {
			now = cfg.Time()
		}
		if !valid(leaf, now) {
			return fmt.Errorf("federation: %s's certificate is expired or not yet valid (%s to %s)", name,
				leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		return nil
	}
	return cfg
}

func valid(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}
