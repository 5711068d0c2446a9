package workflow

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestOrdered(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	want := []Step{
		{ID: "x-entraide-step--a", At: t0},
		{ID: "x-entraide-step--b", At: t0},
		{ID: "x-entraide-step--c", At: t0.Add(time.Second)},
		{ID: "x-entraide-step--d", At: t0.Add(time.Hour)},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		in := slices.Clone(want)
		for range r.IntN(4) {
			in = append(in, want[r.IntN(len(want))])
		}
		r.Shuffle(len(in), func(a, b int) { in[a], in[b] = in[b], in[a] })
		got := Ordered(in)
		if !slices.EqualFunc(got, want, func(a, b Step) bool { return a.ID == b.ID && a.At.Equal(b.At) }) {
			t.Fatalf("round %d: Ordered(%v) = %v", i, ids(in), ids(got))
		}
	}
	// The first of two steps with one id counts.
	got := Ordered([]Step{{ID: "x", Actor: "first", At: t0}, {ID: "x", Actor: "second", At: t0}})
	if len(got) != 1 || got[0].Actor != "first" {
		t.Errorf("duplicate id: %+v", got)
	}
}

func ids(s []Step) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.ID
	}
	return out
}
