package stix

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// validate checks m, the decoded object, against the STIX 2.1 specification
// (with its Errata 01). It is on the import path of every object, so it walks
// tables rather than compiling regular expressions, and decodes nothing again.
//
// What it checks, in order: the type name and the id; spec_version (STIX 2.0
// content is refused); the reserved property names (specification 3.8), at
// the top level and at the top level of each extension; the common properties, their types and whether they
// apply to the kind of object; created/modified precision and order; the
// type's own properties from the table in spec.go; the type's cross-property
// rules (rules.go, marking.go); the names of all other (custom) properties.
//
// A type the specification does not define (ATT&CK's x-mitre-*, extension
// types) gets the common checks only: its own properties are its producer's
// business and are kept as they are.
func validate(o *Object, m map[string]any) error {
	c := &checker{o: o, m: m}
	if err := checkTypeName(o.Type); err != nil {
		return c.fail("type", "%v", err)
	}
	if err := checkUUID(o.ID[len(o.Type)+2:]); err != nil {
		return c.fail("id", "%v", err)
	}
	c.spec = specs[o.Type]
	c.kind = KindCustom
	if c.spec != nil {
		c.kind = c.spec.kind
	}
	if err := c.specVersion(); err != nil {
		return err
	}
	if err := c.reserved(); err != nil {
		return err
	}
	if err := c.common(); err != nil {
		return err
	}
	if c.spec != nil {
		for i := range c.spec.props {
			p := &c.spec.props[i]
			v, ok := m[p.name]
			if !ok {
				if p.required {
					return c.fail(p.name, "required property is missing")
				}
				continue
			}
			if err := c.value(p.name, p, v); err != nil {
				return err
			}
		}
		if c.spec.atLeastOne && !c.hasOwnProperty() {
			return c.fail("", "%s must carry at least one of its own properties", withArticle(o.Type))
		}
		if c.spec.rule != nil {
			if err := c.spec.rule(c); err != nil {
				return err
			}
		}
	}
	if err := c.extensions(); err != nil {
		return err
	}
	if err := c.granularMarkings(); err != nil {
		return err
	}
	return c.customNames()
}

type checker struct {
	o    *Object
	m    map[string]any
	spec *typeSpec
	kind Kind
}

func (c *checker) fail(property, format string, args ...any) error {
	return &InvalidError{ID: c.o.ID, Property: property, Msg: fmt.Sprintf(format, args...)}
}

// specVersion enforces spec_version and, with it, the required versioning
// properties of each kind.
func (c *checker) specVersion() error {
	sv, present := c.m["spec_version"]
	s, isString := sv.(string)
	if present && !isString {
		return c.fail("spec_version", "must be a string")
	}
	switch {
	case present && s != "2.1":
		if s == "2.0" {
			return c.fail("spec_version", "STIX 2.0 content is not accepted; the node speaks STIX 2.1 only")
		}
		return c.fail("spec_version", "must be \"2.1\", got %q", s)
	case !present && c.kind != KindSCO && c.kind != KindCustom:
		// STIX 2.0 had no spec_version on objects; 2.1 requires it on everything
		// but SCOs. Say so, because this is the usual cause.
		return c.fail("spec_version", "required property is missing (an object without spec_version is STIX 2.0, which the node does not accept)")
	case !present && c.newObjectKind() != KindCustom && c.newObjectKind() != KindSCO:
		return c.fail("spec_version", "required property is missing on an object of an extension-defined %s type", c.newObjectKind())
	}
	return nil
}

// newObjectKind reads, for a custom type, the kind its extension-definition
// declares it to be (extension_type new-sdo, new-sro, new-sco).
func (c *checker) newObjectKind() Kind {
	if c.kind != KindCustom {
		return c.kind
	}
	exts, _ := c.m["extensions"].(map[string]any)
	for k, v := range exts {
		if !strings.HasPrefix(k, "extension-definition--") {
			continue
		}
		e, _ := v.(map[string]any)
		switch e["extension_type"] {
		case "new-sdo":
			return KindSDO
		case "new-sro":
			return KindSRO
		case "new-sco":
			return KindSCO
		}
	}
	return KindCustom
}

