package contact

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
	_ "time/tzdata" // hours name IANA zones: whether a contact is on duty must not depend on the host's zone files

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/workflow"
)

// Node is a node of the directory as its card gives it (this node's from
// its own settings).
type Node struct {
	ID           string
	Name         string // this node's name, or the local name of the peer
	Organisation string
	Country      string
	Self         bool
	CardIssued   time.Time // when the pinned card was issued; zero for this node
	Contacts     []card.Contact
}

// Ping is one ping case as this node holds it.
type Ping struct {
	ID     string
	Origin string // identity id of the node that sent it
	Status string // the folded status ("answered by …", "awaiting an answer", …)
	Open   bool
	View   View
}

// Pings reads the latest limit pings the node holds, sent and received,
// newest first (limit ≤ 0: 1000).
func Pings(ctx context.Context, wf *workflow.Engine, limit int) ([]Ping, error) {
	list, err := wf.List(ctx, Kind.Name, false, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Ping, 0, len(list))
	for _, s := range list {
		p := Ping{ID: s.ID, Origin: s.Origin.ID, Status: s.Status, Open: s.Open}
		if err := json.Unmarshal(s.Detail, &p.View); err != nil {
			return nil, fmt.Errorf("ping %s: its state does not read: %v", s.ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Nodes lists this node (its contacts as node.json holds them: what its
// next card carries) and every pinned peer (its contacts as its pinned card
// gives them).
func Nodes(ctx context.Context, n *node.Node, reg *peer.Registry) ([]Node, error) {
	out := []Node{{ID: n.Identity.IdentityID, Name: n.Identity.Name, Organisation: n.Identity.Org, Country: n.Identity.Country,
		Self: true, Contacts: n.Identity.Contacts}}
	ps, err := reg.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		e := Node{ID: p.IdentityID, Name: p.Name, Organisation: p.Organisation, Country: p.Country}
		if p.Card != nil {
			e.CardIssued, e.Contacts = p.Card.Issued, p.Card.PointsOfContact
		}
		out = append(out, e)
	}
	return out, nil
}

// Directory is the points-of-contact directory of a node.
type Directory struct {
	At    time.Time   `json:"at"` // when it was built: what on duty and expired refer to
	Nodes []NodeEntry `json:"nodes"`
}

// NodeEntry is one node in the directory: its roles, and the well-known
// roles its card lists no contact for.
type NodeEntry struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Organisation string      `json:"organisation"`
	Country      string      `json:"country"`
	Self         bool        `json:"self"`
	CardIssued   *time.Time  `json:"card_issued,omitempty"`
	Roles        []RoleEntry `json:"roles"`
	MissingRoles []string    `json:"missing_roles"`
}

// RoleEntry is one role of a node: its contacts and what the pings of it
// showed — for a peer, the pings this node sent it; for this node, the
// pings its partners sent it.
type RoleEntry struct {
	Role     string         `json:"role"`
	Label    string         `json:"label"`
	Known    bool           `json:"known"` // a well-known role (Roles); false for other tokens of older cards
	Contacts []ContactEntry `json:"contacts"`
	Pings    Stats          `json:"pings"`
}

// ContactEntry is one contact, with whether its hours say it is on duty.
type ContactEntry struct {
	card.Contact
	// OnDuty is whether the contact's hours cover the directory's time;
	// absent when the contact gives no hours or a zone this build does not
	// know.
	OnDuty *bool `json:"on_duty,omitempty"`
}

// Stats sums up the pings of one role of one node.
type Stats struct {
	Pings int `json:"pings"` // sent to the role (received, for this node's own roles)
	// Answered and OnTime count answers (with the right code); Pending are
	// pings whose deadline has not passed yet without an answer; Missed,
	// those whose deadline passed without one (answered late or never).
	Answered int `json:"answered"`
	OnTime   int `json:"on_time"`
	Pending  int `json:"pending"`
	Missed   int `json:"missed"`
	// AnswerRate is OnTime over the pings decided (answered, or whose
	// deadline passed): absent before any is decided. Pings closed before
	// their deadline without an answer are not counted.
	AnswerRate *float64 `json:"answer_rate,omitempty"`
	// MedianResponseSeconds is the median response time of the answers.
	MedianResponseSeconds *int64 `json:"median_response_seconds,omitempty"`
	Last                  *Last  `json:"last,omitempty"`
}

// Last is the latest ping of a role.
type Last struct {
	ID              string     `json:"id"`
	Sent            time.Time  `json:"sent"`
	AnswerBy        time.Time  `json:"answer_by"`
	Status          string     `json:"status"` // answered, answered late, awaiting, expired, closed
	AnsweredAt      *time.Time `json:"answered_at,omitempty"`
	AnsweredBy      string     `json:"answered_by,omitempty"`
	ResponseSeconds *int64     `json:"response_seconds,omitempty"`
}

// Outcome names what became of one recipient of a ping at now: answered,
// answered late, awaiting (before the deadline), expired (deadline passed
// without an answer), closed (closed before the deadline without one).
func Outcome(v View, r Recipient, now time.Time) string {
	switch {
	case r.AnsweredAt != nil && r.OnTime:
		return "answered"
	case r.AnsweredAt != nil:
		return "answered late"
	case v.ClosedAt != nil && !v.ClosedAt.After(v.AnswerBy):
		return "closed"
	case now.After(v.AnswerBy):
		return "expired"
	}
	return "awaiting"
}

// Build makes the directory from this node and its peers (nodes, self
// first) and the pings this node holds, at now.
func Build(nodes []Node, pings []Ping, now time.Time) *Directory {
	d := &Directory{At: now, Nodes: []NodeEntry{}}
	selfID := ""
	for _, n := range nodes {
		if n.Self {
			selfID = n.ID
		}
	}
	// The pings of each (node, role): this node's pings of its peers, and
	// its peers' pings of this node.
	type key struct{ node, role string }
	byKey := map[key][]Recipient{}
	views := map[key][]Ping{}
	for _, p := range pings {
		role := card.CanonicalRole(p.View.Role)
		for _, r := range p.View.Recipients {
			if p.Origin != selfID && r.Node != selfID {
				continue // another node's ping of a third (not held here, but be safe)
			}
			k := key{r.Node, role}
			byKey[k] = append(byKey[k], r)
			views[k] = append(views[k], p)
		}
	}
	for _, n := range nodes {
		e := NodeEntry{ID: n.ID, Name: n.Name, Organisation: n.Organisation, Country: n.Country, Self: n.Self,
			Roles: []RoleEntry{}, MissingRoles: []string{}}
		if !n.CardIssued.IsZero() {
			t := n.CardIssued
			e.CardIssued = &t
		}
		var roles []string
		for _, c := range n.Contacts {
			if r := card.CanonicalRole(c.Role); !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		for k := range byKey {
			if k.node == n.ID && !slices.Contains(roles, k.role) {
				roles = append(roles, k.role)
			}
		}
		sortRoles(roles)
		for _, role := range roles {
			re := RoleEntry{Role: role, Label: role, Contacts: []ContactEntry{}}
			if r, ok := card.LookupRole(role); ok {
				re.Label, re.Known = r.Label, true
			}
			for _, c := range n.Contacts {
				if card.CanonicalRole(c.Role) == role {
					re.Contacts = append(re.Contacts, ContactEntry{Contact: c, OnDuty: onDuty(c.Hours, now)})
				}
			}
			re.Pings = stats(views[key{n.ID, role}], n.ID, now)
			e.Roles = append(e.Roles, re)
		}
		for _, r := range card.Roles {
			if !slices.ContainsFunc(e.Roles, func(re RoleEntry) bool { return re.Role == r.ID && len(re.Contacts) > 0 }) {
				e.MissingRoles = append(e.MissingRoles, r.ID)
			}
		}
		d.Nodes = append(d.Nodes, e)
	}
	return d
}

// sortRoles puts the well-known roles first, in their order, then the
// others alphabetically.
func sortRoles(roles []string) {
	rank := func(r string) int {
		for i, k := range card.Roles {
			if k.ID == r {
				return i
			}
		}
		return len(card.Roles)
	}
	sort.SliceStable(roles, func(i, j int) bool {
		ri, rj := rank(roles[i]), rank(roles[j])
		if ri != rj {
			return ri < rj
		}
		return roles[i] < roles[j]
	})
}

func onDuty(hours string, now time.Time) *bool {
	if hours == "" {
		return nil
	}
	h, err := card.ParseHours(hours)
	if err != nil {
		return nil
	}
	loc := time.UTC
	if !h.Always && h.Zone != "UTC" {
		if loc, err = time.LoadLocation(h.Zone); err != nil {
			return nil
		}
	}
	on := h.OpenAt(now, loc)
	return &on
}

// stats sums up the pings of node's role.
func stats(pings []Ping, node string, now time.Time) Stats {
	var s Stats
	var times []int64
	var decided int
	for _, p := range pings {
		for _, r := range p.View.Recipients {
			if r.Node != node {
				continue
			}
			s.Pings++
			switch Outcome(p.View, r, now) {
			case "answered":
				s.Answered++
				s.OnTime++
				decided++
			case "answered late":
				s.Answered++
				s.Missed++
				decided++
			case "expired":
				s.Missed++
				decided++
			case "awaiting":
				s.Pending++
			}
			if r.ResponseSeconds != nil {
				times = append(times, *r.ResponseSeconds)
			}
			if s.Last == nil || p.View.Sent.After(s.Last.Sent) || p.View.Sent.Equal(s.Last.Sent) && p.ID > s.Last.ID {
				s.Last = &Last{ID: p.ID, Sent: p.View.Sent, AnswerBy: p.View.AnswerBy, Status: Outcome(p.View, r, now),
					AnsweredAt: r.AnsweredAt, AnsweredBy: r.AnsweredBy, ResponseSeconds: r.ResponseSeconds}
			}
		}
	}
	if decided > 0 {
		rate := float64(s.OnTime) / float64(decided)
		s.AnswerRate = &rate
	}
	if len(times) > 0 {
		slices.Sort(times)
		m := times[len(times)/2]
		if len(times)%2 == 0 {
			m = (times[len(times)/2-1] + times[len(times)/2]) / 2
		}
		s.MedianResponseSeconds = &m
	}
	return s
}

// Set returns contacts with c as the point of contact for its role: it
// replaces the role's contacts (those under an alias of the role too), or,
// with add, only the one of the same name, and is appended otherwise. The
// order of the other contacts is kept.
func Set(contacts []card.Contact, c card.Contact, add bool) []card.Contact {
	role := card.CanonicalRole(c.Role)
	out := []card.Contact{}
	placed := false
	for _, x := range contacts {
		same := card.CanonicalRole(x.Role) == role && (!add || x.Name == c.Name)
		if !same {
			out = append(out, x)
			continue
		}
		if !placed {
			out = append(out, c)
			placed = true
		}
	}
	if !placed {
		out = append(out, c)
	}
	return out
}

// Remove returns contacts without the role's (any of its aliases too), or
// only the one named name when name is given, and how many it removed.
// role may be any token, so that the roles of older cards can be removed.
func Remove(contacts []card.Contact, role, name string) ([]card.Contact, int) {
	role = card.CanonicalRole(role)
	out := []card.Contact{}
	n := 0
	for _, x := range contacts {
		if card.CanonicalRole(x.Role) == role && (name == "" || x.Name == name) {
			n++
			continue
		}
		out = append(out, x)
	}
	return out, n
}
