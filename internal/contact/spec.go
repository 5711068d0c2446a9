package contact

import (
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/workflow"
)

// Spec is a point of contact as a person gives it ('entraide poc set'):
// values as typed, to be checked and put in the card's canonical form.
type Spec struct {
	Role      string
	Name      string
	Unit      string
	Email     string
	Phone     string
	Languages []string // "fr", "EN", "pt_BR"
	Hours     string   // "24/7", "mon-fri 8:00-18:00 Europe/Paris"
	Channels  []string // "signal=+33 6 12 34 56 78", "pgp=0123 4567 …"
}

// Contact checks the spec and returns the contact as the card holds it;
// an error (ErrInput) names the field and says what is wanted.
func (s Spec) Contact() (card.Contact, error) {
	role, err := RoleInput(s.Role)
	if err != nil {
		return card.Contact{}, err
	}
	c := card.Contact{Role: role.ID, Name: strings.TrimSpace(s.Name), Unit: strings.TrimSpace(s.Unit),
		Email: strings.TrimSpace(s.Email), Phone: strings.TrimSpace(s.Phone)}
	if c.Name == "" {
		return card.Contact{}, workflow.Inputf("name is required: the person or the desk who answers (e.g. \"Duty officer\")")
	}
	if c.Email == "" && c.Phone == "" {
		return card.Contact{}, workflow.Inputf("give an email or a phone, or both: a partner must be able to reach the contact without the federation")
	}
	for _, l := range s.Languages {
		n, err := card.NormalizeLanguage(l)
		if err != nil {
			return card.Contact{}, workflow.Inputf("%v", err)
		}
		if !slices.Contains(c.Languages, n) {
			c.Languages = append(c.Languages, n)
		}
	}
	if strings.TrimSpace(s.Hours) != "" {
		h, err := card.ParseHours(s.Hours)
		if err != nil {
			return card.Contact{}, workflow.Inputf("hours: %v", err)
		}
		if !h.Always && h.Zone != "UTC" {
			if _, err := time.LoadLocation(h.Zone); err != nil {
				return card.Contact{}, workflow.Inputf("hours: time zone %q is not in the IANA time-zone database (e.g. Europe/Paris, America/New_York)", h.Zone)
			}
		}
		c.Hours = h.String()
	}
	for _, ch := range s.Channels {
		typ, value, ok := strings.Cut(ch, "=")
		if !ok {
			return card.Contact{}, workflow.Inputf("channel %q: want TYPE=VALUE, TYPE one of %s (e.g. signal=+33 6 12 34 56 78)", ch, strings.Join(card.ChannelTypeIDs(), ", "))
		}
		n, err := card.NormalizeChannel(typ, value)
		if err != nil {
			return card.Contact{}, workflow.Inputf("%v", err)
		}
		if !slices.Contains(c.Channels, n) {
			c.Channels = append(c.Channels, n)
		}
	}
	if err := card.CheckContact(c); err != nil {
		return card.Contact{}, workflow.Inputf("%v", err)
	}
	return c, nil
}
