package notice

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The indicator types of a notice: the STIX cyber-observable type each
// indicator would be, so that a receiving analyst (or a script) can turn a
// notice's indicators into STIX observables without guessing.
const (
	TypeIPv4   = "ipv4-addr"         // an address or a CIDR prefix
	TypeIPv6   = "ipv6-addr"         // an address or a CIDR prefix
	TypeDomain = "domain-name"       // a fully qualified domain name
	TypeURL    = "url"               // an http or https URL
	TypeAS     = "autonomous-system" // an AS number
)

// Limits of what one notice carries. Longer lists belong in a STIX bundle
// of indicators shared on its own and referenced as evidence.
const (
	MaxIndicators   = 2000
	maxIndicatorLen = 4096
	// Prefixes broader than these name a whole registry allocation, not
	// infrastructure a state can act on.
	minIPv4Bits = 8
	minIPv6Bits = 16
)

// Indicator is one network indicator of a notice, in canonical form: IPv4
// and IPv6 addresses and prefixes as net/netip prints them (an IPv4-mapped
// IPv6 address becomes IPv4, a /32 or /128 prefix an address), domain names
// in lower case without the final dot, URLs with a lower-case scheme and
// host, AS numbers as numbers.
type Indicator struct {
	Type   string `json:"type"`
	Value  string `json:"value,omitempty"`  // every type but autonomous-system
	Number uint32 `json:"number,omitempty"` // autonomous-system only
}

// String is the indicator as a person writes it (AS64500 for an AS);
// ParseIndicator of it gives the indicator back.
func (i Indicator) String() string {
	if i.Type == TypeAS {
		return "AS" + strconv.FormatUint(uint64(i.Number), 10)
	}
	return i.Value
}

// ParseIndicator reads one indicator and says what it is: an IPv4 or IPv6
// address ("198.51.100.7", "2001:db8::1"), a prefix in CIDR notation
// ("198.51.100.0/24"), a domain name ("c2.example.net"), an http or https
// URL, or an AS number ("AS64500", "AS 64500", asdot "AS1.10"). Defanged
// forms analysts exchange ("hxxp://c2[.]example[.]net") are read as the
// real value.
//
// It refuses what names nothing a foreign state could act on: private,
// loopback, link-local, shared (carrier-grade NAT), multicast and reserved
// addresses and prefixes overlapping them, prefixes broader than /8 (IPv4)
// or /16 (IPv6) or with host bits set, special-use domain names (localhost,
// .local, .internal, .invalid, home.arpa), wildcards, non-ASCII names (give
// the xn-- form), private-use and reserved AS numbers. Documentation
// ranges (198.51.100.0/24, 2001:db8::/32, AS64496–AS64511, .example) are
// accepted. The error names the value and says what to give instead.
func ParseIndicator(s string) (Indicator, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Indicator{}, errors.New("empty indicator")
	}
	if len(s) > maxIndicatorLen {
		return Indicator{}, fmt.Errorf("indicator %s is %d bytes long; at most %d", quote(s), len(s), maxIndicatorLen)
	}
	if !utf8.ValidString(s) {
		return Indicator{}, fmt.Errorf("indicator %s is not valid UTF-8", quote(s))
	}
	if f := strings.Fields(s); len(f) == 2 && isASWord(f[0]) {
		if _, ok := asNumber("AS" + f[1]); ok {
			s = "AS" + f[1] // "AS 64500"
		}
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Indicator{}, fmt.Errorf("indicator %s contains spaces or control characters: give one indicator per value", quote(in))
		}
	}
	s = refang(s)
	if num, ok := asNumber(s); ok {
		return parseAS(s, num)
	}
	switch {
	case strings.Contains(s, "://"):
		return parseURL(s)
	case strings.Contains(s, "/"):
		return parsePrefix(s)
	}
	if host, port, err := net.SplitHostPort(s); err == nil && allDigits(port) && host != "" {
		return Indicator{}, fmt.Errorf("indicator %s has a port: give the host alone (%s), or a URL (http://%s/)", quote(s), host, s)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return parseAddr(s, a)
	} else if looksLikeAddress(s) {
		if allDigits(s) {
			return Indicator{}, fmt.Errorf("indicator %s is a bare number: write an AS number as AS%s, an IPv4 address in dotted form", quote(s), s)
		}
		return Indicator{}, fmt.Errorf("indicator %s is not an IP address: %v", quote(s), unwrapAddrErr(err))
	}
	d, err := parseDomain(s)
	if err != nil {
		return Indicator{}, err
	}
	return Indicator{Type: TypeDomain, Value: d}, nil
}

