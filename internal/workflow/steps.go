package workflow

import "sort"

// Ordered returns the steps without duplicates (same id: the first one
// counts) ordered by (At, ID), in a new slice. The engine hands a Kind's
// Fold its steps so already; a fold that calls Ordered does not rely on it,
// and gives the same state whatever order and repetitions the steps came in.
func Ordered(steps []Step) []Step {
	seen := make(map[string]bool, len(steps))
	out := make([]Step, 0, len(steps))
	for _, s := range steps {
		if seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out
}
