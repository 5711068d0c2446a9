package workflow

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
)

// Extension declares a workflow's objects to any STIX consumer: the
// project ships one extension-definition per kind (and one for steps),
// created by the project's identity, with the JSON schema of its
// properties published at SchemaURL.
type Extension struct {
	// ID is the extension-definition's id: UUIDv5 in the RFC 4122 URL
	// namespace of SchemaURL (ExtensionID computes it; a test recomputes
	// every shipped one). It is a constant of the wire format.
	ID          string
	Name        string // e.g. "entraide-alert"
	Description string
	SchemaURL   string // https://entraide.example/schemas/<name>-v1.json
	Version     string // "1.0"
	// Type is "new-sdo" or "property-extension".
	Type   string
	Schema []byte // the JSON schema (draft 2020-12) of the properties
}

// urlNamespace is RFC 4122's URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
var urlNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// ExtensionID is the id of the extension-definition whose schema is at url.
func ExtensionID(url string) string {
	return stix.DerivedID("extension-definition", urlNamespace, []byte(url))
}

// Definition returns the extension-definition object (exact JSON, marked
// TLP:CLEAR, created by the project's identity).
func (e Extension) Definition() []byte {
	o := map[string]any{
		"type": "extension-definition", "spec_version": "2.1", "id": e.ID,
		"created": "2026-11-30T00:00:00.000Z", "modified": "2026-11-30T00:00:00.000Z",
		"created_by_ref": provenance.ProjectIdentityID,
		"name":           e.Name, "description": e.Description,
		"schema": e.SchemaURL, "version": e.Version,
		"extension_types":     []string{e.Type},
		"object_marking_refs": []string{stix.TLPClear.MarkingID()},
	}
	b, err := json.Marshal(o)
	if err != nil {
		panic(err) // only strings and string slices
	}
	return b
}

// StepExtension declares x-entraide-step, the state change of every kind.
var StepExtension = Extension{
	ID:   ExtensionID("https://entraide.example/schemas/step-v1.json"),
	Name: "entraide-step",
	Description: "A state change of an Entraide cooperation workflow (an acknowledgement, an offer, a response, …), " +
		"signed by the node that makes it: case_ref names the case, transition the action taken, actor the person; " +
		"the other properties are the action's, as the case's own extension-definition describes them.",
	SchemaURL: "https://entraide.example/schemas/step-v1.json",
	Version:   "1.0",
	Type:      "new-sdo",
	Schema:    stepSchema,
}

var stepSchema = []byte(`{
  "$id": "https://entraide.example/schemas/step-v1.json",
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "x-entraide-step",
  "description": "A state change of an Entraide cooperation workflow. Besides the STIX common properties: case_ref, transition (the action taken), actor; the action's own properties are described by the extension-definition of the case's kind.",
  "type": "object",
  "properties": {
    "type": {"const": "x-entraide-step"},
    "case_ref": {"type": "string", "pattern": "^[a-z][a-z0-9-]+--[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"},
    "transition": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,62}$"},
    "actor": {"type": "string", "minLength": 1, "maxLength": 200},
    "party_refs_added": {"type": "array", "items": {"type": "string", "pattern": "^identity--"}}
  },
  "required": ["type", "case_ref", "transition", "actor"]
}
`)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
