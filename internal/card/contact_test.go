package card_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris whatever the machine has installed

	"github.com/entraide/entraide/internal/card"
)

// frDirectory is CERT-FR's card with the points of contact of the
// directory: every role, languages, hours and channels.
func frDirectory(t testing.TB) *card.Card {
	c := frCard(t)
	c.PointsOfContact = []card.Contact{
		{Role: card.RoleCSIRT24x7, Name: "CERT-FR duty officer", Unit: "Operations centre", Email: "cert-fr@fr.example", Phone: "+33 1 71 75 84 68",
			Languages: []string{"fr", "en"}, Hours: "24/7",
			Channels: []card.Channel{{Type: "signal", Value: "+33 6 12 34 56 78"}, {Type: "pgp", Value: "0123456789ABCDEF0123456789ABCDEF01234567"}}},
		{Role: card.RoleLE24x7, Name: "OFAC 24/7 point of contact", Email: "ofac-24x7@fr.example", Languages: []string{"fr", "en", "es"}, Hours: "24/7"},
		{Role: card.RoleDiplomatic, Name: "Cyber policy desk", Unit: "Ministry for Europe and Foreign Affairs", Email: "cyber@diplo.fr.example",
			Languages: []string{"fr", "en"}, Hours: "Mon-Fri 09:00-18:00 Europe/Paris"},
		{Role: card.RoleTechnical, Name: "Marie Curie", Email: "m.curie@fr.example", Languages: []string{"fr", "en-GB"},
			Hours: "Mon-Fri 08:00-19:00, Sat 09:00-12:00 Europe/Paris", Channels: []card.Channel{{Type: "matrix", Value: "@mcurie:matrix.fr.example"}}},
		{Role: card.RoleCrisisLiaison, Name: "Crisis cell liaison", Phone: "+33 1 71 75 84 00", Hours: "24/7"},
	}
	return c
}

// The directory's members are part of the signed card: a golden freezes
// them, they read back as signed, and changing any of them breaks the
// signature.
func TestGoldenDirectoryCard(t *testing.T) {
	fr := key(t, "fr")
	c := frDirectory(t)
	signed, err := c.Sign(fr)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "card-contacts.golden", signed)
	got, err := card.Parse(readFile(t, "card-contacts.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if want := frDirectory(t).PointsOfContact; !reflect.DeepEqual(got.PointsOfContact, want) {
		t.Errorf("contacts read back\n%+v\nwant\n%+v", got.PointsOfContact, want)
	}
	s := string(readFile(t, "card-contacts.golden"))
	for _, tc := range []struct{ name, old, new string }{
		{"language", `"es"`, `"de"`},
		{"hours", `"Mon-Fri 09:00-18:00 Europe/Paris"`, `"Mon-Fri 09:00-17:00 Europe/Paris"`},
		{"unit", "Operations centre", "Operations center"},
		{"channel", "@mcurie:matrix.fr.example", "@mallory:matrix.fr.example"},
		{"role", `"role": "crisis-liaison"`, `"role": "technical"`},
	} {
		_, err := card.Parse([]byte(rep(t, s, tc.old, tc.new)))
		if err == nil || !strings.Contains(err.Error(), "signature: bad signature") {
			t.Errorf("%s changed after signing: %v", tc.name, err)
		}
	}
}

