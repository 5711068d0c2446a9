package federation_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
)

// TestReceiveRefusesWhatCannotBeTrusted pushes, over the real mutual-TLS
// listener, objects a misbehaving or compromised peer could send, and checks
// each is refused with its reason, audited, and not stored — while a good
// object in the same envelope is stored, and a replay is harmless.
func TestReceiveRefusesWhatCannotBeTrusted(t *testing.T) {
	fed := fedtest.Start(t, fedtest.Options{Federation: fast()}, "fr", "ee", "de")
	frNode, ee := fed.Node("fr"), fed.ID("ee")
	now := time.Now()
	mark := func(raw []byte) []byte { // a TLP:CLEAR marking, so that only provenance can refuse
		return append(bytes.TrimSuffix(raw, []byte("}")), `,"object_marking_refs":["`+stix.TLPClear.MarkingID()+`"]}`...)
	}
	sign := func(raw []byte) []byte {
		s, err := provenance.Sign(mark(raw), frNode.Signer, fed.ID("fr"), now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(fedtest.Indicator("good"))
	tampered := bytes.Replace(sign(fedtest.Indicator("tampered")), []byte("203.0.113.7"), []byte("203.0.113.8"), 1)
	unsigned := mark(fedtest.Indicator("unsigned"))
	// Signed by FR but attributed to EE: created_by_ref says EE.
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	misattributed := bytes.Replace(sign(fedtest.Indicator("misattributed")), []byte(`"created_by_ref":"`+fed.ID("fr")), []byte(`"created_by_ref":"`+ee), 1)
	// Signed by a node nobody pinned.
	stranger, err := provenance.Sign(mark(fedtest.Indicator("stranger")), strangerKey, "identity--3f1c2a0e-2b7d-5c3a-9e4f-0a1b2c3d4e5f", now)
	if err != nil {
		t.Fatal(err)
	}
	st := pushRaw(t, fed, "fr", "de", "inbox", good, tampered, unsigned, misattributed, stranger)
	if len(st.Successes) != 1 || len(st.Failures) != 4 {
		t.Fatalf("want 1 success and 4 failures, got %+v", st)
	}
	wants := []string{"signature", "signature", "signature", "signature"}
	for i, f := range st.Failures {
		if !strings.Contains(f.Message, wants[i]) {
			t.Errorf("failure %d: %q does not say %q", i, f.Message, wants[i])
		}
	}
	for _, raw := range [][]byte{tampered, unsigned, misattributed, stranger} {
		o, _ := stix.Parse(raw)
		if o != nil && fed.Has("de", o.ID) {
			t.Errorf("DE stored a refused object %s", o.ID)
		}
	}
	goodObj, _ := stix.Parse(good)
	if !fed.Has("de", goodObj.ID) {
		t.Fatal("the good object in the same envelope was not stored")
	}
	if n := countAudit(t, fed, "de", audit.KindRefuse); n < 4 {
		t.Fatalf("DE audited %d refusals, want 4", n)
	}
	// A replay of the good object: accepted as already present, stored once.
	st = pushRaw(t, fed, "fr", "de", "inbox", good)
	if len(st.Successes) != 1 || !strings.Contains(st.Successes[0].Message, "already present") {
		t.Fatalf("replay: %+v", st)
	}
	rep, err := fed.Node("de").Fed.Audit().Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("audit verify after refusals: %v", err)
	}
}
