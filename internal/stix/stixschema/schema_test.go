package stixschema

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	good := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[url:value = 'x']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}`
	Validate(t, []byte(good))
	for name, bad := range map[string]string{
		"missing pattern": strings.Replace(good, `"pattern":"[url:value = 'x']",`, "", 1),
		"bad id":          strings.Replace(good, "indicator--8e2e", "indicator--XXXX", 1),
		"not an object":   `[1]`,
		"not JSON":        `{`,
	} {
		if err := Check([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A custom type is checked against the core schema.
	if err := Check([]byte(`{"type":"x-mitre-tactic","spec_version":"2.1","id":"x-mitre-tactic--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"Collection"}`)); err != nil {
		t.Errorf("custom type: %v", err)
	}
}
