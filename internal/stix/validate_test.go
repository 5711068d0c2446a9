package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

const (
	uuid1 = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	uuid2 = "b8a7c9d1-4f2e-4a5b-9c3d-2e1f0a9b8c7d"
	ident = "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"
	tlpGr = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
)

// valid holds one acceptable object of each type, in JSON with comments-free
// literals; the invalid table below breaks them one rule at a time.
var valid = map[string]string{
	"indicator":            `{"type":"indicator","spec_version":"2.1","id":"indicator--` + uuid1 + `","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","created_by_ref":"` + ident + `","name":"Poison Ivy","indicator_types":["malicious-activity"],"pattern":"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","object_marking_refs":["` + tlpGr + `"],"labels":["x"],"confidence":80,"lang":"en","external_references":[{"source_name":"capec","external_id":"CAPEC-163"}],"kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"delivery"}],"granular_markings":[{"marking_ref":"` + tlpGr + `","selectors":["name","external_references.[0].source_name","labels.[0]"]}]}`,
	"attack-pattern":       `{"type":"attack-pattern","spec_version":"2.1","id":"attack-pattern--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Spear Phishing"}`,
	"campaign":             `{"type":"campaign","spec_version":"2.1","id":"campaign--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Green Group Attacks","first_seen":"2016-01-01T00:00:00Z","last_seen":"2016-02-01T00:00:00Z"}`,
	"course-of-action":     `{"type":"course-of-action","spec_version":"2.1","id":"course-of-action--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Add TCP port 80 Filter Rule"}`,
	"grouping":             `{"type":"grouping","spec_version":"2.1","id":"grouping--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","context":"suspicious-activity","object_refs":["indicator--` + uuid2 + `"]}`,
	"identity":             `{"type":"identity","spec_version":"2.1","id":"` + ident + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"CERT-FR","identity_class":"organization"}`,
	"incident":             `{"type":"incident","spec_version":"2.1","id":"incident--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Ransomware at a hospital"}`,
	"infrastructure":       `{"type":"infrastructure","spec_version":"2.1","id":"infrastructure--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Poison Ivy C2"}`,
	"intrusion-set":        `{"type":"intrusion-set","spec_version":"2.1","id":"intrusion-set--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Bobcat Breakin"}`,
	"location":             `{"type":"location","spec_version":"2.1","id":"location--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","latitude":48.8566,"longitude":2.3522,"precision":1000}`,
	"malware":              `{"type":"malware","spec_version":"2.1","id":"malware--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Cryptolocker","is_family":true,"sample_refs":["file--` + uuid2 + `"]}`,
	"malware-analysis":     `{"type":"malware-analysis","spec_version":"2.1","id":"malware-analysis--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","product":"microsoft","result":"malicious","sample_ref":"file--` + uuid2 + `"}`,
	"note":                 `{"type":"note","spec_version":"2.1","id":"note--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","content":"Seen in the wild.","object_refs":["campaign--` + uuid2 + `"]}`,
	"observed-data":        `{"type":"observed-data","spec_version":"2.1","id":"observed-data--` + uuid1 + `","created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z","number_observed":50,"object_refs":["ipv4-addr--` + uuid2 + `","relationship--` + uuid2 + `"]}`,
	"opinion":              `{"type":"opinion","spec_version":"2.1","id":"opinion--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","opinion":"strongly-disagree","object_refs":["relationship--` + uuid2 + `"]}`,
	"report":               `{"type":"report","spec_version":"2.1","id":"report--` + uuid1 + `","created":"2015-12-21T19:59:11.000Z","modified":"2015-12-21T19:59:11.000Z","name":"The Black Vine Cyberespionage Group","published":"2016-01-20T17:00:00.000Z","object_refs":["indicator--` + uuid2 + `"]}`,
	"threat-actor":         `{"type":"threat-actor","spec_version":"2.1","id":"threat-actor--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Evil Org"}`,
	"tool":                 `{"type":"tool","spec_version":"2.1","id":"tool--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"VNC"}`,
	"vulnerability":        `{"type":"vulnerability","spec_version":"2.1","id":"vulnerability--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"CVE-2016-1234","description":"text","granular_markings":[{"lang":"fr","selectors":["description"]}]}`,
	"relationship":         `{"type":"relationship","spec_version":"2.1","id":"relationship--` + uuid1 + `","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","relationship_type":"indicates","source_ref":"indicator--` + uuid2 + `","target_ref":"malware--` + uuid2 + `"}`,
	"sighting":             `{"type":"sighting","spec_version":"2.1","id":"sighting--` + uuid1 + `","created":"2016-04-06T20:08:31.000Z","modified":"2016-04-06T20:08:31.000Z","sighting_of_ref":"indicator--` + uuid2 + `","where_sighted_refs":["` + ident + `","location--` + uuid2 + `"],"observed_data_refs":["observed-data--` + uuid2 + `"],"count":3}`,
	"artifact":             `{"type":"artifact","spec_version":"2.1","id":"artifact--` + uuid1 + `","mime_type":"image/jpeg","payload_bin":"VBORw0KGgoAAAANSUhEUgAAADI=="}`,
	"autonomous-system":    `{"type":"autonomous-system","spec_version":"2.1","id":"autonomous-system--` + uuid1 + `","number":15139,"name":"Slime Industries"}`,
	"directory":            `{"type":"directory","id":"directory--` + uuid1 + `","path":"C:\\Windows\\System32"}`,
	"domain-name":          `{"type":"domain-name","spec_version":"2.1","id":"domain-name--` + uuid1 + `","value":"example.com","resolves_to_refs":["ipv4-addr--` + uuid2 + `"]}`,
	"email-addr":           `{"type":"email-addr","spec_version":"2.1","id":"email-addr--` + uuid1 + `","value":"john@example.com"}`,
	"email-message":        `{"type":"email-message","spec_version":"2.1","id":"email-message--` + uuid1 + `","is_multipart":false,"from_ref":"email-addr--` + uuid2 + `","subject":"Hi","body":"text"}`,
	"file":                 `{"type":"file","spec_version":"2.1","id":"file--` + uuid1 + `","hashes":{"SHA-256":"ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c","x_foo":"bar"},"name":"foo.dll","extensions":{"ntfs-ext":{"sid":"1234567"}}}`,
	"ipv4-addr":            `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--` + uuid1 + `","value":"198.51.100.3","defanged":false}`,
	"ipv6-addr":            `{"type":"ipv6-addr","spec_version":"2.1","id":"ipv6-addr--` + uuid1 + `","value":"2001:0db8::1"}`,
	"mac-addr":             `{"type":"mac-addr","spec_version":"2.1","id":"mac-addr--` + uuid1 + `","value":"d2:fb:49:24:37:18"}`,
	"mutex":                `{"type":"mutex","spec_version":"2.1","id":"mutex--` + uuid1 + `","name":"__CLEANSWEEP__"}`,
	"network-traffic":      `{"type":"network-traffic","spec_version":"2.1","id":"network-traffic--` + uuid1 + `","src_ref":"ipv4-addr--` + uuid2 + `","dst_port":443,"protocols":["ipv4","tcp"]}`,
	"process":              `{"type":"process","spec_version":"2.1","id":"process--` + uuid1 + `","pid":1221,"command_line":"./gedit-bin --new-window"}`,
	"software":             `{"type":"software","spec_version":"2.1","id":"software--` + uuid1 + `","name":"Word","vendor":"Microsoft"}`,
	"url":                  `{"type":"url","spec_version":"2.1","id":"url--` + uuid1 + `","value":"https://example.com/research/index.html"}`,
	"user-account":         `{"type":"user-account","spec_version":"2.1","id":"user-account--` + uuid1 + `","user_id":"1001","account_login":"jdoe"}`,
	"windows-registry-key": `{"type":"windows-registry-key","spec_version":"2.1","id":"windows-registry-key--` + uuid1 + `","key":"hkey_local_machine\\system\\bar\\foo"}`,
	"x509-certificate":     `{"type":"x509-certificate","spec_version":"2.1","id":"x509-certificate--` + uuid1 + `","issuer":"C=ZA, ST=Western Cape","serial_number":"02:08:87:83:f2:13:58:1f:79:52:1e:66:90:0a:02:24:c9:6b:c7:dc"}`,
	"marking-definition":   `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--` + uuid1 + `","created":"2016-08-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2019, Example Corp"}}`,
	"language-content":     `{"type":"language-content","id":"language-content--` + uuid1 + `","spec_version":"2.1","created":"2017-02-08T21:31:22.007Z","modified":"2017-02-08T21:31:22.007Z","object_ref":"campaign--` + uuid2 + `","object_modified":"2017-02-08T21:31:22.007Z","contents":{"de":{"name":"Bank Angriff"}}}`,
	"extension-definition": `{"id":"extension-definition--` + uuid1 + `","type":"extension-definition","spec_version":"2.1","name":"Extension Foo 1a","created":"2014-02-20T09:16:08.989000Z","modified":"2014-02-20T09:16:08.989000Z","created_by_ref":"` + ident + `","schema":"https://www.example.com/schema-foo-1a/v1/","version":"1.2.1","extension_types":["toplevel-property-extension"],"extension_properties":["toxicity","rank"]}`,
	"x-mitre-tactic":       `{"type":"x-mitre-tactic","id":"x-mitre-tactic--` + uuid1 + `","spec_version":"2.1","created":"2018-10-17T00:14:20.652Z","modified":"2025-04-25T14:45:20.223Z","name":"Collection","x_mitre_shortname":"collection","x_mitre_version":"1.0","tactic_refs":["x"]}`,
	"x-example-sdo":        `{"type":"x-example-sdo","spec_version":"2.1","id":"x-example-sdo--` + uuid1 + `","created":"2014-02-20T09:16:08.989Z","modified":"2014-02-20T09:16:08.989Z","some_property_name1":"value1","extensions":{"extension-definition--` + uuid2 + `":{"extension_type":"new-sdo"}}}`,
}

