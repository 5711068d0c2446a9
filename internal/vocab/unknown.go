package vocab

import (
	"fmt"
	"strconv"
	"strings"
)

// UnknownTermError is the error for an identifier a vocabulary does not
// hold. It is invalid input: a caller maps it to a usage error or a 400.
type UnknownTermError struct {
	Kind       string // "sector", "RSIT class", "capability", …
	ID         string // as given
	Suggestion string // nearest known ID, or ""
}

func (e *UnknownTermError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown %s %s (", e.Kind, quote(e.ID))
	if e.Suggestion != "" {
		fmt.Fprintf(&b, "did you mean %q? ", e.Suggestion)
	}
	fmt.Fprintf(&b, "see 'entraide vocab %s')", command(e.Kind))
	return b.String()
}

// command is the 'entraide vocab' subcommand that lists a kind of term.
func command(kind string) string {
	switch strings.ToLower(kind) {
	case "sector", "nis2 sector":
		return "sectors"
	case "rsit class", "rsit", "rsit type", "incident type":
		return "rsit"
	case "capability":
		return "capabilities"
	}
	return kind + "s"
}

// UnknownError returns the *UnknownTermError for id, which is not in all,
// with the nearest ID of all as a suggestion when one is near enough:
//
//	unknown sector "enrgy" (did you mean "energy"? see 'entraide vocab sectors')
func UnknownError(kind, id string, all []Term) error {
	return &UnknownTermError{Kind: kind, ID: id, Suggestion: Suggest(id, all)}
}

// UnknownSector, UnknownRSIT and UnknownCapability are UnknownError for
// each vocabulary.
func UnknownSector(id string) error     { return UnknownError("sector", id, NIS2Sectors()) }
func UnknownRSIT(id string) error       { return UnknownError("RSIT class", id, RSIT()) }
func UnknownCapability(id string) error { return UnknownError("capability", id, Capabilities()) }

// SuggestSector returns the sector ID nearest to id (see Suggest), or "".
func SuggestSector(id string) string { return Suggest(id, NIS2Sectors()) }

// maxSuggestLen bounds the work Suggest does on hostile input.
const maxSuggestLen = 128

// Suggest returns the ID of all that id most likely meant, or "" when none
// is near enough. In order: the ID spelt in another case ("Energy"); for
// class:type IDs, the one whose type is id ("phishing" → "fraud:phishing");
// the ID at the smallest edit distance (Damerau–Levenshtein, on lower case,
// to the whole ID or its type), if that distance is at most a third of the
// length of id plus one; the only ID that starts with id ("bank" →
// "banking"). Ties go to the first in all's order.
func Suggest(id string, all []Term) string {
	if id == "" || len(id) > maxSuggestLen {
		return ""
	}
	low := strings.ToLower(id)
	for _, t := range all {
		if strings.ToLower(t.ID) == low {
			return t.ID
		}
	}
	for _, t := range all {
		if _, typ, ok := strings.Cut(t.ID, ":"); ok && typ == low {
			return t.ID
		}
	}
	best, bestD := "", len(low)/3+2
	for _, t := range all {
		d := distance(low, strings.ToLower(t.ID))
		if _, typ, ok := strings.Cut(t.ID, ":"); ok && !strings.Contains(low, ":") {
			d = min(d, distance(low, typ))
		}
		if d < bestD {
			best, bestD = t.ID, d
		}
	}
	if best != "" {
		return best
	}
	if len(low) >= 3 {
		var only string
		for _, t := range all {
			if strings.HasPrefix(t.ID, low) {
				if only != "" {
					return ""
				}
				only = t.ID
			}
		}
		return only
	}
	return ""
}

// distance is the optimal string alignment distance between a and b, in
// bytes: insertions, deletions, substitutions and transpositions of
// adjacent bytes each cost 1.
func distance(a, b string) int {
	if len(b) > maxSuggestLen {
		return len(a) + len(b)
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range cur {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// quote quotes user input for an error message, cut to a readable length.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
