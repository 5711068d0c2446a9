package taxii

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// Query is a set of TAXII filters (section 3.4). The server parses it from a
// request's URL; the client encodes it into one. The zero value asks for the
// latest version of every object, oldest first, in pages of the server's
// default size.
type Query struct {
	AddedAfter   time.Time // added_after: exclusive lower bound on date_added
	IDs          []string  // match[id]: any of these STIX ids
	Types        []string  // match[type]: any of these STIX types
	Versions     []string  // match[version]: "last", "first", "all" or timestamps
	SpecVersions []string  // match[spec_version]: any of these ("2.0", "2.1")
	Limit        int       // limit: at most this many per page; 0 = server default
	Next         string    // next: the cursor from the previous page
}

// Values encodes q as URL query parameters, one parameter per field with
// comma-separated values, as the specification spells them.
func (q Query) Values() url.Values {
	v := url.Values{}
	if !q.AddedAfter.IsZero() {
		v.Set("added_after", formatTime(q.AddedAfter))
	}
	set := func(name string, vals []string) {
		if len(vals) > 0 {
			v.Set(name, strings.Join(vals, ","))
		}
	}
	set("match[id]", q.IDs)
	set("match[type]", q.Types)
	set("match[version]", q.Versions)
	set("match[spec_version]", q.SpecVersions)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Next != "" {
		v.Set("next", q.Next)
	}
	return v
}

// formatTime writes a timestamp with as many sub-second digits as it has
// (none when it has none), so that an added_after copied from
// X-TAXII-Date-Added-Last round-trips exactly.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.999999999Z")
}

// params is the set of query parameters an endpoint accepts.
type params uint8

const (
	pAddedAfter params = 1 << iota
	pLimit
	pNext
	pID
	pType
	pVersion
	pSpecVersion

	paging        = pAddedAfter | pLimit | pNext
	objectsParams = paging | pID | pType | pVersion | pSpecVersion // objects and manifest
	objectParams  = paging | pVersion | pSpecVersion               // one object
	versionParams = paging | pSpecVersion                          // an object's versions
	deleteParams  = pVersion | pSpecVersion                        // delete an object
)

var paramNames = []struct {
	p    params
	name string
}{
	{pAddedAfter, "added_after"},
	{pLimit, "limit"},
	{pNext, "next"},
	{pID, "match[id]"},
	{pType, "match[type]"},
	{pVersion, "match[version]"},
	{pSpecVersion, "match[spec_version]"},
}

// maxFilterValues bounds the values of one match field, so that a request
// cannot make the store build a query with millions of terms.
const maxFilterValues = 1000

// parseQuery reads the filters of an endpoint that accepts allowed. Any
// malformed parameter is a KindInvalid error naming it (the specification:
// "If any of the URL query parameters are malformed, the TAXII Server MUST
// return an HTTP 400"). Parameters TAXII defines but the endpoint does not
// accept are refused the same way; match fields TAXII does not define, and
// other unknown parameters, are ignored, as section 3.4 allows.
//
// A match field may be repeated (match[type]=a&match[type]=b) or carry
// comma-separated values (match[type]=a,b); both mean "any of". added_after,
// limit and next must appear at most once. In match[version] no keyword or
// timestamp may appear twice, and "all" excludes every other value.
//
// A limit above maxLimit is lowered to it (the specification lets a server
// return fewer objects than asked); a missing one is 0.
func parseQuery(v url.Values, allowed params, maxLimit int) (Query, error) {
	var q Query
	for _, pn := range paramNames {
		vals, ok := v[pn.name]
		if !ok {
			continue
		}
		if allowed&pn.p == 0 {
			return Query{}, errInvalid("the %s parameter is not supported on this endpoint", pn.name)
		}
		switch pn.p {
		case pAddedAfter, pLimit, pNext:
			if len(vals) > 1 {
				return Query{}, errInvalid("the %s parameter must appear at most once", pn.name)
			}
		}
		var err error
		switch pn.p {
		case pAddedAfter:
			q.AddedAfter, err = stix.ParseTimestamp(vals[0])
			if err != nil {
				return Query{}, errInvalid("added_after must be a timestamp such as 2016-01-01T01:01:01.000Z: %v", err)
			}
		case pLimit:
			q.Limit, err = parseLimit(vals[0], maxLimit)
			if err != nil {
				return Query{}, errInvalid("limit must be a positive integer: %v", err)
			}
		case pNext:
			q.Next = vals[0]
		case pID:
			q.IDs, err = splitValues(vals, validID)
		case pType:
			q.Types, err = splitValues(vals, validType)
		case pVersion:
			q.Versions, err = splitValues(vals, nil)
			if err == nil {
				err = checkVersions(q.Versions)
			}
		case pSpecVersion:
			q.SpecVersions, err = splitValues(vals, validSpecVersion)
		}
		if err != nil {
			return Query{}, errInvalid("%s: %v", pn.name, err)
		}
	}
	return q, nil
}

func parseLimit(s string, maxLimit int) (int, error) {
	if s == "" {
		return 0, errors.New("empty value")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal integer: " + strconv.Quote(s))
		}
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil { // only ErrRange can happen here: a huge limit is still a valid one
		n = uint64(maxLimit)
	}
	if n == 0 {
		return 0, errors.New("must be greater than zero")
	}
	return min(int(n), maxLimit), nil
}

// splitValues splits every instance of a parameter on commas, checks each
// value with valid (when not nil) and drops exact repeats.
func splitValues(vals []string, valid func(string) error) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, v := range vals {
		for s := range strings.SplitSeq(v, ",") {
			if s == "" {
				return nil, errors.New("empty value (values are separated by a single comma, without spaces)")
			}
			if valid != nil {
				if err := valid(s); err != nil {
					return nil, err
				}
			}
			if seen[s] && valid != nil { // match[version] (valid == nil) reports repeats itself
				continue
			}
			seen[s] = true
			out = append(out, s)
			if len(out) > maxFilterValues {
				return nil, errors.New("too many values (at most " + strconv.Itoa(maxFilterValues) + ")")
			}
		}
	}
	return out, nil
}

// checkVersions applies the rules of match[version]: keywords last, first and
// all, or STIX timestamps; nothing twice (two spellings of one instant are
// the same version); all alone.
func checkVersions(vs []string) error {
	seen := map[string]bool{}
	for _, v := range vs {
		key := v
		switch v {
		case "last", "first":
		case "all":
			if len(vs) > 1 {
				return errors.New(`"all" must not be combined with other versions`)
			}
		default:
			k, err := stix.TimestampKey(v)
			if err != nil {
				return errors.New(`want "last", "first", "all" or a timestamp: ` + err.Error())
			}
			key = k
		}
		if seen[key] {
			return errors.New(strconv.Quote(v) + " appears more than once")
		}
		seen[key] = true
	}
	return nil
}

func validType(s string) error {
	if len(s) > 250 {
		return errors.New("type too long")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return errors.New("not a STIX type: " + strconv.Quote(s))
		}
	}
	return nil
}

func validID(s string) error {
	typ, uuid, ok := strings.Cut(s, "--")
	if !ok || typ == "" || validType(typ) != nil || !isUUID(uuid) {
		return errors.New("not a STIX identifier (type--UUID): " + strconv.Quote(s))
	}
	return nil
}

func validSpecVersion(s string) error {
	maj, minor, ok := strings.Cut(s, ".")
	if !ok || !isDigits(maj) || !isDigits(minor) || len(s) > 16 {
		return errors.New("not a specification version such as 2.1: " + strconv.Quote(s))
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
