package stix

import (
	"fmt"
	"strconv"
	"strings"
)

// granularMarkings checks each granular marking (specification 7.2.3): exactly
// one of marking_ref and lang, a non-empty list of selectors, and every
// selector naming content actually present in the object.
func (c *checker) granularMarkings() error {
	v, ok := c.m["granular_markings"]
	if !ok {
		return nil
	}
	for i, e := range v.([]any) { // vObjects checked the shape
		g := e.(map[string]any)
		path := fmt.Sprintf("granular_markings[%d]", i)
		ref, hasRef := g["marking_ref"]
		lang, hasLang := g["lang"]
		switch {
		case hasRef == hasLang:
			return c.fail(path, "needs exactly one of marking_ref and lang")
		case hasRef:
			s, ok := ref.(string)
			if !ok {
				return c.fail(path+".marking_ref", "must be an identifier string")
			}
			if err := checkRef(s, toMarking); err != nil {
				return c.fail(path+".marking_ref", "%v", err)
			}
			if s == c.o.ID {
				return c.fail(path+".marking_ref", "a marking-definition must not mark itself")
			}
		default:
			if s, ok := lang.(string); !ok || !isLanguageTag(s) {
				return c.fail(path+".lang", "must be an RFC 5646 language tag")
			}
		}
		sels, ok := g["selectors"].([]any)
		if !ok || len(sels) == 0 {
			return c.fail(path+".selectors", "must be a non-empty list of selectors")
		}
		for j, s := range sels {
			sel, ok := s.(string)
			if !ok {
				return c.fail(fmt.Sprintf("%s.selectors[%d]", path, j), "must be a string")
			}
			if err := Select(c.m, sel); err != nil {
				return c.fail(fmt.Sprintf("%s.selectors[%d]", path, j), "%v", err)
			}
		}
	}
	return nil
}

// Select resolves a granular-marking selector ("description",
// "external_references.[0].source_name", "labels.[1]") in a decoded object and
// returns an error unless it names content present in the object.
func Select(obj map[string]any, selector string) error {
	if selector == "" {
		return fmt.Errorf("empty selector")
	}
	var cur any = obj
	for i, comp := range strings.Split(selector, ".") {
		if comp == "" {
			return fmt.Errorf("selector %q: empty component", selector)
		}
		if comp[0] == '[' {
			if i == 0 {
				return fmt.Errorf("selector %q: must start with a property name", selector)
			}
			if len(comp) < 3 || comp[len(comp)-1] != ']' {
				return fmt.Errorf("selector %q: malformed list index %s", selector, comp)
			}
			digits := comp[1 : len(comp)-1]
			n, err := strconv.Atoi(digits)
			if err != nil || n < 0 || (len(digits) > 1 && digits[0] == '0') || digits[0] == '+' || digits[0] == '-' {
				return fmt.Errorf("selector %q: malformed list index %s", selector, comp)
			}
			l, ok := cur.([]any)
			if !ok {
				return fmt.Errorf("selector %q: %s indexes something that is not a list", selector, comp)
			}
			if n >= len(l) {
				return fmt.Errorf("selector %q: index %d is past the end of a list of %d", selector, n, len(l))
			}
			cur = l[n]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return fmt.Errorf("selector %q: %s names a property of something that is not an object", selector, comp)
		}
		cur, ok = m[comp]
		if !ok {
			return fmt.Errorf("selector %q: property %s is not present", selector, comp)
		}
	}
	return nil
}
