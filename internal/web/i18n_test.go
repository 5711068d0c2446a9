package web

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"
	"time"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/store"
)

// usedKeys collects every message key the console uses: the literal
// arguments of t in the templates (read from their parse trees), of the
// catalogue's T in the Go code (read from its syntax trees), and the
// families of keys built from the engine's words (kinds, actions,
// answers, roles, levels, months, statuses).
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{} // key → where
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		src, err := templateFiles.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		funcs := map[string]any{}
		for k := range (&Server{}).funcs(&catalogue{msgs: map[string]string{}}) {
			funcs[k] = true
		}
		for _, k := range []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
			"println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"} {
			funcs[k] = true
		}
		trees, err := parse.Parse(n, string(src), "{{", "}}", funcs)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		for _, tr := range trees {
			walkTemplate(tr.Root, func(key string) { keys[key] = n })
		}
	}
	// Go: catalogue.T("literal", …) and "flash.X" passed through done=.
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for fname, f := range p.Files {
			if strings.HasSuffix(fname, "_test.go") {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					// cat.T("key", …), and again(status, "key", …) in login.
					var name string
					switch fn := x.Fun.(type) {
					case *ast.SelectorExpr:
						name = fn.Sel.Name
					case *ast.Ident:
						name = fn.Name
					}
					arg := -1
					switch name {
					case "T":
						arg = 0
					case "again":
						arg = 1
					}
					if arg < 0 || len(x.Args) <= arg {
						return true
					}
					if lit, ok := x.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						k, _ := strconv.Unquote(lit.Value)
						keys[k] = fset.Position(lit.Pos()).String()
					}
				case *ast.KeyValueExpr:
					// pageError{key: "…"} and nav entries name keys too.
					if id, ok := x.Key.(*ast.Ident); ok && (id.Name == "key") {
						if lit, ok := x.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							k, _ := strconv.Unquote(lit.Value)
							keys[k] = fset.Position(lit.Pos()).String()
						}
					}
				}
				return true
			})
		}
	}
	for _, n := range nav {
		keys[n.key] = "nav"
	}
	for _, f := range flashes {
		keys["flash."+f] = "done= redirects"
	}
	for _, s := range []int{400, 500} {
		keys["error.title."+strconv.Itoa(s)] = "fail"
	}
	for _, k := range cooperation.Kinds() {
		keys["kind."+k.Name] = "kinds"
		if _, ok := kindPages[k.Name]; ok {
			keys["kind."+k.Name+".plural"] = "case lists"
		}
		for _, a := range k.Actions {
			keys["action."+a] = "actions of " + k.Name
		}
	}
	for _, a := range alert.Answers {
		keys["answer."+a] = "alert answers"
	}
	for _, r := range store.AllRoles {
		keys["role."+r] = "roles"
	}
	for _, l := range []string{"baseline", "low", "medium", "high", "severe", "emergency"} {
		keys["severity."+l] = "levels"
	}
	for _, p := range incident.Statuses {
		keys["phase."+p] = "incident statuses"
	}
	for _, r := range incident.Reports {
		keys["report."+r] = "NIS2 reports"
	}
	for _, r := range card.Roles {
		keys["poc.role."+r.ID] = "well-known roles"
	}
	for _, o := range []string{"answered", "answered late", "awaiting", "expired", "closed"} {
		keys["outcome."+o] = "ping outcomes (contact.Outcome)"
	}
	for _, k := range []audit.Kind{audit.KindSend, audit.KindReceive, audit.KindRefuse, audit.KindShare, audit.KindPolicyDeny,
		audit.KindPeerAdd, audit.KindPeerRemove, audit.KindPeerRotate, audit.KindRedAccess, audit.KindCheckpointCosigned, audit.KindForkDetected} {
		if !k.Known() {
			t.Fatalf("audit kind %q is not known", k)
		}
		keys["auditkind."+string(k)] = "audit kinds"
	}
	for kind, actions := range actionFields {
		if kind == "incident" {
			continue // the incident page has its own forms
		}
		for a, fs := range actions {
			keys["do."+a] = "forms of " + kind
			for _, f := range fs {
				keys["field."+f.json] = "forms of " + kind
				for _, c := range f.choices {
					keys["choice."+c] = "choices of " + kind
				}
			}
		}
	}
	for r := range policyReasons {
		keys["policy."+string(r)] = "policy reasons of a share"
	}
	for m := 1; m <= 12; m++ {
		keys["month."+strconv.Itoa(m)] = "dates"
	}
	for _, w := range deadlineNames {
		keys["what."+w] = "deadline names"
	}
	return keys
}

