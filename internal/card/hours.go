package card

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Hours is when a contact answers: around the clock, or a weekly schedule
// in a time zone.
//
// The written form, as a card holds it (String), is "24/7" or one or more
// spans separated by ", " followed by the time zone:
//
//	Mon-Fri 08:00-18:00 Europe/Paris
//	Mon-Fri 07:00-19:00, Sat 09:00-13:00 Europe/Tallinn
//	Fri-Mon 00:00-24:00 UTC
//
// A span is a day (Mon … Sun) or a range of days (Mon-Fri; Fri-Mon wraps
// over the week-end) and a time range HH:MM-HH:MM within the day, the end
// after the start and at most 24:00; a night shift is two spans. The zone
// is UTC or an IANA time-zone name (Area/Location), spelt as the IANA
// database spells it. ParseHours also reads what a person types — day names
// in any case, spelt out or not, H:MM times, spaces around hyphens, 24x7 —
// and String writes the canonical form, the only one a card accepts.
type Hours struct {
	Always bool   // 24/7
	Spans  []Span // the weekly schedule, in Zone
	Zone   string // "UTC" or an IANA zone name
}

// Span is one span of a weekly schedule.
type Span struct {
	From, To   time.Weekday // inclusive; To before From wraps over Sunday
	Start, End int          // minutes since midnight, Start < End ≤ 1440
}

var dayNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// zoneAreas are the areas of the IANA time-zone database.
var zoneAreas = []string{"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific", "Etc"}

var (
	zoneLocRE  = regexp.MustCompile(`^[A-Za-z0-9_+-]{1,30}(/[A-Za-z0-9_+-]{1,30})?$`)
	dashSpaces = regexp.MustCompile(`\s*-\s*`)
	timeRE     = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{2})$`)
)

const hoursExample = "24/7, or a weekly schedule with its time zone such as Mon-Fri 08:00-18:00 Europe/Paris"

// ParseHours reads hours as a person types them or as a card holds them.
func ParseHours(s string) (Hours, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxText {
		return Hours{}, fmt.Errorf("%d bytes, at most %d", len(s), maxText)
	}
	switch strings.ToLower(s) {
	case "24/7", "24x7", "24h/7":
		return Hours{Always: true}, nil
	case "":
		return Hours{}, fmt.Errorf("empty: want %s", hoursExample)
	}
	cut := strings.LastIndexAny(s, " \t")
	if cut < 0 {
		return Hours{}, fmt.Errorf("%q: want %s", s, hoursExample)
	}
	body, zone := strings.TrimSpace(s[:cut]), s[cut+1:]
	zone, err := checkZone(zone)
	if err != nil {
		return Hours{}, fmt.Errorf("%q: %v", s, err)
	}
	h := Hours{Zone: zone}
	for part := range strings.SplitSeq(body, ",") {
		sp, err := parseSpan(dashSpaces.ReplaceAllString(strings.TrimSpace(part), "-"))
		if err != nil {
			return Hours{}, fmt.Errorf("%q: %v", s, err)
		}
		h.Spans = append(h.Spans, sp)
	}
	return h, nil
}

func checkZone(z string) (string, error) {
	if strings.EqualFold(z, "UTC") {
		return "UTC", nil
	}
	area, loc, ok := strings.Cut(z, "/")
	if !ok || !slices.Contains(zoneAreas, area) || !zoneLocRE.MatchString(loc) {
		return "", fmt.Errorf("time zone %q: give UTC or an IANA time-zone name such as Europe/Paris, America/New_York, Asia/Tokyo (abbreviations such as CET are ambiguous)", z)
	}
	return z, nil
}

func parseSpan(s string) (Span, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return Span{}, fmt.Errorf("span %q: want days and times, e.g. Mon-Fri 08:00-18:00", s)
	}
	var sp Span
	from, to, isRange := strings.Cut(f[0], "-")
	var err error
	if sp.From, err = parseDay(from); err != nil {
		return Span{}, err
	}
	sp.To = sp.From
	if isRange {
		if sp.To, err = parseDay(to); err != nil {
			return Span{}, err
		}
		if sp.To == sp.From {
			return Span{}, fmt.Errorf("days %q: a range of one day is the day alone", f[0])
		}
	}
	start, end, ok := strings.Cut(f[1], "-")
	if !ok {
		return Span{}, fmt.Errorf("times %q: want HH:MM-HH:MM, e.g. 08:00-18:00", f[1])
	}
	if sp.Start, err = parseClock(start); err != nil {
		return Span{}, err
	}
	if sp.End, err = parseClock(end); err != nil {
		return Span{}, err
	}
	if sp.Start >= sp.End {
		return Span{}, fmt.Errorf("times %q: the end must come after the start on the same day; split a night shift in two spans (Mon-Fri 18:00-24:00, Tue-Sat 00:00-08:00)", f[1])
	}
	return sp, nil
}

func parseDay(s string) (time.Weekday, error) {
	for i, d := range dayNames {
		full := time.Weekday(i).String()
		if strings.EqualFold(s, d) || strings.EqualFold(s, full) {
			return time.Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("day %q: want Mon, Tue, Wed, Thu, Fri, Sat or Sun", s)
}

func parseClock(s string) (int, error) {
	m := timeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("time %q: want HH:MM, 00:00 to 24:00", s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h > 24 || mi > 59 || h == 24 && mi != 0 {
		return 0, fmt.Errorf("time %q: want HH:MM, 00:00 to 24:00", s)
	}
	return h*60 + mi, nil
}

// String writes the hours in their canonical form.
func (h Hours) String() string {
	if h.Always {
		return "24/7"
	}
	var b strings.Builder
	for i, sp := range h.Spans {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(dayNames[sp.From%7])
		if sp.To != sp.From {
			b.WriteString("-" + dayNames[sp.To%7])
		}
		fmt.Fprintf(&b, " %02d:%02d-%02d:%02d", sp.Start/60, sp.Start%60, sp.End/60, sp.End%60)
	}
	b.WriteString(" " + h.Zone)
	return b.String()
}

// OpenAt reports whether the contact answers at t by its hours. loc is the
// location of h.Zone (time.LoadLocation(h.Zone)): the caller loads it, so
// that reading a card never depends on the machine's time-zone database.
func (h Hours) OpenAt(t time.Time, loc *time.Location) bool {
	if h.Always {
		return true
	}
	lt := t.In(loc)
	wd, m := lt.Weekday(), lt.Hour()*60+lt.Minute()
	for _, sp := range h.Spans {
		in := sp.From <= wd && wd <= sp.To
		if sp.To < sp.From {
			in = wd >= sp.From || wd <= sp.To
		}
		if in && sp.Start <= m && m < sp.End {
			return true
		}
	}
	return false
}
