package notice

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestParseIndicator(t *testing.T) {
	for _, c := range []struct {
		in   string
		typ  string
		want string // String() of the result
	}{
		{"198.51.100.7", TypeIPv4, "198.51.100.7"},
		{"  203.0.113.9\t", TypeIPv4, "203.0.113.9"},
		{"::ffff:198.51.100.7", TypeIPv4, "198.51.100.7"},
		{"2001:DB8::1", TypeIPv6, "2001:db8::1"},
		{"2001:0db8:0000:0000:0000:0000:0000:0001", TypeIPv6, "2001:db8::1"},
		{"198.51.100.0/24", TypeIPv4, "198.51.100.0/24"},
		{"198.51.100.7/32", TypeIPv4, "198.51.100.7"},
		{"2001:db8:abcd::/48", TypeIPv6, "2001:db8:abcd::/48"},
		{"2001:db8::5/128", TypeIPv6, "2001:db8::5"},
		{"::ffff:198.51.100.0/120", TypeIPv4, "198.51.100.0/24"},
		{"8.0.0.0/8", TypeIPv4, "8.0.0.0/8"},
		{"C2.Example.NET.", TypeDomain, "c2.example.net"},
		{"_dmarc.example.org", TypeDomain, "_dmarc.example.org"},
		{"xn--80ak6aa92e.xn--p1ai", TypeDomain, "xn--80ak6aa92e.xn--p1ai"},
		{"as12.example.net", TypeDomain, "as12.example.net"},
		{"c2[.]example[.]net", TypeDomain, "c2.example.net"},
		{"HTTPS://Evil.Example/Path?q=1#frag", TypeURL, "https://evil.example/Path?q=1#frag"},
		{"hxxp://evil[.]example/dl/payload.exe", TypeURL, "http://evil.example/dl/payload.exe"},
		{"hXXps://evil(.)example:8443/x", TypeURL, "https://evil.example:8443/x"},
		{"http://[2001:db8::7]:8080/a", TypeURL, "http://[2001:db8::7]:8080/a"},
		{"http://198.51.100.7/gate.php", TypeURL, "http://198.51.100.7/gate.php"},
		{"http://paypal.com@phish.example/login", TypeURL, "http://paypal.com@phish.example/login"},
		{"http://evil.example/caf%C3%A9", TypeURL, "http://evil.example/caf%C3%A9"},
		{"AS64500", TypeAS, "AS64500"},
		{"as64500", TypeAS, "AS64500"},
		{"ASN64501", TypeAS, "AS64501"},
		{"AS 64502", TypeAS, "AS64502"},
		{"AS1.10", TypeAS, "AS65546"},
		{"AS4200000000", "", ""}, // private: refused below
	} {
		if c.typ == "" {
			continue
		}
		got, err := ParseIndicator(c.in)
		if err != nil {
			t.Errorf("ParseIndicator(%q): %v", c.in, err)
			continue
		}
		if got.Type != c.typ || got.String() != c.want {
			t.Errorf("ParseIndicator(%q) = %s %q, want %s %q", c.in, got.Type, got.String(), c.typ, c.want)
		}
		// The canonical form reads back as itself.
		again, err := ParseIndicator(got.String())
		if err != nil || again != got {
			t.Errorf("ParseIndicator(%q) again: %+v, %v", got.String(), again, err)
		}
	}
}

func TestParseIndicatorRefuses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty indicator"},
		{"   ", "empty indicator"},
		{"10.1.2.3", `"10.1.2.3" is a private address (RFC 1918)`},
		{"192.168.1.1", "private address"},
		{"172.20.0.1", "private address"},
		{"127.0.0.1", "loopback"},
		{"169.254.1.1", "link-local"},
		{"100.64.1.1", "carrier-grade NAT"},
		{"0.1.2.3", "this network"},
		{"224.0.0.251", "multicast"},
		{"255.255.255.255", "reserved address"},
		{"::1", "loopback"},
		{"::", "unspecified"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "has a zone"},
		{"fd00::1", "unique local"},
		{"::ffff:10.0.0.1", "private address"},
		{"198.51.100.256", `"198.51.100.256" is not an IP address`},
		{"198.51.100", "not an IP address"},
		{"010.1.1.1", "not an IP address"},
		{"2001:db8::g", "not an IP address"},
		{"64500", "a bare number: write an AS number as AS64500"},
		{"198.51.100.7:443", "has a port: give the host alone (198.51.100.7)"},
		{"evil.example:443", "has a port: give the host alone (evil.example)"},
		{"198.51.100.7/24", "host bits set: did you mean 198.51.100.0/24"},
		{"198.51.100.0/33", "not an address prefix"},
		{"10.0.0.0/8", "overlaps 10.0.0.0/8"},
		{"192.0.0.0/2", "too broad"},
		{"0.0.0.0/0", "too broad"},
		{"2000::/8", "too broad"},
		{"172.0.0.0/8", "overlaps 172.16.0.0/12"},
		{"fc00::/7", "too broad"},
		{"fd00::/16", "overlaps fc00::/7"},
		{"evil", "fully qualified domain name"},
		{"localhost", "fully qualified domain name"},
		{"printer.local", "special-use name (.local)"},
		{"db.corp.internal", "special-use name (.internal)"},
		{"router.home.arpa", "special-use name (.home.arpa)"},
		{"x.invalid", "special-use"},
		{"*.evil.example", "wildcard: give the domain (evil.example)"},
		{"évil.example", "give an internationalised domain name in its ASCII form"},
		{"evil..example", "empty label"},
		{".evil.example", "empty label"},
		{"-evil.example", "starts or ends with a hyphen"},
		{"evil-.example", "starts or ends with a hyphen"},
		{"ev!l.example", `"!" is not allowed`},
		{strings.Repeat("a", 64) + ".example", "longer than 63"},
		{strings.Repeat("abcdefghi.", 26) + "example", "at most 253"},
		{"evil.123", `"123" cannot be a top-level domain`},
		{"evil.ex_ample", "cannot be a top-level domain"},
		{"evil example", "contains spaces"},
		{"evil.example\x00", "control characters"},
		{"ftp://evil.example/x", `scheme "ftp"`},
		{"javascript://alert(1)", `scheme "javascript"`},
		{"http://", "has no host"},
		{"http:///path", "has no host"},
		{"http://10.0.0.1/x", "private address"},
		{"http://localhost/x", "fully qualified domain name"},
		{"http://evil.example:0/", "port 0 is not between 1 and 65535"},
		{"http://evil.example:99999/", "port 99999"},
		{"http://evil.example:/", "empty port"},
		{"http://999.1.1.1/", "is not an IP address"},
		{"http://[fe80::1%25eth0]/", "zone"},
		{"http://evil%zz.example/", "not a URL"},
		{"http://ev il.example/", "contains spaces"},
		{"AS0", "reserved (RFC 7607)"},
		{"AS23456", "AS_TRANS"},
		{"AS65535", "reserved (RFC 7300)"},
		{"AS64512", "private-use AS number"},
		{"AS4200000000", "private-use"},
		{"AS4294967295", "reserved (RFC 7300)"},
		{"AS4294967296", "not an AS number"},
		{"AS70000", "reserved by IANA"},
		{"AS1.65536", "asdot takes two numbers up to 65535"},
		{"\xff\xfe", "not valid UTF-8"},
		{strings.Repeat("a", 5000), "at most 4096"},
	} {
		got, err := ParseIndicator(c.in)
		if err == nil {
			t.Errorf("ParseIndicator(%q) = %+v, want an error with %q", c.in, got, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseIndicator(%q): %v\nwant an error with %q", c.in, err, c.want)
		}
	}
}

