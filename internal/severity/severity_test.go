package severity_test

import (
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/severity"
)

func TestLevels(t *testing.T) {
	tests := []struct {
		l           severity.Level
		name, color string
		valid       bool
	}{
		{severity.Baseline, "baseline", "white", true},
		{severity.Low, "low", "green", true},
		{severity.Medium, "medium", "yellow", true},
		{severity.High, "high", "orange", true},
		{severity.Severe, "severe", "red", true},
		{severity.Emergency, "emergency", "black", true},
		{-1, "Level(-1)", "", false},
		{6, "Level(6)", "", false},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.name {
			t.Errorf("Level(%d).String() = %q, want %q", int(tt.l), got, tt.name)
		}
		if got := tt.l.Color(); got != tt.color {
			t.Errorf("Level(%d).Color() = %q, want %q", int(tt.l), got, tt.color)
		}
		if got := tt.l.Valid(); got != tt.valid {
			t.Errorf("Level(%d).Valid() = %v, want %v", int(tt.l), got, tt.valid)
		}
	}
	all := severity.Levels()
	if len(all) != 6 {
		t.Fatalf("Levels() has %d levels", len(all))
	}
	for i, l := range all {
		if int(l) != i {
			t.Errorf("Levels()[%d] = %d", i, int(l))
		}
	}
}

func TestParse(t *testing.T) {
	good := []struct {
		in   string
		want severity.Level
	}{
		{"0", severity.Baseline},
		{"1", severity.Low},
		{"2", severity.Medium},
		{"3", severity.High},
		{"4", severity.Severe},
		{"5", severity.Emergency},
		{"baseline", severity.Baseline},
		{"low", severity.Low},
		{"Medium", severity.Medium},
		{"HIGH", severity.High},
		{"sEvErE", severity.Severe},
		{"emergency", severity.Emergency},
	}
	for _, tt := range good {
		got, err := severity.Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []string{
		"", "6", "-1", "05", "3.0", " high", "high ", "hi", "critical", "red",
		"ſevere",         // long s: Unicode folds it to "s", we do not
		"emergenc\u212a", // no k in emergency, but Kelvin sign must not pass either
		strings.Repeat("x", 1000),
	}
	for _, in := range bad {
		l, err := severity.Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, l)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"0 to 5", "baseline", "low", "medium", "high", "severe", "emergency"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Parse(%q) error %q does not mention %q", in, msg, want)
			}
		}
		if len(msg) > 200 {
			t.Errorf("Parse error is %d bytes long: %q", len(msg), msg)
		}
	}
}

func TestStringParsesBack(t *testing.T) {
	for _, l := range severity.Levels() {
		got, err := severity.Parse(l.String())
		if err != nil || got != l {
			t.Errorf("Parse(%q) = %v, %v", l.String(), got, err)
		}
	}
}
