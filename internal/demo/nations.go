package demo

import "strings"

// Nation is one national node of the demo federation.
type Nation struct {
	Code    string // ISO 3166-1 alpha-2
	Country string // its English name
}

// Nations are the nations the demo can start, in the order --nations takes
// them: the six the built-in exercise plays first (it names them cert-fr …
// cert-pl), then the other Member States of the EU and three partners, 30 in
// all.
var Nations = []Nation{
	{"FR", "France"}, {"EE", "Estonia"}, {"DE", "Germany"}, {"BE", "Belgium"}, {"IT", "Italy"}, {"PL", "Poland"},
	{"NL", "the Netherlands"}, {"ES", "Spain"}, {"PT", "Portugal"}, {"AT", "Austria"}, {"CZ", "Czechia"},
	{"SK", "Slovakia"}, {"SI", "Slovenia"}, {"HR", "Croatia"}, {"HU", "Hungary"}, {"RO", "Romania"},
	{"BG", "Bulgaria"}, {"GR", "Greece"}, {"CY", "Cyprus"}, {"MT", "Malta"}, {"IE", "Ireland"},
	{"DK", "Denmark"}, {"SE", "Sweden"}, {"FI", "Finland"}, {"LT", "Lithuania"}, {"LV", "Latvia"},
	{"LU", "Luxembourg"}, {"NO", "Norway"}, {"CH", "Switzerland"}, {"GB", "the United Kingdom"},
}

// Limits of --nations.
const (
	DefaultNations = 6
	MinNations     = 2 // France and Estonia: the bilateral community needs both
	MaxNations     = 30
)

// HubName is the node name of the cross-border hub every demo federation
// has besides its nations.
const HubName = "cert-eu"

// NodeName is the node name of a nation: cert- and its code in lower case,
// as the built-in exercise names them.
func (n Nation) NodeName() string { return "cert-" + strings.ToLower(n.Code) }

// NodeNames are the node names of a federation of n nations: the
// nations', then the hub's.
func NodeNames(n int) []string {
	n = max(0, min(n, len(Nations)))
	out := make([]string, 0, n+1)
	for _, nat := range Nations[:n] {
		out = append(out, nat.NodeName())
	}
	return append(out, HubName)
}

// Org is the organisation a nation's demo node names.
func (n Nation) Org() string { return "National CSIRT of " + n.Country + " (demo)" }

// Communities of every demo federation.
const (
	CommunityFREE     = "fr-ee"             // the France–Estonia bilateral community
	CommunityCSIRTs   = "eu-csirts-network" // every nation and the hub
	CommunityBudapest = "budapest-24x7"     // every nation's 24/7 law-enforcement point
)