func TestValidObjects(t *testing.T) {
	for _, typ := range sortedKeys(valid) {
		if _, err := Parse([]byte(valid[typ])); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	for ty := range specs {
		if _, ok := valid[ty]; !ok {
			t.Errorf("no valid example of %s in the table", ty)
		}
	}
}

// edit returns the valid object of typ with the given changes: a nil value
// deletes the property; a key "a.b" or "a[0]" reaches into the object.
func edit(typ string, changes ...any) []byte {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(valid[typ]))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		panic(typ + ": " + err.Error())
	}
	for i := 0; i < len(changes); i += 2 {
		path, v := changes[i].(string), changes[i+1]
		setPath(m, path, v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	var cur any = m
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if v == nil {
					delete(c, p)
				} else {
					c[p] = v
				}
				return
			}
			cur = c[p]
		case []any:
			var n int
			fmt.Sscanf(p, "[%d]", &n)
			if last {
				c[n] = v
				return
			}
			cur = c[n]
		}
	}
}

type invalidCase struct {
	name string
	raw  []byte
	prop string // the Property the error must name
	msg  string // a fragment of the message
}

var del any // nil: delete the property

func invalidCases() []invalidCase {
	ind := func(changes ...any) []byte { return edit("indicator", changes...) }
	raw := func(s string) []byte { return []byte(s) }
	return []invalidCase{
		// JSON and header.
		{"not json", raw(`{"type":`), "", "unexpected end of input"},
		{"not an object", raw(`["indicator"]`), "", "must be a JSON object"},
		{"duplicate member", raw(`{"type":"url","id":"url--` + uuid1 + `","value":"a","value":"b"}`), "", "duplicate member name"},
		{"invalid utf-8", raw("{\"type\":\"url\",\"id\":\"url--" + uuid1 + "\",\"value\":\"\xff\"}"), "", "invalid UTF-8"},
		{"lone surrogate", raw(`{"type":"url","id":"url--` + uuid1 + `","value":"\ud800"}`), "", "lone surrogate"},
		{"huge number", raw(`{"type":"autonomous-system","id":"autonomous-system--` + uuid1 + `","number":1e999}`), "", "not a finite IEEE 754 double"},
		{"bundle", raw(`{"type":"bundle","id":"bundle--` + uuid1 + `","objects":[]}`), "type", "a bundle is a container"},
		{"type missing", ind("type", del), "type", "required"},
		{"id missing", ind("id", del), "id", "required"},
		{"id of another type", ind("id", "malware--"+uuid1), "id", `"indicator--" followed by a UUID`},
		{"type uppercase", raw(`{"type":"Indicator","id":"Indicator--` + uuid1 + `"}`), "type", "want 3 to 250 characters"},
		{"type double hyphen", raw(`{"type":"x--y","id":"x--y--` + uuid1 + `"}`), "type", "single hyphens"},
		{"type too short", raw(`{"type":"ab","id":"ab--` + uuid1 + `"}`), "type", "3 to 250"},
		{"uuid uppercase", ind("id", "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"), "id", "must be lowercase"},
		{"uuid malformed", ind("id", "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f"), "id", "is not a UUID"},
		{"uuid version 0", ind("id", "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"), "id", "not an RFC 4122 version"},
		{"uuid variant", ind("id", "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f"), "id", "variant"},

		// spec_version and versioning.
		{"stix 2.0 object", ind("spec_version", del), "spec_version", "STIX 2.0"},
		{"spec_version 2.0", ind("spec_version", "2.0"), "spec_version", "STIX 2.0 content is not accepted"},
		{"spec_version 2.2", ind("spec_version", "2.2"), "spec_version", `must be "2.1"`},
		{"sco spec_version wrong", edit("url", "spec_version", "2.0"), "spec_version", "STIX 2.0"},
		{"new-sdo without spec_version", edit("x-example-sdo", "spec_version", del), "spec_version", "extension-defined SDO"},
		{"new-sdo without created", edit("x-example-sdo", "created", del), "created", "required"},
		{"created missing", ind("created", del), "created", "required"},
		{"modified missing", ind("modified", del), "modified", "required"},
		{"created second precision", ind("created", "2016-04-06T20:03:48Z"), "created", "millisecond precision"},
		{"modified not RFC 3339", ind("modified", "2016-04-06 20:03:48.000Z"), "modified", "YYYY-MM-DDTHH:mm:ss"},
		{"modified offset", ind("modified", "2016-04-06T20:03:48.000+01:00"), "modified", "UTC"},
		{"modified before created", ind("modified", "2016-04-06T20:03:47.999Z"), "modified", "must not be earlier than created"},
		{"sco with created", edit("url", "created", "2016-04-06T20:03:48.000Z"), "created", "does not apply to a url"},
		{"sdo defanged", ind("defanged", true), "defanged", "does not apply"},
		{"marking modified", edit("marking-definition", "modified", "2016-08-01T00:00:00.000Z"), "modified", "does not apply to a marking-definition"},
		{"extension-definition without creator", edit("extension-definition", "created_by_ref", del), "created_by_ref", "required"},

		// Common properties.
		{"revoked not boolean", ind("revoked", "yes"), "revoked", "true or false"},
		{"labels not strings", ind("labels", []any{1}), "labels[0]", "must be a string"},
		{"labels empty", ind("labels", []any{}), "labels", "non-empty list"},
		{"confidence too high", ind("confidence", 101), "confidence", "out of range [0, 100]"},
		{"confidence not integer", ind("confidence", 50.5), "confidence", "must be an integer"},
		{"lang malformed", ind("lang", "en_US"), "lang", "RFC 5646"},
		{"created_by_ref not identity", ind("created_by_ref", "malware--"+uuid2), "created_by_ref", "must name identity"},
		{"created_by_ref not an id", ind("created_by_ref", "ACME"), "created_by_ref", "not an identifier"},
		{"object_marking_refs not marking", ind("object_marking_refs", []any{ident}), "object_marking_refs[0]", "must name marking-definition"},
		{"marking marks itself", edit("marking-definition", "object_marking_refs", []any{"marking-definition--" + uuid1}), "object_marking_refs[0]", "must not mark itself"},
		{"external reference without source", ind("external_references", []any{map[string]any{"url": "https://x"}}), "external_references[0].source_name", "required"},
		{"external reference without content", ind("external_references", []any{map[string]any{"source_name": "x"}}), "external_references[0]", "at least one of description, url or external_id"},
		{"external reference bad hash", ind("external_references", []any{map[string]any{"source_name": "x", "url": "https://x", "hashes": map[string]any{"SHA-256": "abc"}}}), "external_references[0].hashes.SHA-256", "64 hexadecimal digits"},
		{"kill chain phase incomplete", ind("kill_chain_phases", []any{map[string]any{"kill_chain_name": "x"}}), "kill_chain_phases[0].phase_name", "required"},
		{"custom property uppercase", ind("x_Foo", 1), "x_Foo", "custom property names"},
		{"custom property too short", ind("xy", 1), "xy", "3 to 250"},
		{"custom property hyphen", ind("x-foo", 1), "x-foo", "custom property names"},
		{"custom property empty name", ind("", "x", "0", 1), "", "custom property names"},

		// Reserved property names (section 3.8): on any object, at the top
		// level and at the top level of an extension.
		{"reserved severity on an sdo", ind("severity", "high"), "severity", `STIX 2.1 keeps "severity" for a future version`},
		{"reserved action on course-of-action", edit("course-of-action", "action", "block port 80"), "action", "e.g. x_example_com_action"},
		{"reserved username on an sco", edit("user-account", "username", "jdoe"), "username", "section 3.8"},
		{"reserved phone_number on a custom object", edit("x-example-sdo", "phone_number", "+33 1 23 45 67 89"), "phone_number", "reserved property name"},
		{"reserved action on an att&ck object", edit("x-mitre-tactic", "action", "collect"), "action", "reserved property name"},
		{"reserved on a marking", edit("marking-definition", "severity", 3), "severity", "reserved property name"},
		{"reserved in a property extension", ind("extensions", map[string]any{"extension-definition--" + uuid2: map[string]any{"extension_type": "property-extension", "severity": "high"}}),
			"extensions.extension-definition--" + uuid2 + ".severity", "reserved property name"},
		{"reserved in a new-sdo extension", edit("x-example-sdo", "extensions.extension-definition--"+uuid2+".username", "jdoe"),
			"extensions.extension-definition--" + uuid2 + ".username", "reserved property name"},
		{"reserved in a predefined extension", edit("file", "extensions.ntfs-ext.action", "x"), "extensions.ntfs-ext.action", "reserved property name"},
		{"reserved top-level extension property", edit("extension-definition", "extension_properties", []any{"toxicity", "severity"}), "extension_properties[1]", "reserved property name"},
		{"reserved before other problems", ind("phone_number", "1", "severity", "2", "confidence", 101), "phone_number", "reserved property name"},

		// Extensions.
		{"extension without extension_type", ind("extensions", map[string]any{"extension-definition--" + uuid2: map[string]any{"rank": 5}}), "extensions.extension-definition--" + uuid2 + ".extension_type", "required"},
		{"extension_type unknown", ind("extensions", map[string]any{"extension-definition--" + uuid2: map[string]any{"extension_type": "new-thing"}}), "extensions.extension-definition--" + uuid2 + ".extension_type", "not one of"},
		{"extension key bad uuid", ind("extensions", map[string]any{"extension-definition--1234": map[string]any{"extension_type": "new-sdo"}}), "extensions.extension-definition--1234", "not a UUID"},
		{"predefined extension of another type", edit("url", "extensions", map[string]any{"ntfs-ext": map[string]any{"sid": "1"}}), "extensions.ntfs-ext", "belongs to file objects"},
		{"custom extension on an sdo", ind("extensions", map[string]any{"x-acme-ext": map[string]any{"a": "b"}}), "extensions.x-acme-ext", "cyber-observables only"},
		{"extension key not a name", edit("file", "extensions", map[string]any{"foo": map[string]any{"a": "b"}}), "extensions.foo", "ending in -ext"},
		{"extension empty", edit("file", "extensions", map[string]any{"ntfs-ext": map[string]any{}}), "extensions.ntfs-ext", "at least one property"},
		{"extensions empty", ind("extensions", map[string]any{}), "extensions", "non-empty dictionary"},

		// Granular markings.
		{"granular both", ind("granular_markings", []any{map[string]any{"marking_ref": tlpGr, "lang": "en", "selectors": []any{"name"}}}), "granular_markings[0]", "exactly one of marking_ref and lang"},
		{"granular neither", ind("granular_markings", []any{map[string]any{"selectors": []any{"name"}}}), "granular_markings[0]", "exactly one of marking_ref and lang"},
		{"granular no selectors", ind("granular_markings", []any{map[string]any{"marking_ref": tlpGr, "selectors": []any{}}}), "granular_markings[0].selectors", "non-empty"},
		{"granular absent property", ind("granular_markings", []any{map[string]any{"marking_ref": tlpGr, "selectors": []any{"description"}}}), "granular_markings[0].selectors[0]", "property description is not present"},
		{"granular index past end", ind("granular_markings", []any{map[string]any{"marking_ref": tlpGr, "selectors": []any{"labels.[3]"}}}), "granular_markings[0].selectors[0]", "past the end"},
		{"granular index into string", ind("granular_markings", []any{map[string]any{"marking_ref": tlpGr, "selectors": []any{"name.[0]"}}}), "granular_markings[0].selectors[0]", "not a list"},
		{"granular property of list", ind("granular_markings", []any{map[string]any{"marking_ref": tlpGr, "selectors": []any{"labels.name"}}}), "granular_markings[0].selectors[0]", "not an object"},
		{"granular bad index", ind("granular_markings", []any{map[string]any{"marking_ref": tlpGr, "selectors": []any{"labels.[-1]"}}}), "granular_markings[0].selectors[0]", "malformed list index"},
		{"granular marking_ref not marking", ind("granular_markings", []any{map[string]any{"marking_ref": ident, "selectors": []any{"name"}}}), "granular_markings[0].marking_ref", "must name marking-definition"},

		// Indicator.
		{"indicator pattern missing", ind("pattern", del), "pattern", "required"},
		{"indicator pattern_type missing", ind("pattern_type", del), "pattern_type", "required"},
		{"indicator valid_from missing", ind("valid_from", del), "valid_from", "required"},
		{"indicator valid_until not after", ind("valid_until", "2016-01-01T00:00:00.000Z"), "valid_until", "later than valid_from"},
		{"indicator bad pattern", ind("pattern", "[file:name = 'x' AND]"), "pattern", "invalid STIX pattern at offset"},
		{"indicator pattern not a string", ind("pattern", 5), "pattern", "must be a string"},

		// Other SDOs.
		{"attack-pattern name", edit("attack-pattern", "name", del), "name", "required"},
		{"campaign last before first", edit("campaign", "last_seen", "2015-01-01T00:00:00Z"), "last_seen", "must not be earlier than first_seen"},
		{"course-of-action name", edit("course-of-action", "name", del), "name", "required"},
		{"grouping context", edit("grouping", "context", del), "context", "required"},
		{"grouping object_refs", edit("grouping", "object_refs", del), "object_refs", "required"},
		{"grouping object_refs empty", edit("grouping", "object_refs", []any{}), "object_refs", "non-empty list"},
		{"identity name", edit("identity", "name", del), "name", "required"},
		{"incident name", edit("incident", "name", del), "name", "required"},
		{"infrastructure name", edit("infrastructure", "name", del), "name", "required"},
		{"intrusion-set name", edit("intrusion-set", "name", del), "name", "required"},
		{"location empty", edit("location", "latitude", del, "longitude", del, "precision", del), "", "region, country, or latitude and longitude"},
		{"location latitude alone", edit("location", "longitude", del), "latitude", "go together"},
		{"location latitude range", edit("location", "latitude", 91), "latitude", "out of range"},
		{"location precision alone", edit("location", "latitude", del, "longitude", del, "country", "fr"), "precision", "requires latitude and longitude"},
		{"malware is_family", edit("malware", "is_family", del), "is_family", "required"},
		{"malware family name", edit("malware", "name", del), "name", "required when is_family is true"},
		{"malware sample_refs type", edit("malware", "sample_refs", []any{"url--" + uuid2}), "sample_refs[0]", "must name file or artifact"},
		{"malware-analysis product", edit("malware-analysis", "product", del), "product", "required"},
		{"malware-analysis result", edit("malware-analysis", "result", del), "", "result or analysis_sco_refs"},
		{"malware-analysis sample_ref", edit("malware-analysis", "sample_ref", "url--"+uuid2), "sample_ref", "must name file, network-traffic or artifact"},
		{"note content", edit("note", "content", del), "content", "required"},
		{"note object_refs empty", edit("note", "object_refs", []any{}), "object_refs", "non-empty list"},
		{"observed-data number", edit("observed-data", "number_observed", 0), "number_observed", "out of range [1, 999999999]"},
		{"observed-data first", edit("observed-data", "first_observed", del), "first_observed", "required"},
		{"observed-data last before first", edit("observed-data", "last_observed", "2015-12-21T18:00:00Z"), "last_observed", "must not be earlier"},
		{"observed-data both", edit("observed-data", "objects", map[string]any{"0": map[string]any{"type": "ipv4-addr", "value": "1.2.3.4"}}), "objects", "must not both be present"},
		{"observed-data neither", edit("observed-data", "object_refs", del), "object_refs", "needs object_refs"},
		{"observed-data refs an sdo", edit("observed-data", "object_refs", []any{"malware--" + uuid2}), "object_refs[0]", "must name an SCO or SRO"},
		{"observed-data only sros", edit("observed-data", "object_refs", []any{"relationship--" + uuid2}), "object_refs", "at least one SCO"},
		{"opinion enum", edit("opinion", "opinion", "maybe"), "opinion", "not one of strongly-disagree"},
		{"opinion object_refs", edit("opinion", "object_refs", del), "object_refs", "required"},
		{"report published", edit("report", "published", del), "published", "required"},
		{"report object_refs", edit("report", "object_refs", del), "object_refs", "required"},
		{"threat-actor name", edit("threat-actor", "name", del), "name", "required"},
		{"tool name", edit("tool", "name", del), "name", "required"},
		{"vulnerability name", edit("vulnerability", "name", del), "name", "required"},

		// SROs.
		{"relationship type", edit("relationship", "relationship_type", del), "relationship_type", "required"},
		{"relationship type syntax", edit("relationship", "relationship_type", "Indicates"), "relationship_type", "a-z, 0-9 and '-'"},
		{"relationship source", edit("relationship", "source_ref", del), "source_ref", "required"},
		{"relationship target sro", edit("relationship", "target_ref", "sighting--"+uuid2), "target_ref", "must name an SDO or SCO"},
		{"relationship source marking", edit("relationship", "source_ref", "marking-definition--"+uuid2), "source_ref", "must name an SDO or SCO"},
		{"relationship stop before start", edit("relationship", "start_time", "2016-01-01T00:00:00Z", "stop_time", "2016-01-01T00:00:00Z"), "stop_time", "later than start_time"},
		{"sighting of", edit("sighting", "sighting_of_ref", del), "sighting_of_ref", "required"},
		{"sighting of an sco", edit("sighting", "sighting_of_ref", "url--"+uuid2), "sighting_of_ref", "must name an SDO"},
		{"sighting where", edit("sighting", "where_sighted_refs", []any{"malware--" + uuid2}), "where_sighted_refs[0]", "must name identity or location"},
		{"sighting observed data", edit("sighting", "observed_data_refs", []any{"indicator--" + uuid2}), "observed_data_refs[0]", "must name observed-data"},
		{"sighting count", edit("sighting", "count", -1), "count", "out of range"},

		// SCOs.
		{"artifact neither", edit("artifact", "payload_bin", del), "", "payload_bin or url"},
		{"artifact both", edit("artifact", "url", "https://x"), "payload_bin", "must not both"},
		{"artifact url without hashes", edit("artifact", "payload_bin", del, "url", "https://x"), "hashes", "required when url"},
		{"artifact base64", edit("artifact", "payload_bin", "not base64!"), "payload_bin", "base64"},
		{"autonomous-system number", edit("autonomous-system", "number", del), "number", "required"},
		{"directory path", edit("directory", "path", del), "path", "required"},
		{"domain-name value", edit("domain-name", "value", del), "value", "required"},
		{"domain-name resolves to", edit("domain-name", "resolves_to_refs", []any{"url--" + uuid2}), "resolves_to_refs[0]", "must name ipv4-addr, ipv6-addr or domain-name"},
		{"email-addr value", edit("email-addr", "value", del), "value", "required"},
		{"email-message is_multipart", edit("email-message", "is_multipart", del), "is_multipart", "required"},
		{"email-message body multipart", edit("email-message", "is_multipart", true), "body", "must not be present when is_multipart is true"},
		{"email-message from_ref", edit("email-message", "from_ref", "url--"+uuid2), "from_ref", "must name email-addr"},
		{"file hashes or name", edit("file", "hashes", del, "name", del), "", "hashes or name"},
		{"file md5 length", edit("file", "hashes", map[string]any{"MD5": "abc"}), "hashes.MD5", "32 hexadecimal digits"},
		{"file hash key", edit("file", "hashes", map[string]any{"a b": "abc"}), "hashes.a b", "hash algorithm names"},
		{"ipv4-addr value", edit("ipv4-addr", "value", del), "value", "required"},
		{"ipv4-addr defanged", edit("ipv4-addr", "defanged", "no"), "defanged", "true or false"},
		{"ipv6-addr value", edit("ipv6-addr", "value", del), "value", "required"},
		{"mac-addr value", edit("mac-addr", "value", del), "value", "required"},
		{"mutex name", edit("mutex", "name", del), "name", "required"},
		{"network-traffic protocols", edit("network-traffic", "protocols", del), "protocols", "required"},
		{"network-traffic ends", edit("network-traffic", "src_ref", del), "", "src_ref or dst_ref"},
		{"network-traffic port", edit("network-traffic", "dst_port", 65536), "dst_port", "out of range"},
		{"network-traffic src type", edit("network-traffic", "src_ref", "url--"+uuid2), "src_ref", "must name ipv4-addr"},
		{"process empty", edit("process", "pid", del, "command_line", del), "", "at least one of its own properties"},
		{"software name", edit("software", "name", del), "name", "required"},
		{"url value", edit("url", "value", del), "value", "required"},
		{"user-account empty", edit("user-account", "user_id", del, "account_login", del), "", "at least one of its own properties"},
		{"registry key empty", edit("windows-registry-key", "key", del), "", "at least one of its own properties"},
		{"x509 empty", edit("x509-certificate", "issuer", del, "serial_number", del), "", "at least one of its own properties"},

		// Meta objects and markings.
		{"marking without definition", edit("marking-definition", "definition_type", del, "definition", del), "definition_type", "needs definition_type and definition, or extensions"},
		{"marking type without definition", edit("marking-definition", "definition", del), "definition", "go together"},
		{"statement missing", edit("marking-definition", "definition", map[string]any{"text": "x"}), "definition.statement", "required"},
		{"home-made tlp", edit("marking-definition", "definition_type", "tlp", "definition", map[string]any{"tlp": "green"}), "definition_type", "only the four official TLP 1.0"},
		{"forged tlp 1.0", []byte(`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}}`), "definition.tlp", "is TLP:RED"},
		{"tlp 1.0 wrong created", []byte(`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed","created":"2020-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:RED","definition":{"tlp":"red"}}`), "created", "was created 2017-01-20"},
		{"tlp 1.0 id as statement", []byte(`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"share freely"}}`), "definition_type", "must say definition_type tlp"},
		{"forged tlp 2.0 clear with red id", bytes.Replace(TLPMarkingDefinition(TLPClear), []byte(tlp2IDs[TLPClear]), []byte(tlp2IDs[TLPRed]), 1), "extensions." + TLP2ExtensionID + ".tlp_2_0", "is TLP:RED"},
		{"forged tlp 2.0 name", bytes.Replace(TLPMarkingDefinition(TLPRed), []byte(`"TLP:RED"`), []byte(`"TLP:CLEAR"`), 1), "name", `is named "TLP:RED"`},
		{"tlp 2.0 extension on another id", bytes.Replace(TLPMarkingDefinition(TLPGreen), []byte(tlp2IDs[TLPGreen]), []byte("marking-definition--"+uuid1), 1), "extensions." + TLP2ExtensionID, "reserved to the five official"},
		{"tlp 2.0 id without extension", []byte(`{"type":"marking-definition","spec_version":"2.1","id":"` + tlp2IDs[TLPRed] + `","created":"2022-10-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"anything"}}`), "extensions", "must carry the TLP 2.0 extension"},
		{"tlp 2.0 extra extension property", bytes.Replace(TLPMarkingDefinition(TLPAmber), []byte(`"tlp_2_0":"amber"`), []byte(`"tlp_2_0":"amber","x_note":"y"`), 1), "extensions." + TLP2ExtensionID + ".tlp_2_0", "is TLP:AMBER"},
		{"language-content object_ref", edit("language-content", "object_ref", del), "object_ref", "required"},
		{"language-content contents", edit("language-content", "contents", map[string]any{}), "contents", "non-empty dictionary"},
		{"language-content lang", edit("language-content", "lang", "en"), "lang", "does not apply"},
		{"extension-definition schema", edit("extension-definition", "schema", del), "schema", "required"},
		{"extension-definition types", edit("extension-definition", "extension_types", []any{"new-thing"}), "extension_types[0]", "not one of"},
		{"extension-definition properties", edit("extension-definition", "extension_types", []any{"new-sdo"}), "extension_properties", "toplevel-property-extension"},
		{"extension-definition extensions", edit("extension-definition", "extensions", map[string]any{"extension-definition--" + uuid2: map[string]any{"extension_type": "new-sdo"}}), "extensions", "does not apply"},
		{"custom type spec_version", edit("x-mitre-tactic", "spec_version", "2.0"), "spec_version", "STIX 2.0"},
		{"custom type created precision", edit("x-mitre-tactic", "created", "2018-10-17T00:14:20Z"), "created", "millisecond"},
	}
}

