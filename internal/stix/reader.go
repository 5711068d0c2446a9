package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Reader reads STIX objects one at a time from a stream in any of the three
// shapes found in the wild, told apart by the first value in the stream:
//
//   - a STIX bundle, {"type":"bundle","id":…,"objects":[…]}, with its
//     properties in any order: the objects array is streamed element by element,
//     so memory does not grow with the size of the bundle;
//   - a JSON array of objects, [{…},{…}];
//   - a sequence of objects, one per line (NDJSON) or simply concatenated.
//
// Next returns each object's raw JSON for Parse to validate; the Reader checks
// only that it is a JSON object. After any error the Reader is spent: every
// later call returns the same error, because the position in a malformed
// stream cannot be trusted. Errors are *ReadError and give the byte offset.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	rec   *recorder
	dec   *json.Decoder
	mode  readMode
	count int
	err   error

	pending []byte // NDJSON: the first object, read while detecting the shape
	gotType string // bundle: the value of its "type" property, if seen
}

type readMode uint8

const (
	modeDetect readMode = iota
	modeBundle
	modeArray
	modeLines
	modeDone
)

// errEnd is the legitimate end of the stream, told apart from an io.EOF that
// the decoder returns in the middle of a bundle.
var errEnd = errors.New("end of objects")

// ReadError is a stream that Reader cannot read.
type ReadError struct {
	Offset int64 // byte offset in the stream
	Msg    string
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("stix: reading objects at byte %d: %s", e.Offset, e.Msg)
}

// NewReader returns a Reader of r. It reads r through its own buffer.
func NewReader(r io.Reader) *Reader {
	rec := &recorder{r: r, on: true}
	return &Reader{rec: rec, dec: json.NewDecoder(rec)}
}

// Count returns the number of objects Next has returned.
func (r *Reader) Count() int { return r.count }

// Next returns the raw JSON of the next object, or io.EOF after the last one.
// The returned slice belongs to the caller.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	raw, err := r.next()
	if err != nil {
		var re *ReadError
		switch {
		case err == errEnd:
			err = io.EOF
		case err == io.EOF: // from the decoder, in the middle of a bundle or array
			err = &ReadError{Offset: r.dec.InputOffset(), Msg: "the stream ends before the end of the bundle or array"}
		case !errors.As(err, &re):
			err = r.wrap(err)
		}
		r.err = err
		return nil, err
	}
	r.count++
	return raw, nil
}

func (r *Reader) next() ([]byte, error) {
	switch r.mode {
	case modeDetect:
		return r.detect()
	case modeBundle:
		if r.dec.More() {
			return r.element()
		}
		if err := r.expectDelim(']'); err != nil {
			return nil, err
		}
		if err := r.finishBundle(); err != nil {
			return nil, err
		}
		return nil, errEnd
	case modeArray:
		if r.dec.More() {
			return r.element()
		}
		if err := r.expectDelim(']'); err != nil {
			return nil, err
		}
		if err := r.expectEOF("the array"); err != nil {
			return nil, err
		}
		r.mode = modeDone
		return nil, errEnd
	case modeLines:
		if r.pending != nil {
			p := r.pending
			r.pending = nil
			return p, nil
		}
		var raw json.RawMessage
		if err := r.dec.Decode(&raw); err != nil {
			if err == io.EOF {
				return nil, errEnd
			}
			return nil, err
		}
		if raw[0] != '{' {
			return nil, r.errorf("want a JSON object, got %.20s", raw)
		}
		return raw, nil
	default:
		return nil, errEnd
	}
}

// element decodes one element of a bundle's objects array or a bare array.
func (r *Reader) element() ([]byte, error) {
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return nil, err
	}
	if raw[0] != '{' {
		return nil, r.errorf("element %d of the array is not a JSON object", r.count)
	}
	return raw, nil
}

