// Package alert is the alert workflow of the network of national and
// cross-border cyber hubs: a node sends an alert (title, description,
// common severity, NIS2 sectors, countries, references, an acknowledgement
// deadline) to peers or communities; each recipient's node records its
// machine receipt at once (the sender sees the delivery time of each), and
// a person there acknowledges with an answer — affected, not affected,
// investigating — and a comment, which flows back to the sender. An
// acknowledgement not made by the deadline is overdue. A recipient may
// acknowledge again (investigating, then affected): the latest answer
// counts, the first acknowledgement meets the deadline. The sender may
// close the alert.
//
// Acknowledgements go to the sender alone, so what is due on whom depends
// on who looks: the sender tracks every recipient's acknowledgement; a
// recipient tracks its own and shows the others' as not known here
// (Recipient.Known).
//
// Objects: the case is an x-entraide-alert (declared by Extension); its
// steps are x-entraide-step with transition "ack" (answer, comment) or "close"
// (comment).
package alert

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/entraide/entraide/internal/workflow"
)

// Type is the STIX type of an alert.
const Type = "x-entraide-alert"

// The actions of the workflow.
const (
	ActionAck   = "ack"
	ActionClose = "close"
)

// Answers a recipient gives.
var Answers = []string{"affected", "not-affected", "investigating"}

// DefaultAckWithin is the acknowledgement deadline when none is given.
const DefaultAckWithin = 24 * time.Hour

//go:embed alert-v1.json
var schema []byte

// Extension declares x-entraide-alert.
var Extension = workflow.Extension{
	ID:   workflow.ExtensionID("https://entraide.example/schemas/alert-v1.json"),
	Name: "entraide-alert",
	Description: "An alert between national and cross-border cyber hubs: name, description, common severity (0–5) " +
		"and the sender's national level, NIS2 sectors, countries, references, recipients and the acknowledgement deadline.",
	SchemaURL: "https://entraide.example/schemas/alert-v1.json",
	Version:   "1.0",
	Type:      "new-sdo",
	Schema:    schema,
}

// Kind is the alert workflow.
var Kind = &workflow.Kind{
	Name:      "alert",
	CaseType:  Type,
	Extension: Extension,
	Actions:   []string{ActionAck, ActionClose},
	Open:      open,
	Act:       act,
	Allowed:   allowed,
	Fold:      fold,
}

// Input is what opening an alert takes (besides to, communities, tlp).
type Input struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Severity         string   `json:"severity,omitempty"`          // 0–5 or a name
	NationalSeverity string   `json:"national_severity,omitempty"` // a level of the node's national scale
	Sectors          []string `json:"sectors,omitempty"`
	Countries        []string `json:"countries,omitempty"`
	Refs             []string `json:"refs,omitempty"`   // STIX ids: indicators, reports, incidents, …
	AckBy            string   `json:"ack_by,omitempty"` // a duration (4h) or a time; default 24h
}

func open(env *workflow.Env, in json.RawMessage) (workflow.Draft, error) {
	var i Input
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	title, err := workflow.Text("title", i.Title, true, 300)
	if err != nil {
		return workflow.Draft{}, err
	}
	desc, err := workflow.Text("description", i.Description, false, 20000)
	if err != nil {
		return workflow.Draft{}, err
	}
	props, _, err := env.Severity(i.Severity, i.NationalSeverity, true)
	if err != nil {
		return workflow.Draft{}, err
	}
	sectors, err := workflow.Sectors(i.Sectors)
	if err != nil {
		return workflow.Draft{}, err
	}
	countries, err := workflow.Countries(i.Countries)
	if err != nil {
		return workflow.Draft{}, err
	}
	refs, err := workflow.Refs(i.Refs)
	if err != nil {
		return workflow.Draft{}, err
	}
	ackBy, err := env.Deadline("ack_by", i.AckBy, DefaultAckWithin)
	if err != nil {
		return workflow.Draft{}, err
	}
	props["name"] = title
	if desc != "" {
		props["description"] = desc
	}
	// STIX lists are never empty: an absent list means none.
	if len(sectors) > 0 {
		props["sectors"] = sectors
	}
	if len(countries) > 0 {
		props["countries"] = countries
	}
	if len(refs) > 0 {
		props["object_refs"] = refs
	}
	props["ack_by"] = workflow.Timestamp(ackBy)
	return workflow.Draft{Props: props}, nil
}

// AckInput is what acknowledging takes; CloseInput what closing takes.
type AckInput struct {
	Answer  string `json:"answer"`
	Comment string `json:"comment,omitempty"`
}

func act(env *workflow.Env, c *workflow.Case, st *workflow.State, action string, in json.RawMessage) (workflow.Draft, error) {
	var i AckInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	comment, err := workflow.Text("comment", i.Comment, false, 5000)
	if err != nil {
		return workflow.Draft{}, err
	}
	if !st.Open {
		return workflow.Draft{}, workflow.Inputf("the alert is %s", st.Status)
	}
	props := map[string]any{}
	if comment != "" {
		props["comment"] = comment
	}
	switch action {
	case ActionAck:
		if !validAnswer(i.Answer) {
			return workflow.Draft{}, workflow.Inputf("answer %q: want affected, not-affected or investigating", i.Answer)
		}
		props["answer"] = i.Answer
	case ActionClose:
		if i.Answer != "" {
			return workflow.Draft{}, workflow.Inputf("closing takes no answer")
		}
	}
	return workflow.Draft{Props: props}, nil
}

