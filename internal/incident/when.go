package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/workflow"
)

// ParseWhen reads when something happened, as analysts write it: an RFC
// 3339 time ("2026-03-14T06:10:00Z", "2026-03-14T07:10:00+01:00"), "now",
// or a duration before now followed by "ago" ("90m ago", "5h ago", "2d
// ago"; units: s, m, h, d, w). The result is in UTC. It does not check
// that the time is in the past: callers say what they accept.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time: give an RFC 3339 time, \"now\" or a duration such as \"5h ago\"")
	case s == "now":
		return now.UTC(), nil
	}
	if d, ok := strings.CutSuffix(s, "ago"); ok {
		d = strings.TrimSpace(d)
		dur, err := workflow.ParseDuration(d)
		if err != nil || d == "" {
			return time.Time{}, fmt.Errorf("%q: want a duration before \"ago\", such as \"90m ago\", \"5h ago\" or \"2d ago\"", s)
		}
		if dur <= 0 {
			return time.Time{}, fmt.Errorf("%q: the duration must be positive", s)
		}
		return now.Add(-dur).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-03-14T06:10:00Z), \"now\", nor a duration ago (5h ago)", s)
	}
	return t.UTC(), nil
}

// AddMonth is t plus one calendar month, the way EU law counts a period
// expressed in months (Regulation 1182/71, art. 3(2)(c)): the same day and
// time of day in the next month, or the last day of the next month when
// that day does not exist (31 January → 28 or 29 February). It counts in
// UTC.
func AddMonth(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
