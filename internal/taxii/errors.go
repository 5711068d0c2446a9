package taxii

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Kind classifies an error. It survives the wire as the TAXII error message's
// error_code, so a client (another node) can act on it without parsing prose.
type Kind string

// The kinds of error a TAXII exchange can end with. The first five are the
// project-wide kinds; the others are the HTTP-level refusals TAXII defines.
const (
	KindInvalid          Kind = "invalid-input"          // 400
	KindForbidden        Kind = "forbidden"              // 403
	KindNotFound         Kind = "not-found"              // 404
	KindConflict         Kind = "conflict"               // 409
	KindUnavailable      Kind = "unavailable"            // 503
	KindUnauthorized     Kind = "unauthorized"           // 401
	KindNotAcceptable    Kind = "not-acceptable"         // 406
	KindTooLarge         Kind = "too-large"              // 413
	KindUnsupportedMedia Kind = "unsupported-media-type" // 415
	KindTooManyRequests  Kind = "too-many-requests"      // 429
	KindInternal         Kind = "internal"               // 500
)

// status is the HTTP status a kind is answered with.
func (k Kind) status() int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindUnavailable:
		return http.StatusServiceUnavailable
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindNotAcceptable:
		return http.StatusNotAcceptable
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case KindTooManyRequests:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// kindOf is the inverse of status, for error messages that carry no
// error_code (servers other than Entraide).
func kindOf(status int) Kind {
	for _, k := range []Kind{KindInvalid, KindForbidden, KindNotFound, KindConflict, KindUnavailable,
		KindUnauthorized, KindNotAcceptable, KindTooLarge, KindUnsupportedMedia, KindTooManyRequests} {
		if k.status() == status {
			return k
		}
	}
	if status == http.StatusUnprocessableEntity {
		return KindInvalid
	}
	return KindInternal
}

// Error is a TAXII error message (section 3.6.1). Handlers return it; the
// server writes Title, Description and Details to the client and logs Err,
// which never leaves the node. The client returns it too, decoded from a
// response, with Status set from the HTTP status line.
type Error struct {
	Kind        Kind
	Status      int // HTTP status; derived from Kind when zero
	Title       string
	Description string
	ID          string         // error_id: set for internal errors, to find the log line
	Details     map[string]any // machine-readable specifics, optional
	Err         error          // the logged detail; never sent
}

func (e *Error) Error() string {
	s := fmt.Sprintf("taxii: %d %s", e.httpStatus(), e.Title)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap exposes the detail to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) httpStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Kind.status()
}

// wireError is the JSON form of Error. http_status is a string, as the
// specification's property table says.
type wireError struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	ErrorID     string         `json:"error_id,omitempty"`
	ErrorCode   string         `json:"error_code,omitempty"`
	HTTPStatus  string         `json:"http_status,omitempty"`
	Details     map[string]any `json:"details,omitempty"`
}

// MarshalJSON writes the TAXII error message.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireError{
		Title:       e.Title,
		Description: e.Description,
		ErrorID:     e.ID,
		ErrorCode:   string(e.Kind),
		HTTPStatus:  strconv.Itoa(e.httpStatus()),
		Details:     e.Details,
	})
}

// UnmarshalJSON reads a TAXII error message, tolerating http_status as a
// number (some servers send one).
func (e *Error) UnmarshalJSON(b []byte) error {
	var w struct {
		Title       string          `json:"title"`
		Description string          `json:"description"`
		ErrorID     string          `json:"error_id"`
		ErrorCode   string          `json:"error_code"`
		HTTPStatus  json.RawMessage `json:"http_status"`
		Details     map[string]any  `json:"details"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	e.Title, e.Description, e.ID, e.Kind, e.Details = w.Title, w.Description, w.ErrorID, Kind(w.ErrorCode), w.Details
	if len(w.HTTPStatus) > 0 {
		var s string
		if json.Unmarshal(w.HTTPStatus, &s) == nil {
			e.Status, _ = strconv.Atoi(s)
		} else {
			_ = json.Unmarshal(w.HTTPStatus, &e.Status)
		}
	}
	return nil
}

// Constructors for the errors handlers return. The title is fixed per kind;
// the description is the public explanation.

func errInvalid(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Title: "Bad request", Description: fmt.Sprintf(format, args...)}
}

func errNotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Title: "Not found", Description: what + " not found, or you do not have access to it"}
}

func errForbidden(format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Title: "Forbidden", Description: fmt.Sprintf(format, args...)}
}

func errInternal(err error) *Error {
	return &Error{Kind: KindInternal, Title: "Internal server error",
		Description: "the server could not complete the request; the error was logged", Err: err}
}

func errUnavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Title: "Service unavailable",
		Description: "the server is temporarily unable to handle the request; try again later", Err: err}
}
