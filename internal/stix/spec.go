package stix

// This file is the specification in table form: for each STIX 2.1 type, what
// kind of object it is, which of its own properties exist, which are required,
// what their values must look like and which types a reference may name.
// Cross-property rules that a table cannot say live in rules.go.

// Kind is the family a STIX type belongs to; it decides which common
// properties are required, optional or not applicable (specification 3.2).
type Kind uint8

const (
	KindCustom Kind = iota // a type the specification does not define
	KindSDO                // STIX Domain Object
	KindSRO                // STIX Relationship Object
	KindSCO                // STIX Cyber-observable Object
	KindMeta               // marking-definition, language-content, extension-definition
)

func (k Kind) String() string {
	switch k {
	case KindSDO:
		return "SDO"
	case KindSRO:
		return "SRO"
	case KindSCO:
		return "SCO"
	case KindMeta:
		return "meta object"
	default:
		return "custom object"
	}
}

// KindOf returns the kind of a STIX type name; KindCustom for any type the
// specification does not define (ATT&CK's x-mitre-*, extension-defined types).
func KindOf(typ string) Kind {
	return kinds[typ] // KindCustom when absent
}

// kinds mirrors specs (built by init) so that rules may ask for kinds without
// an initialisation cycle through the specs table.
var kinds = map[string]Kind{}

type valueKind uint8

const (
	vString    valueKind = iota + 1
	vStrings             // non-empty list of strings
	vTimestamp           // any precision
	vBool
	vInt     // integer in [min, max]
	vFloat   // number in [min, max]
	vRef     // identifier naming one of targets
	vRefs    // non-empty list of vRef
	vKCP     // non-empty list of kill-chain-phase
	vHashes  // hashes dictionary
	vDict    // non-empty JSON object
	vList    // non-empty list of anything
	vEnum    // string from enum
	vHex     // even number of lowercase hex digits
	vBinary  // base64 string
	vLang    // RFC 5646 language tag
	vObjects // non-empty list of JSON objects
)

// target says which object types a reference property may name.
type target struct {
	types []string // explicit types; when set, only these
	sdo   bool     // any SDO (or custom type)
	sco   bool     // any SCO (or custom type)
	sro   bool     // any SRO (or custom type)
	any   bool     // any STIX object
	desc  string   // for messages
}

var (
	toIdentity   = target{types: []string{"identity"}, desc: "identity"}
	toMarking    = target{types: []string{"marking-definition"}, desc: "marking-definition"}
	toSoftware   = target{types: []string{"software"}, desc: "software"}
	toAny        = target{any: true, desc: "a STIX object"}
	toSDO        = target{sdo: true, desc: "an SDO"}
	toSCO        = target{sco: true, desc: "an SCO"}
	toSDOorSCO   = target{sdo: true, sco: true, desc: "an SDO or SCO"}
	toSCOorSRO   = target{sco: true, sro: true, desc: "an SCO or SRO"}
	toEmailAddr  = target{types: []string{"email-addr"}, desc: "email-addr"}
	toArtifact   = target{types: []string{"artifact"}, desc: "artifact"}
	toUser       = target{types: []string{"user-account"}, desc: "user-account"}
	toNetTraffic = target{types: []string{"network-traffic"}, desc: "network-traffic"}
	toProcess    = target{types: []string{"process"}, desc: "process"}
	toFile       = target{types: []string{"file"}, desc: "file"}
	toAddress    = target{types: []string{"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"}, desc: "ipv4-addr, ipv6-addr, mac-addr or domain-name"}
)

type prop struct {
	name     string
	kind     valueKind
	required bool
	to       target
	min, max float64
	enum     []string
}

