package card

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Contact is a point of contact of the node's organisation, published on
// its card: who answers for a role, in which languages, when, and how to
// reach them. The members after phone came with the points-of-contact
// directory; they are optional, so that the cards signed before it verify
// unchanged (an absent member is not part of the signed bytes).
type Contact struct {
	Role  string `json:"role"`            // a Roles id (csirt-24x7, le-24x7, …); older cards may carry other tokens
	Name  string `json:"name"`            // a person or a desk
	Unit  string `json:"unit,omitempty"`  // the organisational unit, e.g. "Operations centre"
	Email string `json:"email,omitempty"` // a bare address
	Phone string `json:"phone,omitempty"` // international form, "+33 1 23 45 67 89"
	// Languages are the languages the contact works in, as BCP 47 tags
	// limited to an ISO 639-1 language and an optional ISO 3166-1 region
	// ("en", "fr", "pt-BR"), in canonical case, most preferred first.
	Languages []string `json:"languages,omitempty"`
	// Hours are when the contact answers: "24/7", or a weekly schedule in
	// a time zone, "Mon-Fri 08:00-18:00 Europe/Paris" (see ParseHours).
	Hours string `json:"hours,omitempty"`
	// Channels are further ways to reach the contact (secure messaging,
	// SMS, an OpenPGP key for e-mail, …), most preferred first.
	Channels []Channel `json:"channels,omitempty"`
}

// Channel is one way to reach a contact besides its email and phone.
type Channel struct {
	Type  string `json:"type"`  // one of ChannelTypes
	Value string `json:"value"` // the address, number or fingerprint, in the type's canonical form
}

// Limits on a contact.
const (
	maxLanguages = 16
	maxChannels  = 8
)

var channelFields = jsonNames(Channel{})

// Role is a well-known role of a point of contact.
type Role struct {
	ID          string   `json:"id"`
	Label       string   `json:"label"`
	Description string   `json:"description"`
	Aliases     []string `json:"aliases,omitempty"` // ids older cards used for the same role
}

// The well-known roles.
const (
	RoleCSIRT24x7     = "csirt-24x7"
	RoleLE24x7        = "le-24x7"
	RoleDiplomatic    = "diplomatic"
	RoleTechnical     = "technical"
	RoleCrisisLiaison = "crisis-liaison"
)

// Roles are the roles the directory knows, in the order it lists them. A
// card may carry other role tokens (cards made before the directory did):
// they verify, and the directory lists them as they are.
var Roles = []Role{
	{ID: RoleCSIRT24x7, Label: "CSIRT 24/7",
		Description: "the national CSIRT's round-the-clock desk for incident handling and alerts"},
	{ID: RoleLE24x7, Label: "law enforcement 24/7", Aliases: []string{"budapest-24x7"},
		Description: "the 24/7 point of contact for urgent assistance in criminal investigations and the preservation of electronic evidence (Budapest Convention, Art. 35)"},
	{ID: RoleDiplomatic, Label: "diplomatic / policy",
		Description: "the diplomatic and policy point of contact for ICT security incidents (UN points-of-contact directory, OSCE confidence-building measures)"},
	{ID: RoleTechnical, Label: "technical",
		Description: "the technical point of contact (UN points-of-contact directory): network, malware and forensic questions between experts"},
	{ID: RoleCrisisLiaison, Label: "crisis liaison",
		Description: "the liaison of the national cyber crisis cell in large-scale incidents (CyCLONe-style crisis cooperation)"},
}

// LookupRole finds a well-known role by its id or one of its aliases.
func LookupRole(id string) (Role, bool) {
	for _, r := range Roles {
		if r.ID == id || slices.Contains(r.Aliases, id) {
			return r, true
		}
	}
	return Role{}, false
}

// CanonicalRole is the id of the well-known role id names (itself or an
// alias), or id unchanged when it names none.
func CanonicalRole(id string) string {
	if r, ok := LookupRole(id); ok {
		return r.ID
	}
	return id
}

// RoleIDs lists the ids of the well-known roles, for messages.
func RoleIDs() []string {
	ids := make([]string, len(Roles))
	for i, r := range Roles {
		ids[i] = r.ID
	}
	return ids
}

