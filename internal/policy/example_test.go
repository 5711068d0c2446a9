package policy_test

import (
	"fmt"

	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
)

// A CSIRT shares a GREEN indicator with the EU network; a member re-shares
// it, and an AMBER report it received cannot go further.
func Example() {
	communities := []policy.Community{
		{Name: "eu-csirts", MaxTLP: stix.TLPAmberStrict, Members: []string{"cert-fr", "cert-ee", "cert-de"}},
	}
	fr, _ := policy.New(policy.Config{Self: "cert-fr", Communities: communities})
	ee, _ := policy.New(policy.Config{Self: "cert-ee", Communities: communities})

	ind := policy.Object{Type: "indicator", TLP: stix.TLPGreen, Origin: "cert-fr",
		Distribution: policy.Distribution{Communities: []string{"eu-csirts"}}}
	allowed, _ := fr.Recipients(ind, ind.Distribution)
	for _, t := range allowed {
		fmt.Println(t.Node, t.Decision)
	}

	// cert-ee's view of the indicator, and of an AMBER report from cert-fr.
	ind.ReceivedFrom, ind.ReceivedVia = "cert-fr", "eu-csirts"
	fmt.Println(ee.Decide(policy.Request{Object: ind, To: policy.Recipient{Node: "cert-de"}, Path: policy.PathRelay, Community: "eu-csirts"}))
	rep := policy.Object{Type: "report", TLP: stix.TLPAmber, Origin: "cert-fr", ReceivedFrom: "cert-fr", ReceivedVia: "eu-csirts"}
	fmt.Println(ee.Decide(policy.Request{Object: rep, To: policy.Recipient{Node: "cert-de"}, Path: policy.PathPull, Community: "eu-csirts"}))
	// Output:
	// cert-de allow tlp-green-community: TLP:GREEN goes to cert-de through community "eu-csirts", which it was shared to
	// cert-ee allow tlp-green-community: TLP:GREEN goes to cert-ee through community "eu-csirts", which it was shared to
	// allow tlp-green-within-community: TLP:GREEN received through community "eu-csirts" from cert-fr passed on within it to cert-de
	// deny tlp-amber-no-forward: TLP:AMBER received from cert-fr may not be forwarded to cert-de
}
