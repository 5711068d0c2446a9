package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// TLP:RED in the federation. An object marked RED is for named people at
// named nodes: the originator names them when it shares, and the names
// travel inside the signed object, in the custom property RedProperty, so
// that every node that holds it knows — from bytes the originator signed,
// not from what a relaying node claims — which of its own users may see it.
//
//	"x_entraide_red_recipients": [{"node": "identity--…", "user": "alice"}, …]
//
// node is the identity id of the person's node, user their user name there.
// The list is sorted (node, then user) and without repeats. Every node that
// receives the object sees the whole list: a RED share tells each recipient
// who else it went to, which is what TLP:RED asks people to know anyway.
//
// On receipt a RED object must name at least one person at the receiving
// node, or it is refused; the persons are recorded in the provenance
// (store.Provenance.RedRecipients) and from there reach every decision
// (policy.Object.RedRecipients). RED objects are stored sealed
// (store.Sealer under the node's data key) and opened only for a decision
// that allowed them: the local paths (local.go), a named node's pull, the
// push to a named node.

// RedProperty is the custom property that names the recipients of a
// TLP:RED object.
const RedProperty = "x_entraide_red_recipients"

// SelfNode is how a RED recipient at this node is written on the command
// line: alice@self.
const SelfNode = "self"

// ParseRedRecipient reads USER@NODE: the user name (anything but empty) and
// the node (a peer name or identity id, or "self"). The last @ separates
// them, so a user name may contain one.
func ParseRedRecipient(s string) (user, node string, err error) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("TLP:RED recipient %q: want USER@NODE (NODE a peer, or self)", s)
	}
	user, node = s[:i], s[i+1:]
	if !utf8.ValidString(user) || strings.ContainsAny(user, "\x00\r\n") || len(user) > 256 {
		return "", "", fmt.Errorf("TLP:RED recipient %q: not a user name", s)
	}
	return user, node, nil
}

// resolveRed turns USER@NODE specs into recipients by identity id, sorted
// and without repeats.
func (f *Federation) resolveRed(ctx context.Context, specs []string) ([]store.Recipient, error) {
	var out []store.Recipient
	for _, s := range specs {
		user, node, err := ParseRedRecipient(s)
		if err != nil {
			return nil, err
		}
		id := f.n.Identity.IdentityID
		if node != SelfNode && node != id && node != f.n.Identity.Name {
			p, err := f.peer(ctx, node)
			if err != nil {
				return nil, fmt.Errorf("TLP:RED recipient %q: %w", s, err)
			}
			id = p.IdentityID
		}
		out = append(out, store.Recipient{Node: id, User: user})
	}
	return normRed(out), nil
}

func normRed(rs []store.Recipient) []store.Recipient {
	slices.SortFunc(rs, func(a, b store.Recipient) int {
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}
		return strings.Compare(a.User, b.User)
	})
	return slices.Compact(rs)
}

// markRed adds RedProperty to an unsigned object. An object that already
// names recipients keeps them only if they are the same: a share never
// silently changes who a RED object is for.
func markRed(raw []byte, rs []store.Recipient) ([]byte, error) {
	o, err := stix.Parse(raw)
	if err != nil {
		return nil, err
	}
	cur, present, err := redRecipientsOf(o.Raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.ID, err)
	}
	if present {
		if !slices.Equal(cur, rs) {
			return nil, fmt.Errorf("%s already names other TLP:RED recipients; refusing to change them", o.ID)
		}
		return o.Raw, nil
	}
	v, err := json.Marshal(rs)
	if err != nil {
		return nil, err
	}
	b := bytes.TrimRight(o.Raw, " \t\r\n")
	if len(b) < 2 || b[len(b)-1] != '}' {
		return nil, errors.New("not a JSON object")
	}
	out := append([]byte{}, b[:len(b)-1]...)
	out = append(out, `,"`+RedProperty+`":`...)
	out = append(out, v...)
	return append(out, '}'), nil
}

// redRecipientsOf reads RedProperty from an object's JSON: the recipients,
// sorted, and whether the property is present. A property that is not a
// list of {node, user} with both set is an error.
func redRecipientsOf(raw []byte) ([]store.Recipient, bool, error) {
	var v struct {
		R *[]store.Recipient `json:"x_entraide_red_recipients"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, false, fmt.Errorf("%s: %w", RedProperty, err)
	}
	if v.R == nil {
		return nil, false, nil
	}
	rs := slices.Clone(*v.R)
	for _, r := range rs {
		if !strings.HasPrefix(r.Node, "identity--") || r.User == "" {
			return nil, true, fmt.Errorf("%s: a recipient needs a node identity id and a user", RedProperty)
		}
	}
	return normRed(rs), true, nil
}

func personsOf(rs []store.Recipient) []policy.Person {
	ps := make([]policy.Person, len(rs))
	for i, r := range rs {
		ps[i] = policy.Person{Node: r.Node, User: r.User}
	}
	return ps
}

// namesAt reports whether rs names a person at node.
func namesAt(rs []store.Recipient, node string) bool {
	return slices.ContainsFunc(rs, func(r store.Recipient) bool { return r.Node == node })
}

// outboxRaws returns the bytes to push for rows of the outbox: sealed (RED)
// rows are opened here, the rows having been queued only for nodes the
// policy allowed when the object was shared.
func (f *Federation) outboxRaws(rows []store.OutboxRow) ([]json.RawMessage, error) {
	objs := make([]json.RawMessage, len(rows))
	var s store.Sealer
	for i, r := range rows {
		if r.Sealed && s == nil {
			var err error
			if s, err = f.n.Sealer(); err != nil {
				return nil, err
			}
		}
		raw, err := store.OpenOutboxRow(s, r)
		if err != nil {
			return nil, err
		}
		objs[i] = raw
	}
	return objs, nil
}