// ParseIndicators parses each value (ParseIndicator) and drops repeats of
// the same canonical indicator, keeping the first one's place.
func ParseIndicators(values []string) ([]Indicator, error) {
	out := []Indicator{}
	seen := map[Indicator]bool{}
	for _, v := range values {
		ind, err := ParseIndicator(v)
		if err != nil {
			return nil, err
		}
		if seen[ind] {
			continue
		}
		seen[ind] = true
		out = append(out, ind)
	}
	if len(out) > MaxIndicators {
		return nil, fmt.Errorf("%d indicators; a notice carries at most %d: share the full list as a STIX bundle ('entraide share') and reference it as evidence", len(out), MaxIndicators)
	}
	return out, nil
}

// ReadIndicators reads a list of indicators, one a line, as analysts keep
// them: blank lines and comments (from a # at the start of a line or after
// a space, so that a URL's #fragment stays) are skipped. An error names the
// line. Repeats are dropped (ParseIndicators).
func ReadIndicators(r io.Reader) ([]Indicator, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var values []string
	line := 0
	for sc.Scan() {
		line++
		text := stripComment(sc.Text())
		if text == "" {
			continue
		}
		if _, err := ParseIndicator(text); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		values = append(values, text)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than 1 MiB", line+1)
		}
		return nil, err
	}
	return ParseIndicators(values)
}

func stripComment(s string) string {
	s = strings.TrimPrefix(s, "\ufeff") // a byte-order mark from a spreadsheet export
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimSpace(s)
}

// refang undoes the usual defanging of indicators in reports and mail.
var refanger = strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "[:]", ":", "[://]", "://", "[@]", "@")

func refang(s string) string {
	s = refanger.Replace(s)
	low := strings.ToLower(s)
	for _, p := range [][2]string{{"hxxps://", "https://"}, {"hxxp://", "http://"}} {
		if strings.HasPrefix(low, p[0]) {
			return p[1] + s[len(p[0]):]
		}
	}
	return s
}

// ---- AS numbers ----

// asNumber returns the number part of an AS number as written (AS64500,
// ASN64500, as1.10), false when s is not one. A domain name that starts
// with "as" (as12.example.net) is not: its rest is not a number.
func asNumber(s string) (string, bool) {
	var rest string
	switch low := strings.ToLower(s); {
	case strings.HasPrefix(low, "asn"):
		rest = s[3:]
	case strings.HasPrefix(low, "as"):
		rest = s[2:]
	default:
		return "", false
	}
	hi, lo, dot := strings.Cut(rest, ".")
	if !allDigits(hi) || dot && !allDigits(lo) {
		return "", false
	}
	return rest, true
}

// isASWord says whether s is the word AS or ASN written apart from the
// number ("AS 64500").
func isASWord(s string) bool { return strings.EqualFold(s, "as") || strings.EqualFold(s, "asn") }

func parseAS(s, num string) (Indicator, error) {
	var n uint64
	if hi, lo, dot := strings.Cut(num, "."); dot { // asdot (RFC 5396)
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return Indicator{}, fmt.Errorf("indicator %s is not an AS number: asdot takes two numbers up to 65535 (AS1.10)", quote(s))
		}
		n = h<<16 | l
	} else {
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return Indicator{}, fmt.Errorf("indicator %s is not an AS number: want AS followed by 1 to 4294967294 (AS64500)", quote(s))
		}
		n = v
	}
	if why := asReserved(uint32(n)); why != "" {
		return Indicator{}, fmt.Errorf("indicator %s: AS%d is %s", quote(s), n, why)
	}
	return Indicator{Type: TypeAS, Number: uint32(n)}, nil
}

