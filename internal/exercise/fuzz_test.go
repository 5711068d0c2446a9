package exercise

import (
	"testing"
)

// FuzzParse: whatever the file, Parse answers (no panic, no hang); a
// scenario it accepts marshals to a file it accepts again as the same
// scenario.
func FuzzParse(f *testing.F) {
	f.Add(BuiltinFile())
	f.Add(mustMarshal(f, base()))
	f.Add([]byte(`{"name":"a","participants":["x","y"],"injects":[{"at":"+0m","from":"x","kind":"ping","input":{"to":["y"],"tlp":"green","role":"csirt-24x7"}}]}`))
	f.Add([]byte(`{"name":"a","injects":[{"at":"+1m","at":"+2m"}]}`))
	f.Add([]byte(`{"name":"a","speed":0,"start":"now","participants":[],"injects":[{"input":{"refs":["@a","@@b"]},"expect":[{"auto":{}}]}]}`))
	f.Add([]byte(`{"injects":[{"chain":"@x","kind":"preservation","input":{"to":["y"],"tlp":"amber","target_country":"EE"}}]}`))
	f.Add([]byte("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, testNow)
		if err != nil {
			if s != nil {
				t.Fatal("a scenario and an error")
			}
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		s2, err := Parse(out, testNow)
		if err != nil {
			t.Fatalf("re-parse of an accepted scenario: %v\n%s", err, out)
		}
		out2, err := s2.Marshal()
		if err != nil || string(out) != string(out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
		if len(s2.Events()) != len(s.Events()) {
			t.Fatal("events differ")
		}
	})
}
