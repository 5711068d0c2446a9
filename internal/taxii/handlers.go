package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// baseURL is the server's address as the client reached it. TAXII runs over
// HTTPS only, so the scheme is https even behind a TLS-terminating proxy.
func baseURL(r *http.Request) string { return "https://" + r.Host }

func (s *Server) rootURL(r *http.Request) string { return baseURL(r) + "/" + s.cfg.APIRoot + "/" }

func (s *Server) discovery(w http.ResponseWriter, r *http.Request, _ store.User) error {
	root := s.rootURL(r)
	s.writeJSON(w, http.StatusOK, Discovery{
		Title:       s.cfg.Title,
		Description: s.cfg.Description,
		Contact:     s.cfg.Contact,
		Default:     root,
		APIRoots:    []string{root},
	})
	return nil
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request, _ store.User) error {
	s.writeJSON(w, http.StatusOK, APIRoot{
		Title:            s.cfg.Title,
		Description:      s.cfg.Description,
		Versions:         []string{MediaType},
		MaxContentLength: s.cfg.MaxContentLength,
	})
	return nil
}

// collectionResource is c as user u sees it.
func collectionResource(c store.Collection, u store.User) Collection {
	mt := c.MediaTypes
	if len(mt) == 0 {
		mt = []string{STIXMediaType}
	}
	return Collection{
		ID:          c.ID,
		Title:       c.Title,
		Description: c.Description,
		Alias:       c.Alias,
		CanRead:     user.CanRead(u, c.ID),
		CanWrite:    user.CanWrite(u, c.ID),
		MediaTypes:  mt,
	}
}

// collections lists the collections the user may read or write; the others
// are omitted, as section 1.6.9 allows, so that their existence does not leak.
func (s *Server) collections(w http.ResponseWriter, r *http.Request, u store.User) error {
	all, err := s.st.Collections(r.Context())
	if err != nil {
		return errInternal(err)
	}
	var res collections
	for _, c := range all {
		if user.CanRead(u, c.ID) || user.CanWrite(u, c.ID) {
			res.Collections = append(res.Collections, collectionResource(c, u))
		}
	}
	s.writeJSON(w, http.StatusOK, res)
	return nil
}

// access is what an endpoint needs of a collection.
type access int

const (
	anyAccess   access = iota // read or write: the collection resource
	readAccess                // objects, manifest, versions
	writeAccess               // add objects
	readWrite                 // delete an object (section 5.7 needs both)
)