// flashes are the done= values the handlers redirect with.
var flashes = []string{"ack", "close", "sent", "sentrefused", "logout", "acted", "pinged", "answered", "opened", "chained"}

// deadlineNames are the deadline names the kinds write (workflow.Deadline.What)
// that the console translates; a new one shows in English until added.
var deadlineNames = []string{"acknowledge", "respond", "answer the ping", "answer (offer or no-offer)",
	"NIS2 early warning", "NIS2 notification", "NIS2 final report", "task"}

func walkTemplate(n parse.Node, found func(string)) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walkTemplate(c, found)
		}
	case *parse.ActionNode:
		walkTemplate(x.Pipe, found)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			walkTemplate(c, found)
		}
	case *parse.CommandNode:
		if len(x.Args) >= 2 {
			if id, ok := x.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
				if s, ok := x.Args[1].(*parse.StringNode); ok {
					found(s.Text)
				}
			}
		}
		for _, a := range x.Args {
			walkTemplate(a, found)
		}
	case *parse.IfNode:
		walkTemplate(x.Pipe, found)
		walkTemplate(x.List, found)
		walkTemplate(x.ElseList, found)
	case *parse.RangeNode:
		walkTemplate(x.Pipe, found)
		walkTemplate(x.List, found)
		walkTemplate(x.ElseList, found)
	case *parse.WithNode:
		walkTemplate(x.Pipe, found)
		walkTemplate(x.List, found)
		walkTemplate(x.ElseList, found)
	case *parse.TemplateNode:
		walkTemplate(x.Pipe, found)
	}
}

