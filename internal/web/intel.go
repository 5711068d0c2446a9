package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// Browsing reads at most intelPage entries per store page, and a text
// search at most intelScanPages pages per request (it says how far it
// looked and offers to go on): a page costs the same on a node of a
// hundred objects and of a million.
const (
	intelPage      = 50
	intelScanPages = 20
	maxQuery       = 200
)

// intelTypes are the types offered in the type filter; any other type
// can still be asked for in the URL.
var intelTypes = []string{"indicator", "malware", "threat-actor", "intrusion-set", "campaign", "attack-pattern",
	"vulnerability", "tool", "report", "note", "sighting", "identity", "infrastructure", "observed-data",
	"course-of-action", "ipv4-addr", "domain-name", "url", "file"}

// intelRow is one object in the list.
type intelRow struct {
	ID, Type, Name, Version string
	TLP                     stix.TLP
	Origin                  string // the originator's name, "" when unknown
	Red                     bool
	Added                   any
}

type intelData struct {
	Collections []store.Collection
	Coll        store.Collection
	CollKey     string // the collection as the URL names it
	Type        string
	Query       string
	Types       []string
	Rows        []intelRow
	Scanned     int
	Next        string // URL of the next page, "" at the end
	NoAccess    bool   // the user may read no collection
}

// readable lists the collections a user may read, by TAXII's rules.
func (s *Server) readable(ctx context.Context, u store.User) ([]store.Collection, error) {
	cs, err := s.st.Collections(ctx)
	if err != nil {
		return nil, err
	}
	out := cs[:0:0]
	for _, c := range cs {
		if user.CanRead(u, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// collection finds a readable collection by id or alias; "" is the
// default collection (or the first readable one).
func pickCollection(cs []store.Collection, key string) (store.Collection, bool) {
	for _, c := range cs {
		if key != "" && (c.ID == key || c.Alias == key) {
			return c, true
		}
	}
	if key != "" {
		return store.Collection{}, false
	}
	for _, c := range cs {
		if c.Alias == node.DefaultCollectionAlias {
			return c, true
		}
	}
	if len(cs) > 0 {
		return cs[0], true
	}
	return store.Collection{}, false
}

func collKey(c store.Collection) string {
	if c.Alias != "" {
		return c.Alias
	}
	return c.ID
}

// intel lists the objects of a collection the person may see: the
// collection's permissions first (as TAXII), then the federation's
// decision on every entry (VisibleOnConsole: a TLP:RED object only to its
// named users, opened and audited). The text filter is applied to what
// that decision let through, never to what it withheld.
func (s *Server) intel(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	qs := r.URL.Query()
	d := intelData{Type: strings.TrimSpace(qs.Get("type")), Query: strings.TrimSpace(qs.Get("q")), Types: intelTypes}
	if len(d.Query) > maxQuery {
		d.Query = d.Query[:maxQuery]
	}
	cs, err := s.readable(ctx, q.u)
	if err != nil {
		return err
	}
	d.Collections = cs
	coll, ok := pickCollection(cs, qs.Get("coll"))
	if !ok {
		if qs.Get("coll") != "" {
			return notFound() // unknown and unreadable look alike
		}
		d.NoAccess = true
		return s.renderIntel(w, r, q, d)
	}
	d.Coll, d.CollKey = coll, collKey(coll)
	query := store.Query{Limit: intelPage, Next: qs.Get("next")}
	if d.Type != "" {
		if !validType(d.Type) {
			return &pageError{status: http.StatusBadRequest, key: "intel.badtype"}
		}
		query.Types = []string{d.Type}
	}
	needle := strings.ToLower(d.Query)
	var entries []store.Entry
	for pages := 0; pages < intelScanPages; pages++ {
		pg, err := s.st.ListObjects(ctx, coll.ID, query, true)
		if errors.Is(err, store.ErrInvalid) {
			return &pageError{status: http.StatusBadRequest, key: "intel.badcursor", err: err}
		}
		if err != nil {
			return err
		}
		vis, err := s.fed.VisibleOnConsole(ctx, q.u, coll, pg.Entries)
		if err != nil {
			return err
		}
		// Only what the user may see is counted: a count of the entries
		// read would tell them how many were withheld.
		d.Scanned += len(vis)
		for _, e := range vis {
			if needle == "" || bytes.Contains(bytes.ToLower(e.Raw), []byte(needle)) {
				entries = append(entries, e)
			}
		}
		query.Next = pg.Next
		if pg.Next == "" || needle == "" || len(entries) >= intelPage {
			break
		}
	}
	rows, err := s.intelRows(ctx, entries)
	if err != nil {
		return err
	}
	d.Rows = rows
	if query.Next != "" {
		u := url.Values{"coll": {d.CollKey}, "next": {query.Next}}
		if d.Type != "" {
			u.Set("type", d.Type)
		}
		if d.Query != "" {
			u.Set("q", d.Query)
		}
		d.Next = Prefix + "intel?" + u.Encode()
	}
	return s.renderIntel(w, r, q, d)
}

func (s *Server) renderIntel(w http.ResponseWriter, r *http.Request, q *req, d intelData) error {
	v := s.newView(r, q, q.c, "intel")
	v.Title = q.c.T("intel.title")
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}

// validType: STIX types are 3–250 lowercase letters, digits and hyphens.
func validType(t string) bool {
	if len(t) < 3 || len(t) > 250 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// objectHead is what a list shows of an object's JSON.
type objectHead struct {
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Value      string   `json:"value"`
	Title      string   `json:"title"` // x-entraide-* cases
	Abstract   string   `json:"abstract"`
	Markings   []string `json:"object_marking_refs"`
	CreatedBy  string   `json:"created_by_ref"`
	Modified   string   `json:"modified"`
	Created    string   `json:"created"`
	Descr      string   `json:"description"`
	Pattern    string   `json:"pattern"`
	Labels     []string `json:"labels"`
	Exercise   string   `json:"x_entraide_exercise"`
	ValidFrom  string   `json:"valid_from"`
	ObjectRefs []string `json:"object_refs"`
}

func (h objectHead) label() string {
	for _, s := range []string{h.Name, h.Value, h.Title, h.Abstract} {
		if s != "" {
			return s
		}
	}
	return h.ID
}

func (h objectHead) tlp() stix.TLP {
	var max stix.TLP
	for _, id := range h.Markings {
		if t, ok := stix.TLPOf(id); ok && t > max {
			max = t
		}
	}
	return max
}

func (s *Server) intelRows(ctx context.Context, entries []store.Entry) ([]intelRow, error) {
	refs := make([]store.ObjectRef, len(entries))
	for i, e := range entries {
		refs[i] = store.ObjectRef{ID: e.ID, Version: e.Version}
	}
	provs, err := s.st.Provenance(ctx, refs)
	if err != nil {
		return nil, err
	}
	rows := make([]intelRow, 0, len(entries))
	for i, e := range entries {
		var h objectHead
		_ = json.Unmarshal(e.Raw, &h)
		row := intelRow{ID: e.ID, Type: e.Type, Name: h.label(), Version: e.Version, TLP: h.tlp(), Red: e.Sealed, Added: e.DateAdded}
		if e.Sealed {
			row.TLP = stix.TLPRed
		}
		if p, ok := provs[refs[i]]; ok && p.Origin != "" {
			row.Origin = s.wf.NodeName(p.Origin)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// objectData is one object with its provenance.
type objectData struct {
	Coll       store.Collection
	CollKey    string
	Entry      store.Entry
	Head       objectHead
	TLP        stix.TLP
	JSON       string
	Versions   []store.Entry
	Origin     string // the originator's name; "" unknown
	Own        bool   // signed by this node
	Signed     bool   // carries the node signature extension
	From       string // the peer that delivered it
	Via        string // the community it came through
	ReceivedAt any
	RedTo      []string // USER@NODE, for a RED object
	Share      shareData
}

// intelObject shows one object, if the person may see it; otherwise the
// answer is the same 404 as for an object that does not exist.
func (s *Server) intelObject(w http.ResponseWriter, r *http.Request, q *req) error {
	d, err := s.loadObject(r.Context(), q, r.PathValue("coll"), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.shareable(r.Context(), q, d); err != nil {
		return err
	}
	return s.renderObject(w, r, q, d, http.StatusOK)
}

// loadObject reads the latest version of an object the person may see in
// a collection they may read, with its provenance; anything else is the
// 404 of an object that does not exist.
func (s *Server) loadObject(ctx context.Context, q *req, collName, id string) (*objectData, error) {
	if _, err := stix.ParseID(id); err != nil {
		return nil, notFound()
	}
	cs, err := s.readable(ctx, q.u)
	if err != nil {
		return nil, err
	}
	coll, ok := pickCollection(cs, collName)
	if !ok || collName == "" {
		return nil, notFound()
	}
	pg, err := s.st.ListObjects(ctx, coll.ID, store.Query{IDs: []string{id}, Versions: []string{"all"}, Limit: 100}, true)
	if err != nil {
		return nil, err
	}
	vis, err := s.fed.VisibleOnConsole(ctx, q.u, coll, pg.Entries)
	if err != nil {
		return nil, err
	}
	if len(vis) == 0 {
		return nil, notFound()
	}
	// The latest version the person may see.
	key := func(e store.Entry) string {
		k, err := stix.TimestampKey(e.Version)
		if err != nil {
			return e.Version
		}
		return k
	}
	slices.SortStableFunc(vis, func(a, b store.Entry) int { return strings.Compare(key(b), key(a)) })
	latest := vis[0]
	d := &objectData{Coll: coll, CollKey: collKey(coll), Entry: latest, Versions: vis}
	_ = json.Unmarshal(latest.Raw, &d.Head)
	d.TLP = d.Head.tlp()
	if latest.Sealed {
		d.TLP = stix.TLPRed
	}
	var b bytes.Buffer
	if json.Indent(&b, latest.Raw, "", "  ") == nil {
		d.JSON = b.String()
	}
	var ext struct {
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	_ = json.Unmarshal(latest.Raw, &ext)
	_, d.Signed = ext.Extensions[provenance.ExtensionID]
	ref := store.ObjectRef{ID: latest.ID, Version: latest.Version}
	provs, err := s.st.Provenance(ctx, []store.ObjectRef{ref})
	if err != nil {
		return nil, err
	}
	if p, ok := provs[ref]; ok {
		self := s.wf.Self()
		d.Own = p.Origin == self
		if p.Origin != "" {
			d.Origin = s.wf.NodeName(p.Origin)
		}
		if p.ReceivedFrom != "" {
			d.From = s.wf.NodeName(p.ReceivedFrom)
		}
		d.Via = p.ReceivedVia
		if !p.ReceivedAt.IsZero() {
			d.ReceivedAt = p.ReceivedAt
		}
		for _, rc := range p.RedRecipients {
			d.RedTo = append(d.RedTo, rc.User+"@"+s.wf.NodeName(rc.Node))
		}
	}
	return d, nil
}

func (s *Server) renderObject(w http.ResponseWriter, r *http.Request, q *req, d *objectData, status int) error {
	v := s.newView(r, q, q.c, "object")
	v.Title = d.Head.label()
	v.Section = "intel"
	v.Data = d
	s.render(w, status, v)
	return nil
}