// Cards signed before the directory existed verify unchanged: the new
// members are optional and absent from their signed bytes, and their role
// tokens (budapest-24x7) still read, as the role the directory knows.
func TestCardsBeforeTheDirectoryVerify(t *testing.T) {
	for _, name := range []string{"card.golden", "card-rotated.golden"} {
		raw := readFile(t, name)
		for _, m := range []string{"languages", "hours", "channels", "unit"} {
			if bytes.Contains(raw, []byte(`"`+m+`"`)) {
				t.Fatalf("%s has %q: it no longer shows a card made before the directory", name, m)
			}
		}
		c, err := card.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		roles := []string{}
		for _, p := range c.PointsOfContact {
			roles = append(roles, card.CanonicalRole(p.Role))
			if p.Languages != nil || p.Channels != nil || p.Hours != "" || p.Unit != "" {
				t.Errorf("%s: %+v has directory members", name, p)
			}
		}
		if !reflect.DeepEqual(roles, []string{card.RoleCSIRT24x7, card.RoleLE24x7}) {
			t.Errorf("%s: roles %v", name, roles)
		}
	}
	// A role token outside the well-known ones verifies (a card made with
	// init --poc role=liaison before the directory).
	fr := key(t, "fr")
	c := frCard(t)
	c.PointsOfContact[1].Role = "liaison"
	b, err := c.Sign(fr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := card.Parse(b); err != nil {
		t.Errorf("a card with role liaison: %v", err)
	}
	if _, ok := card.LookupRole("liaison"); ok {
		t.Error("liaison is not a well-known role")
	}
}

func TestContactRefuses(t *testing.T) {
	fr := key(t, "fr")
	good := readFile(t, "card.golden")
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"role with spaces", contact("role", "CSIRT 24/7"), "role \"CSIRT 24/7\": use 1–64 lowercase letters, digits and hyphens (the well-known roles: csirt-24x7, le-24x7, diplomatic, technical, crisis-liaison)"},
		{"role empty", contact("role", ""), "points_of_contact[0]: role"},
		{"unit control character", contact("unit", "Ops\n"), "unit: "},
		{"language name", contact("languages", []any{"french"}), `languages[0]: language "french": "french" is not an ISO 639-1 language code`},
		{"language three letters", contact("languages", []any{"fra"}), "not a three-letter one"},
		{"language unknown", contact("languages", []any{"xx"}), `"xx" is not an ISO 639-1`},
		{"language capitals", contact("languages", []any{"FR"}), `languages[0]: write "FR" as "fr"`},
		{"language region case", contact("languages", []any{"pt-br"}), `write "pt-br" as "pt-BR"`},
		{"language bad region", contact("languages", []any{"en-XY"}), `the region "XY" is not an ISO 3166-1`},
		{"language twice", contact("languages", []any{"fr", "en", "fr"}), `languages[2]: "fr" is listed twice`},
		{"languages empty", contact("languages", []any{}), "languages: leave the member out"},
		{"languages not strings", contact("languages", []any{1}), "languages"},
		{"hours free text", contact("hours", "office hours"), `hours: "office hours": time zone "hours"`},
		{"hours not canonical", contact("hours", "mon-fri 8:00-18:00 Europe/Paris"), `write it "Mon-Fri 08:00-18:00 Europe/Paris"`},
		{"hours 24x7", contact("hours", "24x7"), `write it "24/7"`},
		{"hours abbreviation zone", contact("hours", "Mon-Fri 08:00-18:00 CET"), `time zone "CET"`},
		{"hours without zone", contact("hours", "Mon-Fri 08:00-18:00"), "time zone"},
		{"hours backwards", contact("hours", "Mon-Fri 18:00-08:00 UTC"), "split a night shift"},
		{"hours bad day", contact("hours", "Mon-Fry 08:00-18:00 UTC"), `day "Fry"`},
		{"hours 25:00", contact("hours", "Mon 08:00-25:00 UTC"), `time "25:00"`},
		{"channel type", contact("channels", []any{map[string]any{"type": "telegram", "value": "@duty"}}), `channels[0]: channel type "telegram": want one of email, phone, sms, fax, signal, matrix, xmpp, web, pgp`},
		{"channel value", contact("channels", []any{map[string]any{"type": "matrix", "value": "duty"}}), `matrix channel "duty": not a Matrix user id`},
		{"channel web http", contact("channels", []any{map[string]any{"type": "web", "value": "http://fr.example/report"}}), "not an absolute https URL"},
		{"channel pgp not canonical", contact("channels", []any{map[string]any{"type": "pgp", "value": "0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567"}}), `write "0123 4567`},
		{"channel twice", contact("channels", []any{map[string]any{"type": "sms", "value": "+33 6 12 34 56 78"}, map[string]any{"type": "sms", "value": "+33 6 12 34 56 78"}}), "channels[1]: sms +33 6 12 34 56 78 is listed twice"},
		{"channel unknown member", contact("channels", []any{map[string]any{"type": "sms", "value": "+33 6 12 34 56 78", "note": "x"}}), `points_of_contact[0].channels[0]: unknown member "note"`},
		{"channel member case", contact("channels", []any{map[string]any{"Type": "sms", "value": "+33 6 12 34 56 78"}}), `unknown member "Type"`},
		{"channels empty", contact("channels", []any{}), "channels: leave the member out"},
		{"channels not an array", contact("channels", "sms"), "channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := card.Parse(resign(t, good, fr, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Sign refuses what Parse refuses.
	c := frDirectory(t)
	c.PointsOfContact[0].Languages = []string{"EN"}
	if _, err := c.Sign(fr); err == nil || !strings.Contains(err.Error(), `write "EN" as "en"`) {
		t.Errorf("Sign with a non-canonical language: %v", err)
	}
}

func TestRoles(t *testing.T) {
	for id, want := range map[string]string{
		"csirt-24x7": "csirt-24x7", "le-24x7": "le-24x7", "budapest-24x7": "le-24x7", "diplomatic": "diplomatic",
		"technical": "technical", "crisis-liaison": "crisis-liaison",
	} {
		r, ok := card.LookupRole(id)
		if !ok || r.ID != want || card.CanonicalRole(id) != want || r.Label == "" || r.Description == "" {
			t.Errorf("%s: %+v, %v", id, r, ok)
		}
	}
	for _, id := range []string{"", "csirt", "CSIRT-24X7", "liaison", "le-24/7"} {
		if _, ok := card.LookupRole(id); ok || card.CanonicalRole(id) != id {
			t.Errorf("%q is a well-known role", id)
		}
	}
}

func TestNormalizeLanguage(t *testing.T) {
	for in, want := range map[string]string{"fr": "fr", "FR": "fr", " en ": "en", "pt-br": "pt-BR", "pt_BR": "pt-BR", "ZH-tw": "zh-TW", "se": "se"} {
		if got, err := card.NormalizeLanguage(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"": "not an ISO 639-1", "bh": "not an ISO 639-1", "eng": "three-letter", "en-": "region",
		"en-USA": "region", "en-419": "region", "fr-FR-x": "region", "français": "not an ISO 639-1"} {
		if _, err := card.NormalizeLanguage(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", in, err, want)
		}
	}
}

func TestNormalizeChannel(t *testing.T) {
	for _, tc := range []struct{ typ, in, want string }{
		{"email", "duty@fr.example", "duty@fr.example"},
		{"SMS", "+33 6 12 34 56 78", "+33 6 12 34 56 78"},
		{"signal", "duty_fr.42", "duty_fr.42"},
		{"signal", "+372 5555 1234", "+372 5555 1234"},
		{"matrix", "@duty:matrix.example.org", "@duty:matrix.example.org"},
		{"xmpp", "duty@xmpp.example.org", "duty@xmpp.example.org"},
		{"web", "https://cert.example/report", "https://cert.example/report"},
		{"pgp", "0123 4567 89ab cdef 0123  4567 89ab cdef 0123 4567", "0123456789ABCDEF0123456789ABCDEF01234567"},
	} {
		got, err := card.NormalizeChannel(tc.typ, tc.in)
		if err != nil || got.Value != tc.want || got.Type != strings.ToLower(tc.typ) {
			t.Errorf("%s %q: %+v, %v", tc.typ, tc.in, got, err)
		}
	}
	for _, tc := range []struct{ typ, in string }{
		{"email", "Duty <duty@fr.example>"}, {"phone", "01 23 45 67 89"}, {"signal", "duty"}, {"matrix", "duty@matrix.example.org"},
		{"xmpp", "duty"}, {"web", "https://u:p@cert.example/"}, {"web", "cert.example"}, {"pgp", "0123"}, {"pgp", strings.Repeat("G", 40)},
		{"telegram", "@duty"}, {"", "x"},
	} {
		if c, err := card.NormalizeChannel(tc.typ, tc.in); err == nil {
			t.Errorf("%s %q accepted as %+v", tc.typ, tc.in, c)
		}
	}
}

func TestParseHours(t *testing.T) {
	for in, want := range map[string]string{
		"24/7":                                "24/7",
		"24x7":                                "24/7",
		"Mon-Fri 08:00-18:00 Europe/Paris":    "Mon-Fri 08:00-18:00 Europe/Paris",
		"mon - fri 8:00 - 18:00 Europe/Paris": "Mon-Fri 08:00-18:00 Europe/Paris",
		"Monday-Friday 07:30-19:00 utc":       "Mon-Fri 07:30-19:00 UTC",
		"Mon-Fri 07:00-19:00,Sat 09:00-13:00 Europe/Tallinn": "Mon-Fri 07:00-19:00, Sat 09:00-13:00 Europe/Tallinn",
		"Fri-Mon 00:00-24:00 America/New_York":               "Fri-Mon 00:00-24:00 America/New_York",
		"Sun 10:00-12:00 Etc/GMT-2":                          "Sun 10:00-12:00 Etc/GMT-2",
		"Mon-Fri 09:00-17:00 America/Argentina/Buenos_Aires": "Mon-Fri 09:00-17:00 America/Argentina/Buenos_Aires",
	} {
		h, err := card.ParseHours(in)
		if err != nil || h.String() != want {
			t.Errorf("%q: %q, %v; want %q", in, h.String(), err, want)
		}
	}
	for in, want := range map[string]string{
		"":                                 "empty",
		"always":                           "want 24/7, or a weekly schedule",
		"Mon-Fri 08:00-18:00":              `time zone "08:00-18:00"`,
		"Mon-Fri 08:00-18:00 Paris":        `time zone "Paris"`,
		"Mon-Fri 08:00-18:00 europe/Paris": `time zone "europe/Paris"`,
		"Mon-Mon 08:00-18:00 UTC":          "a range of one day",
		"Mon-Fri 08:00 UTC":                "want HH:MM-HH:MM",
		"Mon-Fri 8h-18h UTC":               `time "8h": want HH:MM`,
		"Mon-Fri 08:00-08:00 UTC":          "split a night shift",
		"Mon-Fri 08:60-09:00 UTC":          `time "08:60"`,
		"Mon-Fri 24:30-24:45 UTC":          `time "24:30"`,
		"Mon-Fri 08:00-18:00, UTC":         "span",
		"Mon Fri 08:00-18:00 UTC":          "span",
		"Lun-Ven 08:00-18:00 Europe/Paris": `day "Lun"`,
	} {
		if _, err := card.ParseHours(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", in, err, want)
		}
	}
	many := strings.Repeat("Mon 08:00-09:00, ", 15) + "Mon 08:00-09:00 UTC"
	if _, err := card.ParseHours(many); err == nil || !strings.Contains(err.Error(), "at most 256") {
		t.Errorf("16 spans: %v", err)
	}
}

func TestHoursOpenAt(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	office, _ := card.ParseHours("Mon-Fri 08:00-18:00, Sat 09:00-12:00 Europe/Paris")
	weekend, _ := card.ParseHours("Fri-Mon 20:00-24:00 Europe/Paris")
	always, _ := card.ParseHours("24/7")
	// 2026-12-02 is a Wednesday; Paris is UTC+1 in December.
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 12, day, hh, mm, 0, 0, time.UTC) }
	for _, tc := range []struct {
		h    card.Hours
		t    time.Time
		want bool
	}{
		{office, at(2, 7, 0), true},   // Wed 08:00 Paris
		{office, at(2, 6, 59), false}, // Wed 07:59
		{office, at(2, 16, 59), true}, // Wed 17:59
		{office, at(2, 17, 0), false}, // Wed 18:00: the end is excluded
		{office, at(5, 10, 0), true},  // Sat 11:00
		{office, at(5, 11, 0), false}, // Sat 12:00
		{office, at(6, 10, 0), false}, // Sun
		{weekend, at(6, 21, 0), true}, // Sun 22:00: the range wraps
		{weekend, at(7, 21, 0), true}, // Mon 22:00
		{weekend, at(8, 21, 0), false},
		{always, at(6, 3, 0), true},
	} {
		if got := tc.h.OpenAt(tc.t, paris); got != tc.want {
			t.Errorf("%s at %s: %v", tc.h, tc.t, got)
		}
	}
}