func (c *checker) common() error {
	// Which of created/modified/created_by_ref are required depends on the kind.
	var need []string
	switch c.kind {
	case KindSDO, KindSRO:
		need = []string{"created", "modified"}
	case KindMeta:
		switch c.o.Type {
		case "marking-definition":
			need = []string{"created"}
		case "language-content":
			need = []string{"created", "modified"}
		case "extension-definition":
			need = []string{"created", "modified", "created_by_ref"}
		}
	case KindCustom:
		if k := c.newObjectKind(); k == KindSDO || k == KindSRO {
			need = []string{"created", "modified"}
		}
	}
	for _, n := range need {
		if _, ok := c.m[n]; !ok {
			return c.fail(n, "required property is missing")
		}
	}
	na := notApplicable[c.kind]
	if c.kind == KindMeta {
		na = metaNotApplicable[c.o.Type]
	}
	for _, n := range na {
		if _, ok := c.m[n]; ok {
			return c.fail(n, "does not apply to %s", withArticle(c.o.Type))
		}
	}

	var created, modified time.Time
	for _, n := range [...]string{"created", "modified"} {
		v, ok := c.m[n]
		if !ok {
			continue
		}
		s, isString := v.(string)
		if !isString {
			return c.fail(n, "must be a timestamp string")
		}
		t, err := ParseTimestamp(s)
		if err != nil {
			return c.fail(n, "%v", err)
		}
		if SubsecondDigits(s) < 3 {
			return c.fail(n, "timestamp %q: must have at least millisecond precision (three digits after the decimal point)", s)
		}
		if n == "created" {
			created = t
		} else {
			modified = t
		}
	}
	if !created.IsZero() && !modified.IsZero() && modified.Before(created) {
		return c.fail("modified", "must not be earlier than created (%s < %s)", c.o.Modified, c.o.Created)
	}

	for i := range commonProps {
		p := &commonProps[i]
		v, ok := c.m[p.name]
		if !ok {
			continue
		}
		switch p.name {
		case "external_references":
			if err := c.externalReferences(v); err != nil {
				return err
			}
			continue
		case "granular_markings", "extensions": // checked after the type's own properties
			if err := c.value(p.name, p, v); err != nil {
				return err
			}
			continue
		case "object_marking_refs":
			if err := c.value(p.name, p, v); err != nil {
				return err
			}
			for i, r := range v.([]any) {
				if r == c.o.ID {
					return c.fail(fmt.Sprintf("object_marking_refs[%d]", i), "a marking-definition must not mark itself")
				}
			}
			continue
		}
		if err := c.value(p.name, p, v); err != nil {
			return err
		}
	}
	return nil
}

// value checks one property value against its table entry. path names the
// property in messages ("hashes", "external_references[2].url").
func (c *checker) value(path string, p *prop, v any) error {
	switch p.kind {
	case vString:
		if _, ok := v.(string); !ok {
			return c.fail(path, "must be a string")
		}
	case vEnum:
		s, ok := v.(string)
		if !ok {
			return c.fail(path, "must be a string")
		}
		if !contains(p.enum, s) {
			return c.fail(path, "%q is not one of %s", s, strings.Join(p.enum, ", "))
		}
	case vStrings:
		l, ok := v.([]any)
		if !ok || len(l) == 0 {
			return c.fail(path, "must be a non-empty list of strings")
		}
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return c.fail(fmt.Sprintf("%s[%d]", path, i), "must be a string")
			}
			if p.enum != nil && !contains(p.enum, s) {
				return c.fail(fmt.Sprintf("%s[%d]", path, i), "%q is not one of %s", s, strings.Join(p.enum, ", "))
			}
		}
	case vTimestamp:
		s, ok := v.(string)
		if !ok {
			return c.fail(path, "must be a timestamp string")
		}
		if _, err := ParseTimestamp(s); err != nil {
			return c.fail(path, "%v", err)
		}
	case vBool:
		if _, ok := v.(bool); !ok {
			return c.fail(path, "must be true or false")
		}
	case vInt:
		n, ok := v.(json.Number)
		if !ok {
			return c.fail(path, "must be an integer")
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return c.fail(path, "must be an integer, got %s", n)
		}
		if float64(i) < p.min || float64(i) > p.max {
			return c.fail(path, "%d is out of range [%.0f, %.0f]", i, p.min, p.max)
		}
	case vFloat:
		n, ok := v.(json.Number)
		if !ok {
			return c.fail(path, "must be a number")
		}
		f, err := n.Float64()
		if err != nil || f < p.min || f > p.max {
			return c.fail(path, "%s is out of range [%g, %g]", n, p.min, p.max)
		}
	case vRef:
		s, ok := v.(string)
		if !ok {
			return c.fail(path, "must be an identifier string")
		}
		if err := checkRef(s, p.to); err != nil {
			return c.fail(path, "%v", err)
		}
	case vRefs:
		l, ok := v.([]any)
		if !ok || len(l) == 0 {
			return c.fail(path, "must be a non-empty list of identifiers")
		}
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return c.fail(fmt.Sprintf("%s[%d]", path, i), "must be an identifier string")
			}
			if err := checkRef(s, p.to); err != nil {
				return c.fail(fmt.Sprintf("%s[%d]", path, i), "%v", err)
			}
		}
	case vKCP:
		l, ok := v.([]any)
		if !ok || len(l) == 0 {
			return c.fail(path, "must be a non-empty list of kill chain phases")
		}
		for i, e := range l {
			k, ok := e.(map[string]any)
			if !ok {
				return c.fail(fmt.Sprintf("%s[%d]", path, i), "must be an object")
			}
			for _, n := range [...]string{"kill_chain_name", "phase_name"} {
				if s, ok := k[n].(string); !ok || s == "" {
					return c.fail(fmt.Sprintf("%s[%d].%s", path, i, n), "required string property is missing")
				}
			}
		}
	case vHashes:
		return c.hashes(path, v)
	case vDict:
		d, ok := v.(map[string]any)
		if !ok || len(d) == 0 {
			return c.fail(path, "must be a non-empty dictionary")
		}
	case vList:
		l, ok := v.([]any)
		if !ok || len(l) == 0 {
			return c.fail(path, "must be a non-empty list")
		}
	case vObjects:
		l, ok := v.([]any)
		if !ok || len(l) == 0 {
			return c.fail(path, "must be a non-empty list of objects")
		}
		for i, e := range l {
			if _, ok := e.(map[string]any); !ok {
				return c.fail(fmt.Sprintf("%s[%d]", path, i), "must be an object")
			}
		}
	case vHex:
		s, ok := v.(string)
		if !ok || len(s)%2 != 0 || !isLowerHex(s) {
			return c.fail(path, "must be an even number of lowercase hexadecimal digits")
		}
	case vBinary:
		s, ok := v.(string)
		if !ok || !isBase64(s) {
			return c.fail(path, "must be a base64 string")
		}
	case vLang:
		s, ok := v.(string)
		if !ok || !isLanguageTag(s) {
			return c.fail(path, "must be an RFC 5646 language tag")
		}
	}
	return nil
}

