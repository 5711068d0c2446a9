package stix

import (
	"errors"
	"fmt"
	"time"

	"github.com/entraide/entraide/internal/stix/pattern"
)

// Cross-property rules of specific types: the "MUST" sentences of the
// specification that relate two properties. The properties' own types have
// been checked from the table before a rule runs.

// seenOrder returns a rule that the later timestamp, when both are present, is
// not before the earlier one (first_seen/last_seen and the like).
func seenOrder(first, last string) func(c *checker) error {
	return func(c *checker) error {
		f, l, ok := c.times(first, last)
		if ok && l.Before(f) {
			return c.fail(last, "must not be earlier than %s", first)
		}
		return nil
	}
}

// times returns two timestamp properties when both are present.
func (c *checker) times(a, b string) (ta, tb time.Time, ok bool) {
	sa, okA := c.m[a].(string)
	sb, okB := c.m[b].(string)
	if !okA || !okB {
		return ta, tb, false
	}
	ta, errA := ParseTimestamp(sa)
	tb, errB := ParseTimestamp(sb)
	return ta, tb, errA == nil && errB == nil
}

func (c *checker) has(k string) bool { _, ok := c.m[k]; return ok }

func indicatorRule(c *checker) error {
	if from, until, ok := c.times("valid_from", "valid_until"); ok && !until.After(from) {
		return c.fail("valid_until", "must be later than valid_from")
	}
	if c.m["pattern_type"] == "stix" {
		if err := checkPattern(c.m["pattern"].(string)); err != nil {
			return c.fail("pattern", "%v", err)
		}
	}
	return nil
}

func locationRule(c *checker) error {
	lat, lon := c.has("latitude"), c.has("longitude")
	if lat != lon {
		return c.fail("latitude", "latitude and longitude go together")
	}
	if c.has("precision") && !lat {
		return c.fail("precision", "requires latitude and longitude")
	}
	if !lat && !c.has("region") && !c.has("country") {
		return c.fail("", "a location needs region, country, or latitude and longitude")
	}
	return nil
}

func malwareRule(c *checker) error {
	if c.m["is_family"] == true && !c.has("name") {
		return c.fail("name", "required when is_family is true")
	}
	return seenOrder("first_seen", "last_seen")(c)
}

func malwareAnalysisRule(c *checker) error {
	if !c.has("result") && !c.has("analysis_sco_refs") {
		return c.fail("", "a malware-analysis needs result or analysis_sco_refs")
	}
	return seenOrder("analysis_started", "analysis_ended")(c)
}

func observedDataRule(c *checker) error {
	objs, refs := c.has("objects"), c.has("object_refs")
	switch {
	case objs && refs:
		return c.fail("objects", "objects and object_refs must not both be present")
	case !objs && !refs:
		return c.fail("object_refs", "an observed-data needs object_refs (or the deprecated objects)")
	}
	if refs {
		sco := false
		for _, r := range c.m["object_refs"].([]any) {
			if KindOf(typeOfID(r.(string))) != KindSRO {
				sco = true
				break
			}
		}
		if !sco {
			return c.fail("object_refs", "must contain at least one SCO reference")
		}
	}
	if objs {
		for k, v := range c.m["objects"].(map[string]any) {
			o, ok := v.(map[string]any)
			if !ok {
				return c.fail("objects."+k, "must be a cyber-observable object")
			}
			if t, ok := o["type"].(string); !ok || t == "" {
				return c.fail("objects."+k+".type", "required string property is missing")
			}
		}
	}
	first, last, ok := c.times("first_observed", "last_observed")
	if ok && last.Before(first) {
		return c.fail("last_observed", "must not be earlier than first_observed")
	}
	return nil
}

func relationshipRule(c *checker) error {
	if rt := c.m["relationship_type"].(string); !isVocabTerm(rt) {
		return c.fail("relationship_type", "%q: want ASCII a-z, 0-9 and '-' only", rt)
	}
	if start, stop, ok := c.times("start_time", "stop_time"); ok && !stop.After(start) {
		return c.fail("stop_time", "must be later than start_time")
	}
	return nil
}

func artifactRule(c *checker) error {
	bin, url := c.has("payload_bin"), c.has("url")
	switch {
	case bin && url:
		return c.fail("payload_bin", "payload_bin and url must not both be present")
	case !bin && !url:
		return c.fail("", "an artifact needs payload_bin or url")
	case url && !c.has("hashes"):
		return c.fail("hashes", "required when url is present")
	}
	if c.has("decryption_key") && !c.has("encryption_algorithm") {
		return c.fail("decryption_key", "requires encryption_algorithm")
	}
	return nil
}

func emailMessageRule(c *checker) error {
	if c.m["is_multipart"] == true {
		if c.has("body") {
			return c.fail("body", "must not be present when is_multipart is true")
		}
	} else if c.has("body_multipart") {
		return c.fail("body_multipart", "must not be present when is_multipart is false")
	}
	return nil
}

func fileRule(c *checker) error {
	if !c.has("hashes") && !c.has("name") {
		return c.fail("", "a file needs hashes or name")
	}
	return nil
}

func networkTrafficRule(c *checker) error {
	if !c.has("src_ref") && !c.has("dst_ref") {
		return c.fail("", "a network-traffic needs src_ref or dst_ref")
	}
	if c.m["is_active"] == true && c.has("end") {
		return c.fail("end", "must not be present when is_active is true")
	}
	return seenOrder("start", "end")(c)
}

func extensionDefinitionRule(c *checker) error {
	if !c.has("extension_properties") {
		return nil
	}
	for _, t := range c.m["extension_types"].([]any) {
		if t == "toplevel-property-extension" {
			return nil
		}
	}
	return c.fail("extension_properties", "only allowed when extension_types includes toplevel-property-extension")
}

// isVocabTerm: ASCII a-z, 0-9 and '-', non-empty.
func isVocabTerm(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// typeOfID returns the type part of an identifier already checked.
func typeOfID(id string) string {
	for i := 0; i+1 < len(id); i++ {
		if id[i] == '-' && id[i+1] == '-' {
			return id[:i]
		}
	}
	return id
}

// checkPattern validates a STIX pattern (section 9) with internal/stix/pattern
// and words the error for the sender: the offset lets them find the mistake.
func checkPattern(s string) error {
	if _, err := pattern.Parse(s); err != nil {
		var pe *pattern.Error
		if errors.As(err, &pe) {
			return fmt.Errorf("invalid STIX pattern at offset %d: %s", pe.Pos, pe.Msg)
		}
		return fmt.Errorf("invalid STIX pattern: %v", err)
	}
	return nil
}
