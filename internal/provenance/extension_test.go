package provenance_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
)

// urlNamespace is the RFC 4122 URL namespace, from which the shipped ids derive.
var urlNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

func TestShippedIDs(t *testing.T) {
	if got := stix.DerivedID("extension-definition", urlNamespace, []byte(provenance.SchemaURL)); got != provenance.ExtensionID {
		t.Errorf("ExtensionID = %s, derived %s", provenance.ExtensionID, got)
	}
	if got := stix.DerivedID("identity", urlNamespace, []byte("https://entraide.example/")); got != provenance.ProjectIdentityID {
		t.Errorf("ProjectIdentityID = %s, derived %s", provenance.ProjectIdentityID, got)
	}
}

func TestShippedObjects(t *testing.T) {
	for _, tc := range []struct {
		name, id string
		raw      []byte
	}{
		{"extension-definition.golden", provenance.ExtensionID, provenance.ExtensionDefinition()},
		{"project-identity.golden", provenance.ProjectIdentityID, provenance.ProjectIdentity()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := stix.Parse(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if o.ID != tc.id {
				t.Errorf("id %s, want %s", o.ID, tc.id)
			}
			stixschema.Validate(t, tc.raw)
			golden(t, tc.name, tc.raw)
		})
	}
	var def struct {
		CreatedByRef   string   `json:"created_by_ref"`
		Name           string   `json:"name"`
		Schema         string   `json:"schema"`
		Version        string   `json:"version"`
		ExtensionTypes []string `json:"extension_types"`
	}
	if err := json.Unmarshal(provenance.ExtensionDefinition(), &def); err != nil {
		t.Fatal(err)
	}
	if def.CreatedByRef != provenance.ProjectIdentityID || def.Name != "entraide-signature" || def.Schema != provenance.SchemaURL ||
		def.Version != "1.0" || !slices.Equal(def.ExtensionTypes, []string{"property-extension"}) {
		t.Errorf("extension-definition: %+v", def)
	}
}

// TestSchemaDescribesSignatures checks the shipped JSON schema against what
// Sign writes: the same required members, no others, and values matching
// the schema's patterns and constants.
func TestSchemaDescribesSignatures(t *testing.T) {
	var sch struct {
		ID         string `json:"$id"`
		Properties map[string]struct {
			Const   string `json:"const"`
			Pattern string `json:"pattern"`
		} `json:"properties"`
		Required             []string `json:"required"`
		AdditionalProperties *bool    `json:"additionalProperties"`
	}
	if err := json.Unmarshal(provenance.Schema(), &sch); err != nil {
		t.Fatal(err)
	}
	if sch.ID != provenance.SchemaURL || sch.AdditionalProperties == nil || *sch.AdditionalProperties {
		t.Fatalf("schema header: id %q, additionalProperties %v", sch.ID, sch.AdditionalProperties)
	}
	fr := key(t, "fr")
	for _, f := range []string{"indicator.json", "note-custom.json"} {
		signed, err := provenance.Sign(readFile(t, f), fr, identity(fr), signedAt)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			Extensions map[string]map[string]any `json:"extensions"`
		}
		if err := json.Unmarshal(signed, &obj); err != nil {
			t.Fatal(err)
		}
		ext := obj.Extensions[provenance.ExtensionID]
		var names []string
		for k := range ext {
			names = append(names, k)
		}
		slices.Sort(names)
		req := slices.Sorted(slices.Values(sch.Required))
		if !slices.Equal(names, req) {
			t.Errorf("%s: members %v, schema requires %v", f, names, req)
		}
		for k, v := range ext {
			p := sch.Properties[k]
			s, _ := v.(string)
			if p.Const != "" && s != p.Const {
				t.Errorf("%s: %s = %q, schema says %q", f, k, s, p.Const)
			}
			if p.Pattern != "" && !regexp.MustCompile(p.Pattern).MatchString(s) {
				t.Errorf("%s: %s = %q does not match %s", f, k, s, p.Pattern)
			}
		}
	}
}
