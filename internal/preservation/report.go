package preservation

import (
	"slices"
	"sort"
	"time"
)

// Report is how long each requested country takes, from the signed steps'
// times: per target country, the requests, the time from the request to
// the first answer of any kind (acknowledgement) and to the execution or
// refusal, and the refusals by ground.
type Report struct {
	Countries []CountryStats `json:"countries"`
	Total     CountryStats   `json:"total"` // every country together (Country "")
}

// CountryStats are the figures of one requested country.
type CountryStats struct {
	Country     string `json:"country"`
	Requests    int    `json:"requests"`
	Pending     int    `json:"pending"` // no answer yet, not withdrawn
	Executed    int    `json:"executed"`
	Partial     int    `json:"partial"`
	Refused     int    `json:"refused"`
	Withdrawn   int    `json:"withdrawn"` // withdrawn before any answer
	Disclosures int    `json:"disclosures"`
	Chained     int    `json:"chained"` // requests chained from an Art. 30 disclosure
	Extensions  int    `json:"extensions_asked"`
	Granted     int    `json:"extensions_granted"`
	MLASent     int    `json:"mla_sent"`
	// Acknowledge runs from the request to the requested Party's first
	// step; Answer to its execution (full or partial) or refusal.
	Acknowledge      Timing         `json:"time_to_acknowledge"`
	Answer           Timing         `json:"time_to_answer"`
	RefusalsByGround map[string]int `json:"refusals_by_ground"`

	ack, answer []time.Duration
}

// Timing summarises durations.
type Timing struct {
	Samples int            `json:"samples"`
	Median  *time.Duration `json:"-"`
	Max     *time.Duration `json:"-"`
	// The same in seconds to the millisecond, for JSON readers (null
	// without samples).
	MedianSeconds *float64 `json:"median_seconds"`
	MaxSeconds    *float64 `json:"max_seconds"`
}

// Summarise computes a Timing from durations (in any order).
func Summarise(ds []time.Duration) Timing {
	t := Timing{Samples: len(ds)}
	if len(ds) == 0 {
		return t
	}
	m, x := Median(ds), slices.Max(ds)
	ms, xs := m.Round(time.Millisecond).Seconds(), x.Round(time.Millisecond).Seconds()
	t.Median, t.Max, t.MedianSeconds, t.MaxSeconds = &m, &x, &ms, &xs
	return t
}

// Median is the middle duration, or the mean of the two middle ones; 0
// for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	a, b := s[n/2-1], s[n/2]
	return a + (b-a)/2
}

// Build computes the report from the requests' views (each with its
// Opened time), whoever sent them: on the requesting node, how long each
// partner takes; on a requested node, how long it takes itself.
func Build(views []View) Report {
	by := map[string]*CountryStats{}
	total := &CountryStats{RefusalsByGround: map[string]int{}}
	for _, v := range views {
		cs := by[v.TargetCountry]
		if cs == nil {
			cs = &CountryStats{Country: v.TargetCountry, RefusalsByGround: map[string]int{}}
			by[v.TargetCountry] = cs
		}
		for _, s := range []*CountryStats{cs, total} {
			s.add(&v)
		}
	}
	r := Report{Countries: []CountryStats{}}
	for _, cs := range by {
		cs.finish()
		r.Countries = append(r.Countries, *cs)
	}
	sort.Slice(r.Countries, func(i, j int) bool { return r.Countries[i].Country < r.Countries[j].Country })
	total.finish()
	r.Total = *total
	return r
}

func (s *CountryStats) add(v *View) {
	s.Requests++
	switch v.Answer {
	case AnswerExecuted:
		s.Executed++
	case AnswerPartial:
		s.Partial++
	case AnswerRefused:
		s.Refused++
		if v.Refusal != nil {
			s.RefusalsByGround[v.Refusal.Ground]++
		}
	default:
		if v.Withdrawn != nil {
			s.Withdrawn++
		} else {
			s.Pending++
		}
	}
	s.Disclosures += len(v.Disclosures)
	if v.ChainedFromRef != "" {
		s.Chained++
	}
	for _, x := range v.Extensions {
		s.Extensions++
		if x.Decision == "granted" {
			s.Granted++
		}
	}
	if v.MLA != nil {
		s.MLASent++
	}
	if v.AcknowledgedAt != nil {
		s.ack = append(s.ack, max(0, v.AcknowledgedAt.Sub(v.Opened)))
	}
	if v.AnsweredAt != nil {
		s.answer = append(s.answer, max(0, v.AnsweredAt.Sub(v.Opened)))
	}
}

func (s *CountryStats) finish() {
	s.Acknowledge, s.Answer = Summarise(s.ack), Summarise(s.answer)
	s.ack, s.answer = nil, nil
}
