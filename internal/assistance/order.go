package assistance

import (
	"encoding/json"
	"sort"

	"github.com/entraide/entraide/internal/workflow"
)

// Order sorts assistance requests (workflow.Engine.List results, with
// their Detail) in the order a node handles them when several compete for
// the same people:
//
//  1. open requests before closed ones;
//  2. among open requests: the highest common severity first, then the
//     most critical affected entity (essential, important, other), then
//     the most urgent (immediate, 24h, 72h, planned), then the oldest —
//     the one that has waited longest — and finally the id, so that every
//     node lists the same requests in the same order;
//  3. closed requests, the most recently updated first.
//
// An unknown criticality or urgency (a newer partner's vocabulary) ranks
// after the known ones. Order sorts list in place and returns it.
func Order(list []workflow.Summary) []workflow.Summary {
	type key struct {
		crit, urg int
	}
	keys := make(map[string]key, len(list))
	for _, s := range list {
		var d struct {
			Criticality string `json:"entity_criticality"`
			Urgency     string `json:"urgency"`
		}
		_ = json.Unmarshal(s.Detail, &d)
		_, c, _ := CriticalityByID(d.Criticality)
		_, u, _ := UrgencyByID(d.Urgency)
		keys[s.ID] = key{c, u}
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Open != b.Open {
			return a.Open
		}
		if !a.Open {
			if !a.Updated.Equal(b.Updated) {
				return a.Updated.After(b.Updated)
			}
			return a.ID < b.ID
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		ka, kb := keys[a.ID], keys[b.ID]
		if ka.crit != kb.crit {
			return ka.crit < kb.crit
		}
		if ka.urg != kb.urg {
			return ka.urg < kb.urg
		}
		if !a.Opened.Equal(b.Opened) {
			return a.Opened.Before(b.Opened)
		}
		return a.ID < b.ID
	})
	return list
}

// FindOffer returns the request (among list, with their Detail) that holds
// the offer offerID: accept, decline and withdraw name an offer by its own
// id, and this finds the request to act on.
func FindOffer(list []workflow.Summary, offerID string) (string, bool) {
	for _, s := range list {
		var d struct {
			Offers []struct {
				ID string `json:"id"`
			} `json:"offers"`
		}
		if json.Unmarshal(s.Detail, &d) != nil {
			continue
		}
		for _, o := range d.Offers {
			if o.ID == offerID {
				return s.ID, true
			}
		}
	}
	return "", false
}