// TestInvalidObjects checks one broken rule per case: Parse must refuse the
// object with an InvalidError naming the property, with a message containing
// the fragment. testdata/invalid.golden freezes the full messages (-update).
func TestInvalidObjects(t *testing.T) {
	var golden bytes.Buffer
	seen := map[string]bool{}
	for _, tc := range invalidCases() {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		o, err := Parse(tc.raw)
		if err == nil {
			t.Errorf("%s: accepted %s", tc.name, o.Raw)
			continue
		}
		var ie *InvalidError
		if !errors.As(err, &ie) || !IsInvalid(err) {
			t.Errorf("%s: error %T is not an *InvalidError: %v", tc.name, err, err)
			continue
		}
		if ie.Property != tc.prop {
			t.Errorf("%s: Property = %q, want %q (%v)", tc.name, ie.Property, tc.prop, err)
		}
		if !strings.Contains(ie.Msg, tc.msg) {
			t.Errorf("%s: message %q does not contain %q", tc.name, ie.Msg, tc.msg)
		}
		fmt.Fprintf(&golden, "%s: %v\n", tc.name, err)
	}
	checkGolden(t, "invalid.golden", golden.Bytes())
}

func checkGolden(t *testing.T, name string, got []byte) {
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
		t.Errorf("%s differs from the current output; run go test -update and review the diff:\n%s", path, lineDiff(want, got))
	}
}

func lineDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "-%s\n+%s\n", a, c)
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// Reserved names are property names only: a dictionary key or a name
// inside a property's value is not one (an environment variable USERNAME
// or username, a custom property's own structure), nor is a longer name
// that contains one.
func TestReservedNamesOnlyAsPropertyNames(t *testing.T) {
	for name, raw := range map[string][]byte{
		"dictionary key":              edit("process", "environment_variables", map[string]any{"username": "jdoe", "USERNAME": "jdoe"}),
		"inside a custom property":    edit("indicator", "x_acme_scoring", map[string]any{"severity": "high", "action": "block"}),
		"prefixed custom property":    edit("indicator", "x_acme_severity", "high"),
		"hashes key":                  edit("file", "hashes", map[string]any{"SHA-256": "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c", "severity": "x"}),
		"name containing one":         edit("course-of-action", "x_mitre_action_type", "mitigation"),
		"inside an extension's value": edit("file", "extensions.ntfs-ext.alternate_data_streams", []any{map[string]any{"name": "severity"}}),
	} {
		if _, err := Parse(raw); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
