package taxii

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		query   string
		allowed params
		want    Query
		err     bool
	}{
		{query: "", allowed: objectsParams, want: Query{}},
		{query: "limit=5&next=abc", allowed: objectsParams, want: Query{Limit: 5, Next: "abc"}},
		{query: "limit=20000", allowed: objectsParams, want: Query{Limit: 10000}},
		{query: "limit=99999999999999999999999", allowed: objectsParams, want: Query{Limit: 10000}},
		{query: "next=", allowed: objectsParams, want: Query{}},
		{query: "added_after=2026-01-02T03:04:05.678Z", allowed: objectsParams,
			want: Query{AddedAfter: time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)}},
		{query: "match[type]=indicator,malware&match[type]=sighting,indicator", allowed: objectsParams,
			want: Query{Types: []string{"indicator", "malware", "sighting"}}},
		{query: "match[id]=indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb", allowed: objectsParams,
			want: Query{IDs: []string{"indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb"}}},
		{query: "match[version]=first,2018-03-02T01:01:01.123Z,last", allowed: objectsParams,
			want: Query{Versions: []string{"first", "2018-03-02T01:01:01.123Z", "last"}}},
		{query: "match[version]=all", allowed: objectsParams, want: Query{Versions: []string{"all"}}},
		{query: "match[spec_version]=2.0,2.1", allowed: objectsParams, want: Query{SpecVersions: []string{"2.0", "2.1"}}},
		{query: "match[x_custom]=1&foo=bar", allowed: objectsParams, want: Query{}}, // unknown: ignored
		{query: "match[version]=last&match[version]=first", allowed: objectParams, want: Query{Versions: []string{"last", "first"}}},

		{query: "limit=0", allowed: objectsParams, err: true},
		{query: "limit=+5", allowed: objectsParams, err: true},
		{query: "limit=1&limit=2", allowed: objectsParams, err: true},
		{query: "next=a&next=b", allowed: objectsParams, err: true},
		{query: "added_after=2026-01-02T03:04:05+01:00", allowed: objectsParams, err: true},
		{query: "added_after=", allowed: objectsParams, err: true},
		{query: "match[version]=all,first", allowed: objectsParams, err: true},
		{query: "match[version]=all&match[version]=all", allowed: objectsParams, err: true},
		{query: "match[version]=first&match[version]=first", allowed: objectsParams, err: true},
		{query: "match[version]=latest", allowed: objectsParams, err: true},
		{query: "match[version]=", allowed: objectsParams, err: true},
		{query: "match[type]=indicator,", allowed: objectsParams, err: true},
		{query: "match[type]=indicator, malware", allowed: objectsParams, err: true},
		{query: "match[id]=indicator--nope", allowed: objectsParams, err: true},
		{query: "match[spec_version]=2", allowed: objectsParams, err: true},
		{query: "match[id]=indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb", allowed: objectParams, err: true},
		{query: "match[version]=all", allowed: versionParams, err: true},
		{query: "limit=5", allowed: deleteParams, err: true},
	} {
		v, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseQuery(v, tc.allowed, DefaultMaxLimit)
		if tc.err {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Description == "" {
				t.Errorf("%q: %v, want an invalid-input error", tc.query, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.query, got, tc.want)
		}
	}
}

// FuzzQuery feeds arbitrary query strings to the filter parser: it must not
// panic, what it accepts must obey the rules, and a parsed query must
// survive encoding by the client and parsing again unchanged.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"", "limit=7&next=AQAB", "added_after=2016-01-01T01:01:01.000Z",
		"match[type]=indicator,malware&match[id]=indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb",
		"match[version]=first,2018-03-02T01:01:01.123Z,last", "match[version]=all", "match[spec_version]=2.0,2.1",
		"limit=0", "match[version]=all,last", "limit=%00", "match%5Btype%5D=a,,b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(v, objectsParams, 100)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if q.Limit < 0 || q.Limit > 100 {
			t.Fatalf("limit %d out of range", q.Limit)
		}
		if slices.Contains(q.Versions, "all") && len(q.Versions) != 1 {
			t.Fatalf("all with others: %q", q.Versions)
		}
		for _, list := range [][]string{q.IDs, q.Types, q.Versions, q.SpecVersions} {
			for _, s := range list {
				if s == "" {
					t.Fatalf("empty value in %q", list)
				}
			}
		}
		again, err := parseQuery(q.Values(), objectsParams, 100)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", q.Values().Encode(), err)
		}
		if !again.AddedAfter.Equal(q.AddedAfter) {
			t.Fatalf("added_after %v became %v", q.AddedAfter, again.AddedAfter)
		}
		again.AddedAfter = q.AddedAfter
		if !reflect.DeepEqual(again, q) {
			t.Fatalf("round trip: %+v became %+v", q, again)
		}
	})
}

// FuzzEnvelope feeds arbitrary bodies to the envelope decoder: it must not
// panic, and what it accepts is a non-empty list of JSON values that
// re-encode into an envelope it accepts again.
func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"objects":[{"type":"indicator","id":"indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb"}]}`,
		`{"objects":[]}`, `{"objects":null}`, `{}`, `[]`, `null`, `{"objects":[1,"a",null,{}]}`,
		`{"more":true,"objects":[{}],"x_custom":1}`, `{"objects":[{}]} x`, "\xff", `{"objects":[{"a":"\ud800"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		objs, err := decodeEnvelope(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Description == "" {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if len(objs) == 0 {
			t.Fatal("accepted an empty envelope")
		}
		for _, o := range objs {
			if !json.Valid(o) {
				t.Fatalf("element is not JSON: %q", o)
			}
			_, _ = peekIDVersion(o) // must not panic either
		}
		b, err := json.Marshal(Envelope{Objects: objs})
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeEnvelope(b)
		if err != nil || len(again) != len(objs) {
			t.Fatalf("re-decoding: %d objects, %v; want %d", len(again), err, len(objs))
		}
	})
}

// FuzzAccept: the Accept parser must not panic, and adding a range for any
// other media type never makes an acceptable header unacceptable.
func FuzzAccept(f *testing.F) {
	for _, s := range []string{MediaType, "*/*", "application/taxii+json;q=0.5, text/html", `a/b;x="1,2"`, ";;;", "application/*;q=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		ok := acceptable([]string{h})
		if ok && !acceptable([]string{h + ", text/plain"}) {
			t.Fatalf("%q acceptable, but not with text/plain added", h)
		}
		_ = contentTypeOK(h)
	})
}
