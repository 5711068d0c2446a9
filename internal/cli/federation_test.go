package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	pocFR = "role=csirt-24x7,name=Permanence CERT-FR,email=cert-fr@ssi.example,phone=+33 1 71 75 84 68"
	pocEE = "role=csirt-24x7,name=CERT-EE duty desk,email=cert@ria.example"
)

// fedNode creates a node with a federation endpoint and a point of contact.
func fedNode(t *testing.T, name, org, country, port, poc string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	r := run(t, map[string]string{"ENTRAIDE_ADMIN_PASSWORD": testPassword}, "", "init", "--data", dir, "--name", name,
		"--org", org, "--country", country, "--fed-endpoint", "https://127.0.0.1:"+port+"/", "--poc", poc)
	if r.code != 0 {
		t.Fatalf("init %s: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
	}
	return dir
}

func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := run(t, nil, stdin, args...)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

// TestPeeringStory: CERT-FR and CERT-EE export their cards, read each other
// the fingerprints, peer, and make a bilateral community; everything shows
// in list and show --json, on both sides.
func TestPeeringStory(t *testing.T) {
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", "8444", pocFR)
	ee := fedNode(t, "cert-ee", "CERT-EE", "EE", "9444", pocEE)
	frCard, eeCard := filepath.Join(t.TempDir(), "fr.card"), filepath.Join(t.TempDir(), "ee.card")
	r := mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	if !strings.Contains(r.stdout, "fingerprint:") {
		t.Errorf("card export does not show the fingerprint:\n%s", r.stdout)
	}
	r = mustRun(t, "", "card", "export", "--data", ee)
	if err := os.WriteFile(eeCard, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	eeFingerprint := strings.TrimSpace(strings.TrimPrefix(r.stderr, "fingerprint:"))

	// card verify prints who the card is for.
	r = mustRun(t, "", "card", "verify", eeCard)
	for _, want := range []string{"cert-ee", "CERT-EE", "https://127.0.0.1:9444/", eeFingerprint} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("card verify lacks %q:\n%s", want, r.stdout)
		}
	}
	v := decode[cardOut](t, mustRun(t, "", "card", "verify", "--json", eeCard).stdout)
	if v.Fingerprint != eeFingerprint || v.Name != "cert-ee" || len(v.PointsOfContact) != 1 {
		t.Errorf("card verify --json: %+v", v)
	}

	// FR refuses when the fingerprint is not confirmed.
	r = run(t, nil, "n\n", "peer", "add", "--data", fr, eeCard)
	if r.code != 1 || !strings.Contains(r.stdout, "Does the fingerprint match what CERT-EE read to you? [y/N]") ||
		!strings.Contains(r.stdout, eeFingerprint) || !strings.Contains(r.stderr, "NOT pinned") {
		t.Fatalf("peer add, answered n: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := decode[[]peerOut](t, mustRun(t, "", "peer", "list", "--data", fr, "--json").stdout); len(got) != 0 {
		t.Fatalf("a refused peer was pinned: %+v", got)
	}
	// FR types the fingerprint back (lower case, spaces); EE answers y.
	mustRun(t, strings.ToLower(strings.ReplaceAll(eeFingerprint, "-", " "))+"\n", "peer", "add", "--data", fr, eeCard)
	mustRun(t, "y\n", "peer", "add", "--data", ee, frCard)

	ps := decode[[]peerOut](t, mustRun(t, "", "peer", "list", "--data", fr, "--json").stdout)
	if len(ps) != 1 || ps[0].Name != "cert-ee" || ps[0].Fingerprint != eeFingerprint || ps[0].Endpoint != "https://127.0.0.1:9444/" ||
		len(ps[0].Keys) != 1 || ps[0].Country != "EE" || len(ps[0].PointsOfContact) != 1 {
		t.Fatalf("peer list --json: %+v", ps)
	}
	eeID := ps[0].IdentityID
	r = mustRun(t, "", "peer", "list", "--data", fr)
	if !strings.Contains(r.stdout, "cert-ee") || !strings.Contains(r.stdout, "never") {
		t.Errorf("peer list:\n%s", r.stdout)
	}

	// The bilateral community, on both sides.
	r = mustRun(t, "", "community", "create", "--data", fr, "fr-ee", "--max-tlp", "amber+strict", "--types", "indicator,report", "--member", "cert-ee")
	if !strings.Contains(r.stdout, "Created community fr-ee") {
		t.Errorf("community create:\n%s", r.stdout)
	}
	mustRun(t, "", "community", "create", "--data", ee, "fr-ee", "--max-tlp", "amber+strict", "--types", "indicator,report", "--member", "cert-fr")
	for _, side := range []struct{ dir, other string }{{fr, "cert-ee"}, {ee, "cert-fr"}} {
		c := decode[communityOut](t, mustRun(t, "", "community", "show", "--data", side.dir, "fr-ee", "--json").stdout)
		if c.MaxTLP != "amber+strict" || strings.Join(c.Types, ",") != "indicator,report" || len(c.Members) != 2 || c.Collection == "" {
			t.Errorf("community show --json: %+v", c)
		}
		names := map[string]bool{}
		for _, m := range c.Members {
			names[m.Name] = true
			if m.Self && m.Name == side.other {
				t.Errorf("%s marked as self", m.Name)
			}
		}
		if !names["cert-fr"] || !names["cert-ee"] {
			t.Errorf("members: %+v", c.Members)
		}
		cs := decode[[]communityOut](t, mustRun(t, "", "community", "list", "--data", side.dir, "--json").stdout)
		if len(cs) != 1 || cs[0].Name != "fr-ee" {
			t.Errorf("community list --json: %+v", cs)
		}
		// Its collection is there, alias fr-ee.
		if r := mustRun(t, "", "collection", "list", "--data", side.dir); !strings.Contains(r.stdout, "fr-ee") {
			t.Errorf("collection list lacks the community's collection:\n%s", r.stdout)
		}
	}
	p := decode[peerOut](t, mustRun(t, "", "peer", "show", "--data", fr, eeID, "--json").stdout)
	if p.Name != "cert-ee" || strings.Join(p.Communities, ",") != "fr-ee" || p.Queue == nil || p.Queue.Pending != 0 {
		t.Errorf("peer show --json: %+v", p)
	}
	if r := mustRun(t, "", "peer", "show", "--data", fr, "cert-ee"); !strings.Contains(r.stdout, "communities:  fr-ee") {
		t.Errorf("peer show:\n%s", r.stdout)
	}

	// Membership changes; NODE errors name the peers there are.
	mustRun(t, "", "community", "remove-member", "--data", fr, "fr-ee", "self")
	c := decode[communityOut](t, mustRun(t, "", "community", "show", "--data", fr, "fr-ee", "--json").stdout)
	if len(c.Members) != 1 || c.Members[0].Name != "cert-ee" {
		t.Errorf("after remove-member self: %+v", c.Members)
	}
	mustRun(t, "", "community", "add-member", "--data", fr, "fr-ee", "self")
	r = run(t, nil, "", "community", "add-member", "--data", fr, "fr-ee", "cert-xx")
	if r.code != 1 || !strings.Contains(r.stderr, `no peer "cert-xx" (peers: cert-ee)`) {
		t.Errorf("unknown NODE: exit %d %s", r.code, r.stderr)
	}
	r = run(t, nil, "", "community", "add-member", "--data", fr, "fr-ee", "cert-ee")
	if r.code != 1 || !strings.Contains(r.stderr, "already a member") {
		t.Errorf("adding a member twice: exit %d %s", r.code, r.stderr)
	}
	r = run(t, nil, "", "community", "show", "--data", fr, "eu")
	if r.code != 1 || !strings.Contains(r.stderr, `no community "eu" (communities: fr-ee)`) {
		t.Errorf("unknown community: exit %d %s", r.code, r.stderr)
	}
	r = run(t, nil, "", "community", "create", "--data", fr, "fr-ee", "--max-tlp", "red", "--member", "cert-ee")
	if r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("community created twice: exit %d %s", r.code, r.stderr)
	}

	// EE rotates its key; FR accepts the statement; the new card still pins.
	r = mustRun(t, "", "key", "rotate", "--data", ee)
	rotFile := filepath.Join(ee, "keys", "rotation-1.json")
	if !strings.Contains(r.stdout, rotFile) {
		t.Fatalf("key rotate:\n%s", r.stdout)
	}
	r = mustRun(t, "", "peer", "rotate", "--data", fr, "cert-ee", rotFile)
	if !strings.Contains(r.stdout, "2 keys pinned") {
		t.Errorf("peer rotate:\n%s", r.stdout)
	}
	p = decode[peerOut](t, mustRun(t, "", "peer", "show", "--data", fr, "cert-ee", "--json").stdout)
	if len(p.Keys) != 2 {
		t.Errorf("after the rotation: %d keys", len(p.Keys))
	}
	newCard := filepath.Join(t.TempDir(), "ee2.card")
	mustRun(t, "", "card", "export", "--data", ee, "--out", newCard)
	if r := mustRun(t, "", "peer", "add", "--data", fr, newCard, "--yes"); !strings.Contains(r.stdout, "Updated peer cert-ee") {
		t.Errorf("re-adding the rotated card:\n%s", r.stdout)
	}
	if v := decode[cardOut](t, mustRun(t, "", "card", "verify", "--json", newCard).stdout); len(v.Keys) != 2 || v.IdentityID != eeID {
		t.Errorf("the rotated card: %+v", v)
	}

	// Removing asks first.
	r = run(t, nil, "\n", "peer", "remove", "--data", fr, "cert-ee")
	if r.code != 1 || !strings.Contains(r.stderr, "not removed") {
		t.Errorf("peer remove, no answer: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "", "peer", "remove", "--data", fr, "cert-ee", "--yes")
	if got := decode[[]peerOut](t, mustRun(t, "", "peer", "list", "--data", fr, "--json").stdout); len(got) != 0 {
		t.Errorf("after remove: %+v", got)
	}
	// The membership stays, shown as not a peer.
	if r := mustRun(t, "", "community", "list", "--data", fr); !strings.Contains(r.stdout, "(not a peer)") {
		t.Errorf("community list after removing a member peer:\n%s", r.stdout)
	}
	mustRun(t, "", "community", "remove-member", "--data", fr, "fr-ee", eeID)
}

func TestCardAndPeerErrors(t *testing.T) {
	fr := fedNode(t, "cert-fr", "CERT-FR", "FR", "8444", pocFR)
	frCard := filepath.Join(t.TempDir(), "fr.card")
	mustRun(t, "", "card", "export", "--data", fr, "--out", frCard)
	b, _ := os.ReadFile(frCard)
	bad := filepath.Join(t.TempDir(), "bad.card")
	os.WriteFile(bad, []byte(strings.Replace(string(b), "CERT-FR", "CERT-XX", 1)), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"card", "verify", bad}, 1, "signature"},
		{[]string{"card", "verify"}, 2, "exactly one card FILE"},
		{[]string{"card"}, 2, "missing subcommand"},
		{[]string{"card", "burn"}, 2, "unknown subcommand"},
		{[]string{"peer", "add", "--data", fr, frCard, "--yes"}, 1, "own card"},
		{[]string{"peer", "add", "--data", fr}, 2, "exactly one CARD"},
		{[]string{"peer", "show", "--data", fr, "cert-xx"}, 1, `no peer "cert-xx"`},
		{[]string{"peer", "rotate", "--data", fr, "cert-xx"}, 2, "rotation FILE"},
		{[]string{"community", "create", "--data", fr, "x", "--member", "self"}, 2, "--max-tlp is required"},
		{[]string{"community", "create", "--data", fr, "x", "--max-tlp", "purple", "--member", "self"}, 2, "unknown TLP level"},
		{[]string{"community", "create", "--data", fr, "x", "--max-tlp", "red"}, 2, "--member"},
		{[]string{"community", "create", "--data", fr, "X Y", "--max-tlp", "red", "--member", "self"}, 2, "community name"},
		{[]string{"init", "--data", filepath.Join(t.TempDir(), "n"), "--name", "a", "--org", "o", "--country", "FR", "--poc", "nonsense"}, 2, "role="},
		{[]string{"init", "--data", filepath.Join(t.TempDir(), "n"), "--name", "a", "--org", "o", "--country", "FR", "--fed-endpoint", "http://x:1/"}, 1, "--fed-endpoint"},
	} {
		r := run(t, nil, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tc.args, r.code, tc.code, r.stderr, tc.want)
		}
	}
	// A node without a point of contact cannot export until it has one.
	plain := initNode(t)
	r := run(t, nil, "", "card", "export", "--data", plain)
	if r.code != 1 || !strings.Contains(r.stderr, "--poc") {
		t.Errorf("card export without a contact: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "", "card", "export", "--data", plain, "--poc", pocFR)
	mustRun(t, "", "card", "export", "--data", plain) // kept
}