func validAnswer(a string) bool {
	for _, x := range Answers {
		if a == x {
			return true
		}
	}
	return false
}

func allowed(c *workflow.Case, node, action string) error {
	switch action {
	case ActionAck:
		if node == c.Origin {
			return fmt.Errorf("the sender of an alert does not acknowledge it")
		}
	case ActionClose:
		if node != c.Origin {
			return fmt.Errorf("only the sender closes an alert")
		}
	}
	return nil
}

// View is the alert's state as show and the API present it.
type View struct {
	Severity         int             `json:"severity"`
	NationalSeverity json.RawMessage `json:"national_severity,omitempty"`
	Sectors          []string        `json:"sectors"`
	Countries        []string        `json:"countries"`
	Refs             []string        `json:"refs"`
	AckBy            time.Time       `json:"ack_by"`
	Recipients       []Recipient     `json:"recipients"`
	// Acknowledged counts the recipients whose acknowledgement this node
	// holds: all of them on the sender; on a recipient, itself at most
	// (see Recipient.Known).
	Acknowledged int `json:"acknowledged"`
	// Unknown counts the recipients whose acknowledgements do not reach
	// this node (0 on the sender).
	Unknown int `json:"unknown"`
	// Sent is whether this node sent the alert (and so tracks every
	// recipient's acknowledgement).
	Sent     bool       `json:"sent"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
}

// Recipient is one recipient's acknowledgement.
type Recipient struct {
	Node string `json:"node"`
	// Known is whether this node learns this recipient's acknowledgements:
	// always on the sender (acknowledgements go to it) and for the
	// recipient itself; for another recipient only when one of its
	// acknowledgements reached this node, which the workflow does not do
	// (they go to the sender alone). On a recipient, another recipient's
	// answer is therefore "not known here", never "not given", and its
	// deadline is not this node's to track.
	Known          bool       `json:"known"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"` // the first acknowledgement
	Answer         string     `json:"answer,omitempty"`          // the latest answer
	Comment        string     `json:"comment,omitempty"`
	Actor          string     `json:"actor,omitempty"`
	AnsweredAt     *time.Time `json:"answered_at,omitempty"` // the latest acknowledgement
}

// fold computes the alert's state as the node that folds it (the case's
// Viewer) can know it. The sender receives every acknowledgement: it
// tracks each recipient's deadline. A recipient receives the sender's
// steps and none of the other recipients' acknowledgements: it tracks its
// own deadline only — the others' are theirs and the sender's, and would
// stay open (and overdue in its status) here for want of news.
func fold(c *workflow.Case, in []workflow.Step) workflow.State {
	steps := workflow.Ordered(in)
	v := View{Severity: -1, Sectors: []string{}, Countries: []string{}, Refs: []string{}, Recipients: []Recipient{}}
	c.Get("common_severity", &v.Severity)
	c.Get("national_severity", &v.NationalSeverity)
	c.Get("sectors", &v.Sectors)
	c.Get("countries", &v.Countries)
	c.Get("object_refs", &v.Refs)
	var ackBy string
	c.Get("ack_by", &ackBy)
	v.AckBy, _ = time.Parse(time.RFC3339Nano, ackBy)
	var title string
	c.Get("name", &title)
	viewer := c.ViewedBy()
	sender := viewer == c.Origin
	v.Sent = sender
	idx := map[string]int{}
	for _, r := range c.Recipients {
		if _, dup := idx[r]; dup || r == c.Origin {
			continue
		}
		idx[r] = len(v.Recipients)
		v.Recipients = append(v.Recipients, Recipient{Node: r, Known: sender || r == viewer})
	}
	for _, s := range steps {
		switch s.Action {
		case ActionAck:
			i, ok := idx[s.Node]
			if !ok {
				continue // a party added later; alerts add none
			}
			r := &v.Recipients[i]
			r.Known = true
			at := s.At
			if r.AcknowledgedAt == nil {
				r.AcknowledgedAt = &at
				v.Acknowledged++
			}
			r.AnsweredAt, r.Actor = &at, s.Actor
			r.Answer = ""
			s.Get("answer", &r.Answer)
			r.Comment = ""
			s.Get("comment", &r.Comment)
		case ActionClose:
			if v.ClosedAt == nil {
				at := s.At
				v.ClosedAt = &at
			}
		}
	}
	for _, r := range v.Recipients {
		if !r.Known {
			v.Unknown++
		}
	}
	st := workflow.State{Title: title, Severity: v.Severity, View: v}
	var own *Recipient
	for i, r := range v.Recipients {
		if sender || r.Node == viewer {
			st.Deadlines = append(st.Deadlines, workflow.Deadline{What: "acknowledge", Party: r.Node, Due: v.AckBy, DoneAt: r.AcknowledgedAt})
		}
		if r.Node == viewer {
			own = &v.Recipients[i]
		}
	}
	switch {
	case v.ClosedAt != nil:
		st.Status, st.Open = "closed", false
	case !sender && own == nil:
		st.Status, st.Open = "received", true // a node that holds the alert without being a recipient
	case !sender && own.AcknowledgedAt == nil:
		st.Status, st.Open = "awaiting this node's acknowledgement", true
	case !sender:
		st.Status, st.Open = "acknowledged by this node", true
	case v.Acknowledged == len(v.Recipients):
		st.Status, st.Open = "acknowledged", true
	default:
		st.Status, st.Open = fmt.Sprintf("awaiting %d of %d acknowledgements", len(v.Recipients)-v.Acknowledged, len(v.Recipients)), true
	}
	return st
}