func TestParseIndicatorsDropsRepeats(t *testing.T) {
	got, err := ParseIndicators([]string{"198.51.100.7", "C2.example.net", "::ffff:198.51.100.7", "c2.example.net.", "AS64500", "as 64500"})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, i := range got {
		s = append(s, i.String())
	}
	if strings.Join(s, " ") != "198.51.100.7 c2.example.net AS64500" {
		t.Fatalf("got %v", s)
	}
	many := make([]string, MaxIndicators+1)
	for i := range many {
		many[i] = "c" + strconv.Itoa(i) + ".example.net"
	}
	if _, err := ParseIndicators(many); err == nil || !strings.Contains(err.Error(), "at most 2000") {
		t.Fatalf("too many: %v", err)
	}
}

func TestReadIndicators(t *testing.T) {
	in := "\ufeff# C2 servers seen by the sensors\n198.51.100.7   # since 06:00\n\n  c2[.]example[.]net\nhttp://evil.example/a#frag\n198.51.100.7\n"
	got, err := ReadIndicators(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, i := range got {
		s = append(s, i.String())
	}
	if strings.Join(s, " ") != "198.51.100.7 c2.example.net http://evil.example/a#frag" {
		t.Fatalf("got %v", s)
	}
	_, err = ReadIndicators(strings.NewReader("198.51.100.7\n\n10.0.0.1\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 3: ") || !strings.Contains(err.Error(), "private") {
		t.Fatalf("bad line: %v", err)
	}
	if got, err := ReadIndicators(strings.NewReader("# nothing\n\n")); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v, %v", got, err)
	}
}

// FuzzParseIndicator checks that the parser never panics, that what it
// accepts is canonical (parsing the canonical form gives the same
// indicator) and printable, and that its errors name the value.
func FuzzParseIndicator(f *testing.F) {
	for _, s := range []string{"198.51.100.7", "2001:db8::1", "198.51.100.0/24", "::ffff:198.51.100.0/120", "fe80::1%eth0",
		"c2.example.net", "hxxp://c2[.]example/x?y=1#z", "https://[2001:db8::1]:8443/", "AS64500", "AS 1.10", "as12.example",
		"http://a@b.example/%zz", "10.0.0.0/8", "*.example", "http://x.example:/", "évil.example", "64500", "1.2.3.4:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ind, err := ParseIndicator(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		switch ind.Type {
		case TypeIPv4, TypeIPv6, TypeDomain, TypeURL:
			if ind.Value == "" || ind.Number != 0 {
				t.Fatalf("%q: %+v", s, ind)
			}
		case TypeAS:
			if ind.Value != "" || ind.Number == 0 {
				t.Fatalf("%q: %+v", s, ind)
			}
		default:
			t.Fatalf("%q: type %q", s, ind.Type)
		}
		str := ind.String()
		for _, r := range str {
			if unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII {
				t.Fatalf("%q: canonical %q holds %q", s, str, r)
			}
		}
		again, err := ParseIndicator(str)
		if err != nil {
			t.Fatalf("%q: canonical %q refused: %v", s, str, err)
		}
		if again != ind {
			t.Fatalf("%q: canonical %q reads as %+v, not %+v", s, str, again, ind)
		}
	})
}

// FuzzReadIndicators checks the list reader on arbitrary files: no panic,
// and every indicator it returns parses.
func FuzzReadIndicators(f *testing.F) {
	f.Add("198.51.100.7\n# c\nc2.example.net # x\n")
	f.Add("\ufeffhttp://e.example/#a\r\nAS64500\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ReadIndicators(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, i := range got {
			if _, err := ParseIndicator(i.String()); err != nil {
				t.Fatalf("%q: %v", i.String(), err)
			}
		}
	})
}