// ChannelType is a kind of channel and the form of its value.
type ChannelType struct {
	Type string `json:"type"`
	Form string `json:"form"` // what the value looks like, for help texts and errors
	// normalize returns the canonical form of a value, or an error.
	normalize func(string) (string, error)
}

// ChannelTypes are the channels a contact may list.
var ChannelTypes = []ChannelType{
	{"email", "a bare address, duty@example.org", normalizeEmail},
	{"phone", "a voice number in international form, +33 1 23 45 67 89", normalizePhone},
	{"sms", "a mobile number in international form, +33 6 12 34 56 78", normalizePhone},
	{"fax", "a fax number in international form", normalizePhone},
	{"signal", "a number in international form or a Signal username, duty.42", normalizeSignal},
	{"matrix", "a Matrix user id, @duty:matrix.example.org", normalizeMatrix},
	{"xmpp", "a Jabber id, duty@xmpp.example.org", normalizeXMPP},
	{"web", "an https URL (a portal or a reporting form)", normalizeWeb},
	{"pgp", "the OpenPGP key fingerprint for encrypted e-mail, 40 or 64 hex digits", normalizePGP},
}

// ChannelTypeIDs lists the channel types, for messages.
func ChannelTypeIDs() []string {
	ids := make([]string, len(ChannelTypes))
	for i, c := range ChannelTypes {
		ids[i] = c.Type
	}
	return ids
}

// NormalizeChannel checks a channel as a person typed it and returns it in
// the canonical form a card holds (a PGP fingerprint in capitals without
// spaces, …).
func NormalizeChannel(typ, value string) (Channel, error) {
	typ = strings.ToLower(strings.TrimSpace(typ))
	i := slices.IndexFunc(ChannelTypes, func(c ChannelType) bool { return c.Type == typ })
	if i < 0 {
		return Channel{}, fmt.Errorf("channel type %q: want one of %s", typ, strings.Join(ChannelTypeIDs(), ", "))
	}
	v, err := ChannelTypes[i].normalize(strings.TrimSpace(value))
	if err != nil {
		return Channel{}, fmt.Errorf("%s channel %q: %v; want %s", typ, value, err, ChannelTypes[i].Form)
	}
	return Channel{Type: typ, Value: v}, nil
}

func normalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > maxText {
		return "", errors.New("not a bare address")
	}
	return s, nil
}

func normalizePhone(s string) (string, error) {
	if !isPhone(s) {
		return "", errors.New("not a number in international form")
	}
	return s, nil
}

var signalUserRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{2,31}\.[0-9]{2,9}$`)

func normalizeSignal(s string) (string, error) {
	if isPhone(s) || signalUserRE.MatchString(s) {
		return s, nil
	}
	return "", errors.New("neither a number in international form nor a username (name.digits)")
}

var matrixRE = regexp.MustCompile(`^@[a-z0-9._=/+-]{1,64}:[A-Za-z0-9.-]{1,190}(:[0-9]{1,5})?$`)

func normalizeMatrix(s string) (string, error) {
	if !matrixRE.MatchString(s) {
		return "", errors.New("not a Matrix user id")
	}
	return s, nil
}

var xmppRE = regexp.MustCompile(`^[^@/\s"&'<>:]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

func normalizeXMPP(s string) (string, error) {
	if !xmppRE.MatchString(s) || len(s) > maxText {
		return "", errors.New("not a Jabber id")
	}
	return s, nil
}

func normalizeWeb(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || len(s) > maxText || strings.ContainsAny(s, " \t\r\n"):
		return "", errors.New("not a URL")
	case u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return "", errors.New("not an absolute https URL")
	case u.User != nil:
		return "", errors.New("no user information in a URL")
	}
	return s, nil
}

func normalizePGP(s string) (string, error) {
	f := strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if (len(f) != 40 && len(f) != 64) || strings.Trim(f, "0123456789ABCDEF") != "" {
		return "", errors.New("not an OpenPGP fingerprint")
	}
	return f, nil
}

