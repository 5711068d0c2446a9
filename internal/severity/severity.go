// Package severity is the severity scale every node of the federation
// shares, and the bridge from a node's own national scale to it.
//
// Alerts, incidents and requests for assistance cross borders, and each
// agency grades incidents on its own scale (the UK's NCSC categories 1 to 6,
// a national "niveau" elsewhere). A partner cannot be expected to know every
// national scale, so every cooperation record carries a common Level — six
// steps, 0 Baseline to 5 Emergency, with the colours of the US National Cyber
// Incident Scoring System that many CSIRTs already use — and, next to it, the
// originator's National level, so that nothing the originator said is lost
// in translation. The mapping from the national scale to the common one is
// the originator's, declared once in its Scale (DIR/severity-scale.json) and
// applied by National; receivers never re-map.
//
// The package is pure apart from LoadScale and SaveScale, and depends on the
// standard library only.
package severity

import (
	"fmt"
	"strconv"
)

// Level is a step of the common severity scale, 0 (Baseline) to 5
// (Emergency). Its JSON form is the number.
type Level int

// The six levels of the common scale.
const (
	Baseline  Level = 0 // unsubstantiated or inconsequential
	Low       Level = 1 // unlikely to affect public safety, national security, the economy or public confidence
	Medium    Level = 2 // may affect them
	High      Level = 3 // likely to have a demonstrable effect
	Severe    Level = 4 // likely to have a significant effect
	Emergency Level = 5 // imminent threat to critical services, government stability or lives
)

// MinLevel and MaxLevel bound the common scale.
const (
	MinLevel = Baseline
	MaxLevel = Emergency
)

var (
	names  = [...]string{"baseline", "low", "medium", "high", "severe", "emergency"}
	colors = [...]string{"white", "green", "yellow", "orange", "red", "black"}
)

// Levels returns the six levels, lowest first.
func Levels() []Level {
	return []Level{Baseline, Low, Medium, High, Severe, Emergency}
}

// Valid reports whether l is one of the six levels.
func (l Level) Valid() bool { return l >= MinLevel && l <= MaxLevel }

// String returns the level's name ("baseline" … "emergency"), or
// "Level(N)" for a value outside the scale.
func (l Level) String() string {
	if !l.Valid() {
		return "Level(" + strconv.Itoa(int(l)) + ")"
	}
	return names[l]
}

// Color returns the level's colour ("white" … "black"), or "" for a value
// outside the scale.
func (l Level) Color() string {
	if !l.Valid() {
		return ""
	}
	return colors[l]
}

// Parse reads a level as people and scripts write it: its number "0" to "5"
// or its name in any ASCII case ("high", "High"). Nothing else is accepted,
// not even surrounding spaces.
func Parse(s string) (Level, error) {
	if len(s) == 1 && s[0] >= '0' && s[0] <= '5' {
		return Level(s[0] - '0'), nil
	}
	for i, n := range names {
		if asciiEqualFold(s, n) {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %s: want a number from 0 to 5 or one of baseline, low, medium, high, severe, emergency", quote(s))
}

// asciiEqualFold is strings.EqualFold without Unicode folding, so that
// "ſevere" (long s) is not read as "severe".
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// quote quotes user input for an error message, cut to a readable length.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
