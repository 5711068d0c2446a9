package workflow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/vocab"
)

// The checks every kind applies to the same kinds of input, so that a
// person gets the same error for the same mistake whatever the workflow.

// Severity reads the common level (0–5 or its name) and the level of the
// node's national scale (env.Scale), either or both; with only the
// national one, the common level is the one it maps to. It returns the
// properties to set ("common_severity", and "national_severity" when given) and
// the common level. required: one of the two must be given.
func (env *Env) Severity(common, national string, required bool) (map[string]any, int, error) {
	props := map[string]any{}
	level := -1
	if common != "" {
		l, err := severity.Parse(common)
		if err != nil {
			return nil, 0, Inputf("severity: %v", err)
		}
		level = int(l)
	}
	if national != "" {
		if env.Scale == nil {
			return nil, 0, Inputf("national severity %q: this node declares no national scale (see 'entraide severity')", national)
		}
		nat, l, err := env.Scale.National(national)
		if err != nil {
			return nil, 0, Inputf("national severity: %v", err)
		}
		if level >= 0 && level != int(l) {
			return nil, 0, Inputf("national severity %s (%s) maps to common level %d (%s), not %d: give one, or both consistent", national, nat.Label, int(l), l, level)
		}
		level = int(l)
		props["national_severity"] = nat
	}
	if level < 0 {
		if required {
			return nil, 0, Inputf("severity is required: 0 baseline, 1 low, 2 medium, 3 high, 4 severe, 5 emergency")
		}
		return props, -1, nil
	}
	props["common_severity"] = level
	return props, level, nil
}

// Sectors checks NIS2 sector identifiers (vocab.NIS2Sectors).
func Sectors(ids []string) ([]string, error) {
	out := []string{}
	for _, s := range ids {
		s = strings.TrimSpace(s)
		if _, ok := vocab.Sector(s); !ok {
			return nil, fmt.Errorf("%w: %v", ErrInput, vocab.UnknownSector(s))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Countries checks ISO 3166-1 alpha-2 codes (upper-cased).
func Countries(ccs []string) ([]string, error) {
	out := []string{}
	for _, c := range ccs {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !card.ValidCountry(c) {
			return nil, Inputf("unknown country code %q: give ISO 3166-1 alpha-2 codes such as FR, DE, EE", c)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Refs checks STIX identifiers (type--UUID), optionally of given types.
func Refs(ids []string, types ...string) ([]string, error) {
	out := []string{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if _, err := stix.ParseID(id); err != nil {
			return nil, Inputf("reference %q: %v", id, err)
		}
		if len(types) > 0 {
			t, _, _ := strings.Cut(id, "--")
			if !slices.Contains(types, t) {
				return nil, Inputf("reference %q: want an object of type %s", id, strings.Join(types, ", "))
			}
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Deadline reads when something is due: a duration from now ("4h",
// "90m", "3d", "2w") or a timestamp (RFC 3339). It must be in the future;
// def is used when s is empty (0: no deadline, returned as zero).
func (env *Env) Deadline(what, s string, def time.Duration) (time.Time, error) {
	if s == "" {
		if def == 0 {
			return time.Time{}, nil
		}
		return env.Now.Add(def).UTC(), nil
	}
	if d, err := ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, Inputf("%s: %q is not in the future", what, s)
		}
		return env.Now.Add(d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Inputf("%s: %q is neither a duration (4h, 3d, 2w) nor an RFC 3339 time", what, s)
	}
	if !t.After(env.Now) {
		return time.Time{}, Inputf("%s: %s is in the past (now is %s)", what, t.UTC().Format(time.RFC3339), env.Now.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// ParseDuration is time.ParseDuration with days (d) and weeks (w).
func ParseDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			var v int
			if _, err := fmt.Sscanf(n, "%d", &v); err != nil || fmt.Sprint(v) != n || v > 36500 || v < -36500 {
				return 0, fmt.Errorf("invalid duration %q (whole days or weeks, at most 100 years)", s)
			}
			return time.Duration(v) * u.unit, nil
		}
	}
	return time.ParseDuration(s)
}

// Timestamp formats an instant as STIX does (UTC, milliseconds).
func Timestamp(t time.Time) string { return stix.FormatTimestamp(t) }

// Text checks a free-text field: required or not, at most max characters.
func Text(field, s string, required bool, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", Inputf("%s is required", field)
	}
	if n := len([]rune(s)); n > max {
		return "", Inputf("%s is %d characters long; at most %d", field, n, max)
	}
	return s, nil
}
