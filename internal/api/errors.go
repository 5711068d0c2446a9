package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Error is an answer other than success: the HTTP status and the message
// the client reads. Err, when set, is the detail that goes to the log only.
type Error struct {
	Status     int
	Message    string
	RetryAfter int      // seconds, for 429
	Allow      []string // methods, for 405
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Status  int    `json:"status"`
	ErrorID string `json:"error_id,omitempty"` // for 5xx: the id of the log line holding the detail
}

// engineError classifies an error of the workflow engine: a mistake in
// the request is 400 with the engine's message, a refusal (this node is not
// a party, or may not take that action) 403, an absent case 404; anything
// else is internal, its detail logged and not shown.
func engineError(err error) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, workflow.ErrInput):
		return &Error{Status: http.StatusBadRequest, Message: strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": "), Err: err}
	case errors.Is(err, workflow.ErrNotParty):
		return &Error{Status: http.StatusForbidden, Message: strings.TrimPrefix(err.Error(), workflow.ErrNotParty.Error()+": "), Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: "not found on this node", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Message: "the request was cancelled or took too long; try again", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: "internal error", Err: err}
}
