package taxii

import (
	"mime"
	"strconv"
	"strings"
)

// Media types. Responses always carry MediaType; TAXII 2.1 defines no other
// representation of its resources.
const (
	MediaType     = "application/taxii+json;version=2.1"
	STIXMediaType = "application/stix+json;version=2.1"

	taxiiType = "application/taxii+json"
	version   = "2.1"
)

// acceptable reports whether an Accept header admits MediaType, following RFC
// 9110 section 12.5.1: the most specific media range that matches decides,
// and a quality of 0 means "not acceptable". A request without an Accept
// header accepts anything (the RFC's rule; TAXII requires clients to send
// one, but refusing a well-formed request for that would help nobody).
//
// Matching ranges, most specific first: application/taxii+json;version=2.1,
// application/taxii+json (the latest version, which is 2.1), application/*,
// */*. A range naming another version (version=2.0) does not match.
func acceptable(header []string) bool {
	if len(header) == 0 {
		return true
	}
	bestSpec, bestQ := 0, 0.0
	for _, h := range header {
		for _, r := range splitList(h) {
			if strings.TrimSpace(r) == "" {
				continue
			}
			typ, params, err := mime.ParseMediaType(r)
			if err != nil {
				continue // an unparseable range matches nothing
			}
			q := 1.0
			if qs, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(qs, 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			spec := 0
			switch typ {
			case "*/*":
				spec = 1
			case "application/*":
				spec = 2
			case taxiiType:
				switch v, ok := params["version"]; {
				case !ok:
					spec = 3
				case v == version:
					spec = 4
				}
			}
			if spec == 0 {
				continue
			}
			if spec > bestSpec || (spec == bestSpec && q > bestQ) {
				bestSpec, bestQ = spec, q
			}
		}
	}
	return bestSpec > 0 && bestQ > 0
}

// splitList splits a header value on commas outside quoted strings.
func splitList(s string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// contentTypeOK reports whether a request's Content-Type is the TAXII 2.1
// media type. The version parameter may be absent (application/taxii+json
// means the latest version, 2.1); type and parameter names are
// case-insensitive and white space around ";" is tolerated. A charset other
// than UTF-8 is refused: TAXII is UTF-8 JSON.
func contentTypeOK(header string) bool {
	typ, params, err := mime.ParseMediaType(header)
	if err != nil || typ != taxiiType {
		return false
	}
	if v, ok := params["version"]; ok && v != version {
		return false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false
	}
	return true
}