// lookup resolves the {collection} path parameter, an id or an alias, and
// checks the user's access. A user who can neither read nor write the
// collection gets 404, exactly as if it did not exist; one who has the other
// right gets 403.
func (s *Server) lookup(r *http.Request, u store.User, need access) (store.Collection, error) {
	ctx := r.Context()
	idOrAlias := r.PathValue("collection")
	c, err := s.st.Collection(ctx, idOrAlias)
	if errors.Is(err, store.ErrNotFound) {
		var all []store.Collection
		if all, err = s.st.Collections(ctx); err != nil {
			return store.Collection{}, errInternal(err)
		}
		err = store.ErrNotFound
		for _, a := range all {
			if a.Alias != "" && a.Alias == idOrAlias {
				c, err = a, nil
				break
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Collection{}, errNotFound("collection")
	}
	if err != nil {
		return store.Collection{}, errInternal(err)
	}
	canRead, canWrite := user.CanRead(u, c.ID), user.CanWrite(u, c.ID)
	if !canRead && !canWrite {
		return store.Collection{}, errNotFound("collection")
	}
	switch {
	case need == readAccess && !canRead:
		return store.Collection{}, errForbidden("you may add objects to this collection but not read it")
	case need == writeAccess && !canWrite:
		return store.Collection{}, errForbidden("you may read this collection but not add objects to it")
	case need == readWrite && !(canRead && canWrite):
		return store.Collection{}, errForbidden("deleting objects needs both read and write access to the collection")
	}
	return c, nil
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := s.lookup(r, u, anyAccess)
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, collectionResource(c, u))
	return nil
}

// query parses the request's filters for an endpoint that accepts allowed
// and turns them into a store query with the page size settled.
func (s *Server) query(r *http.Request, allowed params) (store.Query, error) {
	q, err := parseQuery(r.URL.Query(), allowed, s.cfg.MaxLimit)
	if err != nil {
		return store.Query{}, err
	}
	if q.Limit == 0 {
		q.Limit = s.cfg.DefaultLimit
	}
	return store.Query{
		AddedAfter:   q.AddedAfter,
		IDs:          q.IDs,
		Types:        q.Types,
		Versions:     q.Versions,
		SpecVersions: q.SpecVersions,
		Limit:        q.Limit,
		Next:         q.Next,
	}, nil
}

// list runs a listing and maps the store's errors.
func (s *Server) list(r *http.Request, u store.User, c store.Collection, q store.Query, withRaw bool) (store.Page, error) {
	p, err := s.st.ListObjects(r.Context(), c.ID, q, withRaw)
	switch {
	case err == nil:
		if s.cfg.Visible != nil {
			if p.Entries, err = s.cfg.Visible(r.Context(), u, c, p.Entries); err != nil {
				return p, errInternal(err)
			}
		}
		return p, nil
	case errors.Is(err, store.ErrInvalid):
		e := errInvalid("the query was not accepted")
		if q.Next != "" {
			e = errInvalid("next: not a cursor this server issued (pass the next value of the previous page unchanged)")
		}
		e.Err = err
		return p, e
	case errors.Is(err, store.ErrNotFound): // deleted while we looked
		return p, errNotFound("collection")
	}
	return p, errInternal(err)
}

func (s *Server) getObjects(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := s.lookup(r, u, readAccess)
	if err != nil {
		return err
	}
	q, err := s.query(r, objectsParams)
	if err != nil {
		return err
	}
	p, err := s.list(r, u, c, q, true)
	if err != nil {
		return err
	}
	setDateAdded(w, p.Entries)
	s.writeBody(w, http.StatusOK, envelopeJSON(p.Entries, p.Next))
	return nil
}

// objectID reads the {object} path parameter, which must be a STIX id.
func objectID(r *http.Request) (string, error) {
	id := r.PathValue("object")
	if err := validID(id); err != nil {
		return "", errInvalid("object id: %v", err)
	}
	return id, nil
}

// getObject answers 404 when no version of the object matches: the object
// is then not in the collection as far as the client can tell, and section
// 5.7 requires 404 for an object that was deleted. A page reached through
// next may be empty (versions deleted meanwhile); that is an empty envelope.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := s.lookup(r, u, readAccess)
	if err != nil {
		return err
	}
	id, err := objectID(r)
	if err != nil {
		return err
	}
	q, err := s.query(r, objectParams)
	if err != nil {
		return err
	}
	q.IDs = []string{id}
	p, err := s.list(r, u, c, q, true)
	if err != nil {
		return err
	}
	if len(p.Entries) == 0 && q.Next == "" {
		return errNotFound("object")
	}
	setDateAdded(w, p.Entries)
	s.writeBody(w, http.StatusOK, envelopeJSON(p.Entries, p.Next))
	return nil
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := s.lookup(r, u, readAccess)
	if err != nil {
		return err
	}
	id, err := objectID(r)
	if err != nil {
		return err
	}
	q, err := s.query(r, versionParams)
	if err != nil {
		return err
	}
	q.IDs, q.Versions = []string{id}, []string{"all"}
	p, err := s.list(r, u, c, q, false)
	if err != nil {
		return err
	}
	if len(p.Entries) == 0 && q.Next == "" {
		return errNotFound("object")
	}
	res := Versions{More: p.Next != "", Next: p.Next}
	for _, e := range p.Entries {
		res.Versions = append(res.Versions, e.Version)
	}
	setDateAdded(w, p.Entries)
	s.writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := s.lookup(r, u, readAccess)
	if err != nil {
		return err
	}
	q, err := s.query(r, objectsParams)
	if err != nil {
		return err
	}
	p, err := s.list(r, u, c, q, false)
	if err != nil {
		return err
	}
	res := Manifest{More: p.Next != "", Next: p.Next}
	for _, e := range p.Entries {
		mt := e.MediaType
		if mt == "" {
			mt = STIXMediaType
		}
		res.Objects = append(res.Objects, ManifestRecord{
			ID:        e.ID,
			DateAdded: stix.FormatTimestamp(e.DateAdded),
			Version:   e.Version,
			MediaType: mt,
		})
	}
	setDateAdded(w, p.Entries)
	s.writeJSON(w, http.StatusOK, res)
	return nil
}

