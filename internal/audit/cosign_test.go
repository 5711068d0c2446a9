package audit_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/entraide/entraide/internal/audit"
)

// exchange has from's latest checkpoint cosigned by to, the way the peer
// layer does it: the request travels as JSON, the proof starts where to
// says it last cosigned, and the cosignature comes back to from.
func exchange(t *testing.T, from, to *node) ([]byte, error) {
	t.Helper()
	cp := from.checkpoint()
	old, err := to.log.CosignedSize(to.ctx, from.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	req, err := from.log.NewCosignRequest(from.ctx, cp, old)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.ParseCosignRequest(wire)
	if err != nil {
		t.Fatalf("ParseCosignRequest: %v", err)
	}
	cosig, err := to.log.Cosign(to.ctx, from.log.Name(), from.log.Verifier(), got)
	if err != nil {
		return nil, err
	}
	if err := from.log.AddCosignature(from.ctx, to.log.Name(), to.log.Verifier(), cosig); err != nil {
		t.Fatalf("AddCosignature: %v", err)
	}
	return cosig, nil
}

func kinds(n *node, k audit.Kind) []audit.Entry {
	var out []audit.Entry
	for _, e := range n.all() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestCosign(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		fr, ee := newNode(t, e, "cert-fr"), newNode(t, e, "cert-ee")
		fr.fill(50, 20)
		cosig, err := exchange(t, fr, ee)
		if err != nil {
			t.Fatalf("first cosigning: %v", err)
		}
		// The cosignature is cert-ee's signature over cert-fr's checkpoint text.
		n, err := note.Open(cosig, note.VerifierList(ee.log.Verifier()))
		if err != nil {
			t.Fatal(err)
		}
		if name, tree, err := audit.ParseCheckpoint([]byte(n.Text)); err != nil || name != "cert-fr" || tree.N != 50 {
			t.Errorf("cosigned text: %q %v %v", name, tree, err)
		}
		// The log grows; the next request must prove it extends size 50.
		fr.fill(81, 40)
		cp := fr.checkpoint()
		req, err := fr.log.NewCosignRequest(fr.ctx, cp, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ee.log.Cosign(ee.ctx, "cert-fr", fr.log.Verifier(), req)
		var need *audit.ProofNeededError
		if !errors.As(err, &need) || need.Size != 50 || !errors.Is(err, audit.ErrConflict) {
			t.Fatalf("request without a proof: %v, want a ProofNeededError for size 50", err)
		}
		if _, err := exchange(t, fr, ee); err != nil {
			t.Fatalf("second cosigning: %v", err)
		}
		// Asking again gets the same cosignature, and logs nothing more.
		again, err := exchange(t, fr, ee)
		if err != nil {
			t.Fatal(err)
		}
		if size, _ := ee.log.CosignedSize(ee.ctx, "cert-fr"); size != 131 {
			t.Errorf("CosignedSize: %d, want 131", size)
		}
		// An older checkpoint that was cosigned gets its cosignature again.
		old, err := ee.log.Cosign(ee.ctx, "cert-fr", fr.log.Verifier(), audit.CosignRequest{Checkpoint: mustCheckpointOf(t, fr, 50)})
		if err != nil || string(old) != string(cosig) {
			t.Errorf("older cosigned checkpoint: %v", err)
		}
		// cert-ee's own log records each cosigning once.
		if got := kinds(ee, audit.KindCheckpointCosigned); len(got) != 2 || got[0].Peer != "cert-fr" ||
			got[0].Detail["size"] != "50" || got[1].Detail["size"] != "131" {
			t.Errorf("cosignings logged: %+v", got)
		}
		// Both directions at once: cert-fr cosigns cert-ee's log too.
		if _, err := exchange(t, ee, fr); err != nil {
			t.Fatalf("reverse cosigning: %v", err)
		}
		rep, err := fr.log.Verify(fr.ctx)
		if err != nil || rep.Cosignatures != 2 || !slices.Equal(rep.Cosigners, []string{"cert-ee"}) || rep.CosignedSize != 131 {
			t.Errorf("cert-fr's report: %v\n%s", err, rep.String())
		}
		if rep, err := ee.log.Verify(ee.ctx); err != nil || rep.Cosignatures != 1 {
			t.Errorf("cert-ee's report: %v\n%s", err, rep.String())
		}
		_ = again
	})
}

// mustCheckpointOf returns n's stored checkpoint of that size.
func mustCheckpointOf(t *testing.T, n *node, size int64) []byte {
	t.Helper()
	as, err := storeOf(n)
	if err != nil {
		t.Fatal(err)
	}
	cps, err := as.AuditCheckpoints(n.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cps {
		if c.Size == size {
			return c.Note
		}
	}
	t.Fatalf("no checkpoint of size %d", size)
	return nil
}

func TestCosignRefuses(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		fr, ee, lt := newNode(t, e, "cert-fr"), newNode(t, e, "cert-ee"), newNode(t, e, "cert-lt")
		fr.fill(10, 10)
		cp := fr.checkpoint()
		req := audit.CosignRequest{Checkpoint: cp}
		for _, c := range []struct {
			name string
			peer string
			v    note.Verifier
			req  audit.CosignRequest
		}{
			{"another node's key", "cert-fr", lt.log.Verifier(), req},
			{"a name that is not the key's", "cert-lt", fr.log.Verifier(), req},
			{"a log that is not the signer's", "cert-lt", lt.log.Verifier(), audit.CosignRequest{Checkpoint: relabel(t, cp, lt)}},
			{"its own log", "cert-ee", ee.log.Verifier(), audit.CosignRequest{Checkpoint: ee.checkpointAfterFill()}},
			{"not a note", "cert-fr", fr.log.Verifier(), audit.CosignRequest{Checkpoint: []byte("hello")}},
		} {
			if _, err := ee.log.Cosign(ee.ctx, c.peer, c.v, c.req); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", c.name, err)
			}
		}
		cosig, err := ee.log.Cosign(ee.ctx, "cert-fr", fr.log.Verifier(), req)
		if err != nil {
			t.Fatal(err)
		}
		// cert-fr accepts only cert-ee's genuine cosignature of its own checkpoint.
		for _, c := range []struct {
			name  string
			peer  string
			v     note.Verifier
			cosig []byte
		}{
			{"wrong key", "cert-ee", lt.log.Verifier(), cosig},
			{"name and key differ", "cert-lt", ee.log.Verifier(), cosig},
			{"of another log", "cert-ee", ee.log.Verifier(), ee.checkpointAfterFill()},
			{"of a tree never signed", "cert-ee", ee.log.Verifier(), signAs(t, ee, "entraide/audit/v1/cert-fr\n10\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")},
		} {
			if err := fr.log.AddCosignature(fr.ctx, c.peer, c.v, c.cosig); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("AddCosignature %s: %v, want ErrInvalid", c.name, err)
			}
		}
		if err := fr.log.AddCosignature(fr.ctx, "cert-ee", ee.log.Verifier(), cosig); err != nil {
			t.Errorf("genuine cosignature: %v", err)
		}
	})
}

