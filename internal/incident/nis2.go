package incident

import (
	"time"

	"github.com/entraide/entraide/internal/workflow"
)

// How each NIS2 deadline is counted (Directive (EU) 2022/2555, art. 23(4)).
const (
	ruleEarlyWarning = "24 hours after detection (art. 23(4)(a))"
	ruleNotification = "72 hours after detection (art. 23(4)(b))"
	ruleFinal        = "one month after the notification was sent (art. 23(4)(d))"
	ruleFinalUnsent  = "one month after the notification; until it is sent, counted from its deadline (art. 23(4)(d))"
	ruleFinalHandled = "one month after the incident was handled, a progress report having been sent (art. 23(4)(e))"
	ruleFinalOngoing = "one month after the incident is handled (closed), a progress report having been sent (art. 23(4)(e))"
	ruleIntermediate = "on request of the CSIRT or the competent authority (art. 23(4)(c))"
	ruleProgress     = "when the incident is still ongoing at the final report's deadline (art. 23(4)(e))"
)

// Deadline names, as lists and 'entraide status' show them.
var deadlineWhat = map[string]string{
	EarlyWarning: "NIS2 early warning",
	Notification: "NIS2 notification",
	FinalReport:  "NIS2 final report",
}

// nis2Clock computes the opener's reports and their deadlines. The
// deadlines are the opener's (Party origin) and done when the matching
// report is recorded as sent; a month is a calendar month (AddMonth).
func nis2Clock(origin string, applies bool, detected time.Time, sent map[string]*reportRec, closed *Closure) (NIS2, []workflow.Deadline) {
	n := NIS2{Applies: applies, Reports: []Report{}}
	var deadlines []workflow.Deadline
	due := map[string]*time.Time{}
	rule := map[string]string{}
	if applies {
		ew, no := detected.Add(EarlyWarningWithin), detected.Add(NotificationWithin)
		due[EarlyWarning], rule[EarlyWarning] = &ew, ruleEarlyWarning
		due[Notification], rule[Notification] = &no, ruleNotification
		rule[IntermediateReport], rule[ProgressReport] = ruleIntermediate, ruleProgress
		var final time.Time
		switch {
		case sent[ProgressReport] != nil && closed != nil:
			final, rule[FinalReport] = AddMonth(closed.At), ruleFinalHandled
		case sent[ProgressReport] != nil:
			rule[FinalReport] = ruleFinalOngoing
		case sent[Notification] != nil:
			final, rule[FinalReport] = AddMonth(sent[Notification].sentAt), ruleFinal
		default:
			final, rule[FinalReport] = AddMonth(no), ruleFinalUnsent
		}
		if !final.IsZero() {
			due[FinalReport] = &final
		}
	}
	for _, name := range Reports {
		r := Report{Report: name, Due: due[name], Rule: rule[name]}
		rec := sent[name]
		if rec != nil {
			s, at := rec.sentAt, rec.recordedAt
			r.SentAt, r.RecordedAt, r.SentTo, r.Note, r.Step = &s, &at, rec.sentTo, rec.note, rec.step
		}
		mandatory := name == EarlyWarning || name == Notification || name == FinalReport
		if rec == nil && !(applies && mandatory) {
			continue
		}
		n.Reports = append(n.Reports, r)
		if applies && r.Due != nil {
			deadlines = append(deadlines, workflow.Deadline{What: deadlineWhat[name], Party: origin, Due: *r.Due, DoneAt: r.SentAt})
		}
	}
	return n, deadlines
}