// deleteObject removes the selected versions and answers 200 with no body
// (the specification's payload is "n/a").
func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := s.lookup(r, u, readWrite)
	if err != nil {
		return err
	}
	id, err := objectID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r.URL.Query(), deleteParams, s.cfg.MaxLimit)
	if err != nil {
		return err
	}
	n, err := s.st.DeleteObject(r.Context(), c.ID, id, store.Query{Versions: q.Versions, SpecVersions: q.SpecVersions})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("object")
	case errors.Is(err, store.ErrInvalid):
		e := errInvalid("the version filter was not accepted")
		e.Err = err
		return e
	case err != nil:
		return errInternal(err)
	}
	s.log.Info("taxii object deleted", "collection", c.ID, "object", id, "user", u.Name, "entries", n)
	s.writeBody(w, http.StatusOK, nil)
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("status")
	if !isUUID(id) {
		return errNotFound("status")
	}
	st, err := s.st.Status(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("status")
	}
	if err != nil {
		return errInternal(err)
	}
	// A status tells which objects someone sent: only they and admins see it,
	// and others cannot tell it exists.
	if st.Owner != u.Name && !u.Admin {
		return errNotFound("status")
	}
	s.writeJSON(w, http.StatusOK, statusResource(st))
	return nil
}

func statusResource(st store.Status) Status {
	conv := func(ds []store.StatusDetail) []StatusDetail {
		if len(ds) == 0 {
			return nil
		}
		out := make([]StatusDetail, len(ds))
		for i, d := range ds {
			out[i] = StatusDetail{ID: d.ID, Version: d.Version, Message: d.Message}
		}
		return out
	}
	res := Status{
		ID:           st.ID,
		Status:       st.Status,
		TotalCount:   st.TotalCount,
		SuccessCount: len(st.Successes),
		Successes:    conv(st.Successes),
		FailureCount: len(st.Failures),
		Failures:     conv(st.Failures),
		PendingCount: len(st.Pendings),
		Pendings:     conv(st.Pendings),
	}
	if !st.RequestTimestamp.IsZero() {
		res.RequestTimestamp = stix.FormatTimestamp(st.RequestTimestamp)
	}
	return res
}

// addObjects is Add Objects (section 5.5). Every object goes through
// stix.Parse on its own, so one bad object never blocks the others; the
// valid ones are stored in one AddObjects batch. The request is processed
// before the answer, so the status is already "complete": the client need
// not poll.
//
// A version already stored with the same content is a success ("already
// present"): the specification forbids an error for an exact duplicate. A
// version stored with other content, an invalid object and a version after a
// revocation are failures, each with its reason.
func (s *Server) addObjects(w http.ResponseWriter, r *http.Request, u store.User) error {
	started := s.clk.Now()
	c, err := s.lookup(r, u, writeAccess)
	if err != nil {
		return err
	}
	if !contentTypeOK(r.Header.Get("Content-Type")) {
		return &Error{Kind: KindUnsupportedMedia, Title: "Unsupported media type",
			Description: "send the objects in an envelope with Content-Type: " + MediaType}
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	raws, err := decodeEnvelope(body)
	if err != nil {
		return err
	}

	type line struct {
		detail StatusDetail
		ok     bool
	}
	lines := make([]line, len(raws))
	var valid []*stix.Object
	var at []int // valid[k] is raws[at[k]]
	toParse := raws
	if s.cfg.Ingest != nil {
		toParse = nil // the hook handles them all
		outs, err := s.cfg.Ingest(r.Context(), u, c, raws)
		if err != nil {
			return errInternal(err)
		}
		if len(outs) != len(raws) {
			return errInternal(errors.New("ingest returned " + strconv.Itoa(len(outs)) + " outcomes for " + strconv.Itoa(len(raws)) + " objects"))
		}
		for i, o := range outs {
			lines[i] = line{detail: StatusDetail{ID: o.ID, Version: o.Version, Message: o.Message}, ok: o.OK}
		}
	}
	for i, raw := range toParse {
		o, err := stix.Parse(raw)
		if err != nil {
			id, ver := peekIDVersion(raw)
			var ie *stix.InvalidError
			if errors.As(err, &ie) && ie.ID != "" {
				id = ie.ID
			}
			lines[i] = line{detail: StatusDetail{ID: id, Version: ver, Message: err.Error()}}
			continue
		}
		valid = append(valid, o)
		at = append(at, i)
	}
	if len(valid) > 0 {
		results, err := s.st.AddObjects(r.Context(), c.ID, valid)
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("collection")
		}
		if err != nil {
			return errInternal(err)
		}
		if len(results) != len(valid) {
			return errInternal(errors.New("store returned " + strconv.Itoa(len(results)) + " outcomes for " + strconv.Itoa(len(valid)) + " objects"))
		}
		for k, res := range results {
			d := StatusDetail{ID: res.ID, Version: res.Version}
			if d.ID == "" {
				d.ID = valid[k].ID
			}
			ok := true
			switch res.Outcome {
			case store.Added:
			case store.Duplicate:
				d.Message = "already present: this version was stored before with the same content"
			case store.Conflict:
				ok = false
				d.Message = res.Message
				if d.Message == "" {
					d.Message = "conflict: this version exists with other content"
				}
			default:
				ok = false
				d.Message = "not stored"
			}
			lines[at[k]] = line{detail: d, ok: ok}
		}
	}

	st := store.Status{
		ID:               s.newID(),
		Owner:            u.Name,
		Status:           "complete",
		RequestTimestamp: started,
		TotalCount:       len(raws),
	}
	for _, l := range lines {
		d := store.StatusDetail{ID: l.detail.ID, Version: l.detail.Version, Message: l.detail.Message}
		if l.ok {
			st.Successes = append(st.Successes, d)
		} else {
			st.Failures = append(st.Failures, d)
		}
	}
	if err := s.st.PutStatus(r.Context(), st); err != nil {
		// The objects are stored; a retry will report them as duplicates.
		return errInternal(err)
	}
	s.log.Info("taxii objects added", "collection", c.ID, "user", u.Name, "status", st.ID,
		"total", st.TotalCount, "successes", len(st.Successes), "failures", len(st.Failures))
	s.writeJSON(w, http.StatusAccepted, statusResource(st))
	return nil
}

