package taxii

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// authenticator words the node's one user.Authenticator (HTTP Basic with
// argon2id, bearer tokens, the verification cache, the bound on concurrent
// argon2id runs, the failed-login tables shared with the JSON API and the
// console) as TAXII errors.
type authenticator struct {
	*user.Authenticator
	log *slog.Logger
}

// newAuthenticator uses shared when the node gave one (Config.Auth), else
// makes one of the server's own.
func newAuthenticator(shared *user.Authenticator, st store.Store, clk clock.Clock, log *slog.Logger) *authenticator {
	if shared == nil {
		shared = user.NewAuthenticator(st, clk, log)
	}
	return &authenticator{Authenticator: shared, log: log}
}

func unauthorized(desc string) *Error {
	return &Error{Kind: KindUnauthorized, Title: "Unauthorized", Description: desc}
}

// authenticate returns the user a request speaks for, or the TAXII error
// to answer.
func (a *authenticator) authenticate(r *http.Request) (store.User, error) {
	u, err := a.Authenticate(r)
	if err == nil {
		return u, nil
	}
	var ae *user.AuthError
	if !errors.As(err, &ae) {
		return store.User{}, errInternal(err)
	}
	switch ae.Failure {
	case user.NoCredentials:
		return store.User{}, unauthorized("this server needs authentication: HTTP Basic or a bearer token")
	case user.Throttled:
		return store.User{}, &Error{Kind: KindTooManyRequests, Title: "Too many requests",
			Description: "too many failed logins from your address or to this user name; try again later",
			Details:     map[string]any{"retry_after": ae.RetryAfterSeconds()}}
	case user.Busy:
		return store.User{}, errUnavailable(ae.Err)
	}
	a.log.Info("taxii authentication failed", "addr", user.RemoteAddr(r), "user", ae.User)
	return store.User{}, unauthorized("the credentials were not accepted")
}