// detect reads just enough of the stream to know its shape, then returns the
// first object.
func (r *Reader) detect() ([]byte, error) {
	tok, err := r.dec.Token()
	if err == io.EOF {
		return nil, errEnd // an empty stream holds no objects
	}
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		r.mode = modeArray
		r.rec.stop()
		return r.next()
	case json.Delim('{'):
	default:
		return nil, r.errorf("want a STIX bundle, an array of objects or one object per line, got %v", tok)
	}
	start := r.dec.InputOffset() - 1
	// Walk the members of the first object. If one is "objects" holding an
	// array, this is a bundle and we stream that array; otherwise the object
	// is the first of a sequence and we return its recorded bytes.
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		switch key {
		case "type":
			v, err := r.dec.Token()
			if err != nil {
				return nil, err
			}
			if s, ok := v.(string); ok {
				r.gotType = s
			} else if err := r.skipRest(v); err != nil {
				return nil, err
			}
		case "objects":
			v, err := r.dec.Token()
			if err != nil {
				return nil, err
			}
			if v == json.Delim('[') {
				if r.gotType != "" && r.gotType != "bundle" {
					return nil, r.errorf("an object of type %q has an objects array; only a bundle may", r.gotType)
				}
				r.mode = modeBundle
				r.rec.stop()
				return r.next()
			}
			if err := r.skipRest(v); err != nil {
				return nil, err
			}
		default:
			if err := r.skipValue(); err != nil {
				return nil, err
			}
		}
	}
	if err := r.expectDelim('}'); err != nil {
		return nil, err
	}
	if r.gotType == "bundle" { // a bundle without objects
		r.rec.stop()
		r.mode = modeDone
		if err := r.expectEOF("the bundle"); err != nil {
			return nil, err
		}
		return nil, errEnd
	}
	end := r.dec.InputOffset()
	first := bytes.Clone(r.rec.bytes(start, end))
	r.rec.stop()
	r.mode = modeLines
	return first, nil
}

// finishBundle reads the bundle's members after its objects array.
func (r *Reader) finishBundle() error {
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case "objects":
			return r.errorf("the bundle has two objects members")
		case "type":
			v, err := r.dec.Token()
			if err != nil {
				return err
			}
			s, _ := v.(string)
			if s != "bundle" {
				return r.errorf("an object of type %v has an objects array; only a bundle may", v)
			}
			r.gotType = s
		default:
			if err := r.skipValue(); err != nil {
				return err
			}
		}
	}
	if err := r.expectDelim('}'); err != nil {
		return err
	}
	r.mode = modeDone
	return r.expectEOF("the bundle")
}

func (r *Reader) skipValue() error {
	tok, err := r.dec.Token()
	if err != nil {
		return err
	}
	return r.skipRest(tok)
}

// skipRest skips the rest of a value whose first token was tok.
func (r *Reader) skipRest(tok json.Token) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := r.dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func (r *Reader) expectDelim(d json.Delim) error {
	tok, err := r.dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return r.errorf("want %v, got %v", d, tok)
	}
	return nil
}

func (r *Reader) expectEOF(what string) error {
	_, err := r.dec.Token()
	switch err {
	case io.EOF:
		return nil
	case nil:
		return r.errorf("unexpected data after %s", what)
	default:
		return err
	}
}

func (r *Reader) errorf(format string, args ...any) error {
	return &ReadError{Offset: r.dec.InputOffset(), Msg: fmt.Sprintf(format, args...)}
}

// wrap gives a decoding error its position. json.SyntaxError's own Offset
// does not count the bytes the decoder consumed in token mode, so it cannot be
// trusted here; the decoder's InputOffset after a failed Decode is the start of
// the value that failed, which is what a person needs to find the bad object.
func (r *Reader) wrap(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &ReadError{Offset: r.dec.InputOffset(), Msg: "in the value starting here: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &ReadError{Offset: r.dec.InputOffset(), Msg: "the stream ends in the middle of a value"}
	}
	return &ReadError{Offset: r.dec.InputOffset(), Msg: err.Error()}
}

// recorder keeps the bytes read from the stream while the Reader is still
// deciding its shape, so that the first object of a sequence can be returned
// whole after it has been walked token by token. It keeps nothing afterwards.
type recorder struct {
	r   io.Reader
	on  bool
	buf []byte
}

func (c *recorder) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.on {
		c.buf = append(c.buf, p[:n]...)
	}
	return n, err
}

func (c *recorder) bytes(start, end int64) []byte { return c.buf[start:end] }

func (c *recorder) stop() { c.on, c.buf = false, nil }