// readBody reads a request body of at most max_content_length bytes: a
// Content-Length above it is refused before reading, and a body that turns
// out longer (chunked, or a lying Content-Length) is cut off by
// http.MaxBytesReader.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	max := s.cfg.MaxContentLength
	tooLarge := &Error{Kind: KindTooLarge, Title: "Request entity too large",
		Description: "the request body exceeds the max_content_length of this API root (" + strconv.FormatInt(max, 10) + " bytes)"}
	if r.ContentLength > max {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		e := errInvalid("the request body could not be read")
		e.Err = err
		return nil, e
	}
	return body, nil
}

// decodeEnvelope returns the objects of a TAXII envelope, each as its raw
// JSON. The body must be one JSON object whose "objects" property is a
// non-empty array: an envelope's objects property holds "one or more" STIX
// objects (section 3.7), and a status with total_count 0 would mean "not
// yet processed", so an empty envelope is a bad request rather than a
// vacuous success. Other envelope properties (more, next, custom ones) are
// ignored. The elements are not checked here: each is a STIX object, judged
// on its own by stix.Parse.
func decodeEnvelope(body []byte) ([]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, errInvalid("the request body is not valid UTF-8")
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) || string(bytes.TrimSpace(body)) == "null" {
			return nil, errInvalid("the request body must be a TAXII envelope: a JSON object with an objects array")
		}
		return nil, errInvalid("the request body is not valid JSON: %v", err)
	}
	if env == nil {
		return nil, errInvalid("the request body must be a TAXII envelope: a JSON object with an objects array")
	}
	raw, ok := env["objects"]
	if !ok {
		return nil, errInvalid("the envelope has no objects property")
	}
	var objs []json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil || objs == nil {
		return nil, errInvalid("the envelope's objects property must be an array of STIX objects")
	}
	if len(objs) == 0 {
		return nil, errInvalid("the envelope's objects array is empty: it must hold one or more STIX objects")
	}
	return objs, nil
}

// peekIDVersion reads, as well as it can, the id and version of an object
// that did not parse, for its line in the status.
func peekIDVersion(raw []byte) (id, ver string) {
	var m struct {
		ID       any `json:"id"`
		Created  any `json:"created"`
		Modified any `json:"modified"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return "", ""
	}
	str := func(v any) string { s, _ := v.(string); return s }
	id, ver = str(m.ID), str(m.Modified)
	if ver == "" {
		ver = str(m.Created)
	}
	return id, ver
}
