package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/*
var assetFiles embed.FS

// pageTemplate is one page, parsed with the layout and the shared parts,
// with the functions of one language.
type pageTemplate struct {
	t *template.Template
}

// base are the templates every page is parsed with.
var base = []string{"templates/layout.html", "templates/parts.html"}

// parseTemplates parses every page once per language.
func (s *Server) parseTemplates() (map[string]map[string]*pageTemplate, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]*pageTemplate{}
	for _, lang := range Languages {
		cat := s.cats[lang]
		layout, err := template.New("layout.html").Funcs(s.funcs(cat)).ParseFS(templateFiles, base...)
		if err != nil {
			return nil, fmt.Errorf("web: templates: %v", err)
		}
		out[lang] = map[string]*pageTemplate{}
		for _, n := range names {
			if n == base[0] || n == base[1] {
				continue
			}
			t, err := layout.Clone()
			if err != nil {
				return nil, err
			}
			if _, err := t.ParseFS(templateFiles, n); err != nil {
				return nil, fmt.Errorf("web: %s: %v", n, err)
			}
			out[lang][strings.TrimSuffix(path.Base(n), ".html")] = &pageTemplate{t: t}
		}
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Page    string // the page's name (its template, and data-testid of <main>)
	Title   string
	Lang    string
	User    string
	Role    string
	Node    NodeInfo
	Nav     []navItem
	Flash   string // a translated message after an action
	Now     time.Time
	Here    string // the request's path and query, for the language switch
	Assets  map[string]string
	Data    any
	Section string // the navigation item to highlight
}

// navItem is one entry of the navigation.
type navItem struct {
	ID, Label, Href string
	Active          bool
}

// nav lists the pages in the order the navigation shows them; only those
// whose capability the role holds are shown.
var nav = []struct {
	id, key, href string
	cap           Cap
}{
	{"overview", "nav.overview", Prefix, CapOverview},
	{"alerts", "nav.alerts", Prefix + "alerts", CapAlerts},
	{"incidents", "nav.incidents", Prefix + "incidents", CapIncidents},
	{"contacts", "nav.contacts", Prefix + "contacts", CapContacts},
	{"assist", "nav.assist", Prefix + "kinds/assist", CapAssist},
	{"legal", "nav.legal", Prefix + "kinds/preservation", CapLegal},
	{"notices", "nav.notices", Prefix + "kinds/notice", CapNotices},
	{"intel", "nav.intel", Prefix + "intel", CapIntel},
	{"peers", "nav.peers", Prefix + "peers", CapPeers},
	{"sharing", "nav.sharing", Prefix + "sharing", CapSharing},
	{"audit", "nav.audit", Prefix + "audit", CapAudit},
}

func (s *Server) newView(r *http.Request, q *req, cat *catalogue, page string) *view {
	v := &view{Page: page, Lang: cat.lang, Node: s.node, Now: s.clk.Now(), Here: r.URL.RequestURI(), Section: page}
	v.Assets = map[string]string{}
	for n, a := range s.asset {
		v.Assets[n] = a.url
	}
	if q != nil {
		v.User, v.Role, v.Now = q.u.Name, q.role, q.now
	}
	if flash := r.URL.Query().Get("done"); flash != "" && cat.Has("flash."+flash) {
		v.Flash = cat.T("flash." + flash)
	}
	return v
}

// navFor fills the navigation for the view's role.
func (v *view) navFor(cat *catalogue) {
	if v.Role == "" {
		return
	}
	v.Nav = v.Nav[:0]
	for _, n := range nav {
		if Can(v.Role, n.cap) {
			v.Nav = append(v.Nav, navItem{ID: n.id, Label: cat.T(n.key), Href: n.href, Active: n.id == v.Section})
		}
	}
}

// render writes a page. Rendering goes to a buffer first: a template
// failing midway gives a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, v *view) {
	cat := s.cats[v.Lang]
	v.navFor(cat)
	pt := s.pages[v.Lang][v.Page]
	if pt == nil {
		s.log.Error("console: no template", "page", v.Page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := pt.t.ExecuteTemplate(&b, "layout", v); err != nil {
		id := newErrorID()
		s.log.Error("console: rendering failed", "page", v.Page, "err", err, "error_id", id)
		http.Error(w, "internal error "+id, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.Lang)
	h.Set("Vary", "Cookie, Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// ---- template functions ----

// tlpLabel is a TLP marking as the console shows it: FIRST's colours
// (classes tlp-clear, tlp-green, tlp-amber, tlp-amber-strict, tlp-red).
type tlpLabel struct {
	Class, Text string
}

// tlpOf reads a level as the engine and the store spell it ("amber",
// "TLP:AMBER+STRICT", a stix.TLP); "" or unknown: none.
func tlpOf(v any) (tlpLabel, bool) {
	var t stix.TLP
	switch x := v.(type) {
	case stix.TLP:
		t = x
	case string:
		if x == "" {
			return tlpLabel{}, false
		}
		p, err := stix.ParseTLP(x)
		if err != nil {
			return tlpLabel{}, false
		}
		t = p
	default:
		return tlpLabel{}, false
	}
	if !t.Valid() {
		return tlpLabel{}, false
	}
	name := t.String()
	cls := "tlp-" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "TLP:")), "+", "-")
	return tlpLabel{Class: cls, Text: name}, true
}

// sevLabel is a common severity level: its name in the language and the
// class of its colour.
type sevLabel struct {
	Class, Text string
	Level       int
}

func (s *Server) funcs(cat *catalogue) template.FuncMap {
	return template.FuncMap{
		"t": cat.T,
		"date": func(v any) string {
			switch t := v.(type) {
			case time.Time:
				return cat.Date(t)
			case *time.Time:
				if t == nil {
					return ""
				}
				return cat.Date(*t)
			}
			return ""
		},
		"iso": func(v any) string {
			switch t := v.(type) {
			case time.Time:
				return t.UTC().Format(time.RFC3339)
			case *time.Time:
				if t != nil {
					return t.UTC().Format(time.RFC3339)
				}
			}
			return ""
		},
		"rel": func(v any, now time.Time) string {
			switch t := v.(type) {
			case time.Time:
				return cat.Relative(t, now)
			case *time.Time:
				if t != nil {
					return cat.Relative(*t, now)
				}
			}
			return ""
		},
		"span": cat.Span,
		"tlp": func(v any) *tlpLabel {
			l, ok := tlpOf(v)
			if !ok {
				return nil
			}
			return &l
		},
		"sev": func(level int) sevLabel {
			l := severity.Level(level)
			if !l.Valid() {
				return sevLabel{Class: "sev-none", Text: cat.T("severity.none"), Level: -1}
			}
			return sevLabel{Class: "sev-" + l.String(), Text: cat.T("severity." + l.String()), Level: level}
		},
		"kind":     func(k string) string { return kindName(cat, k) },
		"role":     func(r string) string { return cat.T("role." + r) },
		"answer":   func(a string) string { return answerName(cat, a) },
		"casehref": caseHref,
		"can":      Can,
		"canon":    func(role string, c string) bool { return Can(role, Cap(c)) },
		"pfx":      func() string { return Prefix },
		"at":       at,
		"what":     func(w string) string { return whatName(cat, w) },
		"action": func(a string) string {
			if cat.Has("action." + a) {
				return cat.T("action." + a)
			}
			return a
		},
		"national": func(v any) string {
			var n severity.National
			switch x := v.(type) {
			case json.RawMessage:
				if json.Unmarshal(x, &n) != nil {
					return ""
				}
			case *severity.National:
				if x == nil {
					return ""
				}
				n = *x
			case severity.National:
				n = x
			}
			if n.Level == "" {
				return ""
			}
			if n.Label != "" {
				return cat.T("severity.national", n.Label, n.Scale)
			}
			return cat.T("severity.national", n.Level, n.Scale)
		},
		"description": func(raw json.RawMessage) string {
			var o struct {
				Description string `json:"description"`
			}
			_ = json.Unmarshal(raw, &o)
			return o.Description
		},
		"timeline": func(v *workflow.View, now time.Time) timelineData {
			if v == nil {
				return timelineData{Now: now}
			}
			return timelineData{Events: v.Timeline, Now: now}
		},
		"has": slices.Contains[[]string],
		"pocrole": func(r string) string {
			if cat.Has("poc.role." + r) {
				return cat.T("poc.role." + r)
			}
			return r
		},
		"outcome": func(o string) string {
			if cat.Has("outcome." + o) {
				return cat.T("outcome." + o)
			}
			return o
		},
		"deref": func(b *bool) bool { return b != nil && *b },
		"percent": func(f *float64) string {
			if f == nil {
				return "—"
			}
			return strconv.Itoa(int(*f*100+0.5)) + " %"
		},
		"secs": func(p *int64) string {
			if p == nil {
				return "—"
			}
			return cat.Span(time.Duration(*p) * time.Second)
		},
		"doaction": func(a string) string {
			if cat.Has("do." + a) {
				return cat.T("do." + a)
			}
			return a
		},
		"fieldname": func(f string) string {
			if cat.Has("field." + f) {
				return cat.T("field." + f)
			}
			return f
		},
		"choice": func(c string) string {
			if cat.Has("choice." + c) {
				return cat.T("choice." + c)
			}
			return c
		},
		"auditkind": func(k string) string {
			if cat.Has("auditkind." + k) {
				return cat.T("auditkind." + k)
			}
			return k
		},
		"phase": func(p string) string {
			if cat.Has("phase." + p) {
				return cat.T("phase." + p)
			}
			return p
		},
		"report": func(r string) string {
			if cat.Has("report." + r) {
				return cat.T("report." + r)
			}
			return r
		},
	}
}

// moment is a time for the "when" template: its date, and how far from now.
type moment struct {
	T   *time.Time
	Now time.Time
}

// at makes a moment of a time.Time or a *time.Time; a zero or nil time
// shows as a dash.
func at(v any, now time.Time) moment {
	switch t := v.(type) {
	case time.Time:
		if !t.IsZero() {
			return moment{T: &t, Now: now}
		}
	case *time.Time:
		if t != nil && !t.IsZero() {
			return moment{T: t, Now: now}
		}
	}
	return moment{Now: now}
}

type timelineData struct {
	Events []workflow.EventView
	Now    time.Time
}

// whatName translates the name of a deadline as the kinds write it;
// "task: TITLE" keeps its title.
func whatName(cat *catalogue, w string) string {
	if w == "" {
		return ""
	}
	if title, ok := strings.CutPrefix(w, "task: "); ok {
		return cat.T("what.task", title)
	}
	if cat.Has("what." + w) {
		return cat.T("what." + w)
	}
	return w
}

// kindName and answerName translate the engine's words; an unknown one
// (a kind a newer node runs) is shown as it is.
func kindName(cat *catalogue, k string) string {
	if cat.Has("kind." + k) {
		return cat.T("kind." + k)
	}
	return k
}

func answerName(cat *catalogue, a string) string {
	if cat.Has("answer." + a) {
		return cat.T("answer." + a)
	}
	return a
}

// ---- assets ----

// asset is an embedded file with the URL that names its content, so that
// browsers may cache it for good.
type asset struct {
	body  []byte
	ctype string
	sum   string
	url   string
}

func loadAssets() (map[string]asset, error) {
	es, err := fs.ReadDir(assetFiles, "assets")
	if err != nil {
		return nil, err
	}
	out := map[string]asset{}
	for _, e := range es {
		b, err := assetFiles.ReadFile("assets/" + e.Name())
		if err != nil {
			return nil, err
		}
		ct := "application/octet-stream"
		switch path.Ext(e.Name()) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:6])
		out[e.Name()] = asset{body: b, ctype: ct, sum: h, url: Prefix + "static/" + e.Name() + "?v=" + h}
	}
	return out, nil
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := s.asset[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", `"`+a.sum+`"`)
	if r.URL.Query().Get("v") == a.sum {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+a.sum+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	_, _ = w.Write(a.body)
}
