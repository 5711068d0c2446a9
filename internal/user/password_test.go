package user

import (
	"errors"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/store"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id PHC with the declared parameters", h)
	}
	if err := VerifyPassword(h, "a long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := VerifyPassword(h, "a long enough passwore"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	h2, _ := HashPassword("a long enough password")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Fatal("a short password was accepted")
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=65536,t=2,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=65536,t=2,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=0,t=2,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$a2V5", // memory bomb
		"$argon2id$v=19$m=65536,t=2,p=1$!!$a2V5",
		"$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$",
	} {
		if err := VerifyPassword(h, "x"); err == nil || errors.Is(err, ErrBadPassword) {
			t.Errorf("%q: %v, want a malformed-hash error", h, err)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5", "pw")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		// Bound the work a hostile hash can ask for, then just never panic.
		if strings.Contains(hash, "m=") && !strings.Contains(hash, "m=1024,") {
			return
		}
		_ = VerifyPassword(hash, pw)
	})
}

func TestTokens(t *testing.T) {
	s1, h1, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _ := NewToken()
	if s1 == s2 || !strings.HasPrefix(s1, "etd_") || len(s1) < 40 {
		t.Fatalf("tokens %q %q", s1, s2)
	}
	if HashToken(s1) != h1 {
		t.Fatal("HashToken differs from the hash NewToken returned")
	}
}

func TestPermissions(t *testing.T) {
	u := store.User{Name: "a", Permissions: map[string]store.Permission{"c1": {Read: true}, "c2": {Write: true}}}
	if !CanRead(u, "c1") || CanWrite(u, "c1") || CanRead(u, "c2") || !CanWrite(u, "c2") || CanRead(u, "c3") {
		t.Fatal("per-collection permissions")
	}
	admin := store.User{Name: "root", Admin: true}
	if !CanRead(admin, "any") || !CanWrite(admin, "any") {
		t.Fatal("admin")
	}
	admin.Disabled = true
	if CanRead(admin, "any") || CanWrite(admin, "any") {
		t.Fatal("a disabled admin keeps access")
	}
}
