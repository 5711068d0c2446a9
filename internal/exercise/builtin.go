package exercise

import (
	_ "embed"
	"fmt"
	"strings"
	"time"
)

// The built-in scenario: a ransomware wave hitting hospitals in several
// countries, which `entraide demo` plays. It names its nodes as the demo
// does: cert-fr, cert-ee, cert-de, cert-be, cert-it, cert-pl and the hub
// cert-eu (Scenario.Rename gives them other names).
//
//go:embed scenarios/ransomware-hospitals.json
var builtinFile []byte

// BuiltinName is the built-in scenario's name (and exercise marker).
const BuiltinName = "ransomware-hospitals"

// builtinNow is the "now" the built-in scenario is validated against: it
// has no absolute time, so any instant does.
var builtinNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Builtin returns a fresh copy of the built-in scenario. It starts "now"
// at speed 360 (a scenario hour in ten seconds); set Speed, or give the
// Runner a Start and Warp, to play it otherwise.
func Builtin() *Scenario {
	s, err := Parse(builtinFile, builtinNow)
	if err != nil {
		panic("exercise: the built-in scenario is invalid: " + err.Error()) // a test validates it
	}
	return s
}

// BuiltinFile returns the built-in scenario's file.
func BuiltinFile() []byte { return append([]byte(nil), builtinFile...) }

// IsBuiltin reports whether a scenario argument names the built-in
// scenario: "builtin" or "builtin:ransomware-hospitals".
func IsBuiltin(arg string) (bool, error) {
	name, ok := strings.CutPrefix(arg, "builtin")
	if !ok || (name != "" && !strings.HasPrefix(name, ":")) {
		return false, nil
	}
	if name != "" && name != ":"+BuiltinName {
		return true, fmt.Errorf("no built-in scenario %q: the built-in one is %q", strings.TrimPrefix(name, ":"), "builtin:"+BuiltinName)
	}
	return true, nil
}
