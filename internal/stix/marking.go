package stix

import (
	"fmt"
	"strings"
)

// TLP is a Traffic Light Protocol 2.0 level. Levels are ordered: a larger value
// is a stricter level, so the strictest of several markings is the maximum.
// The zero value is no level at all, so that a forgotten marking never reads
// as TLP:CLEAR.
type TLP int

const (
	TLPClear TLP = iota + 1
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

var tlpNames = [...]string{TLPClear: "TLP:CLEAR", TLPGreen: "TLP:GREEN", TLPAmber: "TLP:AMBER", TLPAmberStrict: "TLP:AMBER+STRICT", TLPRed: "TLP:RED"}

// tlp2Values are the values of the tlp_2_0 extension property.
var tlp2Values = [...]string{TLPClear: "clear", TLPGreen: "green", TLPAmber: "amber", TLPAmberStrict: "amber+strict", TLPRed: "red"}

// Valid reports whether t is one of the five levels.
func (t TLP) Valid() bool { return t >= TLPClear && t <= TLPRed }

// String returns the level's official name, "TLP:AMBER+STRICT" for example.
func (t TLP) String() string {
	if !t.Valid() {
		return fmt.Sprintf("TLP(%d)", int(t))
	}
	return tlpNames[t]
}

// ParseTLP reads a level as people and tools write it: "amber+strict",
// "TLP:AMBER+STRICT", "Green"; case does not matter. TLP 1.0's "white" is read
// as CLEAR, which replaced it.
func ParseTLP(s string) (TLP, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "tlp:")
	if v == "white" {
		return TLPClear, nil
	}
	for t := TLPClear; t <= TLPRed; t++ {
		if v == tlp2Values[t] {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown TLP level %q (want clear, green, amber, amber+strict or red)", s)
}

// TLP2ExtensionID is the extension-definition of TLP 2.0 marking definitions,
// published by OASIS in cti-stix-common-objects (extension-definition-specifications/tlp-2.0).
const TLP2ExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// The official marking-definition ids. TLP 1.0 ids come from the STIX 2.1
// specification, section 7.2.1.4; TLP 2.0 ids from the OASIS TLP 2.0 extension.
var (
	tlp1IDs = map[string]TLP{
		"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLPClear, // TLP:WHITE
		"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLPGreen,
		"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLPAmber,
		"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLPRed,
	}
	tlp2IDs = [...]string{
		TLPClear:       "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
		TLPGreen:       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
		TLPAmber:       "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
		TLPAmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
		TLPRed:         "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
	}
	tlp1Names = map[TLP]string{TLPClear: "TLP:WHITE", TLPGreen: "TLP:GREEN", TLPAmber: "TLP:AMBER", TLPRed: "TLP:RED"}
	tlp1Value = map[TLP]string{TLPClear: "white", TLPGreen: "green", TLPAmber: "amber", TLPRed: "red"}
)

const (
	tlp1Created = "2017-01-20T00:00:00.000Z"
	tlp2Created = "2022-10-01T00:00:00.000Z"
)

// MarkingID returns the id of the official TLP 2.0 marking-definition of t, or
// "" if t is not a level.
func (t TLP) MarkingID() string {
	if !t.Valid() {
		return ""
	}
	return tlp2IDs[t]
}

// TLPOf maps the id of an official TLP marking-definition, 2.0 or 1.0, to its
// level. TLP 1.0 levels map to their 2.0 successors: WHITE to CLEAR, and
// GREEN, AMBER, RED to themselves. Any other id gives false.
func TLPOf(markingID string) (TLP, bool) {
	for t := TLPClear; t <= TLPRed; t++ {
		if tlp2IDs[t] == markingID {
			return t, true
		}
	}
	t, ok := tlp1IDs[markingID]
	return t, ok
}

// TLP returns the strictest TLP level among the object's object_marking_refs,
// and false when none of them is an official TLP marking. Granular markings are
// not considered: a policy that must honour them has to read them itself.
func (o *Object) TLP() (TLP, bool) {
	var max TLP
	for _, id := range o.ObjectMarkingRefs {
		if t, ok := TLPOf(id); ok && t > max {
			max = t
		}
	}
	return max, max != 0
}

// TLPMarkingDefinition returns the official TLP 2.0 marking-definition object
// of t exactly as OASIS publishes it (property order included, compacted), or
// nil if t is not a level. The caller owns the returned slice.
func TLPMarkingDefinition(t TLP) []byte {
	if !t.Valid() {
		return nil
	}
	return fmt.Appendf(nil,
		`{"type":"marking-definition","spec_version":"2.1","id":%q,"created":%q,"name":%q,"extensions":{%q:{"extension_type":"property-extension","tlp_2_0":%q}}}`,
		tlp2IDs[t], tlp2Created, tlpNames[t], TLP2ExtensionID, tlp2Values[t])
}

// markingDefinitionRule checks a marking-definition (specification 7.2.1 and
// the TLP 2.0 extension). TLP markings are security decisions, so an object that
// carries an official TLP id must carry that level's official content, and no
// other object may claim to be a TLP marking: a "TLP:CLEAR" with the id of RED,
// or a home-made definition_type "tlp", is refused.
func markingDefinitionRule(c *checker) error {
	m := c.m
	dt, hasType := m["definition_type"]
	def, hasDef := m["definition"]
	exts, hasExt := m["extensions"].(map[string]any)
	if hasType != hasDef {
		return c.fail("definition", "definition_type and definition go together")
	}
	if !hasType && !hasExt {
		return c.fail("definition_type", "a marking-definition needs definition_type and definition, or extensions")
	}
	if hasType {
		d := def.(map[string]any)
		switch dt {
		case "statement":
			if s, ok := d["statement"].(string); !ok || s == "" {
				return c.fail("definition.statement", "required string property is missing")
			}
		case "tlp":
			t, official := tlp1IDs[c.o.ID]
			if !official {
				return c.fail("definition_type", "only the four official TLP 1.0 marking-definitions may use definition_type tlp; use their ids")
			}
			if d["tlp"] != tlp1Value[t] || len(d) != 1 {
				return c.fail("definition.tlp", "the official marking-definition %s is %s", c.o.ID, tlp1Names[t])
			}
			if err := c.officialHeader(tlp1Names[t], tlp1Created, false); err != nil {
				return err
			}
		}
	}
	if t, official := tlp1IDs[c.o.ID]; official && dt != "tlp" {
		return c.fail("definition_type", "the official marking-definition %s is %s and must say definition_type tlp", c.o.ID, tlp1Names[t])
	}

	ext, hasTLP2 := exts[TLP2ExtensionID].(map[string]any)
	t2, official2 := TLPOf(c.o.ID)
	if _, v1 := tlp1IDs[c.o.ID]; v1 {
		official2 = false
	}
	switch {
	case hasTLP2 && !official2:
		return c.fail("extensions."+TLP2ExtensionID, "the TLP 2.0 extension is reserved to the five official TLP 2.0 marking-definitions")
	case official2 && !hasTLP2:
		return c.fail("extensions", "the official marking-definition %s is %s and must carry the TLP 2.0 extension", c.o.ID, tlpNames[t2])
	case official2:
		if ext["tlp_2_0"] != tlp2Values[t2] || ext["extension_type"] != "property-extension" || len(ext) != 2 {
			return c.fail("extensions."+TLP2ExtensionID+".tlp_2_0", "the official marking-definition %s is %s", c.o.ID, tlpNames[t2])
		}
		if hasType {
			return c.fail("definition_type", "the official TLP 2.0 marking-definitions carry no definition_type")
		}
		if err := c.officialHeader(tlpNames[t2], tlp2Created, true); err != nil {
			return err
		}
	}
	return nil
}

// officialHeader checks name and created of an official TLP marking-definition.
func (c *checker) officialHeader(name, created string, nameRequired bool) error {
	n, hasName := c.m["name"]
	if hasName && n != name || !hasName && nameRequired {
		return c.fail("name", "the official marking-definition %s is named %q", c.o.ID, name)
	}
	want, _ := ParseTimestamp(created)
	got, err := ParseTimestamp(c.o.Created)
	if err != nil || !got.Equal(want) {
		return c.fail("created", "the official marking-definition %s was created %s", c.o.ID, created)
	}
	return nil
}
