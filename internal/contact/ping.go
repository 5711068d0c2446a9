// Package contact is the points-of-contact directory and its ping
// workflow. Each node publishes, on its signed node card (package card),
// who answers for each role — CSIRT 24/7, law-enforcement 24/7 (Budapest
// Convention Art. 35), diplomatic and policy (UN and OSCE confidence-
// building measures), technical, crisis liaison — with their languages,
// hours and channels. The directory (Build) is this node's contacts and
// those on every pinned peer's card, with what the pings showed.
//
// A ping asks a partner's point of contact for a role to answer, by a
// person, before a deadline, as the ping tests of the UN points-of-contact
// directory do: the case is an x-entraide-ping (declared by Extension) with
// the role, an optional message, the answer_by deadline and, usually, a
// challenge — a short random code the answering person types back, which
// proves a person read the ping rather than a machine acknowledging it.
// Its steps are x-entraide-step objects: "answer" by a pinged node (actor:
// the person; challenge_response: the code as they typed it; comment), and
// "close" by the pinging node. The first answer with the right code meets
// the deadline; answers with a wrong code are counted and shown, never
// taken for an answer.
package contact

import (
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// Type is the STIX type of a ping.
const Type = "x-entraide-ping"

// The actions of the ping workflow.
const (
	ActionAnswer = "answer"
	ActionClose  = "close"
)

// MaxAnswerWithin bounds a ping's deadline: a ping tests how fast a role
// answers, not whether it answers some day.
const MaxAnswerWithin = 30 * 24 * time.Hour

// AnswerWithin is the default deadline of a ping to a role: two hours for
// the round-the-clock roles (a 24/7 desk answers at any hour), a day for
// the crisis liaison (activated in a crisis, reachable the same day), three
// days for the diplomatic and technical contacts (office hours, time zones,
// week-ends).
func AnswerWithin(role string) time.Duration {
	switch card.CanonicalRole(role) {
	case card.RoleCSIRT24x7, card.RoleLE24x7:
		return 2 * time.Hour
	case card.RoleCrisisLiaison:
		return 24 * time.Hour
	}
	return 3 * 24 * time.Hour
}

//go:embed ping-v1.json
var schema []byte

// Extension declares x-entraide-ping.
var Extension = workflow.Extension{
	ID:   workflow.ExtensionID("https://entraide.example/schemas/ping-v1.json"),
	Name: "entraide-ping",
	Description: "A ping of a partner's point of contact for a role (CSIRT 24/7, law-enforcement 24/7, diplomatic, technical, " +
		"crisis liaison), to be answered by a person before a deadline, optionally echoing a challenge code.",
	SchemaURL: "https://entraide.example/schemas/ping-v1.json",
	Version:   "1.0",
	Type:      "new-sdo",
	Schema:    schema,
}

// Kind is the ping workflow.
var Kind = &workflow.Kind{
	Name:      "ping",
	CaseType:  Type,
	Extension: Extension,
	Actions:   []string{ActionAnswer, ActionClose},
	Open:      open,
	Act:       act,
	Allowed:   allowed,
	Fold:      fold,
	// A ping says who is on duty where: for the pinged organisation only,
	// unless the sender marks it otherwise.
	DefaultTLP: stix.TLPAmber,
}

// Input is what sending a ping takes (besides to, communities, tlp).
type Input struct {
	Role      string `json:"role"`
	Message   string `json:"message,omitempty"`
	AnswerBy  string `json:"answer_by,omitempty"` // a duration (2h) or a time; default AnswerWithin(role)
	Challenge string `json:"challenge,omitempty"` // NewChallenge's, or one of the sender's choosing; "" for none
}

// RoleInput checks a role as a person names it: a well-known role id or
// one of its aliases, returned as its id.
func RoleInput(s string) (card.Role, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if r, ok := card.LookupRole(s); ok {
		return r, nil
	}
	var want []string
	for _, r := range card.Roles {
		if r.Label == r.ID {
			want = append(want, r.ID)
		} else {
			want = append(want, fmt.Sprintf("%s (%s)", r.ID, r.Label))
		}
	}
	msg := fmt.Sprintf("role %q: want one of %s", s, strings.Join(want, ", "))
	if g := guessRole(s); g != "" {
		msg = fmt.Sprintf("role %q: did you mean %q? The roles are %s", s, g, strings.Join(want, ", "))
	}
	if s == "" {
		msg = "role is required: " + strings.Join(want, ", ")
	}
	return card.Role{}, workflow.Inputf("%s", msg)
}

// guessRole finds the role a mistyped one most likely meant: one whose id
// starts with, contains or is contained in what was typed ("csirt",
// "le", "police"), or is a few edits away.
func guessRole(s string) string {
	if s == "" {
		return ""
	}
	for _, r := range card.Roles {
		if strings.HasPrefix(r.ID, s) || strings.Contains(s, r.ID) {
			return r.ID
		}
	}
	synonyms := map[string]string{"police": card.RoleLE24x7, "law-enforcement": card.RoleLE24x7, "budapest": card.RoleLE24x7,
		"cert": card.RoleCSIRT24x7, "csirt": card.RoleCSIRT24x7, "policy": card.RoleDiplomatic, "diplomacy": card.RoleDiplomatic,
		"crisis": card.RoleCrisisLiaison, "liaison": card.RoleCrisisLiaison, "tech": card.RoleTechnical}
	for k, id := range synonyms {
		if strings.Contains(s, k) {
			return id
		}
	}
	best, bestD := "", 3
	for _, r := range card.Roles {
		if d := editDistance(s, r.ID); d < bestD {
			best, bestD = r.ID, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var challengeRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{2,30}[A-Z0-9]$`)

// challengeAlphabet is Crockford's base32: no I, L, O or U, nothing
// ambiguous read aloud or copied by hand.
const challengeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewChallenge draws a challenge from r (crypto/rand.Reader outside
// tests): 8 characters of Crockford's base32, 40 bits, as "7KQ2-M9XD".
func NewChallenge(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("drawing a challenge: %w", err)
	}
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, challengeAlphabet[c&31])
	}
	return string(out), nil
}

// ChallengeInput checks a challenge of the sender's choosing and returns it
// as the ping carries it (upper case).
func ChallengeInput(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !challengeRE.MatchString(c) || strings.Contains(c, "--") {
		return "", workflow.Inputf("challenge %q: use 4 to 32 letters and digits, hyphens between them (e.g. 7KQ2-M9XD)", s)
	}
	return c, nil
}

// MatchChallenge reports whether typed is the challenge: case, spaces and
// hyphens do not matter, and O, I and L are read as 0, 1 and 1, as in
// Crockford's base32 — what a person copies by hand or hears on the phone.
func MatchChallenge(challenge, typed string) bool {
	n := normalizeChallenge(typed)
	return n != "" && n == normalizeChallenge(challenge)
}

func normalizeChallenge(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		case 'o', 'O':
			return '0'
		case 'i', 'I', 'l', 'L':
			return '1'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func open(env *workflow.Env, in json.RawMessage) (workflow.Draft, error) {
	var i Input
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	role, err := RoleInput(i.Role)
	if err != nil {
		return workflow.Draft{}, err
	}
	msg, err := workflow.Text("message", i.Message, false, 2000)
	if err != nil {
		return workflow.Draft{}, err
	}
	by, err := env.Deadline("answer_by", i.AnswerBy, AnswerWithin(role.ID))
	if err != nil {
		return workflow.Draft{}, err
	}
	if by.Sub(env.Now) > MaxAnswerWithin {
		return workflow.Draft{}, workflow.Inputf("answer_by: %s is more than 30 days away: a ping tests how fast a contact answers", workflow.Timestamp(by))
	}
	props := map[string]any{
		"name":      "Ping of the " + role.Label + " point of contact",
		"role":      role.ID,
		"answer_by": workflow.Timestamp(by),
	}
	if msg != "" {
		props["message"] = msg
	}
	if i.Challenge != "" {
		c, err := ChallengeInput(i.Challenge)
		if err != nil {
			return workflow.Draft{}, err
		}
		props["challenge"] = c
	}
	return workflow.Draft{Props: props}, nil
}

// AnswerInput is what answering a ping takes; closing takes a comment only.
type AnswerInput struct {
	Challenge string `json:"challenge,omitempty"` // the code as the person read it
	Comment   string `json:"comment,omitempty"`
}

func act(env *workflow.Env, c *workflow.Case, st *workflow.State, action string, in json.RawMessage) (workflow.Draft, error) {
	var i AnswerInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	comment, err := workflow.Text("comment", i.Comment, false, 2000)
	if err != nil {
		return workflow.Draft{}, err
	}
	v, _ := st.View.(View)
	if v.ClosedAt != nil {
		return workflow.Draft{}, workflow.Inputf("the ping was closed by its sender on %s: no answer is expected", workflow.Timestamp(*v.ClosedAt))
	}
	props := map[string]any{}
	if comment != "" {
		props["comment"] = comment
	}
	switch action {
	case ActionAnswer:
		for _, r := range v.Recipients {
			if r.Node == env.Self && r.AnsweredAt != nil {
				return workflow.Draft{}, workflow.Inputf("this node answered the ping already, on %s (%s)", workflow.Timestamp(*r.AnsweredAt), r.AnsweredBy)
			}
		}
		typed := strings.TrimSpace(i.Challenge)
		switch {
		case v.Challenge == "" && typed != "":
			return workflow.Draft{}, workflow.Inputf("this ping has no challenge: answer without one")
		case v.Challenge != "" && typed == "":
			return workflow.Draft{}, workflow.Inputf("this ping has a challenge: type back the code its message shows ('entraide poc show %s')", c.ID)
		case v.Challenge != "" && !MatchChallenge(v.Challenge, typed):
			return workflow.Draft{}, workflow.Inputf("challenge %q is not the ping's code: read it again ('entraide poc show %s')", typed, c.ID)
		}
		if typed != "" {
			props["challenge_response"] = typed
		}
	case ActionClose:
		if i.Challenge != "" {
			return workflow.Draft{}, workflow.Inputf("closing takes no challenge")
		}
		if !st.Open {
			return workflow.Draft{}, workflow.Inputf("the ping is %s: there is nothing to close", st.Status)
		}
	}
	return workflow.Draft{Props: props}, nil
}

func allowed(c *workflow.Case, node, action string) error {
	switch action {
	case ActionAnswer:
		if node == c.Origin {
			return fmt.Errorf("the sender of a ping does not answer it")
		}
	case ActionClose:
		if node != c.Origin {
			return fmt.Errorf("only the sender closes a ping")
		}
	}
	return nil
}

// View is a ping's state as show, list and the API present it.
type View struct {
	Role       string      `json:"role"`
	RoleLabel  string      `json:"role_label"`
	Message    string      `json:"message,omitempty"`
	Challenge  string      `json:"challenge,omitempty"`
	Sent       time.Time   `json:"sent"`
	AnswerBy   time.Time   `json:"answer_by"`
	Recipients []Recipient `json:"recipients"`
	Answered   int         `json:"answered"`
	ClosedAt   *time.Time  `json:"closed_at,omitempty"`
	CloseNote  string      `json:"close_comment,omitempty"`
}

// Recipient is one pinged node and its answer.
type Recipient struct {
	Node       string     `json:"node"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	AnsweredBy string     `json:"answered_by,omitempty"` // the person, as their node names them
	// ResponseSeconds is how long the answer took from the ping's sending
	// (by the two nodes' clocks; never negative).
	ResponseSeconds *int64 `json:"response_seconds,omitempty"`
	OnTime          bool   `json:"on_time"`
	Comment         string `json:"comment,omitempty"`
	// WrongChallenge counts answers whose code was not the ping's: left
	// out, but shown (a node that does not check the code, or a guess).
	WrongChallenge int `json:"wrong_challenge,omitempty"`
}

// ResponseTime is the recipient's response time; 0 without an answer.
func (r Recipient) ResponseTime() time.Duration {
	if r.ResponseSeconds == nil {
		return 0
	}
	return time.Duration(*r.ResponseSeconds) * time.Second
}

func fold(c *workflow.Case, steps []workflow.Step) workflow.State {
	v := View{Sent: c.Created, Recipients: []Recipient{}}
	c.Get("role", &v.Role)
	if r, ok := card.LookupRole(v.Role); ok {
		v.RoleLabel = r.Label
	} else {
		v.RoleLabel = v.Role
	}
	c.Get("message", &v.Message)
	c.Get("challenge", &v.Challenge)
	var by string
	c.Get("answer_by", &by)
	v.AnswerBy, _ = time.Parse(time.RFC3339Nano, by)
	var title string
	c.Get("name", &title)
	idx := map[string]int{}
	for _, r := range c.Recipients {
		if _, dup := idx[r]; dup {
			continue
		}
		idx[r] = len(v.Recipients)
		v.Recipients = append(v.Recipients, Recipient{Node: r})
	}
	for _, s := range steps {
		switch s.Action {
		case ActionAnswer:
			i, ok := idx[s.Node]
			if !ok || v.ClosedAt != nil && s.At.After(*v.ClosedAt) {
				continue // not a pinged node; or after the close
			}
			r := &v.Recipients[i]
			if r.AnsweredAt != nil {
				continue // the first answer counts
			}
			if v.Challenge != "" {
				var typed string
				s.Get("challenge_response", &typed)
				if !MatchChallenge(v.Challenge, typed) {
					r.WrongChallenge++
					continue
				}
			}
			at := s.At
			secs := int64(max(at.Sub(v.Sent), 0) / time.Second)
			r.AnsweredAt, r.AnsweredBy, r.ResponseSeconds = &at, s.Actor, &secs
			r.OnTime = !at.After(v.AnswerBy)
			s.Get("comment", &r.Comment)
			v.Answered++
		case ActionClose:
			if v.ClosedAt == nil {
				at := s.At
				v.ClosedAt = &at
				s.Get("comment", &v.CloseNote)
			}
		}
	}
	st := workflow.State{Title: title, Severity: -1, View: v}
	if v.ClosedAt == nil {
		for _, r := range v.Recipients {
			st.Deadlines = append(st.Deadlines, workflow.Deadline{What: "answer the ping", Party: r.Node, Due: v.AnswerBy, DoneAt: r.AnsweredAt})
		}
	}
	n := len(v.Recipients)
	switch {
	case v.ClosedAt != nil:
		st.Status = fmt.Sprintf("closed (%d of %d answered)", v.Answered, n)
	case v.Answered == n && n == 1:
		r := v.Recipients[0]
		st.Status = "answered by " + r.AnsweredBy + " in " + ShortDuration(r.ResponseTime())
		if !r.OnTime {
			st.Status += ", late"
		}
	case v.Answered == n:
		st.Status = fmt.Sprintf("answered by all %d", n)
	case n == 1:
		st.Status, st.Open = "awaiting an answer", true
	default:
		st.Status, st.Open = fmt.Sprintf("awaiting %d of %d answers", n-v.Answered, n), true
	}
	return st
}

// ShortDuration writes a response time for people: 45s, 12m, 1h05m, 3d.
func ShortDuration(d time.Duration) string {
	switch {
	case d >= 72*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
}
