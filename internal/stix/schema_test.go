package stix

import (
	"path/filepath"
	"testing"

	"github.com/entraide/entraide/internal/stix/stixschema"
)

// TestEmittedObjectsMatchSchema: everything this package can emit validates
// against the official STIX 2.1 JSON schemas.
func TestEmittedObjectsMatchSchema(t *testing.T) {
	for tl := TLPClear; tl <= TLPRed; tl++ {
		stixschema.Validate(t, TLPMarkingDefinition(tl))
	}
}

// schemaDisagreements lists objects the official schemas refuse although the
// specification allows them, with the reason. Each must still be refused by
// the schema, so the list cannot go stale.
var schemaDisagreements = map[string]string{}

// TestExamplesMatchSchema: every example object of a standard type that the
// schemas accept, Parse accepts too, and every object of a standard type that
// Parse accepts, the schemas accept (or the disagreement is listed).
func TestExamplesMatchSchema(t *testing.T) {
	n := 0
	for _, path := range exampleFiles(t) {
		for _, raw := range readAll(t, path) {
			o, perr := Parse(raw)
			v, _ := decodeJSON(raw)
			typ, _ := v.(map[string]any)["type"].(string)
			id, _ := v.(map[string]any)["id"].(string)
			if _, official := stixschema.SchemaFor(typ); !official {
				continue
			}
			serr := stixschema.Check(raw)
			why, listed := schemaDisagreements[id]
			switch {
			case serr == nil && perr != nil:
				if _, known := knownInvalid[filepath.Base(path)+"#"+id]; !known {
					t.Errorf("%s: the schema accepts %s but Parse refuses it: %v", filepath.Base(path), id, perr)
				}
			case serr != nil && perr == nil && !listed:
				t.Errorf("%s: Parse accepts %s but the schema refuses it: %v", filepath.Base(path), id, serr)
			case serr == nil && listed:
				t.Errorf("%s: %s is listed as refused by the schema (%s) but passes", filepath.Base(path), id, why)
			}
			if o != nil {
				n++
			}
		}
	}
	t.Logf("%d objects of standard types checked against the schemas", n)
}

// TestValidTableMatchesSchema: the hand-written valid objects of the standard
// types pass the schemas too, so the table does not teach Parse wrong lessons.
func TestValidTableMatchesSchema(t *testing.T) {
	// The one known schema bug our table exercises on purpose.
	schemaBug := map[string]string{
		"vulnerability": "common/granular-marking.json requires marking_ref even with lang, " +
			"against specification 7.2.3 (exactly one of marking_ref and lang)",
	}
	for _, typ := range sortedKeys(valid) {
		if _, official := stixschema.SchemaFor(typ); !official {
			continue
		}
		err := stixschema.Check([]byte(valid[typ]))
		why, bug := schemaBug[typ]
		switch {
		case err != nil && !bug:
			t.Errorf("%s: %v", typ, err)
		case err == nil && bug:
			t.Errorf("%s: expected the schema to refuse it (%s)", typ, why)
		}
	}
}
