package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// authenticator words the node's one user.Authenticator as API errors: the
// API authenticates exactly as TAXII on the same listener does (HTTP Basic
// checked with argon2id, bearer tokens by their SHA-256, a short-lived
// memory of successful password checks, a bound on concurrent argon2id
// runs, per-address and per-name limits on failed logins), and with the
// same failure tables when the node shares its authenticator
// (Options.Auth).
type authenticator struct {
	*user.Authenticator
	log *slog.Logger
}

func newAuthenticator(shared *user.Authenticator, st store.Store, clk clock.Clock, log *slog.Logger) *authenticator {
	if shared == nil {
		shared = user.NewAuthenticator(st, clk, log)
	}
	return &authenticator{Authenticator: shared, log: log}
}

// authenticate returns the user a request speaks for, or an *Error (401,
// 429, 503) or an internal error.
func (a *authenticator) authenticate(r *http.Request) (store.User, error) {
	u, err := a.Authenticate(r)
	if err == nil {
		return u, nil
	}
	var ae *user.AuthError
	if !errors.As(err, &ae) {
		return store.User{}, err
	}
	switch ae.Failure {
	case user.NoCredentials:
		return store.User{}, &Error{Status: http.StatusUnauthorized,
			Message: "authentication required: HTTP Basic (user name and password) or a bearer token (entraide user token)"}
	case user.Throttled:
		return store.User{}, &Error{Status: http.StatusTooManyRequests, RetryAfter: ae.RetryAfterSeconds(),
			Message: "too many failed logins from your address or to this user name; try again later"}
	case user.Busy:
		return store.User{}, &Error{Status: http.StatusServiceUnavailable, Message: "the server is busy; try again", Err: ae.Err}
	}
	a.log.Info("api authentication failed", "addr", user.RemoteAddr(r), "user", ae.User)
	return store.User{}, &Error{Status: http.StatusUnauthorized, Message: "the credentials were not accepted"}
}
