// Package cli is the `entraide` command line: one subcommand per file, each
// with its own flag set and --help. Commands return errors; Main prints them
// once, in one place, and turns them into exit codes (2 for a usage error, 1
// for any other failure). Outside scripts rely on this contract: commands,
// flags, --json output and exit codes change only with care.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/node"
)

// Env is what a command may touch of the outside world, so that tests run
// commands in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Clock  clock.Clock
	// IsTerminal reports whether w is an interactive terminal (progress bars).
	IsTerminal func(w io.Writer) bool
}

// OSEnv is the process's environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Clock: clock.System{}, IsTerminal: isTerminal}
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "start a whole federation on this machine (nations and a hub) and play an exercise across it", runDemo},
		{"init", "create a node: keys, TLS certificate, database, default collection, admin user", runInit},
		{"serve", "serve TAXII 2.1 to users, and the federation to peers (--fed-listen)", runServe},
		{"import", "load STIX 2.1 bundles or one-object-per-line files into a collection", runImport},
		{"export", "write a collection's objects as a STIX 2.1 bundle", runExport},
		{"collection", "list or add TAXII collections", runCollection},
		{"user", "manage local users, their permissions and tokens", runUser},
		{"card", "export this node's signed card, or verify a partner's", runCard},
		{"peer", "pin partner nodes from their cards; list, show, remove; accept key rotations", runPeer},
		{"community", "create and manage communities: members, highest TLP, object types", runCommunity},
		{"key", "rotate the node's signing key", runKey},
		{"share", "sign objects and share them with communities or peers, under a TLP marking", runShare},
		{"status", "per peer: reachable, last contact, delivery queue; what is due and overdue", runStatus},
		{"alert", "send alerts to peers and communities; acknowledge them; see who answered", runAlert},
		{"incident", "coordinate incidents: common severity, RSIT class, participants, tasks, timeline, NIS2 clock", runIncident},
		{"assist", "mutual assistance: request help, offer capabilities, accept or decline, close with a report", runAssist},
		{"legal", "Budapest Convention Art. 29/30 preservation requests: send, respond, extend, chain, timings", runLegal},
		{"notice", "due-diligence notices to the state malicious activity comes from, and their answers", runNotice},
		{"poc", "points of contact per role in the node card; ping a partner's role and see who answers", runPoc},
		{"exercise", "exercises: play a scenario of timed injects across the federation; validate it; the scoreboard", runExercise},
		{"audit", "verify or list the tamper-evident audit log", runAudit},
		{"report", "the sharing report: what went to whom under which marking, and what came back", runReport},
		{"vocab", "the vocabularies workflows use: NIS2 sectors, RSIT classes, capabilities, severity scales", runVocab},
		{"check-config", "validate the node's configuration offline (secrets are not printed)", runCheckConfig},
		{"generate", "generate synthetic STIX data (benchmarks, demonstrations)", runGenerate},
		{"version", "print the version", runVersion},
	}
}

// Version is set at build time with -ldflags "-X …/cli.Version=…".
var Version = "dev"

// usageError is a mistake in how a command was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			if err == nil || errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(env.Stderr, "entraide %s: %v\n", c.name, err)
			var ue *usageError
			if errors.As(err, &ue) {
				fmt.Fprintf(env.Stderr, "Run 'entraide %s --help' for usage.\n", c.name)
				return 2
			}
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "entraide: unknown command %q\n", args[0])
	if s := suggest(args[0]); s != "" {
		fmt.Fprintf(env.Stderr, "Did you mean 'entraide %s'?\n", s)
	}
	fmt.Fprintln(env.Stderr, "Run 'entraide --help' for the list of commands.")
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "entraide — a sovereign node of the Entraide cybersecurity cooperation federation")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: entraide COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'entraide COMMAND --help' for a command's flags.")
}

func suggest(s string) string {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, s) || strings.HasPrefix(s, c.name) {
			return c.name
		}
	}
	return ""
}

// newFlags makes a command's flag set; usage prints the synopsis, a
// description and the flags.
func newFlags(env Env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	helpOut.Store(fs, env.Stdout)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: entraide %s\n\n%s\n", synopsis, strings.TrimSpace(description))
		if hasFlags(fs) {
			fmt.Fprintln(w, "\nFlags:")
			fs.VisitAll(func(f *flag.Flag) {
				def := ""
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
					def = fmt.Sprintf(" (default %s)", f.DefValue)
				}
				fmt.Fprintf(w, "  --%s\n      %s%s\n", f.Name, f.Usage, def)
			})
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses args, turning flag errors into usage errors; flags may come
// before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			// Asked-for help goes to stdout (it is the answer, not an error).
			if w, ok := helpOut.Load(fs); ok {
				fs.SetOutput(w.(io.Writer))
			}
			fs.Usage()
			return flag.ErrHelp
		}
	}
	// Accept flags after positional arguments too (entraide import FILE --data DIR).
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// helpOut remembers where each flag set prints asked-for help.
var helpOut sync.Map

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// setFlags returns the flags explicitly given, by name, for config.Load.
func setFlags(fs *flag.FlagSet, names ...string) map[string]string {
	out := map[string]string{}
	want := map[string]string{}
	for _, n := range names {
		want[n] = strings.ReplaceAll(n, "-", "_")
	}
	fs.Visit(func(f *flag.Flag) {
		if k, ok := want[f.Name]; ok {
			out[k] = f.Value.String()
		}
	})
	return out
}

// dataFlag declares --data, required by every command that works on a node.
func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", "", "the node's data directory (required)")
}

// dbFlag declares --db.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "", "database URL (postgres://…); default: the node's configuration, else the embedded SQLite file")
}

// openNode opens the node named by --data with --db applied.
func openNode(ctx context.Context, env Env, fs *flag.FlagSet, data string) (*node.Node, error) {
	if data == "" {
		return nil, usagef("--data is required: the node's data directory")
	}
	return node.Open(ctx, data, env.Getenv, setFlags(fs, "db", "listen", "fed-listen", "max-content-length", "log-level", "log-format"), env.Clock)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newLogger builds the structured logger of long-running commands.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runVersion(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "version", "version", "Print the version of this binary.")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "entraide %s\n", Version)
	return nil
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// helpWriter is stdout when help was asked for, stderr when it is shown
// because the command was called wrongly.
func helpWriter(env Env, args []string) io.Writer {
	if len(args) > 0 {
		return env.Stdout
	}
	return env.Stderr
}
