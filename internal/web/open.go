package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/entraide/entraide/internal/workflow"
)

// openCase opens a case of a kind with a form's input, as the logged-in
// person. A mistake the engine lays at the input's door (ErrInput,
// ErrNotParty) goes back to the form: again renders it with the status and
// the engine's words, and openCase returns (nil, again's error). Any other
// error is returned as is. in's empty values should be left out (see
// inputOf).
func (s *Server) openCase(r *http.Request, q *req, kind string, in map[string]any, again func(status int, detail string) error) (*workflow.Result, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	res, err := s.wf.Open(r.Context(), kind, q.u.Name, body)
	if err != nil {
		if errors.Is(err, workflow.ErrInput) || errors.Is(err, workflow.ErrNotParty) {
			pe := classify(err)
			return nil, again(pe.status, pe.detail)
		}
		return nil, err
	}
	return res, nil
}

// inputOf adds to in the texts and lists a form gave, leaving out the
// empty ones (the engine then applies its defaults).
func inputOf(in map[string]any, texts map[string]string, lists map[string][]string) map[string]any {
	for k, v := range texts {
		if v != "" {
			in[k] = v
		}
	}
	for k, v := range lists {
		if len(v) > 0 {
			in[k] = v
		}
	}
	return in
}
