package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/user"
)

func initOpts(dir string, clk clock.Clock) InitOptions {
	return InitOptions{Dir: dir, Name: "cert-ee", Org: "CERT-EE", Country: "EE", AdminPassword: "a sufficiently long password", Clock: clk}
}

func TestInitThenOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	ctx := context.Background()
	res, err := Init(ctx, initOpts(dir, clock.System{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{SigningKey, TLSKey} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
	n, err := Open(ctx, dir, func(string) string { return "" }, nil, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Identity.IdentityID != IdentityIDFor(n.Signer.Public().(ed25519.PublicKey)) || n.Identity.IdentityID != res.Identity.IdentityID {
		t.Fatalf("identity %s not derived from the signing key", n.Identity.IdentityID)
	}
	u, err := n.Store.User(ctx, "admin")
	if err != nil || !u.Admin {
		t.Fatalf("admin user: %+v %v", u, err)
	}
	if err := user.VerifyPassword(u.PasswordHash, "a sufficiently long password"); err != nil {
		t.Fatalf("admin password: %v", err)
	}
	if _, err := n.Store.Collection(ctx, res.DefaultCollection.ID); err != nil {
		t.Fatalf("default collection: %v", err)
	}
}

func TestInitCleansUpOnFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	o := initOpts(dir, clock.System{})
	o.AdminPassword = "short" // refused after keys and database were made
	if _, err := Init(context.Background(), o); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("want a password error, got %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(dir)
		t.Fatalf("a failed init left %s behind (%d entries)", dir, len(ents))
	}
	// The same directory can then be initialised.
	if _, err := Init(context.Background(), initOpts(dir, clock.System{})); err != nil {
		t.Fatalf("init after a failed init: %v", err)
	}
}

func TestTLSPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	ctx := context.Background()
	fake := clock.NewFake(time.Now())
	if _, err := Init(ctx, initOpts(dir, fake)); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, func(string) string { return "" }, nil, fake)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	cfg, err := n.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion %x", cfg.MinVersion)
	}
	fake.Advance(tlsValidity + 24*time.Hour)
	if _, err := n.TLSConfig(); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired certificate must be refused, got %v", err)
	}
}

func TestValidators(t *testing.T) {
	for _, s := range []string{"cert-fr", "a", "x1-2"} {
		if err := ValidName(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "CERT", "-x", "a b", strings.Repeat("a", 64)} {
		if ValidName(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if ValidCountry("FR") != nil || ValidCountry("fr") == nil || ValidCountry("FRA") == nil {
		t.Error("country validation")
	}
}
