package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// Logins are checked by the node's one user.Authenticator, which TAXII and
// the JSON API on the same listener share (Options.Auth): failures are
// counted per client address and per user name over a window, on every
// path together; past the limit, logins from that address (or to that
// name) are refused until the window ends, without checking the password —
// a guesser learns nothing more, and cannot move to another path. The
// limits are user.MaxAddrFailures, user.MaxNameFailures and
// user.FailureWindow.

var (
	errBadLogin  = errors.New("wrong user name or password")
	errThrottled = errors.New("too many failed logins")
	errBusy      = errors.New("the server is busy")
)

// loginChecker checks the console's login form.
type loginChecker struct {
	auth *user.Authenticator
}

// newLoginChecker uses shared when the node gave one, else makes one of
// the console's own.
func newLoginChecker(shared *user.Authenticator, st store.Store, clk clock.Clock, log *slog.Logger) *loginChecker {
	if shared == nil {
		shared = user.NewAuthenticator(st, clk, log)
	}
	return &loginChecker{auth: shared}
}

// check returns the user whose name and password these are, or
// errBadLogin, errThrottled (with how long to wait), errBusy or a store
// error. A disabled user, an unknown one and one without a password all
// look alike to the caller, and take the same time.
func (l *loginChecker) check(ctx context.Context, addr, name, pw string) (store.User, time.Duration, error) {
	u, err := l.auth.Password(ctx, addr, name, pw)
	var ae *user.AuthError
	if err == nil || !errors.As(err, &ae) {
		return u, 0, err
	}
	switch ae.Failure {
	case user.Throttled:
		return store.User{}, ae.RetryAfter, errThrottled
	case user.Busy:
		return store.User{}, 0, errBusy
	}
	return store.User{}, 0, errBadLogin
}

// remoteAddr is the client's IP address as the connection shows it;
// forwarding headers are not trusted.
func remoteAddr(r *http.Request) string { return user.RemoteAddr(r) }
