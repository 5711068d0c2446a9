package audit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/stix"
)

// Kind says what an entry records.
type Kind string

// The kinds of entries. A kind is part of the leaf, so its spelling is frozen.
const (
	KindSend               Kind = "send"                // an object was delivered to a peer
	KindReceive            Kind = "receive"             // an object was received from a peer (or a TAXII client)
	KindRefuse             Kind = "refuse"              // a received object was refused; Reason says why
	KindShare              Kind = "share"               // a local user shared an object into a community
	KindPolicyDeny         Kind = "policy-deny"         // the policy engine stopped an object going to a peer; Reason says why
	KindPeerAdd            Kind = "peer-add"            // a peer was added
	KindPeerRemove         Kind = "peer-remove"         // a peer was removed
	KindPeerRotate         Kind = "peer-rotate"         // a peer's keys changed
	KindRedAccess          Kind = "red-access"          // a user read TLP:RED data
	KindCheckpointCosigned Kind = "checkpoint-cosigned" // this node cosigned a peer's checkpoint (Detail: size, root)
	KindForkDetected       Kind = "fork-detected"       // a peer showed a checkpoint inconsistent with one we cosigned
)

var kinds = map[Kind]bool{
	KindSend: true, KindReceive: true, KindRefuse: true, KindShare: true, KindPolicyDeny: true,
	KindPeerAdd: true, KindPeerRemove: true, KindPeerRotate: true, KindRedAccess: true,
	KindCheckpointCosigned: true, KindForkDetected: true,
}

// Known reports whether k is one of the kinds above. Append accepts only
// those; Verify and Entries read any kind (a newer binary may add kinds).
func (k Kind) Known() bool { return kinds[k] }

// Entry is one event of the log. Seq and Time are assigned by Append.
type Entry struct {
	Seq           int64     // position in the log: 0, 1, 2, …; also the tlog record index
	Time          time.Time // when it was appended (microseconds, UTC); never earlier than the entry before
	Kind          Kind
	Actor         string // the local user, or the peer, that acted
	Peer          string // the peer on the other side, if any
	ObjectID      string // the STIX object concerned, if any
	ObjectVersion string
	Community     string
	TLP           string // the object's TLP (e.g. "amber+strict"), if any
	Reason        string // why (refusals, policy denials)
	Detail        map[string]string
}

// LeafVersion is the version of the leaf encoding that Leaf produces.
const LeafVersion = 1

// Limits on an entry, so that one leaf stays small and any entry fits any
// engine's row.
const (
	maxField      = 4096
	maxDetailKeys = 64
)

// timeLayout is the leaf's time: RFC 3339, UTC, always six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Leaf returns the entry's canonical encoding, the data of its tlog record.
//
// Version 1 is the RFC 8785 (JSON Canonicalization Scheme) form of one JSON
// object with the members
//
//	"v":1  "seq":Seq  "time":"YYYY-MM-DDTHH:MM:SS.ffffffZ"  "kind":Kind
//
// and, only when not empty, "actor", "peer", "object_id", "object_version",
// "community", "tlp", "reason" (strings) and "detail" (an object of strings).
// An absent field and an empty one are the same entry. Members are sorted by
// their names' UTF-16 code units, strings escaped as RFC 8785 says (only ",
// \ and control characters; \b \t \n \f \r or \u00xx), no white space.
// Any change to this encoding is a new version.
func (e *Entry) Leaf() []byte {
	b := make([]byte, 0, 160+len(e.Reason)+len(e.ObjectID))
	return e.appendLeaf(b)
}

func (e *Entry) appendLeaf(b []byte) []byte {
	// Top-level names are ASCII, so they are written in their sorted order.
	b = append(b, '{')
	sep := false
	str := func(name, v string) {
		if v == "" {
			return
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = stix.AppendCanonicalString(b, name)
		b = append(b, ':')
		b = stix.AppendCanonicalString(b, v)
	}
	str("actor", e.Actor)
	str("community", e.Community)
	if len(e.Detail) > 0 {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, `"detail":`...)
		b = appendDetail(b, e.Detail)
	}
	str("kind", string(e.Kind))
	str("object_id", e.ObjectID)
	str("object_version", e.ObjectVersion)
	str("peer", e.Peer)
	str("reason", e.Reason)
	if sep {
		b = append(b, ',')
	}
	b = append(b, `"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, timeLayout)
	b = append(b, '"')
	str("tlp", e.TLP)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, LeafVersion, 10)
	return append(b, '}')
}

// appendDetail appends a map of strings as a canonical JSON object.
func appendDetail(b []byte, d map[string]string) []byte {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = stix.AppendCanonicalString(b, k)
		b = append(b, ':')
		b = stix.AppendCanonicalString(b, d[k])
	}
	return append(b, '}')
}

// compareUTF16 orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return strings.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// validate checks what Append accepts: a known kind, UTF-8 text without NUL
// (PostgreSQL's text refuses it), bounded sizes.
func (e *Entry) validate() error {
	if !e.Kind.Known() {
		return fmt.Errorf("%w: unknown entry kind %q", ErrInvalid, e.Kind)
	}
	for _, f := range [...]struct{ name, v string }{
		{"actor", e.Actor}, {"peer", e.Peer}, {"object_id", e.ObjectID}, {"object_version", e.ObjectVersion},
		{"community", e.Community}, {"tlp", e.TLP}, {"reason", e.Reason},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	if len(e.Detail) > maxDetailKeys {
		return fmt.Errorf("%w: %d detail keys, at most %d", ErrInvalid, len(e.Detail), maxDetailKeys)
	}
	for k, v := range e.Detail {
		if k == "" {
			return fmt.Errorf("%w: empty detail key", ErrInvalid)
		}
		if err := checkText("detail key", k); err != nil {
			return err
		}
		if err := checkText("detail "+k, v); err != nil {
			return err
		}
	}
	return nil
}

func checkText(name, v string) error {
	switch {
	case len(v) > maxField:
		return fmt.Errorf("%w: %s: %d bytes, at most %d", ErrInvalid, name, len(v), maxField)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s: not UTF-8", ErrInvalid, name)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%w: %s: contains NUL", ErrInvalid, name)
	}
	return nil
}

// EncodeDetail returns the canonical JSON object of d, "" when d is empty:
// the form in which engines store Detail.
func EncodeDetail(d map[string]string) string {
	if len(d) == 0 {
		return ""
	}
	return string(appendDetail(nil, d))
}

// DecodeDetail is the inverse of EncodeDetail. It accepts any JSON object of
// strings (a tampered column still decodes, so that Verify can name the entry
// whose hash no longer matches rather than fail).
func DecodeDetail(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("audit: detail column: %w", err)
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}