// hashAlgorithms gives the length of the hex digest of the algorithms whose
// values have a fixed form (the JSON schema's hashes-type).
var hashAlgorithms = map[string]int{
	"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128, "SHA3-256": 64, "SHA3-512": 128,
}

func (c *checker) hashes(path string, v any) error {
	h, ok := v.(map[string]any)
	if !ok || len(h) == 0 {
		return c.fail(path, "must be a non-empty dictionary of hashes")
	}
	for k, hv := range h {
		if !isDictKey(k, 3) {
			return c.fail(path+"."+k, "hash algorithm names are 3 to 250 ASCII letters, digits, '-' or '_'")
		}
		s, ok := hv.(string)
		if !ok || s == "" {
			return c.fail(path+"."+k, "must be a non-empty string")
		}
		if n, known := hashAlgorithms[k]; known && (len(s) != n || !isHex(s)) {
			return c.fail(path+"."+k, "a %s hash is %d hexadecimal digits", k, n)
		}
	}
	return nil
}

func (c *checker) externalReferences(v any) error {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return c.fail("external_references", "must be a non-empty list of external references")
	}
	for i, e := range l {
		path := fmt.Sprintf("external_references[%d]", i)
		r, ok := e.(map[string]any)
		if !ok {
			return c.fail(path, "must be an object")
		}
		if s, ok := r["source_name"].(string); !ok || s == "" {
			return c.fail(path+".source_name", "required string property is missing")
		}
		n := 0
		for _, k := range [...]string{"description", "url", "external_id"} {
			if x, ok := r[k]; ok {
				if _, isString := x.(string); !isString {
					return c.fail(path+"."+k, "must be a string")
				}
				n++
			}
		}
		if n == 0 {
			return c.fail(path, "needs at least one of description, url or external_id besides source_name")
		}
		if h, ok := r["hashes"]; ok {
			if err := c.hashes(path+".hashes", h); err != nil {
				return err
			}
		}
	}
	return nil
}

