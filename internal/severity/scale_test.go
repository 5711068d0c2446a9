package severity_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/severity"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run go test -update if the change is intended)\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestExampleGolden(t *testing.T) {
	b, err := json.MarshalIndent(severity.Example(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "example-scale.golden", append(b, '\n'))

	// The golden file is itself a valid scale that reads back as Example.
	s, err := severity.ParseScale(readFile(t, "example-scale.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, severity.Example()) {
		t.Errorf("golden file reads back as %+v", s)
	}
}

func TestExampleMapping(t *testing.T) {
	s := severity.Example()
	want := map[string]severity.Level{
		"1": severity.Emergency, "2": severity.Severe, "3": severity.High,
		"4": severity.Medium, "5": severity.Low, "6": severity.Baseline,
	}
	for level, common := range want {
		n, got, err := s.National(level)
		if err != nil {
			t.Fatal(err)
		}
		if got != common {
			t.Errorf("category %s maps to %v, want %v", level, got, common)
		}
		if n.Scale != "uk-ncsc-categories" || n.Level != level || !strings.HasPrefix(n.Label, "Category "+level+": ") {
			t.Errorf("National(%q) = %+v", level, n)
		}
	}
	// Each call gives a fresh copy.
	s.Levels[0].Common = severity.Low
	if severity.Example().Levels[0].Common != severity.Emergency {
		t.Error("changing one Example() changed the next")
	}
}

func TestNationalUnknown(t *testing.T) {
	s := severity.Example()
	if _, ok := s.Lookup("7"); ok {
		t.Error(`Lookup("7") found a level`)
	}
	if _, ok := s.Lookup("Category 1"); ok {
		t.Error(`Lookup matches labels`)
	}
	_, _, err := s.National("7")
	if err == nil {
		t.Fatal(`National("7"): no error`)
	}
	for _, want := range []string{`"7"`, "uk-ncsc-categories", "1, 2, 3, 4, 5, 6"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestParseScale(t *testing.T) {
	const ok = `{"name":"x","title":"X","levels":[{"level":"a","label":"A","common":3}]}`
	if s, err := severity.ParseScale([]byte(ok)); err != nil {
		t.Fatal(err)
	} else if want := (&severity.Scale{Name: "x", Title: "X", Levels: []severity.ScaleLevel{{Level: "a", Label: "A", Common: severity.High}}}); !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v, want %+v", s, want)
	}
	good := []string{
		`{"name":"a-0","levels":[{"level":"1","common":0}]}`,                        // title and label optional
		`{"name":"x","title":"","levels":[{"level":"a","label":"","common":5}]}`,    // or empty
		`{"name":"x","levels":[{"level":"a","common":1},{"level":"b","common":1}]}`, // two levels, one common
		`{"name":"` + strings.Repeat("z", 63) + `","levels":[{"level":"a","common":1}]}`,
		`{"name":"x","levels":[{"level":"Niveau 3 — élevé","label":"Élevé","common":3}]}`,
		` {"name":"x","levels":[{"level":"a","common":1}]} ` + "\n",
	}
	for _, in := range good {
		if _, err := severity.ParseScale([]byte(in)); err != nil {
			t.Errorf("ParseScale(%s): %v", in, err)
		}
	}
	bad := []struct{ in, want string }{
		{``, "truncated"},
		{`{"name":"x"`, "truncated"},
		{`null`, "name"},
		{`[]`, "want an object"},
		{`"x"`, "want an object"},
		{`{"name":"x","levels":[{"level":"a","common":1}]} {}`, "data after"},
		{`{"name":"x","levels":[{"level":"a","common":1}]}x`, "data after"},
		{`{"name":"","levels":[{"level":"a","common":1}]}`, "name"},
		{`{"name":"X","levels":[{"level":"a","common":1}]}`, "name"},
		{`{"name":"a_b","levels":[{"level":"a","common":1}]}`, "name"},
		{`{"name":"` + strings.Repeat("z", 64) + `","levels":[{"level":"a","common":1}]}`, "name"},
		{`{"name":"x"}`, "no levels"},
		{`{"name":"x","levels":[]}`, "no levels"},
		{`{"name":"x","levels":null}`, "no levels"},
		{`{"name":"x","levels":[{"level":"","common":1}]}`, "empty level"},
		{`{"name":"x","levels":[{"common":1}]}`, "empty level"},
		{`{"name":"x","levels":[{"level":"a","common":1},{"level":"a","common":2}]}`, `"a" appears twice`},
		{`{"name":"x","levels":[{"level":"a","common":6}]}`, "common level 6"},
		{`{"name":"x","levels":[{"level":"a","common":-1}]}`, "common level -1"},
		{`{"name":"x","levels":[{"level":"a","common":"high"}]}`, "levels.common: want an integer"},
		{`{"name":"x","levels":[{"level":"a","common":2.5}]}`, "want an integer"},
		{`{"name":"x","levels":[{"level":"a","common":1e40}]}`, "want an integer"},
		{`{"name":"x","levels":[{"level":1,"common":1}]}`, "want a string"},
		{`{"name":"x","levels":{"level":"a","common":1}}`, "want an array"},
		{`{"name":"x","levels":[{"level":"a","common":1}],"extra":1}`, `unknown member "extra"`},
		{`{"name":"x","levels":[{"level":"a","common":1,"colour":"red"}]}`, `levels[0]: unknown member "colour"`},
		{`{"Name":"x","levels":[{"level":"a","common":1}]}`, `unknown member "Name"`},
		{`{"name":"x","levels":[{"Level":"a","common":1}]}`, `unknown member "Level"`},
		{`{"name":"x","name":"y","levels":[{"level":"a","common":1}]}`, `member "name" appears twice`},
		{`{"name":"x","levels":[{"level":"a","common":1,"common":2}]}`, `member "common" appears twice`},
		{`{"name":"x","title":"a\tb","levels":[{"level":"a","common":1}]}`, "not printable"},
		{`{"name":"x","levels":[{"level":"a\u0000","common":1}]}`, "not printable"},
		{`{"name":"x","levels":[{"level":" a","common":1}]}`, "surrounding spaces"},
		{`{"name":"x","levels":[{"level":"a","label":"A ","common":1}]}`, "surrounding spaces"},
		{`{"name":"x","levels":[{"level":"` + strings.Repeat("a", 65) + `","common":1}]}`, "at most 64"},
		{`{"name":"x","title":"` + strings.Repeat("a", 257) + `","levels":[{"level":"a","common":1}]}`, "at most 256"},
		{"{\"name\":\"x\",\"title\":\"\xff\",\"levels\":[{\"level\":\"a\",\"common\":1}]}", "UTF-8"},
		{`{"name":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nested"},
	}
	for _, tt := range bad {
		s, err := severity.ParseScale([]byte(tt.in))
		if err == nil {
			t.Errorf("ParseScale(%.80s) = %+v, want an error", tt.in, s)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseScale(%.80s): error %q does not contain %q", tt.in, err, tt.want)
		}
	}

	var many []string
	for i := range 65 {
		many = append(many, `{"level":"l`+string(rune('0'+i/10))+string(rune('0'+i%10))+`","common":1}`)
	}
	_, err := severity.ParseScale([]byte(`{"name":"x","levels":[` + strings.Join(many, ",") + `]}`))
	if err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("65 levels: %v", err)
	}
}

func TestLoadSaveScale(t *testing.T) {
	dir := t.TempDir()
	s, err := severity.LoadScale(dir)
	if s != nil || err != nil {
		t.Fatalf("LoadScale(empty dir) = %v, %v; want nil, nil", s, err)
	}
	if err := severity.SaveScale(dir, severity.Example()); err != nil {
		t.Fatal(err)
	}
	s, err = severity.LoadScale(dir)
	if err != nil || !reflect.DeepEqual(s, severity.Example()) {
		t.Fatalf("LoadScale after SaveScale = %+v, %v", s, err)
	}
	// The file is the golden form.
	if b, err := os.ReadFile(filepath.Join(dir, severity.ScaleFile)); err != nil || !bytes.Equal(b, readFile(t, "example-scale.golden")) {
		t.Errorf("saved file differs from testdata/example-scale.golden (%v)", err)
	}

	// Replacing keeps one file and no temporary.
	other := &severity.Scale{Name: "fr-niveaux", Levels: []severity.ScaleLevel{{Level: "rouge", Common: severity.Severe}}}
	if err := severity.SaveScale(dir, other); err != nil {
		t.Fatal(err)
	}
	if s, err := severity.LoadScale(dir); err != nil || !reflect.DeepEqual(s, other) {
		t.Fatalf("LoadScale after replacing = %+v, %v", s, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != severity.ScaleFile {
		t.Errorf("data directory holds %v", entries)
	}
	if fi, err := os.Stat(filepath.Join(dir, severity.ScaleFile)); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}

	// An invalid scale is refused and leaves the file alone.
	if err := severity.SaveScale(dir, &severity.Scale{Name: "Bad"}); err == nil {
		t.Error("SaveScale saved an invalid scale")
	}
	if err := severity.SaveScale(dir, nil); err == nil {
		t.Error("SaveScale saved nil")
	}
	if s, _ := severity.LoadScale(dir); !reflect.DeepEqual(s, other) {
		t.Errorf("a refused save changed the file: %+v", s)
	}

	// A broken file is an error naming it.
	if err := os.WriteFile(filepath.Join(dir, severity.ScaleFile), []byte(`{"name":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := severity.LoadScale(dir); err == nil || !strings.Contains(err.Error(), severity.ScaleFile) {
		t.Errorf("LoadScale(broken) = %v", err)
	}
	// A missing directory is an error for SaveScale.
	if err := severity.SaveScale(filepath.Join(dir, "nope"), severity.Example()); err == nil {
		t.Error("SaveScale into a missing directory succeeded")
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
