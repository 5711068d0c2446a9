package contact_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/workflow"
)

func TestNewChallenge(t *testing.T) {
	a, err := contact.NewChallenge(bytes.NewReader([]byte("12345678")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := contact.NewChallenge(bytes.NewReader([]byte("12345678")))
	if a != b || !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`).MatchString(a) {
		t.Errorf("challenge %q, %q", a, b)
	}
	if _, err := contact.ChallengeInput(a); err != nil {
		t.Errorf("a drawn challenge is refused as input: %v", err)
	}
	x, _ := contact.NewChallenge(nil)
	y, _ := contact.NewChallenge(nil)
	if x == y {
		t.Errorf("two draws gave %q", x)
	}
	if _, err := contact.NewChallenge(bytes.NewReader([]byte("short"))); err == nil {
		t.Error("a short read gave a challenge")
	}
}

func TestMatchChallenge(t *testing.T) {
	for _, tc := range []struct {
		challenge, typed string
		want             bool
	}{
		{"7KQ2-M9XD", "7KQ2-M9XD", true},
		{"7KQ2-M9XD", "7kq2m9xd", true},
		{"7KQ2-M9XD", " 7kq2 m9xd ", true},
		{"K10Z-0000", "klOz-oooo", true}, // O read as 0, I and L as 1
		{"TALLINN-42", "ta11inn 42", true},
		{"7KQ2-M9XD", "7KQ2-M9X", false},
		{"7KQ2-M9XD", "7KQ2-M9XE", false},
		{"7KQ2-M9XD", "", false},
		{"", "", false},
	} {
		if got := contact.MatchChallenge(tc.challenge, tc.typed); got != tc.want {
			t.Errorf("MatchChallenge(%q, %q) = %v", tc.challenge, tc.typed, got)
		}
	}
}

func TestAnswerWithin(t *testing.T) {
	for role, want := range map[string]time.Duration{
		"csirt-24x7": 2 * time.Hour, "le-24x7": 2 * time.Hour, "budapest-24x7": 2 * time.Hour,
		"crisis-liaison": 24 * time.Hour, "diplomatic": 72 * time.Hour, "technical": 72 * time.Hour,
	} {
		if got := contact.AnswerWithin(role); got != want {
			t.Errorf("%s: %v, want %v", role, got, want)
		}
	}
}

func TestSpec(t *testing.T) {
	good := contact.Spec{Role: "CSIRT-24x7", Name: " Duty officer ", Unit: "Operations", Email: "duty@fr.example",
		Languages: []string{"FR", "en", "fr", "pt_br"}, Hours: "mon-fri 8:00 - 18:00, sat 9:00-12:00 Europe/Paris",
		Channels: []string{"SMS=+33 6 12 34 56 78", "pgp=0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567", "sms=+33 6 12 34 56 78"}}
	c, err := good.Contact()
	if err != nil {
		t.Fatal(err)
	}
	want := card.Contact{Role: "csirt-24x7", Name: "Duty officer", Unit: "Operations", Email: "duty@fr.example",
		Languages: []string{"fr", "en", "pt-BR"}, Hours: "Mon-Fri 08:00-18:00, Sat 09:00-12:00 Europe/Paris",
		Channels: []card.Channel{{Type: "sms", Value: "+33 6 12 34 56 78"}, {Type: "pgp", Value: "0123456789ABCDEF0123456789ABCDEF01234567"}}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("contact\n%+v\nwant\n%+v", c, want)
	}
	if c, err := (contact.Spec{Role: "budapest-24x7", Name: "Desk", Phone: "+33 1 23 45 67 89"}).Contact(); err != nil || c.Role != "le-24x7" {
		t.Errorf("alias: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		name string
		edit func(*contact.Spec)
		want string
	}{
		{"no role", func(s *contact.Spec) { s.Role = "" }, "role is required"},
		{"old role token", func(s *contact.Spec) { s.Role = "liaison" }, `role "liaison": did you mean "crisis-liaison"?`},
		{"no name", func(s *contact.Spec) { s.Name = " " }, "name is required"},
		{"no email or phone", func(s *contact.Spec) { s.Email = "" }, "give an email or a phone"},
		{"bad email", func(s *contact.Spec) { s.Email = "Duty <duty@fr.example>" }, "want a bare address"},
		{"bad phone", func(s *contact.Spec) { s.Phone = "01 23 45 67 89" }, "international form"},
		{"bad language", func(s *contact.Spec) { s.Languages = []string{"french"} }, `"french" is not an ISO 639-1 language code`},
		{"three-letter language", func(s *contact.Spec) { s.Languages = []string{"fra"} }, "not a three-letter one"},
		{"bad hours", func(s *contact.Spec) { s.Hours = "office hours" }, "hours: "},
		{"abbreviated zone", func(s *contact.Spec) { s.Hours = "Mon-Fri 08:00-18:00 CET" }, `time zone "CET"`},
		{"unknown zone", func(s *contact.Spec) { s.Hours = "Mon-Fri 08:00-18:00 Europe/Atlantis" }, `"Europe/Atlantis" is not in the IANA time-zone database`},
		{"channel without type", func(s *contact.Spec) { s.Channels = []string{"+33 6 12 34 56 78"} }, "want TYPE=VALUE"},
		{"channel type", func(s *contact.Spec) { s.Channels = []string{"telegram=@duty"} }, `channel type "telegram"`},
		{"channel value", func(s *contact.Spec) { s.Channels = []string{"web=http://fr.example/"} }, "not an absolute https URL"},
		{"unit too long", func(s *contact.Spec) { s.Unit = strings.Repeat("u", 300) }, "unit: 300 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			_, err := s.Contact()
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want an input error with %q", err, tc.want)
			}
		})
	}
}

// FuzzSpec: Spec.Contact never panics; what it accepts passes the card's
// rules, and giving it back its own output changes nothing.
func FuzzSpec(f *testing.F) {
	f.Add("csirt-24x7", "Duty", "duty@fr.example", "FR,en", "mon-fri 8:00-18:00 Europe/Paris", "pgp=0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567")
	f.Add("budapest-24x7", "Desk", "", "pt_br", "24x7", "signal=duty.42")
	f.Add("x", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, role, name, email, langs, hours, channel string) {
		s := contact.Spec{Role: role, Name: name, Email: email, Phone: "+33 1 23 45 67 89", Hours: hours}
		if langs != "" {
			s.Languages = strings.Split(langs, ",")
		}
		if channel != "" {
			s.Channels = []string{channel}
		}
		c, err := s.Contact()
		if err != nil {
			if !errors.Is(err, workflow.ErrInput) {
				t.Fatalf("error without ErrInput: %v", err)
			}
			return
		}
		if err := card.CheckContact(c); err != nil {
			t.Fatalf("accepted %+v that the card refuses: %v", c, err)
		}
		again := contact.Spec{Role: c.Role, Name: c.Name, Unit: c.Unit, Email: c.Email, Phone: c.Phone, Languages: c.Languages, Hours: c.Hours}
		for _, ch := range c.Channels {
			again.Channels = append(again.Channels, ch.Type+"="+ch.Value)
		}
		c2, err := again.Contact()
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("%+v → %+v, %v", c, c2, err)
		}
	})
}

func TestSetAndRemove(t *testing.T) {
	csirt := card.Contact{Role: "csirt-24x7", Name: "Duty", Email: "duty@fr.example"}
	old := card.Contact{Role: "budapest-24x7", Name: "OFAC", Email: "ofac@fr.example"}
	liaison := card.Contact{Role: "liaison", Name: "Liaison", Email: "l@fr.example"}
	cs := []card.Contact{csirt, old, liaison}

	le := card.Contact{Role: "le-24x7", Name: "OFAC 24/7", Email: "ofac-24x7@fr.example"}
	got := contact.Set(cs, le, false)
	if !reflect.DeepEqual(got, []card.Contact{csirt, le, liaison}) {
		t.Errorf("set replaces the role's contacts, aliases included, in place: %+v", got)
	}
	backup := card.Contact{Role: "le-24x7", Name: "OFAC backup", Phone: "+33 1 23 45 67 89"}
	got = contact.Set(got, backup, true)
	if !reflect.DeepEqual(got, []card.Contact{csirt, le, liaison, backup}) {
		t.Errorf("add appends: %+v", got)
	}
	le2 := le
	le2.Phone = "+33 1 00 00 00 00"
	got = contact.Set(got, le2, true)
	if !reflect.DeepEqual(got, []card.Contact{csirt, le2, liaison, backup}) {
		t.Errorf("add replaces the contact of the same name: %+v", got)
	}
	if r, n := contact.Remove(got, "le-24x7", "OFAC backup"); n != 1 || !reflect.DeepEqual(r, []card.Contact{csirt, le2, liaison}) {
		t.Errorf("remove by name: %d, %+v", n, r)
	}
	if r, n := contact.Remove(got, "budapest-24x7", ""); n != 2 || !reflect.DeepEqual(r, []card.Contact{csirt, liaison}) {
		t.Errorf("remove a role by its alias: %d, %+v", n, r)
	}
	if r, n := contact.Remove(got, "liaison", ""); n != 1 || len(r) != 3 {
		t.Errorf("remove an old role token: %d, %+v", n, r)
	}
	if _, n := contact.Remove(got, "diplomatic", ""); n != 0 {
		t.Errorf("removed %d of a role with none", n)
	}
	if got := contact.Set(nil, csirt, false); !reflect.DeepEqual(got, []card.Contact{csirt}) {
		t.Errorf("set on none: %+v", got)
	}
}

// Kind.Fold, step by step: the first answer with the right code counts, a
// wrong code is counted apart, a late answer is late, an answer after the
// close is left out, and a ping to two nodes waits on the one not answered.
func TestFold(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	props := map[string]json.RawMessage{"name": raw(`"Ping of the CSIRT 24/7 point of contact"`), "role": raw(`"csirt-24x7"`),
		"challenge": raw(`"7KQ2-M9XD"`), "answer_by": raw(`"2026-12-02T11:00:00.000Z"`)}
	c := &workflow.Case{ID: "x-entraide-ping--1", Origin: "identity--fr", Created: t0, Recipients: []string{"identity--de", "identity--ee"}, Props: props}
	answer := func(node, actor, code string, at time.Duration) workflow.Step {
		return workflow.Step{Node: node, Actor: actor, Action: contact.ActionAnswer, At: t0.Add(at),
			Props: map[string]json.RawMessage{"challenge_response": raw(`"` + code + `"`)}}
	}
	closing := func(at time.Duration) workflow.Step {
		return workflow.Step{Node: "identity--fr", Actor: "alice", Action: contact.ActionClose, At: t0.Add(at), Props: map[string]json.RawMessage{}}
	}
	fold := func(steps ...workflow.Step) (workflow.State, contact.View) {
		st := contact.Kind.Fold(c, steps)
		return st, st.View.(contact.View)
	}

	st, v := fold()
	if !st.Open || st.Status != "awaiting 2 of 2 answers" || len(st.Deadlines) != 2 || v.Challenge != "7KQ2-M9XD" || v.RoleLabel != "CSIRT 24/7" {
		t.Fatalf("no steps: %+v %+v", st, v)
	}
	st, v = fold(answer("identity--de", "bot", "WRONG", time.Minute), answer("identity--de", "petra", "7kq2m9xd", 5*time.Minute),
		answer("identity--de", "petra", "7KQ2-M9XD", 6*time.Minute))
	de := v.Recipients[0]
	if de.WrongChallenge != 1 || de.AnsweredBy != "petra" || de.ResponseTime() != 5*time.Minute || !de.OnTime || v.Answered != 1 ||
		st.Status != "awaiting 1 of 2 answers" || st.Deadlines[0].DoneAt == nil || st.Deadlines[1].DoneAt != nil {
		t.Fatalf("de answered: %+v %+v", st, v)
	}
	st, v = fold(answer("identity--de", "petra", "7KQ2-M9XD", 5*time.Minute), answer("identity--ee", "eve", "7KQ2-M9XD", 3*time.Hour))
	if ee := v.Recipients[1]; ee.OnTime || ee.AnsweredAt == nil || st.Open || st.Status != "answered by all 2" {
		t.Fatalf("ee answered late: %+v %+v", st, v)
	}
	st, v = fold(answer("identity--de", "petra", "7KQ2-M9XD", 5*time.Minute), closing(time.Hour), answer("identity--ee", "eve", "7KQ2-M9XD", 90*time.Minute))
	if v.Answered != 1 || v.ClosedAt == nil || st.Open || st.Status != "closed (1 of 2 answered)" || len(st.Deadlines) != 0 {
		t.Fatalf("answer after the close: %+v %+v", st, v)
	}
	// A step from a node that is not a recipient (the engine leaves those
	// out before; the fold does not trust it).
	_, v = fold(answer("identity--lv", "mallory", "7KQ2-M9XD", time.Minute))
	if v.Answered != 0 {
		t.Fatalf("a non-recipient's answer counted: %+v", v)
	}
	// One recipient: the status says who answered and how fast.
	c.Recipients = []string{"identity--de"}
	st, _ = fold(answer("identity--de", "Petra Weber", "7KQ2-M9XD", 65*time.Minute))
	if st.Status != "answered by Petra Weber in 1h05m" {
		t.Errorf("status %q", st.Status)
	}
	st, _ = fold(answer("identity--de", "Petra Weber", "7KQ2-M9XD", 3*time.Hour))
	if st.Status != "answered by Petra Weber in 3h00m, late" {
		t.Errorf("status %q", st.Status)
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestBuild(t *testing.T) {
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC) // a Thursday
	self, de := "identity--fr", "identity--de"
	nodes := []contact.Node{
		{ID: self, Name: "cert-fr", Self: true, Contacts: []card.Contact{
			{Role: "csirt-24x7", Name: "Duty", Email: "duty@fr.example", Hours: "24/7"}}},
		{ID: de, Name: "cert-de", CardIssued: now.Add(-24 * time.Hour), Contacts: []card.Contact{
			{Role: "liaison", Name: "Old liaison", Email: "l@de.example"},
			{Role: "budapest-24x7", Name: "BKA", Email: "24x7@de.example", Hours: "Mon-Fri 08:00-12:00 Europe/Berlin"},
			{Role: "csirt-24x7", Name: "CERT-Bund", Email: "cert@de.example", Hours: "Mon-Fri 08:00-18:00 Europe/Atlantis"},
		}},
	}
	secs := func(n int64) *int64 { return &n }
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	ping := func(id, origin, role string, sent, by time.Duration, r contact.Recipient, closed *time.Time) contact.Ping {
		return contact.Ping{ID: id, Origin: origin, View: contact.View{Role: role, Sent: now.Add(sent), AnswerBy: now.Add(by), Recipients: []contact.Recipient{r}, ClosedAt: closed}}
	}
	pings := []contact.Ping{
		ping("p1", self, "le-24x7", -72*time.Hour, -70*time.Hour, contact.Recipient{Node: de, AnsweredAt: at(-72*time.Hour + 10*time.Minute), AnsweredBy: "a", ResponseSeconds: secs(600), OnTime: true}, nil),
		ping("p2", self, "le-24x7", -48*time.Hour, -46*time.Hour, contact.Recipient{Node: de, AnsweredAt: at(-48*time.Hour + 20*time.Minute), AnsweredBy: "b", ResponseSeconds: secs(1200), OnTime: true}, nil),
		ping("p3", self, "le-24x7", -24*time.Hour, -22*time.Hour, contact.Recipient{Node: de, AnsweredAt: at(-20 * time.Hour), AnsweredBy: "c", ResponseSeconds: secs(4 * 3600)}, nil),
		ping("p4", self, "le-24x7", -12*time.Hour, -10*time.Hour, contact.Recipient{Node: de}, nil),
		ping("p5", self, "le-24x7", -2*time.Hour, -1*time.Hour, contact.Recipient{Node: de}, at(-90*time.Minute)), // closed before its deadline
		ping("p6", self, "le-24x7", -time.Hour, time.Hour, contact.Recipient{Node: de}, nil),                      // pending: the latest
		ping("p7", self, "diplomatic", -time.Hour, 71*time.Hour, contact.Recipient{Node: de}, nil),                // a role de lists no contact for
		ping("p8", de, "csirt-24x7", -3*time.Hour, -time.Hour, contact.Recipient{Node: self, AnsweredAt: at(-170 * time.Minute), AnsweredBy: "fr duty", ResponseSeconds: secs(600), OnTime: true}, nil),
		ping("p9", "identity--ee", "technical", -time.Hour, time.Hour, contact.Recipient{Node: "identity--lv"}, nil), // neither sent nor pinged here
	}
	d := contact.Build(nodes, pings, now)
	if len(d.Nodes) != 2 || !d.At.Equal(now) {
		t.Fatalf("%+v", d)
	}
	fr, dd := d.Nodes[0], d.Nodes[1]
	var roles []string
	for _, r := range dd.Roles {
		roles = append(roles, r.Role)
	}
	if !reflect.DeepEqual(roles, []string{"csirt-24x7", "le-24x7", "diplomatic", "liaison"}) {
		t.Fatalf("de's roles %v: the well-known first, in order, then the others", roles)
	}
	if !reflect.DeepEqual(dd.MissingRoles, []string{"diplomatic", "technical", "crisis-liaison"}) || dd.CardIssued == nil {
		t.Errorf("de: missing %v, card issued %v", dd.MissingRoles, dd.CardIssued)
	}
	csirt, le, dip, liaison := dd.Roles[0], dd.Roles[1], dd.Roles[2], dd.Roles[3]
	if csirt.Contacts[0].OnDuty != nil {
		t.Errorf("a zone this build does not know: on duty %v", *csirt.Contacts[0].OnDuty)
	}
	if !le.Known || le.Label != "law enforcement 24/7" || len(le.Contacts) != 1 || le.Contacts[0].Role != "budapest-24x7" ||
		le.Contacts[0].OnDuty == nil || *le.Contacts[0].OnDuty { // 13:00 in Berlin, after 12:00
		t.Errorf("de le-24x7: %+v", le)
	}
	st := le.Pings
	if st.Pings != 6 || st.Answered != 3 || st.OnTime != 2 || st.Missed != 2 || st.Pending != 1 || st.AnswerRate == nil || *st.AnswerRate != 0.5 ||
		*st.MedianResponseSeconds != 1200 || st.Last.ID != "p6" || st.Last.Status != "awaiting" {
		t.Errorf("de le-24x7 statistics: %+v (last %+v)", st, st.Last)
	}
	if len(dip.Contacts) != 0 || dip.Pings.Pings != 1 || dip.Pings.Pending != 1 {
		t.Errorf("a pinged role without contacts: %+v", dip)
	}
	if liaison.Known || liaison.Label != "liaison" || liaison.Pings.Pings != 0 || liaison.Pings.Last != nil {
		t.Errorf("an old role token: %+v", liaison)
	}
	if len(fr.Roles) != 1 || !fr.Self || fr.CardIssued != nil {
		t.Fatalf("this node: %+v", fr)
	}
	own := fr.Roles[0]
	if own.Contacts[0].OnDuty == nil || !*own.Contacts[0].OnDuty || own.Pings.Pings != 1 || own.Pings.OnTime != 1 || own.Pings.Last.AnsweredBy != "fr duty" {
		t.Errorf("this node's own role, pinged by de: %+v", own)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}
