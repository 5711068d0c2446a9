package demo

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"time"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/portal"
	"github.com/entraide/entraide/internal/web"
	"github.com/entraide/entraide/internal/workflow"
)

// consolePrefix is where the console is mounted on the user listener.
const consolePrefix = web.Prefix

// Handler is a node's user listener, the one `entraide serve` serves
// (portal.Handler): the web console under /console/, the workflows' JSON
// API under /entraide/v1/ and TAXII 2.1 for everything else, with one
// authenticator for the three.
//
// Its console sessions last SessionIdle without a request and SessionMaxAge
// at most, on the node's clock: while the exercise plays, that clock runs at
// the exercise's speed (360 times real time by default), and the console's
// usual hour of idleness would end a person's session in ten real seconds,
// in the middle of the acknowledgement the demo asks them to make.
func Handler(ctx context.Context, n *node.Node, fed *federation.Federation, wf *workflow.Engine, log *slog.Logger) (http.Handler, error) {
	return portal.Handler(ctx, n, fed, wf, log, portal.SessionLifetimes(SessionIdle, SessionMaxAge))
}

// The demo consoles' session lifetimes, in node time (see Handler): longer
// than any exercise the demo plays at full speed. The demo's nodes live in
// a temporary directory that Ctrl-C removes, sessions with them.
const (
	SessionIdle   = 7 * 24 * time.Hour
	SessionMaxAge = 30 * 24 * time.Hour
)

// discardLog silences net/http's own messages (a browser refusing the
// self-signed certificate, mostly): the demo's log says what matters.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// quieter is a log handler that passes on only records at or above min:
// the federation logs every push it receives at info, which would drown
// the demo's own account of the exercise (deliveries are summed up by
// the demo's delivery watcher instead).
type quieter struct {
	slog.Handler
	min slog.Level
}

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= q.min && q.Handler.Enabled(ctx, l)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler {
	return quieter{q.Handler.WithAttrs(as), q.min}
}

func (q quieter) WithGroup(name string) slog.Handler {
	return quieter{q.Handler.WithGroup(name), q.min}
}
