package policy

import (
	"slices"
	"testing"

	"github.com/entraide/entraide/internal/stix"
)

// FuzzDecide throws arbitrary requests at the table's engine. Whatever comes
// in, Decide must not panic, must answer with a known rule and that rule's
// verdict, and must keep the promises no path may break: nothing received
// above GREEN leaves except back to its origin, RED never leaves in bulk or
// to an unnamed user, and nothing goes to a peer on a local path.
func FuzzDecide(f *testing.F) {
	f.Add(int(stix.TLPGreen), "cert-fr", "", "", "push", "cert-de", "", "eu", "indicator")
	f.Add(int(stix.TLPAmber), "cert-ee", "cert-ee", "eu", "relay", "cert-de", "", "eu", "indicator")
	f.Add(int(stix.TLPRed), "cert-fr", "", "", "console", "cert-fr", "bob", "", "malware")
	f.Add(0, "", "", "", "pull", "cert-us", "", "paris", "report")
	f.Add(9, "cert-fr", "", "", "export", "cert-fr", "alice", "", "indicator")
	e := tableEngine(f)
	f.Fuzz(func(t *testing.T, tlp int, origin, from, via, path, to, user, community, typ string) {
		o := own(typ)
		o.TLP, o.Origin, o.ReceivedFrom, o.ReceivedVia = stix.TLP(tlp), origin, from, via
		r := Request{Object: o, To: Recipient{Node: to, User: user}, Path: Path(path), Community: community}
		d := e.Decide(r)
		switch {
		case d.Rule == "" || d.Reason == "":
			t.Fatalf("empty rule or reason: %v", d)
		case !slices.Contains(Rules, d.Rule):
			t.Fatalf("unknown rule %q", d.Rule)
		case d.Allow != d.Rule.Allows():
			t.Fatalf("verdict %v with rule %s", d.Allow, d.Rule)
		case !d.Allow:
			return
		}
		level := e.Level(o)
		p := r.Path
		if p.remote() && origin != self && level >= stix.TLPAmber && to != origin {
			t.Fatalf("received %v object sent to %s by %s: %v", level, to, p, d)
		}
		if level == stix.TLPRed && p == PathExport {
			t.Fatalf("RED exported: %v", d)
		}
		if level == stix.TLPRed && p.local() && !slices.Contains(o.RedRecipients, Person{self, user}) {
			t.Fatalf("RED shown to %s: %v", user, d)
		}
		if !p.remote() && to != self {
			t.Fatalf("%s served %s: %v", p, to, d)
		}
	})
}