func asReserved(n uint32) string {
	switch {
	case n == 0:
		return "reserved (RFC 7607): it identifies no network"
	case n == 23456:
		return "AS_TRANS (RFC 6793), a placeholder for 4-byte AS numbers: give the real one"
	case n == 65535 || n == 4294967295:
		return "reserved (RFC 7300): it identifies no network"
	case n >= 64512 && n <= 65534 || n >= 4200000000:
		return "a private-use AS number (RFC 6996): it identifies no network on the Internet; give the public AS that announces the addresses"
	case n >= 65552 && n <= 131071:
		return "reserved by IANA: it identifies no network"
	}
	return ""
}

// ---- addresses and prefixes ----

// nonGlobal are the ranges that name no host on the Internet.
var nonGlobal = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "in 0.0.0.0/8, \"this network\" (RFC 791)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "in the shared address space of carrier-grade NAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address (RFC 1112)"},
	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("::1/128"), "the loopback address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local address (RFC 4193)"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

func parseAddr(s string, a netip.Addr) (Indicator, error) {
	if a.Zone() != "" {
		return Indicator{}, fmt.Errorf("indicator %s has a zone (%%%s), which only means something on one host: give a global address", quote(s), a.Zone())
	}
	a = a.Unmap()
	for _, ng := range nonGlobal {
		if ng.prefix.Contains(a) {
			return Indicator{}, fmt.Errorf("indicator %s is %s: it names no host on the Internet; give the public address the activity comes from", quote(s), ng.what)
		}
	}
	if a.Is4() {
		return Indicator{Type: TypeIPv4, Value: a.String()}, nil
	}
	return Indicator{Type: TypeIPv6, Value: a.String()}, nil
}

func parsePrefix(s string) (Indicator, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Indicator{}, fmt.Errorf("indicator %s is not an address prefix (CIDR such as 198.51.100.0/24 or 2001:db8::/48) nor a URL (http://…): %v", quote(s), unwrapAddrErr(err))
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() {
		if bits < 96 {
			return Indicator{}, fmt.Errorf("indicator %s: an IPv4-mapped prefix shorter than /96 mixes IPv4 and IPv6; give the IPv4 prefix", quote(s))
		}
		a, bits = a.Unmap(), bits-96
		p = netip.PrefixFrom(a, bits)
	}
	if m := p.Masked(); m != p {
		return Indicator{}, fmt.Errorf("indicator %s has host bits set: did you mean %s (the network) or %s (the address)?", quote(s), m, a)
	}
	if bits == a.BitLen() {
		return parseAddr(s, a)
	}
	if a.Is4() && bits < minIPv4Bits || a.Is6() && bits < minIPv6Bits {
		return Indicator{}, fmt.Errorf("indicator %s is too broad: a notice names networks of /%d (IPv4) or /%d (IPv6) or narrower", quote(s), minIPv4Bits, minIPv6Bits)
	}
	for _, ng := range nonGlobal {
		if ng.prefix.Overlaps(p) {
			return Indicator{}, fmt.Errorf("indicator %s overlaps %s, which is %s: it names no hosts on the Internet", quote(s), ng.prefix, strings.TrimPrefix(strings.TrimPrefix(ng.what, "a "), "the "))
		}
	}
	if a.Is4() {
		return Indicator{Type: TypeIPv4, Value: p.String()}, nil
	}
	return Indicator{Type: TypeIPv6, Value: p.String()}, nil
}

