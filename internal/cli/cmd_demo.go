package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/demo"
	"github.com/entraide/entraide/internal/exercise"
)

func runDemo(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "demo", "demo [--nations N] [--headless] [--speed X] [--scenario FILE] [--port P] [--dir DIR]", `
Start a whole federation on this machine and play an exercise across it:
national nodes (France, Estonia, Germany, Belgium, Italy and Poland by
default; up to 30 nations with --nations) and a cross-border hub, cert-eu.
Each is a real node — its own keys, certificates and SQLite database in a
temporary directory — peered with every other by pinning its signed card,
serving its web console, TAXII 2.1 and the JSON API over HTTPS and the
federation over mutual TLS on 127.0.0.1. Three communities are created on
their members: fr-ee (France–Estonia, up to TLP:AMBER+STRICT),
eu-csirts-network (every node, up to TLP:AMBER) and budapest-24x7 (every
nation, up to TLP:AMBER+STRICT).

The demo prints each node's console URL and the passwords of its users
"analyst" (role analyst) and "admin", then plays the built-in exercise
(ransomware-hospitals: a ransomware wave against hospitals in several
countries — alerts, an incident on the NIS2 clock, a request for
assistance, a Budapest preservation request chained to a third country, a
due-diligence notice, a ping of every duty officer) with simulated players,
logs each step, and prints the scoreboard. CERT-PL has no simulated player
for its first acknowledgement: acknowledge the Belgian alert in cert-pl's
console before Belgium closes it, the exercise's last step (--speed 60
gives you 2 min 40 s), and the scoreboard printed at the end shows it.
While the exercise plays, the nodes' clocks run at its speed: every time
they show and every deadline of its workflows (an acknowledgement within
30 minutes, the NIS2 early warning within 24 hours) is on the scenario's
clock; after it they run at real pace again, from where the scenario left
them. The federation keeps running until Ctrl-C, which stops every node and
removes the temporary directory (a second Ctrl-C forces the exit at once).

--headless plays the exercise to the end, prints the scoreboard and exits:
0 when every step was played, 1 when any failed. Without --speed it plays
on a simulated clock that jumps from one event to the next, so the
scenario's 2 h 40 min take only as long as the objects take to cross the
network, and its times are exact.

See docs/demo.md.`)
	nations := fs.Int("nations", demo.DefaultNations, fmt.Sprintf("how many nations (%d to %d); the hub comes on top", demo.MinNations, demo.MaxNations))
	headless := fs.Bool("headless", false, "play the exercise to the end, print the scoreboard and exit (non-zero if a step failed)")
	speed := fs.Float64("speed", 0, "scenario seconds per real second; 0: 360 (a scenario hour in 10 s), and with --headless a simulated clock")
	port := fs.Int("port", 0, "port of the first node's console, the others following; 0: free ports")
	dir := fs.String("dir", "", "where to make the temporary directory (default: the system's, $TMPDIR)")
	scenario := fs.String("scenario", "", "play this scenario file (docs/exercises.md) instead of the built-in one; its nodes are named as the demo names them (cert-fr, …, cert-eu)")
	noExercise := fs.Bool("no-exercise", false, "start the federation without playing the exercise")
	asJSON := fs.Bool("json", false, "with --headless, print the exercise's report and scoreboard as JSON")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	case *nations < demo.MinNations || *nations > demo.MaxNations:
		return usagef("%v", &demo.NationsError{N: *nations})
	case *speed < 0 || *speed > exercise.MaxSpeed:
		return usagef("--speed %g: want a factor from 1 (real time) to %d", *speed, exercise.MaxSpeed)
	case *speed > 0 && *speed < 1:
		return usagef("--speed %g: the exercise cannot play slower than real time; want 1 to %d", *speed, exercise.MaxSpeed)
	case *port < 0 || *port+*nations > 65535:
		return usagef("--port %d: want 1 to %d, or leave it out for free ports", *port, 65535-*nations)
	case *asJSON && !*headless:
		return usagef("--json goes with --headless (an interactive demo prints tables as it goes)")
	case *headless && *noExercise:
		return usagef("--headless plays the exercise: it cannot go with --no-exercise")
	}
	var file []byte
	if *scenario != "" {
		if *noExercise {
			return usagef("--scenario and --no-exercise: choose one")
		}
		b, err := readDemoScenario(*scenario)
		if err != nil {
			return err
		}
		// Checked now, on the federation's node names, rather than after
		// the nodes are made.
		fitted, _, err := demo.FitScenario(b, demo.NodeNames(*nations), 0)
		if err == nil {
			_, err = exercise.Parse(fitted, env.Clock.Now())
		}
		if err != nil {
			return fmt.Errorf("%s: %w", *scenario, err)
		}
		file = b
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	log := newLogger(env.Stderr, *logLevel, "text")

	// The first Ctrl-C stops the demo cleanly; a second one forces the
	// exit, removing the temporary directory as far as it can.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tmp atomic.Pointer[string]
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		log.Info("stopping the federation (Ctrl-C again to force)")
		cancel()
		<-sigs
		if d := tmp.Load(); d != nil {
			os.RemoveAll(*d)
		}
		fmt.Fprintln(env.Stderr, "entraide demo: forced exit")
		os.Exit(130)
	}()

	// The nodes run on the scenario's clock, which follows clk (at the
	// exercise's speed while it plays): headless without --speed, clk is
	// a simulated clock that the exercise moves from event to event.
	var clk clock.Clock = env.Clock
	if *headless && *speed == 0 {
		clk = clock.NewFake(env.Clock.Now())
	}
	opts := demo.Options{Nations: *nations, Dir: *dir, Clock: clk, Log: log, ConsolePort: *port}
	if lv <= slog.LevelDebug {
		opts.Federation.Log = log // every push and delivery attempt
	}
	f, err := demo.Start(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted while starting the federation")
		}
		return err
	}
	tmp.Store(&f.Dir)
	stop := func() error {
		t0 := time.Now()
		err := f.Close()
		if err == nil {
			log.Info("federation stopped; temporary directory removed", "dir", f.Dir, "took", time.Since(t0).Round(time.Millisecond))
		}
		return err
	}

	if *headless {
		res, err := f.Play(ctx, demo.PlayOptions{Scenario: file, Speed: *speed})
		if res != nil && res.Board != nil {
			if *asJSON {
				writeJSON(env.Stdout, map[string]any{"report": res.Report, "scoreboard": res.Board, "fitted": res.Fitted})
			} else {
				demo.WriteScoreboard(env.Stdout, res)
			}
		}
		if cerr := stop(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return errors.New("interrupted before the exercise ended")
		case err != nil:
			return err
		case len(res.Failed()) > 0:
			return fmt.Errorf("%d of the exercise's %d steps failed (listed above)", len(res.Failed()), len(res.Report.Events))
		}
		return nil
	}

	f.WriteNodes(env.Stdout)
	fmt.Fprintln(env.Stdout)
	var res *demo.Result
	if !*noExercise {
		res, err = f.Play(ctx, demo.PlayOptions{Scenario: file, Speed: *speed})
		switch {
		case ctx.Err() != nil:
		case err != nil:
			log.Error("the exercise could not be played", "err", err)
		case res.Board != nil:
			fmt.Fprintln(env.Stdout)
			demo.WriteScoreboard(env.Stdout, res)
		}
	}
	if ctx.Err() == nil {
		fmt.Fprintln(env.Stdout, "The federation keeps running: explore it in the consoles above. Ctrl-C stops it and removes its data.")
		select {
		case <-ctx.Done():
		case err := <-f.Err():
			log.Error("a node stopped serving; stopping the demo", "err", err)
		}
	}
	if res != nil && res.Board != nil {
		// What people did by hand in the consoles counts too.
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := f.Score(sctx, res)
		scancel()
		if err == nil && !reflect.DeepEqual(b.Nodes, res.Board.Nodes) {
			res.Board = b
			fmt.Fprintln(env.Stdout)
			demo.WriteScoreboard(env.Stdout, res)
		}
	}
	return stop()
}

// readDemoScenario reads a scenario file, refusing one too large to be a
// scenario before reading it all.
func readDemoScenario(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, exercise.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > exercise.MaxFileSize {
		return nil, fmt.Errorf("%s: more than %d MiB: not a scenario file", path, exercise.MaxFileSize>>20)
	}
	return b, nil
}