var verbRE = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`)

func verbs(s string) []string { return verbRE.FindAllString(s, -1) }

// Both languages are complete: every key used is in both catalogues, both
// have the same keys, and each message has the same verbs in both, in the
// same order (the arguments are given once for both).
func TestCataloguesComplete(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	used := usedKeys(t)
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	for key, where := range used {
		for _, l := range Languages {
			if !cats[l].Has(key) {
				t.Errorf("%s: key %q (used in %s) is missing", l, key, where)
			}
		}
	}
	en, fr := cats["en"].msgs, cats["fr"].msgs
	for k, v := range en {
		f, ok := fr[k]
		if !ok {
			t.Errorf("fr lacks %q (en: %q)", k, v)
			continue
		}
		if !slices.Equal(verbs(v), verbs(f)) {
			t.Errorf("%q: en verbs %v, fr verbs %v", k, verbs(v), verbs(f))
		}
		if strings.TrimSpace(f) == "" {
			t.Errorf("fr %q is empty", k)
		}
	}
	for k := range fr {
		if _, ok := en[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
	// Keys nothing uses are dead text: translators should not maintain them.
	var unused []string
	for k := range en {
		if _, ok := used[k]; !ok {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("keys in the catalogues that nothing uses: %v", unused)
	}
}

// The catalogues are JSON objects of strings, sorted, without duplicate keys.
func TestCatalogueFiles(t *testing.T) {
	for _, l := range Languages {
		b, err := messageFiles.ReadFile("messages/" + l + ".json")
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		var prev string
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			k := tok.(string)
			if seen[k] {
				t.Errorf("%s: key %q twice", l, k)
			}
			if k < prev {
				t.Errorf("%s: key %q after %q: keep the file sorted", l, k, prev)
			}
			seen[k], prev = true, k
			var v string
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %q: %v", l, k, err)
			}
		}
	}
}

func TestDatesPerLanguage(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 2, 3, 7, 5, 0, 0, time.FixedZone("CET", 3600))
	now := at.Add(-(3*time.Hour + 20*time.Minute))
	for _, c := range []struct {
		lang, date, rel, ago, day string
	}{
		{"en", "3 Feb 2026, 06:05 UTC", "in 3 h 20 min", "3 h 20 min ago", "3 Feb 2026"},
		{"fr", "3 févr. 2026, 06:05 UTC", "dans 3 h 20 min", "il y a 3 h 20 min", "3 févr. 2026"},
	} {
		cat := cats[c.lang]
		if got := cat.Date(at); got != c.date {
			t.Errorf("%s Date: %q, want %q", c.lang, got, c.date)
		}
		if got := cat.Relative(at, now); got != c.rel {
			t.Errorf("%s Relative future: %q, want %q", c.lang, got, c.rel)
		}
		if got := cat.Relative(now, at); got != c.ago {
			t.Errorf("%s Relative past: %q, want %q", c.lang, got, c.ago)
		}
		if got := cat.Day(at); got != c.day {
			t.Errorf("%s Day: %q, want %q", c.lang, got, c.day)
		}
	}
	en := cats["en"]
	for d, want := range map[time.Duration]string{
		30 * time.Second: "less than a minute", 5 * time.Minute: "5 min", 2 * time.Hour: "2 h",
		49 * time.Hour: "2 d 1 h", 72 * time.Hour: "3 d", -90 * time.Minute: "1 h 30 min",
	} {
		if got := en.Span(d); got != want {
			t.Errorf("Span(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	for h, want := range map[string]string{
		"":                                "en",
		"fr":                              "fr",
		"fr-CA, en;q=0.8":                 "fr",
		"de-DE, fr;q=0.7, en;q=0.5":       "fr",
		"de, et":                          "en",
		"en;q=0.2, fr;q=0.9":              "fr",
		"en, fr":                          "en",
		"fr;q=0, *":                       "en",
		"en;q=0, fr;q=0.1":                "fr",
		"en;q=0":                          "fr",
		"*;q=0.5, fr;q=0.4":               "en",
		"FR-be":                           "fr",
		"fr;q=abc, en":                    "en",
		"fr;q=1.5":                        "en",
		"fr;level=1":                      "en",
		"  fr  ;  q=0.9 ":                 "fr",
		strings.Repeat("x,", 2000) + "fr": "en",
	} {
		if got := matchAcceptLanguage(h); got != want {
			t.Errorf("Accept-Language %q: %q, want %q", h, got, want)
		}
	}
	// The cookie wins; an unknown value in it does not.
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "fr")
	r.AddCookie(&http.Cookie{Name: langCookie, Value: "en"})
	if got := negotiate(r); got != "en" {
		t.Errorf("cookie en, header fr: %q", got)
	}
	r, _ = http.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "fr")
	r.AddCookie(&http.Cookie{Name: langCookie, Value: "klingon"})
	if got := negotiate(r); got != "fr" {
		t.Errorf("cookie klingon, header fr: %q", got)
	}
}

func FuzzAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "fr", "fr-CA, en;q=0.8", "*;q=0", "en;q=0, fr;q=0.1", ",;=,", "fr;q=1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := matchAcceptLanguage(h)
		if !slices.Contains(Languages, got) {
			t.Fatalf("%q: %q is not a console language", h, got)
		}
	})
}

func TestLocalPath(t *testing.T) {
	for p, want := range map[string]string{
		"/console/":                       "/console/",
		"/console/alerts?box=sent":        "/console/alerts?box=sent",
		"/console/alerts/x--1#ack":        "/console/alerts/x--1#ack",
		"":                                "/console/",
		"/taxii2/":                        "/console/",
		"https://evil.example/console/":   "/console/",
		"//evil.example/console/":         "/console/",
		"/console/../taxii2/":             "/console/",
		"/console/\\evil":                 "/console/",
		"/console/login?next=/console/":   "/console/",
		"/console/x\r\nLocation: http://": "/console/",
		"/consolex":                       "/console/",
	} {
		if got := localPath(p); got != want {
			t.Errorf("localPath(%q) = %q, want %q", p, got, want)
		}
	}
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/console/", "//x", "/console/../", "/console/%2e%2e/", "/console/\\x", "https://x/console/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := localPath(p)
		if !strings.HasPrefix(got, Prefix) || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("localPath(%q) = %q leaves the console", p, got)
		}
		// What a browser would resolve it to stays on the host.
		if req, err := http.NewRequest("GET", "https://node.example"+got, nil); err == nil && req.URL.Host != "node.example" {
			t.Fatalf("localPath(%q) = %q resolves to host %q", p, got, req.URL.Host)
		}
	})
}
