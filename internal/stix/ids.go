package stix

import (
	"errors"
	"fmt"
	"strings"
)

// Hand-written lexical checks: they run for every property of every imported
// object, where regular expressions would cost more than the rest of Parse.

// checkTypeName enforces specification 3.1 and 11.2.1 on a type name: 3 to 250
// characters of a-z, 0-9 and '-', starting with a letter, not ending with '-',
// no "--" (which would make "type--UUID" ambiguous).
func checkTypeName(t string) error {
	if !isTypeName(t) {
		return fmt.Errorf("type %q: want 3 to 250 characters of a-z, 0-9 and single hyphens, starting with a letter and not ending with a hyphen", t)
	}
	return nil
}

func isTypeName(t string) bool {
	if len(t) < 3 || len(t) > 250 || t[0] < 'a' || t[0] > 'z' || t[len(t)-1] == '-' {
		return false
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if t[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// isPropertyName: ^[a-z0-9_]{3,250}$ (specification 7.3.2, 11.1.1).
func isPropertyName(k string) bool {
	if len(k) < 3 || len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isDictKey: ASCII letters, digits, '-' and '_', min to 250 characters
// (specification 2.3 and 2.7).
func isDictKey(k string, min int) bool {
	if len(k) < min || len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkUUID accepts an RFC 4122 UUID in the canonical 8-4-4-4-12 form with
// lowercase hex digits (RFC 4122 section 3 says producers output lowercase;
// STIX literals are lowercase), version 1 to 5 and the RFC 4122 variant, as the
// official JSON schema's identifier pattern does.
func checkUUID(u string) error {
	if len(u) != 36 {
		return fmt.Errorf("%q is not a UUID (want 8-4-4-4-12 lowercase hex digits)", u)
	}
	for i := 0; i < 36; i++ {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("%q is not a UUID (want 8-4-4-4-12 lowercase hex digits)", u)
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				if c >= 'A' && c <= 'F' {
					return fmt.Errorf("UUID %q must be lowercase", u)
				}
				return fmt.Errorf("%q is not a UUID (want 8-4-4-4-12 lowercase hex digits)", u)
			}
		}
	}
	if v := u[14]; v < '1' || v > '5' {
		return fmt.Errorf("UUID %q: version %c is not an RFC 4122 version (1 to 5)", u, v)
	}
	if v := u[19]; v != '8' && v != '9' && v != 'a' && v != 'b' {
		return fmt.Errorf("UUID %q: not the RFC 4122 variant", u)
	}
	return nil
}

// ParseID splits a STIX identifier "type--UUID" and checks both parts.
func ParseID(id string) (typ string, err error) {
	typ, u, ok := strings.Cut(id, "--")
	if !ok {
		return "", fmt.Errorf("%q is not an identifier (want type--UUID)", id)
	}
	if err := checkTypeName(typ); err != nil {
		return "", fmt.Errorf("identifier %q: %v", id, err)
	}
	if err := checkUUID(u); err != nil {
		return "", fmt.Errorf("identifier %q: %v", id, err)
	}
	return typ, nil
}

var errBundleRef = errors.New("a bundle is not a STIX object and cannot be referenced")

// checkRef checks an identifier and that its type is one the property may name.
// A custom type may be an SDO, SRO or SCO: it passes any class test, but never
// a list of explicit types.
func checkRef(id string, t target) error {
	typ, err := ParseID(id)
	if err != nil {
		return err
	}
	if typ == "bundle" {
		return errBundleRef
	}
	if t.any {
		return nil
	}
	if t.types != nil {
		if contains(t.types, typ) {
			return nil
		}
		return fmt.Errorf("%s must name %s, not %s", id, t.desc, typ)
	}
	switch KindOf(typ) {
	case KindCustom:
		return nil
	case KindSDO:
		if t.sdo {
			return nil
		}
	case KindSCO:
		if t.sco {
			return nil
		}
	case KindSRO:
		if t.sro {
			return nil
		}
	}
	return fmt.Errorf("%s must name %s, not a %s", id, t.desc, typ)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isBase64 checks the RFC 4648 alphabet and padding without decoding (payloads
// can be large and the node never needs the bytes here).
func isBase64(s string) bool {
	if len(s)%4 != 0 {
		return false
	}
	pad := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			if pad > 0 {
				return false
			}
		case c == '=':
			pad++
			if pad > 2 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// isLanguageTag checks the shape of an RFC 5646 tag: a 2–3 letter (or 4–8
// letter registered) primary subtag, then subtags of 1–8 letters or digits.
// The registry itself is not consulted.
func isLanguageTag(s string) bool {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if len(p) == 0 || len(p) > 8 {
			return false
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if i == 0 && !letter || !letter && !(c >= '0' && c <= '9') {
				return false
			}
		}
		if i == 0 && len(p) < 2 && p != "i" && p != "x" {
			return false
		}
	}
	return true
}
