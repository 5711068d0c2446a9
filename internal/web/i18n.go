package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The console speaks English and French. Every text a page shows comes
// from a message catalogue (messages/en.json, messages/fr.json: key →
// text, with fmt verbs for what changes); a test checks that every key the
// templates and the Go code use is in both, with the same verbs. The
// language is the one the person chose (a cookie, set by the switch in
// the header), else the best of Accept-Language, else English.
//
// Dates are shown in UTC, the reference partners in several time zones
// share, written the way each language writes them ("3 Mar 2026, 14:05
// UTC", "3 mars 2026, 14:05 UTC"), and deadlines also as a countdown
// ("in 3 h 20 min", "dans 3 h 20 min").

//go:embed messages/*.json
var messageFiles embed.FS

// Languages lists the console's languages, the default first.
var Languages = []string{"en", "fr"}

// langCookie remembers the language a person chose. It is no secret, but
// it is still host-only and sent only over TLS.
const langCookie = "__Host-entraide-lang"

// catalogue is one language's messages.
type catalogue struct {
	lang string
	msgs map[string]string
}

func loadCatalogues() (map[string]*catalogue, error) {
	out := map[string]*catalogue{}
	for _, lang := range Languages {
		b, err := messageFiles.ReadFile("messages/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: messages/%s.json: %v", lang, err)
		}
		out[lang] = &catalogue{lang: lang, msgs: m}
	}
	return out, nil
}

// T returns the text of key, formatted with args. A key missing from the
// catalogue shows as itself between brackets (a test keeps that from
// shipping) rather than failing the page.
func (c *catalogue) T(key string, args ...any) string {
	s, ok := c.msgs[key]
	if !ok {
		return "[" + key + "]"
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Has reports whether the catalogue has key.
func (c *catalogue) Has(key string) bool { _, ok := c.msgs[key]; return ok }

// Date is t as a day and time, in UTC, the language's way.
func (c *catalogue) Date(t time.Time) string {
	if t.IsZero() {
		return c.T("date.never")
	}
	t = t.UTC()
	return c.T("date.format", t.Day(), c.T("month."+strconv.Itoa(int(t.Month()))), t.Year(), t.Hour(), t.Minute())
}

// Day is t's date without the time.
func (c *catalogue) Day(t time.Time) string {
	t = t.UTC()
	return c.T("date.day", t.Day(), c.T("month."+strconv.Itoa(int(t.Month()))), t.Year())
}

// Span writes a duration the way people read a countdown: "3 d 4 h",
// "3 h 20 min", "45 min", "less than a minute"; its sign is dropped.
func (c *catalogue) Span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0 && hours > 0:
		return c.T("span.dh", days, hours)
	case days > 0:
		return c.T("span.d", days)
	case hours > 0 && mins > 0:
		return c.T("span.hm", hours, mins)
	case hours > 0:
		return c.T("span.h", hours)
	case mins > 0:
		return c.T("span.m", mins)
	}
	return c.T("span.now")
}

// Relative is t seen from now: "in 3 h 20 min" or "3 h 20 min ago".
func (c *catalogue) Relative(t, now time.Time) string {
	if t.After(now) {
		return c.T("rel.in", c.Span(t.Sub(now)))
	}
	return c.T("rel.ago", c.Span(now.Sub(t)))
}

// negotiate picks the language of a request: the cookie when it names a
// language of the console, else the best match of Accept-Language, else
// the default.
func negotiate(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range Languages {
			if c.Value == l {
				return l
			}
		}
	}
	return matchAcceptLanguage(r.Header.Get("Accept-Language"))
}

// maxAcceptLanguage bounds the header a request may make the console parse.
const maxAcceptLanguage = 1024

// matchAcceptLanguage returns the console language with the highest
// quality in an Accept-Language header (RFC 9110 §12.5.4): "fr-CA;q=0.9"
// is French; "*" is the default language; q=0 refuses; on a tie, the
// order of the header decides. Malformed parts are skipped.
func matchAcceptLanguage(h string) string {
	if len(h) > maxAcceptLanguage {
		h = h[:maxAcceptLanguage]
	}
	type cand struct {
		lang string
		q    float64
		pos  int
	}
	var cs []cand
	refused := map[string]bool{}
	for i, part := range strings.Split(h, ",") {
		if i >= 32 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if params != "" {
			k, v, ok := strings.Cut(strings.TrimSpace(params), "=")
			if !ok || strings.TrimSpace(k) != "q" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(tag, "-")
		lang := ""
		if primary == "*" {
			lang = Languages[0]
		}
		for _, l := range Languages {
			if primary == l {
				lang = l
			}
		}
		if lang == "" {
			continue
		}
		if q == 0 {
			refused[lang] = true
			continue
		}
		cs = append(cs, cand{lang, q, i})
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].q > cs[b].q })
	for _, c := range cs {
		if !refused[c.lang] {
			return c.lang
		}
	}
	for _, l := range Languages {
		if !refused[l] {
			return l
		}
	}
	return Languages[0]
}
