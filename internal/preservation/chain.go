package preservation

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/entraide/entraide/internal/workflow"
)

// Chain prefills the request to country that an Art. 30 disclosure calls
// for: the original request's facts, offence, authority, necessity and
// MLA intent; the disclosed provider as custodian; the relation to the
// offence completed with the disclosure; linked by chained_from_ref (the
// step that disclosed the provider) and chained_from_case_ref.
//
// c and steps are the original request as this node holds it; from is the
// id of one of its steps (execute, partial or disclose) or of the request
// itself, in which case its disclosures of providers in country are used.
// The caller may change any field before opening the new request.
func Chain(c *workflow.Case, steps []workflow.Step, from, country string) (Input, error) {
	if c.Type != Type {
		return Input{}, workflow.Inputf("%s is not a preservation request", c.ID)
	}
	country = strings.ToUpper(strings.TrimSpace(country))
	st := fold(c, steps)
	v := st.View.(View)
	if country == v.TargetCountry {
		return Input{}, workflow.Inputf("%s was sent to %s already: chain to the country of a provider it disclosed", c.ID, country)
	}
	var picked []DisclosureView
	var others []string
	fromStep := from != c.ID
	if fromStep && !slices.ContainsFunc(steps, func(s workflow.Step) bool { return s.ID == from }) {
		return Input{}, workflow.Inputf("%s is neither %s nor one of its steps", from, c.ID)
	}
	for _, d := range v.Disclosures {
		if fromStep && d.Step != from {
			continue
		}
		if d.Country == country {
			picked = append(picked, d)
		} else if !slices.Contains(others, d.Country) {
			others = append(others, d.Country)
		}
	}
	if len(picked) == 0 {
		what := "request " + c.ID
		if fromStep {
			what = "step " + from
		}
		if len(others) == 0 {
			return Input{}, workflow.Inputf("%s discloses no service provider in another State (Art. 30): nothing to chain from", what)
		}
		return Input{}, workflow.Inputf("%s discloses providers in %s, not in %s: send the chained request to the node of one of those countries", what, strings.Join(others, ", "), country)
	}
	step := picked[0].Step
	for _, d := range picked[1:] {
		if d.Step != step {
			return Input{}, workflow.Inputf("several steps of %s disclose providers in %s: chain from one of them (%s)", c.ID, country, strings.Join(stepIDs(picked), ", "))
		}
	}
	var providers []string
	var notes []string
	for _, d := range picked {
		providers = append(providers, d.Provider)
		line := fmt.Sprintf("Art. 30: on %s, %s disclosed that the service provider %s in %s was involved in the transmission of the communication", day(d.At), v.TargetCountry, d.Provider, d.Country)
		if d.Note != "" {
			line += ": " + d.Note
		}
		notes = append(notes, line+".")
	}
	str := func(name string) string {
		var s string
		c.Get(name, &s)
		return s
	}
	in := Input{
		RequestingAuthority: str("requesting_authority"),
		Offence:             str("offence"),
		Facts:               str("facts"),
		StoredData:          fmt.Sprintf("the traffic data %s holds on the transmission of the communication that %s disclosed (Art. 30); the request to %s concerned: %s", strings.Join(providers, " and "), v.TargetCountry, v.TargetCountry, str("stored_data")),
		Relation:            strings.TrimSpace(str("relation") + "\n\n" + strings.Join(notes, "\n")),
		Custodian:           strings.Join(providers, "; "),
		Reason:              str("reason"),
		TargetCountry:       country,
		ChainedFromRef:      step,
		ChainedFromCase:     c.ID,
	}
	if raw, ok := c.Props["mla_intent"]; ok {
		in.MLAIntent = json.RawMessage(raw)
	}
	if v.RemindDays > 0 {
		in.RemindBefore = fmt.Sprintf("%dd", v.RemindDays)
	}
	c.Get("object_refs", &in.Refs)
	return in, nil
}

func stepIDs(ds []DisclosureView) []string {
	var out []string
	for _, d := range ds {
		if !slices.Contains(out, d.Step) {
			out = append(out, d.Step)
		}
	}
	return out
}
