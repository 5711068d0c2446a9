package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// Client talks TAXII 2.1 to one API root: another Entraide node or any TAXII
// 2.1 server. Delivery workers push with AddObjects; catch-up and tools read
// with Objects and Manifest, which follow next cursors page after page.
//
// Errors from the server are *Error, with Status set to the HTTP status and
// Kind to the server's error_code when it sends one of Entraide's kinds (or
// one derived from the HTTP status otherwise).
type Client struct {
	// BaseURL is the API root's URL, e.g. https://node.example/api/.
	// Discovery is read from /taxii2/ on the same host.
	BaseURL string
	// HTTP is the client to use; nil means http.DefaultClient. Configure its
	// transport for TLS 1.2 or later (and client certificates, for peers).
	HTTP *http.Client
	// User and Password are sent with HTTP Basic when User is set; Token, when
	// set, is sent as a bearer token instead.
	User, Password, Token string
}

const (
	userAgent   = "entraide-taxii/2.1"
	maxResponse = 1 << 30 // a response body larger than this is refused
	maxErrBody  = 1 << 20
)

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// endpoint is the URL of path under the API root, each segment escaped.
func (c *Client) endpoint(q url.Values, segments ...string) string {
	u := strings.TrimSuffix(c.BaseURL, "/") + "/"
	for _, s := range segments {
		u += url.PathEscape(s) + "/"
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// response is what a request returned, for a success.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and returns the body of a 2xx response, or an *Error.
func (c *Client) do(ctx context.Context, method, u string, body []byte) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", MediaType)
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", MediaType)
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.User != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("taxii: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
		return nil, responseError(resp.StatusCode, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("taxii: %s %s: reading the response: %w", method, u, err)
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("taxii: %s %s: response larger than %d bytes", method, u, maxResponse)
	}
	if len(b) > 0 {
		if typ, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || typ != taxiiType {
			return nil, fmt.Errorf("taxii: %s %s: response has Content-Type %q, want %s", method, u, resp.Header.Get("Content-Type"), MediaType)
		}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// responseError makes an *Error of an error response, with or without a
// TAXII error message in it.
func responseError(status int, body []byte) *Error {
	e := &Error{}
	if json.Unmarshal(body, e) != nil || e.Title == "" {
		desc := strings.TrimSpace(string(body))
		if len(desc) > 200 {
			desc = desc[:200] + "…"
		}
		e = &Error{Title: http.StatusText(status), Description: desc}
	}
	e.Status = status
	if !knownKind(e.Kind) || e.Kind.status() != status && e.Kind != KindInvalid {
		e.Kind = kindOf(status)
	}
	return e
}

func knownKind(k Kind) bool {
	switch k {
	case KindInvalid, KindForbidden, KindNotFound, KindConflict, KindUnavailable, KindUnauthorized,
		KindNotAcceptable, KindTooLarge, KindUnsupportedMedia, KindTooManyRequests, KindInternal:
		return true
	}
	return false
}

func (c *Client) getJSON(ctx context.Context, u string, v any) (*response, error) {
	r, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return nil, fmt.Errorf("taxii: GET %s: bad response: %w", u, err)
	}
	return r, nil
}

// Discovery reads the server's discovery resource.
func (c *Client) Discovery(ctx context.Context) (*Discovery, error) {
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("taxii: base URL: %w", err)
	}
	var d Discovery
	if _, err := c.getJSON(ctx, base.ResolveReference(&url.URL{Path: "/taxii2/"}).String(), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// APIRoot reads the API root resource.
func (c *Client) APIRoot(ctx context.Context) (*APIRoot, error) {
	var a APIRoot
	if _, err := c.getJSON(ctx, c.endpoint(nil), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Collections lists the collections the client may see.
func (c *Client) Collections(ctx context.Context) ([]Collection, error) {
	var cs collections
	if _, err := c.getJSON(ctx, c.endpoint(nil, "collections"), &cs); err != nil {
		return nil, err
	}
	return cs.Collections, nil
}

// Collection reads one collection, by id or alias.
func (c *Client) Collection(ctx context.Context, coll string) (*Collection, error) {
	var col Collection
	if _, err := c.getJSON(ctx, c.endpoint(nil, "collections", coll), &col); err != nil {
		return nil, err
	}
	return &col, nil
}

// Page is one page of a listing, with the date_added range the server
// reported in its X-TAXII-Date-Added-First and -Last headers (zero when
// absent).
type Page struct {
	Envelope
	DateAddedFirst, DateAddedLast time.Time
}

func pageDates(h http.Header) (first, last time.Time) {
	first, _ = stix.ParseTimestamp(h.Get("X-TAXII-Date-Added-First"))
	last, _ = stix.ParseTimestamp(h.Get("X-TAXII-Date-Added-Last"))
	return first, last
}

// ObjectsPage reads one page of objects.
func (c *Client) ObjectsPage(ctx context.Context, coll string, q Query) (*Page, error) {
	return c.envelopePage(ctx, c.endpoint(q.Values(), "collections", coll, "objects"))
}

func (c *Client) envelopePage(ctx context.Context, u string) (*Page, error) {
	var p Page
	r, err := c.getJSON(ctx, u, &p.Envelope)
	if err != nil {
		return nil, err
	}
	p.DateAddedFirst, p.DateAddedLast = pageDates(r.header)
	return &p, nil
}

// following returns the query for the page after one with the given more,
// next and last date_added, and whether there is one. A server that says
// "more" without a next cursor is followed with added_after, as section 3.5
// describes.
func following(q Query, more bool, next string, last time.Time, n int) (Query, bool, error) {
	if !more {
		return q, false, nil
	}
	switch {
	case next != "":
		if next == q.Next && n == 0 {
			return q, false, errors.New("taxii: server returned an empty page and the same next cursor")
		}
		q.Next = next
	case !last.IsZero():
		if !last.After(q.AddedAfter) {
			return q, false, errors.New("taxii: server says more but gives no next cursor and no later date_added")
		}
		q.AddedAfter, q.Next = last, ""
	default:
		return q, false, errors.New("taxii: server says more but gives no way to the next page")
	}
	return q, true, nil
}

// Objects iterates over the objects of a collection that match q, following
// the pages to the end. The iteration stops at the first error, which it
// yields.
func (c *Client) Objects(ctx context.Context, coll string, q Query) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		for {
			p, err := c.ObjectsPage(ctx, coll, q)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, o := range p.Objects {
				if !yield(o, nil) {
					return
				}
			}
			var more bool
			q, more, err = following(q, p.More, p.Next, p.DateAddedLast, len(p.Objects))
			if err != nil {
				yield(nil, err)
				return
			}
			if !more {
				return
			}
		}
	}
}

// Object returns the versions of one object that q selects (by default the
// latest), across all pages.
func (c *Client) Object(ctx context.Context, coll, id string, q Query) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for {
		p, err := c.envelopePage(ctx, c.endpoint(q.Values(), "collections", coll, "objects", id))
		if err != nil {
			return out, err
		}
		out = append(out, p.Objects...)
		var more bool
		if q, more, err = following(q, p.More, p.Next, p.DateAddedLast, len(p.Objects)); err != nil || !more {
			return out, err
		}
	}
}

// ManifestPage reads one page of a collection's manifest.
func (c *Client) ManifestPage(ctx context.Context, coll string, q Query) (*Manifest, error) {
	var m Manifest
	if _, err := c.getJSON(ctx, c.endpoint(q.Values(), "collections", coll, "manifest"), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Manifest iterates over the manifest records of a collection that match q,
// following the pages to the end.
func (c *Client) Manifest(ctx context.Context, coll string, q Query) iter.Seq2[ManifestRecord, error] {
	return func(yield func(ManifestRecord, error) bool) {
		for {
			var m Manifest
			r, err := c.getJSON(ctx, c.endpoint(q.Values(), "collections", coll, "manifest"), &m)
			if err != nil {
				yield(ManifestRecord{}, err)
				return
			}
			for _, rec := range m.Objects {
				if !yield(rec, nil) {
					return
				}
			}
			_, last := pageDates(r.header)
			var more bool
			q, more, err = following(q, m.More, m.Next, last, len(m.Objects))
			if err != nil {
				yield(ManifestRecord{}, err)
				return
			}
			if !more {
				return
			}
		}
	}
}

// Versions returns the versions of one object, across all pages.
func (c *Client) Versions(ctx context.Context, coll, id string, q Query) ([]string, error) {
	var out []string
	for {
		var v Versions
		r, err := c.getJSON(ctx, c.endpoint(q.Values(), "collections", coll, "objects", id, "versions"), &v)
		if err != nil {
			return out, err
		}
		out = append(out, v.Versions...)
		_, last := pageDates(r.header)
		var more bool
		if q, more, err = following(q, v.More, v.Next, last, len(v.Versions)); err != nil || !more {
			return out, err
		}
	}
}

// AddObjects posts objects to a collection in one envelope and returns the
// status the server answered with. Objects the server refused are listed
// in the status's failures; that is not an error. Keep the envelope under
// the API root's max_content_length.
func (c *Client) AddObjects(ctx context.Context, coll string, objs []json.RawMessage) (*Status, error) {
	body, err := json.Marshal(Envelope{Objects: objs})
	if err != nil {
		return nil, fmt.Errorf("taxii: encoding the envelope: %w", err)
	}
	u := c.endpoint(nil, "collections", coll, "objects")
	r, err := c.do(ctx, http.MethodPost, u, body)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		return nil, fmt.Errorf("taxii: POST %s: bad status resource: %w", u, err)
	}
	return &st, nil
}

// Status reads a status resource.
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	var st Status
	if _, err := c.getJSON(ctx, c.endpoint(nil, "status", id), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// DeleteObject deletes the versions of an object that q selects (q.Versions
// and q.SpecVersions; all versions by default) from a collection.
func (c *Client) DeleteObject(ctx context.Context, coll, id string, q Query) error {
	v := url.Values{}
	if len(q.Versions) > 0 {
		v.Set("match[version]", strings.Join(q.Versions, ","))
	}
	if len(q.SpecVersions) > 0 {
		v.Set("match[spec_version]", strings.Join(q.SpecVersions, ","))
	}
	_, err := c.do(ctx, http.MethodDelete, c.endpoint(v, "collections", coll, "objects", id), nil)
	return err
}
