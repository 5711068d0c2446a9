package stix

import (
	"bytes"
	"fmt"
	"testing"
)

// The TLP 1.0 marking-definitions exactly as specification 7.2.1.4 prints them.
var tlp1Official = map[TLP]string{
	TLPClear: `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}}`,
	TLPGreen: `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`,
	TLPAmber: `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:AMBER","definition":{"tlp":"amber"}}`,
	TLPRed:   `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:RED","definition":{"tlp":"red"}}`,
}

// TestTLPMarkingDefinitions freezes the five official TLP 2.0 objects (as
// OASIS publishes them in cti-stix-common-objects, tlp-2.0/examples) in
// testdata/tlp2.golden, and checks that each parses, maps back to its level
// and survives the validator's official-content check.
func TestTLPMarkingDefinitions(t *testing.T) {
	var golden bytes.Buffer
	for tl := TLPClear; tl <= TLPRed; tl++ {
		raw := TLPMarkingDefinition(tl)
		fmt.Fprintf(&golden, "%s\n", raw)
		o, err := Parse(raw)
		if err != nil {
			t.Fatalf("%v: %v", tl, err)
		}
		if o.ID != tl.MarkingID() {
			t.Errorf("%v: id %s, MarkingID %s", tl, o.ID, tl.MarkingID())
		}
		if got, ok := TLPOf(o.ID); !ok || got != tl {
			t.Errorf("TLPOf(%s) = %v, %v; want %v", o.ID, got, ok, tl)
		}
		if !bytes.Equal(o.Raw, raw) {
			t.Errorf("%v: Raw differs from the official bytes", tl)
		}
		raw[0] = 'X' // the caller owns the slice: the next call must not see this
		if TLPMarkingDefinition(tl)[0] != '{' {
			t.Fatalf("TLPMarkingDefinition shares its bytes")
		}
	}
	checkGolden(t, "tlp2.golden", golden.Bytes())
	if TLPMarkingDefinition(0) != nil || TLPMarkingDefinition(TLPRed+1) != nil {
		t.Error("TLPMarkingDefinition of a non-level is not nil")
	}
}

func TestTLP1Official(t *testing.T) {
	for tl, raw := range tlp1Official {
		o, err := Parse([]byte(raw))
		if err != nil {
			t.Fatalf("%v: %v", tl, err)
		}
		if got, ok := TLPOf(o.ID); !ok || got != tl {
			t.Errorf("TLPOf(%s) = %v, %v; want %v", o.ID, got, ok, tl)
		}
	}
	if _, ok := TLPOf("marking-definition--" + uuid1); ok {
		t.Error("TLPOf of an unofficial id is true")
	}
}

func TestObjectTLP(t *testing.T) {
	for _, tc := range []struct {
		refs []string
		want TLP
		ok   bool
	}{
		{nil, 0, false},
		{[]string{"marking-definition--" + uuid1}, 0, false},
		{[]string{tlp2IDs[TLPGreen]}, TLPGreen, true},
		{[]string{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"}, TLPClear, true}, // 1.0 WHITE
		{[]string{tlp2IDs[TLPAmberStrict], "marking-definition--" + uuid1, tlp2IDs[TLPAmber]}, TLPAmberStrict, true},
		{[]string{tlp2IDs[TLPClear], "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"}, TLPRed, true}, // 1.0 RED
	} {
		o := &Object{ObjectMarkingRefs: tc.refs}
		got, ok := o.TLP()
		if got != tc.want || ok != tc.ok {
			t.Errorf("TLP() of %v = %v, %v; want %v, %v", tc.refs, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseTLP(t *testing.T) {
	for in, want := range map[string]TLP{
		"clear": TLPClear, "TLP:CLEAR": TLPClear, "white": TLPClear, "TLP:WHITE": TLPClear, "Green": TLPGreen,
		"amber": TLPAmber, "amber+strict": TLPAmberStrict, "TLP:AMBER+STRICT": TLPAmberStrict, " red ": TLPRed,
	} {
		got, err := ParseTLP(in)
		if err != nil || got != want {
			t.Errorf("ParseTLP(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseTLP(got.String()); err != nil || back != got {
			t.Errorf("ParseTLP(%q.String()) = %v, %v", got, back, err)
		}
	}
	for _, in := range []string{"", "amber strict", "tlp:pink", "ambe"} {
		if got, err := ParseTLP(in); err == nil {
			t.Errorf("ParseTLP(%q) = %v, want an error", in, got)
		}
	}
	if !(TLPClear < TLPGreen && TLPGreen < TLPAmber && TLPAmber < TLPAmberStrict && TLPAmberStrict < TLPRed) {
		t.Error("levels are not ordered by strictness")
	}
	if TLP(0).Valid() || TLP(0).String() == TLPClear.String() {
		t.Error("the zero TLP must not be a level")
	}
}

func TestSameVersion(t *testing.T) {
	a, err := Parse(edit("indicator"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(edit("indicator", "modified", "2016-04-06T20:03:48.000000Z", "name", "other"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Parse(edit("indicator", "modified", "2016-04-06T20:03:48.001Z"))
	d, _ := Parse(edit("indicator", "id", "indicator--"+uuid2))
	u1, _ := Parse(edit("url"))
	u2, _ := Parse(edit("url", "value", "https://example.org/"))
	switch {
	case !SameVersion(a, b):
		t.Error("two spellings of one modified instant are not the same version")
	case SameVersion(a, c):
		t.Error("different modified, same version")
	case SameVersion(a, d):
		t.Error("different ids, same version")
	case !SameVersion(u1, u1) || SameVersion(u1, u2):
		t.Error("unversioned objects: same version must mean same content")
	case SameVersion(nil, a):
		t.Error("nil is a version")
	}
	if a.Digest == b.Digest {
		t.Error("different content, same digest")
	}
}