// looksLikeAddress says whether s was meant as an IP address: digits and
// dots only, or a colon (no domain name has one).
func looksLikeAddress(s string) bool {
	if strings.Contains(s, ":") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// unwrapAddrErr drops net/netip's repetition of the input from its error.
func unwrapAddrErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "): "); i >= 0 {
		return msg[i+3:]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// ---- domain names ----

// specialUse are names that resolve nowhere on the Internet (RFC 6761,
// RFC 8375, RFC 6762, ICANN's .internal).
var specialUse = []string{"localhost", "local", "invalid", "internal", "home.arpa"}

func parseDomain(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", fmt.Errorf("indicator %s is not ASCII: give an internationalised domain name in its ASCII form (xn--…)", quote(s))
		}
	}
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if strings.HasPrefix(d, "*.") {
		return "", fmt.Errorf("indicator %s is a wildcard: give the domain (%s), which covers its subdomains", quote(s), d[2:])
	}
	if len(d) > 253 {
		return "", fmt.Errorf("indicator %s is not a domain name: %d characters, at most 253", quote(s), len(d))
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("indicator %s is neither an address, a URL, an AS number nor a fully qualified domain name (name.tld)", quote(s))
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "", fmt.Errorf("indicator %s is not a domain name: it has an empty label (two dots in a row, or a leading dot)", quote(s))
		case len(l) > 63:
			return "", fmt.Errorf("indicator %s is not a domain name: the label %s is longer than 63 characters", quote(s), quote(l))
		case l[0] == '-' || l[len(l)-1] == '-':
			return "", fmt.Errorf("indicator %s is not a domain name: the label %q starts or ends with a hyphen", quote(s), l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("indicator %s is not a domain name: %q is not allowed in a name (letters, digits, hyphens)", quote(s), string(c))
			}
		}
	}
	tld := labels[len(labels)-1]
	if allDigits(tld) || strings.Contains(tld, "_") {
		return "", fmt.Errorf("indicator %s is not a domain name: %q cannot be a top-level domain", quote(s), tld)
	}
	for _, su := range specialUse {
		if d == su || strings.HasSuffix(d, "."+su) {
			return "", fmt.Errorf("indicator %s is a special-use name (.%s): it resolves nowhere on the Internet", quote(s), su)
		}
	}
	return d, nil
}

// ---- URLs ----

func parseURL(s string) (Indicator, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Indicator{}, fmt.Errorf("indicator %s is not a URL: %v", quote(s), err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return Indicator{}, fmt.Errorf("indicator %s: scheme %q; a notice takes http and https URLs (give other services by their domain name or address)", quote(s), u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return Indicator{}, fmt.Errorf("indicator %s has no host: want %s://host/path", quote(s), scheme)
	}
	host, port := u.Hostname(), u.Port()
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Indicator{}, fmt.Errorf("indicator %s: port %s is not between 1 and 65535", quote(s), port)
		}
	}
	if strings.HasSuffix(u.Host, ":") {
		return Indicator{}, fmt.Errorf("indicator %s has an empty port: drop the colon or give the port", quote(s))
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" || strings.Contains(u.Host, "%") {
			return Indicator{}, fmt.Errorf("indicator %s: a host with a zone only means something on one host", quote(s))
		}
		ai, err := parseAddr(host, a)
		if err != nil {
			return Indicator{}, fmt.Errorf("indicator %s: %v", quote(s), err)
		}
		host = ai.Value
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	} else if strings.HasPrefix(u.Host, "[") || looksLikeAddress(host) {
		return Indicator{}, fmt.Errorf("indicator %s: host %s is not an IP address", quote(s), quote(host))
	} else {
		d, err := parseDomain(host)
		if err != nil {
			return Indicator{}, fmt.Errorf("indicator %s: %v", quote(s), err)
		}
		host = d
	}
	if port != "" {
		host += ":" + port
	}
	u.Scheme, u.Host = scheme, host
	v := u.String()
	// The canonical form must read back as itself.
	if u2, err := url.Parse(v); err != nil || u2.String() != v {
		return Indicator{}, fmt.Errorf("indicator %s: the URL does not have a stable form; escape its special characters (%%XX)", quote(s))
	}
	if len(v) > maxIndicatorLen {
		return Indicator{}, fmt.Errorf("indicator %s is %d bytes long once escaped; at most %d", quote(s), len(v), maxIndicatorLen)
	}
	return Indicator{Type: TypeURL, Value: v}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quote quotes user input for an error message, cut to a readable length.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
