// Package stix is the node's model of STIX 2.1: an Object keeps the exact JSON it
// arrived as (custom and unknown properties included) and exposes, typed, only the
// header fields the rest of the node needs to store, index, route and version it.
//
// Everything shared in Entraide is a STIX object, so this package is the one gate
// through which data enters the store: Parse validates an object against the
// specification before anything else may look at it.
package stix

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// Object is one version of one STIX object.
//
// Raw is the object's JSON exactly as received, with insignificant white space
// removed (json.Compact): property order, unknown properties, number spelling and
// string escapes are kept byte for byte. The typed fields are copies of header
// properties taken from Raw; they are never written back into it.
type Object struct {
	ID                string   // "type--UUID"
	Type              string   // the part of ID before "--"
	SpecVersion       string   // "2.1" (empty for objects that may omit it)
	Created           string   // exact RFC 3339 string, or "" when absent (SCOs)
	Modified          string   // exact RFC 3339 string, or "" when absent
	Revoked           bool     // true once revoked; a revoked object has no later version
	CreatedByRef      string   // identity--UUID of the creator, or ""
	ObjectMarkingRefs []string // marking-definition ids in object_marking_refs
	Raw               []byte   // compact JSON, see above

	// Digest is the SHA-256 of the object's RFC 8785 canonical form. Two versions
	// with the same (ID, Version) but different Digest are a conflict: a version is
	// never rewritten with other content.
	Digest [32]byte
}

// Version is the object's version as TAXII defines it: modified, else created,
// else "" for an unversioned object (most cyber-observables). The store gives an
// unversioned object a version of its own (the time it first stored that content).
func (o *Object) Version() string {
	if o.Modified != "" {
		return o.Modified
	}
	return o.Created
}

// VersionKey is Version normalised so that byte order is time order and two
// spellings of one instant are equal ("…00Z" and "…00.000Z"). It is "" for an
// unversioned object.
func (o *Object) VersionKey() string {
	v := o.Version()
	if v == "" {
		return ""
	}
	k, err := TimestampKey(v)
	if err != nil { // Parse has validated the timestamp; keep the raw string as a last resort.
		return v
	}
	return k
}

// Compact returns raw JSON without insignificant white space, or an error for
// malformed JSON. It is the form Raw is kept in.
func Compact(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	return b.Bytes(), nil
}

func digest(canonical []byte) [32]byte { return sha256.Sum256(canonical) }