func str(n string) prop                     { return prop{name: n, kind: vString} }
func strs(n string) prop                    { return prop{name: n, kind: vStrings} }
func ts(n string) prop                      { return prop{name: n, kind: vTimestamp} }
func boolean(n string) prop                 { return prop{name: n, kind: vBool} }
func integer(n string, lo, hi float64) prop { return prop{name: n, kind: vInt, min: lo, max: hi} }
func float(n string, lo, hi float64) prop   { return prop{name: n, kind: vFloat, min: lo, max: hi} }
func ref(n string, t target) prop           { return prop{name: n, kind: vRef, to: t} }
func refs(n string, t target) prop          { return prop{name: n, kind: vRefs, to: t} }
func kcp(n string) prop                     { return prop{name: n, kind: vKCP} }
func hashes(n string) prop                  { return prop{name: n, kind: vHashes} }
func dict(n string) prop                    { return prop{name: n, kind: vDict} }
func list(n string) prop                    { return prop{name: n, kind: vList} }
func objects(n string) prop                 { return prop{name: n, kind: vObjects} }
func enum(n string, v ...string) prop       { return prop{name: n, kind: vEnum, enum: v} }
func hexv(n string) prop                    { return prop{name: n, kind: vHex} }
func base64v(n string) prop                 { return prop{name: n, kind: vBinary} }
func req(p prop) prop                       { p.required = true; return p }

// maxInt is the largest integer STIX allows (specification 2.10: 54-bit signed).
const maxInt = 1<<53 - 1

type typeSpec struct {
	kind  Kind
	props []prop
	rule  func(c *checker) error // cross-property rules, nil when none
	// atLeastOne: the object must carry at least one of its own properties
	// (process, user-account, windows-registry-key, x509-certificate).
	atLeastOne bool
	// extensions names the predefined extensions of an SCO type.
	extensions []string

	byName map[string]*prop // built by init
}

// Common properties (specification 3.2), in the order they are checked.
var commonProps = []prop{
	ref("created_by_ref", toIdentity),
	boolean("revoked"),
	strs("labels"),
	integer("confidence", 0, 100),
	prop{name: "lang", kind: vLang},
	objects("external_references"),
	refs("object_marking_refs", toMarking),
	objects("granular_markings"),
	boolean("defanged"),
	dict("extensions"),
}

// notApplicable lists, per kind, the common properties the kind must not carry
// (the "N/A" cells of the table in specification 3.2). A custom type may carry
// any of them.
var notApplicable = map[Kind][]string{
	KindSDO: {"defanged"},
	KindSRO: {"defanged"},
	KindSCO: {"created_by_ref", "created", "modified", "revoked", "labels", "confidence", "lang", "external_references"},
}

var metaNotApplicable = map[string][]string{
	"marking-definition":   {"modified", "revoked", "labels", "confidence", "lang", "defanged"},
	"language-content":     {"lang", "defanged"},
	"extension-definition": {"confidence", "lang", "defanged", "extensions"},
}

