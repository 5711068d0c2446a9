package policy

import (
	"fmt"
	"testing"

	"github.com/entraide/entraide/internal/stix"
)

// BenchmarkDecide runs on every send, every pulled object and every object a
// local user sees; it should stay in the hundreds of nanoseconds.
func BenchmarkDecide(b *testing.B) {
	e := tableEngine(b)
	green, amber, redObj := own("indicator"), received("cert-ee", "cert-ee", "eu"), own("indicator")
	green.TLP, amber.TLP, redObj.TLP = stix.TLPGreen, stix.TLPAmber, stix.TLPRed
	cases := []struct {
		name string
		r    Request
	}{
		{"push-green-community", Request{Object: green, To: Recipient{Node: "cert-de"}, Path: PathPush, Community: "eu"}},
		{"push-green-member-direct", Request{Object: green, To: Recipient{Node: "cert-it"}, Path: PathPush}},
		{"relay-amber-denied", Request{Object: amber, To: Recipient{Node: "cert-de"}, Path: PathRelay, Community: "eu"}},
		{"pull-red-named", Request{Object: redObj, To: Recipient{Node: "cert-jp"}, Path: PathPull}},
		{"console-red-unnamed", Request{Object: redObj, To: Recipient{Node: self, User: "bob"}, Path: PathConsole}},
		{"search-green", Request{Object: green, To: Recipient{Node: self, User: "bob"}, Path: PathSearch}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := e.Decide(c.r); d.Rule == "" {
					b.Fatal("no rule")
				}
			}
		})
	}
}

// BenchmarkRecipients expands a distribution to an 80-member community (the
// size of the Paris Call's state signatories) and a few named nodes.
func BenchmarkRecipients(b *testing.B) {
	members := []string{self}
	for i := range 80 {
		members = append(members, fmt.Sprintf("node-%02d", i))
	}
	e, err := New(Config{Self: self, Communities: []Community{{Name: "paris-call", MaxTLP: stix.TLPAmber, Members: members}}})
	if err != nil {
		b.Fatal(err)
	}
	o := Object{Type: "indicator", Origin: self, TLP: stix.TLPGreen, Distribution: Distribution{Communities: []string{"paris-call"}, Nodes: []string{"node-01", "cert-jp"}}}
	b.ReportAllocs()
	for b.Loop() {
		if allowed, _ := e.Recipients(o, o.Distribution); len(allowed) != 81 {
			b.Fatalf("%d allowed", len(allowed))
		}
	}
}