// NormalizeLanguage checks a language tag as a person typed it ("FR",
// "pt_br") and returns its canonical form ("fr", "pt-BR").
func NormalizeLanguage(s string) (string, error) {
	s = strings.TrimSpace(s)
	lang, region, hasRegion := strings.Cut(strings.ReplaceAll(s, "_", "-"), "-")
	lang = strings.ToLower(lang)
	if !languages[lang] {
		if len(lang) == 3 {
			return "", fmt.Errorf("language %q: give the two-letter ISO 639-1 code (en, fr, de, …), not a three-letter one", s)
		}
		return "", fmt.Errorf("language %q: %q is not an ISO 639-1 language code (en, fr, de, es, ru, zh, ar, …)", s, lang)
	}
	if !hasRegion {
		return lang, nil
	}
	region = strings.ToUpper(region)
	if len(region) != 2 || !countries[region] {
		return "", fmt.Errorf("language %q: the region %q is not an ISO 3166-1 alpha-2 code (e.g. pt-BR, en-GB)", s, region)
	}
	return lang + "-" + region, nil
}

// CheckContact validates a point of contact by the card's rules: every
// member in its canonical form. Sign and Parse apply it to every contact.
func CheckContact(p Contact) error { return checkContact(p) }

func checkContact(p Contact) error {
	if !isToken(p.Role) {
		return fmt.Errorf("role %q: use 1–64 lowercase letters, digits and hyphens (the well-known roles: %s)", p.Role, strings.Join(RoleIDs(), ", "))
	}
	if err := checkText(p.Name, true); err != nil {
		return fmt.Errorf("name: %v", err)
	}
	if err := checkText(p.Unit, false); err != nil {
		return fmt.Errorf("unit: %v", err)
	}
	if p.Email == "" && p.Phone == "" {
		return errors.New("give an email address or a phone number, or both")
	}
	if p.Email != "" {
		if _, err := normalizeEmail(p.Email); err != nil {
			return fmt.Errorf("email %q: want a bare address, user@example.org", p.Email)
		}
	}
	if p.Phone != "" && !isPhone(p.Phone) {
		return fmt.Errorf("phone %q: want the international form, + and 7 to 15 digits, spaces allowed (e.g. +33 1 23 45 67 89)", p.Phone)
	}
	if p.Languages != nil && len(p.Languages) == 0 {
		return errors.New("languages: leave the member out rather than give an empty list")
	}
	if len(p.Languages) > maxLanguages {
		return fmt.Errorf("languages: %d, at most %d", len(p.Languages), maxLanguages)
	}
	for i, l := range p.Languages {
		c, err := NormalizeLanguage(l)
		if err != nil {
			return fmt.Errorf("languages[%d]: %v", i, err)
		}
		if c != l {
			return fmt.Errorf("languages[%d]: write %q as %q", i, l, c)
		}
		if slices.Contains(p.Languages[:i], l) {
			return fmt.Errorf("languages[%d]: %q is listed twice", i, l)
		}
	}
	if p.Hours != "" {
		h, err := ParseHours(p.Hours)
		if err != nil {
			return fmt.Errorf("hours: %v", err)
		}
		if h.String() != p.Hours {
			return fmt.Errorf("hours %q: write it %q", p.Hours, h.String())
		}
	}
	if p.Channels != nil && len(p.Channels) == 0 {
		return errors.New("channels: leave the member out rather than give an empty list")
	}
	if len(p.Channels) > maxChannels {
		return fmt.Errorf("channels: %d, at most %d", len(p.Channels), maxChannels)
	}
	for i, ch := range p.Channels {
		c, err := NormalizeChannel(ch.Type, ch.Value)
		if err != nil {
			return fmt.Errorf("channels[%d]: %v", i, err)
		}
		if c != ch {
			return fmt.Errorf("channels[%d]: write %q as %q", i, ch.Value, c.Value)
		}
		if slices.Contains(p.Channels[:i], ch) {
			return fmt.Errorf("channels[%d]: %s %s is listed twice", i, ch.Type, ch.Value)
		}
	}
	return nil
}