// extensions checks the keys and the shape of the extensions dictionary.
func (c *checker) extensions() error {
	v, ok := c.m["extensions"]
	if !ok {
		return nil
	}
	exts := v.(map[string]any) // vDict checked it
	for k, ev := range exts {
		path := "extensions." + k
		e, ok := ev.(map[string]any)
		if !ok {
			return c.fail(path, "an extension must be an object")
		}
		if rest, isDef := strings.CutPrefix(k, "extension-definition--"); isDef {
			if err := checkUUID(rest); err != nil {
				return c.fail(path, "extension key: %v", err)
			}
			t, present := e["extension_type"]
			if !present {
				return c.fail(path+".extension_type", "required for an extension defined by an extension-definition")
			}
			s, _ := t.(string)
			if !contains(extensionTypeEnum, s) {
				return c.fail(path+".extension_type", "%v is not one of %s", t, strings.Join(extensionTypeEnum, ", "))
			}
			continue
		}
		// A predefined extension (specification 3.10) or a STIX 2.0-style custom
		// extension, which only SCOs (and custom types) may carry.
		if owner, predefined := predefinedExtensions[k]; predefined {
			if owner != c.o.Type {
				return c.fail(path, "predefined extension %s belongs to %s objects", k, owner)
			}
		} else if !strings.HasSuffix(k, "-ext") || !isTypeName(k) {
			return c.fail(path, "extension keys are extension-definition ids or extension names ending in -ext")
		} else if c.kind != KindSCO && c.kind != KindCustom {
			return c.fail(path, "custom extensions apply to cyber-observables only; use an extension-definition")
		}
		if len(e) == 0 {
			return c.fail(path, "an extension must have at least one property")
		}
	}
	return nil
}

// hasOwnProperty reports whether the object carries one of its type's own
// properties (or an extension, which for process counts).
func (c *checker) hasOwnProperty() bool {
	for k := range c.m {
		if _, ok := c.spec.byName[k]; ok {
			return true
		}
	}
	_, ok := c.m["extensions"]
	return ok
}

// customNames checks the names of the properties neither the common table nor
// the type's table knows: custom properties, top-level extension properties,
// or the own properties of a custom type. Their names must match
// ^[a-z0-9_]{3,250}$ (specification 7.3.2 and 11.1). The x_ prefix is a
// recommendation, not a requirement, so names like ATT&CK's tactic_refs pass.
// Their values are the producer's business, even for names ending in _ref:
// ATT&CK, for one, ships x_mitre_data_source_ref: "".
func (c *checker) customNames() error {
	bad, found := "", false // "" is a name too, and a bad one
	for k := range c.m {
		if commonByName[k] {
			continue
		}
		if c.spec != nil {
			if _, ok := c.spec.byName[k]; ok {
				continue
			}
		}
		if !isPropertyName(k) {
			if !found || k < bad { // report the same one whatever the map order
				bad, found = k, true
			}
			continue
		}
	}
	if found {
		if bad == "" {
			return c.fail(bad, "a property has an empty name: custom property names are 3 to 250 characters of a-z, 0-9 and '_'")
		}
		return c.fail(bad, "custom property names are 3 to 250 characters of a-z, 0-9 and '_'")
	}
	return nil
}

// reservedNames are the property names STIX 2.1 reserves for a future
// revision (specification 3.8), in the order they are reported. They "MUST
// NOT be used for the name of any Custom Property or be present in any STIX
// content conforming to this version of the specification": no type of 2.1
// defines them, and course-of-action's action, marked RESERVED in its table
// (4.3), is reserved there too.
var reservedNames = [...]string{"action", "phone_number", "severity", "username"}

// reserved refuses a reserved property name where a producer could put
// one: at the top level of any object (a type's own, a custom property, a
// top-level property extension's, a custom object's) and at the top level
// of any of its extensions (a property extension's properties). Dictionary
// keys and what lies inside a property's value are not property names and
// are left alone (an environment variable called USERNAME, an email
// header).
func (c *checker) reserved() error {
	for _, n := range reservedNames {
		if _, ok := c.m[n]; ok {
			return c.fail(n, "%s", reservedMsg(n))
		}
	}
	// An extension-definition must not declare one as a top-level
	// property of the objects it extends.
	if c.o.Type == "extension-definition" {
		props, _ := c.m["extension_properties"].([]any)
		for i, p := range props {
			if s, _ := p.(string); contains(reservedNames[:], s) {
				return c.fail(fmt.Sprintf("extension_properties[%d]", i), "%s", reservedMsg(s))
			}
		}
	}
	exts, _ := c.m["extensions"].(map[string]any)
	keys := make([]string, 0, len(exts))
	for k := range exts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same error whatever the map order
	for _, k := range keys {
		e, _ := exts[k].(map[string]any)
		for _, n := range reservedNames {
			if _, ok := e[n]; ok {
				return c.fail("extensions."+k+"."+n, "%s", reservedMsg(n))
			}
		}
	}
	return nil
}

func reservedMsg(name string) string {
	return fmt.Sprintf("reserved property name: STIX 2.1 keeps %q for a future version (section 3.8) and no object may carry it; "+
		"name the property with your own prefix instead, e.g. x_example_com_%s", name, name)
}

// withArticle puts "a" or "an" before a type name, for messages.
func withArticle(typ string) string {
	if typ != "" && strings.ContainsRune("aeiox", rune(typ[0])) {
		return "an " + typ
	}
	return "a " + typ
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
