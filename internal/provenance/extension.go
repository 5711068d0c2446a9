package provenance

import (
	_ "embed"
	"strings"
)

// The objects the project ships to declare the signature extension. Their ids
// are UUIDv5 in the RFC 4122 URL namespace (6ba7b811-9dad-11d1-80b4-00c04fd430c8)
// of the URLs below; TestShippedIDs recomputes them. They are constants of the
// wire format: changing one byte of them is a new format.
const (
	// ExtensionID is the id of the extension-definition of the signature, the
	// key of the signature inside an object's extensions. Name:
	// "https://entraide.example/schemas/signature-v1.json".
	ExtensionID = "extension-definition--835b6450-6ed3-5e03-83a5-63b0bc60a450"

	// ProjectIdentityID is the id of the Entraide project's STIX identity, the
	// creator of the extension-definition. Name: "https://entraide.example/".
	ProjectIdentityID = "identity--eff4cdab-8147-58b1-a14c-942264c7a103"

	// SchemaURL is where the JSON schema of the extension's properties is
	// published; Schema returns the same document.
	SchemaURL = "https://entraide.example/schemas/signature-v1.json"

	// Alg is the only signature algorithm of version 1.0.
	Alg = "Ed25519"
)

const extensionDefinition = `{"type":"extension-definition","spec_version":"2.1","id":"` + ExtensionID + `",` +
	`"created":"2026-11-23T00:00:00.000Z","modified":"2026-11-23T00:00:00.000Z","created_by_ref":"` + ProjectIdentityID + `",` +
	`"name":"entraide-signature",` +
	`"description":"Proof of origin. The node that created the object signed it with its Ed25519 key over the RFC 8785 canonical form of the whole object, less the signature member of this extension. The object's created_by_ref equals signer; key is the public key (base64url), signed the signing time, signature the Ed25519 signature (base64url).",` +
	`"schema":"` + SchemaURL + `","version":"1.0","extension_types":["property-extension"],` +
	`"object_marking_refs":["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]}`

const projectIdentity = `{"type":"identity","spec_version":"2.1","id":"` + ProjectIdentityID + `",` +
	`"created":"2026-11-23T00:00:00.000Z","modified":"2026-11-23T00:00:00.000Z",` +
	`"name":"Entraide project","description":"The authors of the Entraide federation software, who define its STIX extensions.",` +
	`"identity_class":"organization","contact_information":"https://entraide.example/",` +
	`"object_marking_refs":["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]}`

//go:embed signature-v1.json
var schema []byte

// ExtensionDefinition returns the exact JSON of the extension-definition
// object that declares the signature extension. A node publishes it with its
// objects so that any STIX consumer can look the extension up.
func ExtensionDefinition() []byte { return []byte(extensionDefinition) }

// ProjectIdentity returns the exact JSON of the identity that created the
// extension-definition.
func ProjectIdentity() []byte { return []byte(projectIdentity) }

// Schema returns the JSON schema (draft 2020-12) of the extension's
// properties, as published at SchemaURL.
func Schema() []byte { return []byte(strings.Clone(string(schema))) }