func (n *node) checkpointAfterFill() []byte {
	if size, _ := n.log.Size(n.ctx); size == 0 {
		n.fill(3, 3)
	}
	return n.checkpoint()
}

// relabel returns the text of signed, signed by other instead.
func relabel(t *testing.T, signed []byte, other *node) []byte {
	t.Helper()
	n, err := note.Open(signed, note.VerifierList())
	var uv *note.UnverifiedNoteError
	if !errors.As(err, &uv) {
		t.Fatal(err)
	}
	n = uv.Note
	return signAs(t, other, n.Text)
}

// signAs signs text with n's key, as a note.
func signAs(t *testing.T, n *node, text string) []byte {
	t.Helper()
	s, _, err := audit.NewSigner(n.log.Name(), keyOf(n))
	if err != nil {
		t.Fatal(err)
	}
	b, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestForkDetected is the story of a node that rewrites its history after a
// partner cosigned it: cert-fr edits an entry in SQL, recomputes its hashes,
// drops the checkpoints that would betray it, and signs new ones. cert-ee
// refuses them all, with ErrForkDetected and the two signed checkpoints as
// evidence, and records the fork in its own log.
func TestForkDetected(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		fr, ee := newNode(t, e, "cert-fr"), newNode(t, e, "cert-ee")
		fr.fill(100, 25)
		if _, err := exchange(t, fr, ee); err != nil {
			t.Fatal(err)
		}
		honest := mustCheckpointOf(t, fr, 100)

		fr.exec(`UPDATE audit_entries SET reason = 'never happened' WHERE seq = 10`)
		fr.rewriteHashes()
		fr.exec(`DELETE FROM audit_checkpoints`)
		fr.exec(`DELETE FROM audit_cosignatures`)
		// cert-fr's own Verify cannot tell any more: that is why partners cosign.
		if rep, err := fr.log.Verify(fr.ctx); err != nil {
			t.Fatalf("the rewrite is not complete: %v\n%s", err, rep.String())
		}

		// A checkpoint of the same size, with another root.
		_, err := exchange(t, fr, ee)
		var fe *audit.ForkError
		if !errors.Is(err, audit.ErrForkDetected) || !errors.As(err, &fe) {
			t.Fatalf("same size: %v, want ErrForkDetected", err)
		}
		if fe.Peer != "cert-fr" || fe.Cosigned.Size != 100 || string(fe.Cosigned.Checkpoint) != string(honest) || len(fe.Presented) == 0 {
			t.Errorf("evidence: %+v", fe)
		}

		// A larger checkpoint: no proof from size 100 can hold.
		fr.fill(20, 20)
		if _, err := exchange(t, fr, ee); !errors.Is(err, audit.ErrForkDetected) {
			t.Fatalf("larger checkpoint: %v, want ErrForkDetected", err)
		}
		// Nor can a forged proof.
		cp := fr.checkpoint()
		if _, err := ee.log.Cosign(ee.ctx, "cert-fr", fr.log.Verifier(), audit.CosignRequest{Checkpoint: cp, OldSize: 100}); !errors.Is(err, audit.ErrForkDetected) {
			t.Errorf("empty proof: %v, want ErrForkDetected", err)
		}

		// cert-ee still holds only the honest checkpoint, and logged the forks.
		if size, _ := ee.log.CosignedSize(ee.ctx, "cert-fr"); size != 100 {
			t.Errorf("cert-ee's last cosigned size: %d", size)
		}
		forks := kinds(ee, audit.KindForkDetected)
		if len(forks) != 3 || forks[0].Peer != "cert-fr" || forks[0].Detail["cosigned_size"] != "100" || forks[1].Detail["presented_size"] != "120" {
			t.Errorf("forks logged: %+v", forks)
		}
		if rep, err := ee.log.Verify(ee.ctx); err != nil {
			t.Errorf("cert-ee's own log: %v\n%s", err, rep.String())
		}
	})
}
