package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/exercise"
	"github.com/entraide/entraide/internal/workflow"
)

// PlayOptions say how to play the exercise.
type PlayOptions struct {
	// Scenario is the scenario file (nil: the built-in one,
	// exercise.BuiltinFile). It is fitted to the nodes started
	// (FitScenario).
	Scenario []byte
	// Speed is how many scenario seconds pass per real second (0: the
	// scenario's own; the built-in one plays at 360, a scenario hour in
	// ten seconds). The nodes' clock runs that fast while the exercise
	// plays: every time they measure and every deadline of the
	// exercise's workflows is in scenario time. On a federation started
	// with a clock.Fake, the exercise moves that clock from event to
	// event instead of waiting: it plays as fast as the objects cross the
	// network, and its times are exact.
	Speed float64
	// MaxWait bounds each wait for an object to reach another node, in
	// real time (default 30 s).
	MaxWait time.Duration
}

// Result is a played exercise.
type Result struct {
	Scenario *exercise.Scenario
	Report   *exercise.Report
	Board    *exercise.Board
	// Fitted says how the scenario was adapted to the nodes started.
	Fitted []Change
	Took   time.Duration // real time
	// Simulated says the exercise played on a simulated clock (a
	// clock.Fake moved from event to event).
	Simulated bool
}

// Failed lists the steps of the exercise that failed.
func (r *Result) Failed() []exercise.EventResult { return r.Report.Failed() }

// Play plays the exercise across every node of the federation with the
// exercise runner (every inject and every automated response through the
// nodes' workflow engines), logging each step, then computes the
// scoreboard. Steps that fail are in the result; the error is for an
// exercise that could not be played at all (or a cancelled context: the
// result then holds what was played).
func (f *Federation) Play(ctx context.Context, opt PlayOptions) (*Result, error) {
	file := opt.Scenario
	if file == nil {
		file = exercise.BuiltinFile()
	}
	fitted, notes, err := FitScenario(file, f.Names(), opt.Speed)
	if err != nil {
		return nil, err
	}
	sc, err := exercise.Parse(fitted, f.clk.Now())
	if err != nil {
		return nil, fmt.Errorf("the scenario fitted to %d nodes: %w", len(f.Nodes), err)
	}
	for _, n := range notes {
		// What is left out of the story, and who joins it, matters to
		// the person watching; each response dropped with its node less.
		if n.Response {
			f.log.Debug("exercise fitted to the nodes started", "change", n.Text)
		} else {
			f.log.Info("exercise fitted to the nodes started", "change", n.Text)
		}
	}
	res := &Result{Scenario: sc, Fitted: notes, Simulated: f.fake}
	maxWait := opt.MaxWait
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	// A scenario fitted to fewer nodes may start later than +0m (the
	// Belgian alert left out, the hub's comes first at +35m): it starts
	// at once all the same.
	var first time.Duration
	if evs := sc.Events(); len(evs) > 0 {
		first = evs[0].At
	}
	// The nodes run on the scenario's clock (f.clk), which the runner
	// makes run at the scenario's speed while it plays.
	r := &exercise.Runner{Scenario: sc, Engines: f.Engines(), Clock: f.clk, ScenarioTime: true, MaxWait: maxWait,
		Progress: f.logEvent(sc), Start: f.clk.Now().Add(-first)}
	end := time.Duration(float64(sc.End()-first) / sc.SpeedFactor())
	how := "in real time"
	if f.fake {
		how = "on a simulated clock that jumps from event to event"
	}
	f.log.Info("exercise starts", "exercise", sc.Name, "title", sc.Title, "steps", len(sc.Events()), "speed", sc.SpeedFactor(),
		"scenario_duration", exercise.FormatOffset(sc.End()), "plays_in", end.Round(time.Second).String()+" "+how)
	t0 := time.Now()
	rep, runErr := r.Run(ctx)
	res.Report, res.Took = rep, time.Since(t0)
	if rep == nil {
		return nil, runErr
	}
	// The scoreboard is read even after a cancel: what was played counts.
	bctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		bctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
	}
	if res.Board, err = f.Score(bctx, res); err != nil {
		if runErr != nil {
			return res, runErr
		}
		return res, fmt.Errorf("the scoreboard: %w", err)
	}
	if runErr != nil {
		f.log.Info("exercise interrupted", "exercise", sc.Name, "steps", len(rep.Events), "took", res.Took.Round(time.Millisecond))
	} else {
		f.log.Info("exercise over", "exercise", sc.Name, "steps", len(rep.Events), "failed", len(rep.Failed()), "took", res.Took.Round(time.Millisecond))
	}
	return res, runErr
}

// Score computes the scoreboard of a played exercise again (what people
// did by hand in the consoles since counts too).
func (f *Federation) Score(ctx context.Context, res *Result) (*exercise.Board, error) {
	var engines []*workflow.Engine
	for _, n := range f.Nodes {
		engines = append(engines, n.Engine)
	}
	return exercise.Score(ctx, res.Scenario.Name, engines, exercise.ScoreOptions{Scenario: res.Scenario, Start: res.Report.Start, Clock: f.clk,
		ScenarioTime: res.Report.ScenarioTime})
}

// logEvent logs each step of the exercise as the runner plays it.
func (f *Federation) logEvent(sc *exercise.Scenario) func(exercise.EventResult) {
	return func(e exercise.EventResult) {
		in := sc.Injects[e.Inject]
		on := in.Label
		if on != "" {
			on = "@" + on
		}
		switch {
		case e.Skipped != "":
			f.log.Debug("exercise step skipped", "at", e.Offset, "node", e.Node, "action", e.Action, "why", e.Skipped)
		case e.Error != "":
			f.log.Warn("exercise step failed", "at", e.Offset, "node", e.Node, "kind", e.Kind, "action", e.Action, "on", on, "err", e.Error)
		case e.Expect < 0:
			f.log.Info("inject", "at", e.Offset, "from", e.Node, "kind", e.Kind, "label", on, "to", strings.Join(recipients(in), ","), "case", e.Case)
		default:
			f.log.Info("answer", "at", e.Offset, "node", e.Node, "action", e.Action, "on", on, "step", e.Object)
		}
	}
}

// recipients lists an inject's "to".
func recipients(in exercise.Inject) []string {
	var m map[string]any
	if decodeJSON(in.Input, &m) != nil {
		return nil
	}
	return strs(m["to"])
}
