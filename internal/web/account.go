package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxForm bounds the body of every form the console accepts.
const maxForm = 64 << 10

// parseForm reads a urlencoded form of at most maxForm bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return &pageError{status: http.StatusBadRequest, key: "error.form", err: err}
	}
	return nil
}

type loginData struct {
	Name, Next, Error string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	cat := s.cats[negotiate(r)]
	if q, err := s.person(r, cat); err == nil && q != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	v := s.newView(r, nil, cat, "login")
	v.Title = cat.T("login.title")
	v.Data = loginData{Next: localPath(r.URL.Query().Get("next"))}
	s.render(w, http.StatusOK, v)
}

// loginSubmit checks a name and a password. A success ends any session
// the browser had (no session fixation) and starts a new one.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	cat := s.cats[negotiate(r)]
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	name, pw := r.PostFormValue("name"), r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"))
	again := func(status int, key string, args ...any) {
		v := s.newView(r, nil, cat, "login")
		v.Title = cat.T("login.title")
		v.Data = loginData{Name: name, Next: next, Error: cat.T(key, args...)}
		if status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "60")
		}
		s.render(w, status, v)
	}
	if name == "" || pw == "" || len(name) > 256 || len(pw) > 1024 {
		again(http.StatusBadRequest, "login.missing")
		return
	}
	addr := remoteAddr(r)
	u, wait, err := s.login.check(r.Context(), addr, name, pw)
	switch {
	case errors.Is(err, errThrottled):
		s.log.Info("console: login throttled", "addr", addr, "user", name)
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		again(http.StatusTooManyRequests, "login.throttled", cat.Span(wait+time.Minute-1))
		return
	case errors.Is(err, errBadLogin):
		s.log.Info("console: login failed", "addr", addr, "user", name)
		again(http.StatusUnauthorized, "login.bad")
		return
	case errors.Is(err, errBusy):
		again(http.StatusServiceUnavailable, "error.unavailable")
		return
	case err != nil:
		s.fail(w, r, nil, err)
		return
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := s.sess.end(r.Context(), ck.Value); err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	id, err := s.startSession(r.Context(), u, cat.lang)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.log.Info("console: login", "addr", addr, "user", u.Name)
	setSessionCookie(w, id)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := s.sess.end(r.Context(), ck.Value); err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	clearSessionCookie(w)
	http.Redirect(w, r, Prefix+"login?done=logout", http.StatusSeeOther)
}

// setLang remembers the language a person chose, for a year, and goes
// back to the page they were on.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	lang := r.PostFormValue("lang")
	ok := false
	for _, l := range Languages {
		ok = ok || l == lang
	}
	if !ok {
		s.fail(w, r, nil, &pageError{status: http.StatusBadRequest, key: "error.lang"})
		return
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := s.sess.setLang(r.Context(), ck.Value, lang); err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	back := r.PostFormValue("back")
	if strings.HasPrefix(back, Prefix+"login") {
		back = Prefix + "login" // localPath keeps "next" from pointing there
	} else {
		back = localPath(back)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