var (
	opinionEnum       = []string{"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"}
	extensionTypeEnum = []string{"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}
	encryptionEnum    = []string{"AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"}
)

var specs = map[string]*typeSpec{
	// STIX Domain Objects (section 4).
	"attack-pattern": {kind: KindSDO, props: []prop{
		req(str("name")), str("description"), strs("aliases"), kcp("kill_chain_phases"),
	}},
	"campaign": {kind: KindSDO, rule: seenOrder("first_seen", "last_seen"), props: []prop{
		req(str("name")), str("description"), strs("aliases"), ts("first_seen"), ts("last_seen"), str("objective"),
	}},
	"course-of-action": {kind: KindSDO, props: []prop{
		req(str("name")), str("description"),
	}},
	// The specification's Markdown marks grouping's name as required, the
	// OASIS Standard's PDF and the JSON schema as optional: we accept both.
	"grouping": {kind: KindSDO, props: []prop{
		str("name"), str("description"), req(str("context")), req(refs("object_refs", toAny)),
	}},
	"identity": {kind: KindSDO, props: []prop{
		req(str("name")), str("description"), strs("roles"), str("identity_class"), strs("sectors"), str("contact_information"),
	}},
	"incident": {kind: KindSDO, props: []prop{
		req(str("name")), str("description"), kcp("kill_chain_phases"),
	}},
	"indicator": {kind: KindSDO, rule: indicatorRule, props: []prop{
		str("name"), str("description"), strs("indicator_types"), req(str("pattern")), req(str("pattern_type")),
		str("pattern_version"), req(ts("valid_from")), ts("valid_until"), kcp("kill_chain_phases"),
	}},
	"infrastructure": {kind: KindSDO, rule: seenOrder("first_seen", "last_seen"), props: []prop{
		req(str("name")), str("description"), strs("infrastructure_types"), strs("aliases"), kcp("kill_chain_phases"),
		ts("first_seen"), ts("last_seen"),
	}},
	"intrusion-set": {kind: KindSDO, rule: seenOrder("first_seen", "last_seen"), props: []prop{
		req(str("name")), str("description"), strs("aliases"), ts("first_seen"), ts("last_seen"), strs("goals"),
		str("resource_level"), str("primary_motivation"), strs("secondary_motivations"),
	}},
	"location": {kind: KindSDO, rule: locationRule, props: []prop{
		str("name"), str("description"), float("latitude", -90, 90), float("longitude", -180, 180),
		float("precision", 0, maxInt), str("region"), str("country"), str("administrative_area"), str("city"),
		str("street_address"), str("postal_code"),
	}},
	"malware": {kind: KindSDO, rule: malwareRule, props: []prop{
		str("name"), str("description"), strs("malware_types"), req(boolean("is_family")), strs("aliases"),
		kcp("kill_chain_phases"), ts("first_seen"), ts("last_seen"), refs("operating_system_refs", toSoftware),
		strs("architecture_execution_envs"), strs("implementation_languages"), strs("capabilities"),
		refs("sample_refs", target{types: []string{"file", "artifact"}, desc: "file or artifact"}),
	}},
	"malware-analysis": {kind: KindSDO, rule: malwareAnalysisRule, props: []prop{
		req(str("product")), str("version"), ref("host_vm_ref", toSoftware), ref("operating_system_ref", toSoftware),
		refs("installed_software_refs", toSoftware), str("configuration_version"), strs("modules"),
		str("analysis_engine_version"), str("analysis_definition_version"), ts("submitted"), ts("analysis_started"),
		ts("analysis_ended"), str("result_name"), str("result"), refs("analysis_sco_refs", toSCO),
		ref("sample_ref", target{types: []string{"file", "network-traffic", "artifact"}, desc: "file, network-traffic or artifact"}),
	}},
	"note": {kind: KindSDO, props: []prop{
		str("abstract"), req(str("content")), strs("authors"), req(refs("object_refs", toAny)),
	}},
	"observed-data": {kind: KindSDO, rule: observedDataRule, props: []prop{
		req(ts("first_observed")), req(ts("last_observed")), req(integer("number_observed", 1, 999999999)),
		dict("objects"), refs("object_refs", toSCOorSRO),
	}},
	"opinion": {kind: KindSDO, props: []prop{
		str("explanation"), strs("authors"), req(enum("opinion", opinionEnum...)), req(refs("object_refs", toAny)),
	}},
	"report": {kind: KindSDO, props: []prop{
		req(str("name")), str("description"), strs("report_types"), req(ts("published")), req(refs("object_refs", toAny)),
	}},
	"threat-actor": {kind: KindSDO, rule: seenOrder("first_seen", "last_seen"), props: []prop{
		req(str("name")), str("description"), strs("threat_actor_types"), strs("aliases"), ts("first_seen"),
		ts("last_seen"), strs("roles"), strs("goals"), str("sophistication"), str("resource_level"),
		str("primary_motivation"), strs("secondary_motivations"), strs("personal_motivations"),
	}},
	"tool": {kind: KindSDO, props: []prop{
		req(str("name")), str("description"), strs("tool_types"), strs("aliases"), kcp("kill_chain_phases"), str("tool_version"),
	}},
	"vulnerability": {kind: KindSDO, props: []prop{
		req(str("name")), str("description"),
	}},

	// STIX Relationship Objects (section 5).
	"relationship": {kind: KindSRO, rule: relationshipRule, props: []prop{
		req(str("relationship_type")), str("description"), req(ref("source_ref", toSDOorSCO)),
		req(ref("target_ref", toSDOorSCO)), ts("start_time"), ts("stop_time"),
	}},
	"sighting": {kind: KindSRO, rule: seenOrder("first_seen", "last_seen"), props: []prop{
		str("description"), ts("first_seen"), ts("last_seen"), integer("count", 0, 999999999),
		req(ref("sighting_of_ref", toSDO)),
		refs("observed_data_refs", target{types: []string{"observed-data"}, desc: "observed-data"}),
		refs("where_sighted_refs", target{types: []string{"identity", "location"}, desc: "identity or location"}),
		boolean("summary"),
	}},

	// STIX Cyber-observable Objects (section 6).
	"artifact": {kind: KindSCO, rule: artifactRule, props: []prop{
		str("mime_type"), base64v("payload_bin"), str("url"), hashes("hashes"),
		enum("encryption_algorithm", encryptionEnum...), str("decryption_key"),
	}},
	"autonomous-system": {kind: KindSCO, props: []prop{
		req(integer("number", 0, maxInt)), str("name"), str("rir"),
	}},
	"directory": {kind: KindSCO, props: []prop{
		req(str("path")), str("path_enc"), ts("ctime"), ts("mtime"), ts("atime"),
		refs("contains_refs", target{types: []string{"file", "directory"}, desc: "file or directory"}),
	}},
	"domain-name": {kind: KindSCO, props: []prop{
		req(str("value")),
		refs("resolves_to_refs", target{types: []string{"ipv4-addr", "ipv6-addr", "domain-name"}, desc: "ipv4-addr, ipv6-addr or domain-name"}),
	}},
	"email-addr": {kind: KindSCO, props: []prop{
		req(str("value")), str("display_name"), ref("belongs_to_ref", toUser),
	}},
	"email-message": {kind: KindSCO, rule: emailMessageRule, props: []prop{
		req(boolean("is_multipart")), ts("date"), str("content_type"), ref("from_ref", toEmailAddr),
		ref("sender_ref", toEmailAddr), refs("to_refs", toEmailAddr), refs("cc_refs", toEmailAddr),
		refs("bcc_refs", toEmailAddr), str("message_id"), str("subject"), strs("received_lines"),
		dict("additional_header_fields"), str("body"), objects("body_multipart"), ref("raw_email_ref", toArtifact),
	}},
	"file": {kind: KindSCO, rule: fileRule,
		extensions: []string{"archive-ext", "ntfs-ext", "pdf-ext", "raster-image-ext", "windows-pebinary-ext"},
		props: []prop{
			hashes("hashes"), integer("size", 0, maxInt), str("name"), str("name_enc"), hexv("magic_number_hex"),
			str("mime_type"), ts("ctime"), ts("mtime"), ts("atime"),
			ref("parent_directory_ref", target{types: []string{"directory"}, desc: "directory"}),
			refs("contains_refs", toSCO), ref("content_ref", toArtifact),
		}},
	"ipv4-addr": {kind: KindSCO, props: []prop{
		req(str("value")), refs("resolves_to_refs", target{types: []string{"mac-addr"}, desc: "mac-addr"}),
		refs("belongs_to_refs", target{types: []string{"autonomous-system"}, desc: "autonomous-system"}),
	}},
	"ipv6-addr": {kind: KindSCO, props: []prop{
		req(str("value")), refs("resolves_to_refs", target{types: []string{"mac-addr"}, desc: "mac-addr"}),
		refs("belongs_to_refs", target{types: []string{"autonomous-system"}, desc: "autonomous-system"}),
	}},
	"mac-addr": {kind: KindSCO, props: []prop{req(str("value"))}},
	"mutex":    {kind: KindSCO, props: []prop{req(str("name"))}},
	"network-traffic": {kind: KindSCO, rule: networkTrafficRule,
		extensions: []string{"http-request-ext", "icmp-ext", "socket-ext", "tcp-ext"},
		props: []prop{
			ts("start"), ts("end"), boolean("is_active"), ref("src_ref", toAddress), ref("dst_ref", toAddress),
			integer("src_port", 0, 65535), integer("dst_port", 0, 65535), req(strs("protocols")),
			integer("src_byte_count", 0, maxInt), integer("dst_byte_count", 0, maxInt),
			integer("src_packets", 0, maxInt), integer("dst_packets", 0, maxInt), dict("ipfix"),
			ref("src_payload_ref", toArtifact), ref("dst_payload_ref", toArtifact),
			refs("encapsulates_refs", toNetTraffic), ref("encapsulated_by_ref", toNetTraffic),
		}},
	"process": {kind: KindSCO, atLeastOne: true,
		extensions: []string{"windows-process-ext", "windows-service-ext"},
		props: []prop{
			boolean("is_hidden"), integer("pid", 0, maxInt), ts("created_time"), str("cwd"), str("command_line"),
			dict("environment_variables"), refs("opened_connection_refs", toNetTraffic),
			ref("creator_user_ref", toUser), ref("image_ref", toFile), ref("parent_ref", toProcess),
			refs("child_refs", toProcess),
		}},
	"software": {kind: KindSCO, props: []prop{
		req(str("name")), str("cpe"), str("swid"), strs("languages"), str("vendor"), str("version"),
	}},
	"url": {kind: KindSCO, props: []prop{req(str("value"))}},
	"user-account": {kind: KindSCO, atLeastOne: true, extensions: []string{"unix-account-ext"}, props: []prop{
		str("user_id"), str("credential"), str("account_login"), str("account_type"), str("display_name"),
		boolean("is_service_account"), boolean("is_privileged"), boolean("can_escalate_privs"),
		boolean("is_disabled"), ts("account_created"), ts("account_expires"), ts("credential_last_changed"),
		ts("account_first_login"), ts("account_last_login"),
	}},
	"windows-registry-key": {kind: KindSCO, atLeastOne: true, props: []prop{
		str("key"), objects("values"), ts("modified_time"), ref("creator_user_ref", toUser),
		integer("number_of_subkeys", 0, maxInt),
	}},
	"x509-certificate": {kind: KindSCO, atLeastOne: true, rule: seenOrder("validity_not_before", "validity_not_after"), props: []prop{
		boolean("is_self_signed"), hashes("hashes"), str("version"), str("serial_number"),
		str("signature_algorithm"), str("issuer"), ts("validity_not_before"), ts("validity_not_after"),
		str("subject"), str("subject_public_key_algorithm"), str("subject_public_key_modulus"),
		integer("subject_public_key_exponent", 0, maxInt), dict("x509_v3_extensions"),
	}},

	// STIX Meta Objects (section 7).
	"marking-definition": {kind: KindMeta, rule: markingDefinitionRule, props: []prop{
		str("name"), str("definition_type"), dict("definition"),
	}},
	"language-content": {kind: KindMeta, props: []prop{
		req(ref("object_ref", toAny)), ts("object_modified"), req(dict("contents")),
	}},
	"extension-definition": {kind: KindMeta, rule: extensionDefinitionRule, props: []prop{
		req(str("name")), str("description"), req(str("schema")), req(str("version")),
		req(prop{name: "extension_types", kind: vStrings, enum: extensionTypeEnum}), strs("extension_properties"),
	}},
}

// predefinedExtensions maps each predefined extension name to its SCO type.
var predefinedExtensions = map[string]string{}

// commonByName holds the common properties, for the unknown-property check.
var commonByName = map[string]bool{
	"type": true, "spec_version": true, "id": true, "created": true, "modified": true,
}

func init() {
	for _, p := range commonProps {
		commonByName[p.name] = true
	}
	for typ, s := range specs {
		kinds[typ] = s.kind
		s.byName = make(map[string]*prop, len(s.props))
		for i := range s.props {
			s.byName[s.props[i].name] = &s.props[i]
		}
		for _, e := range s.extensions {
			predefinedExtensions[e] = typ
		}
	}
}
