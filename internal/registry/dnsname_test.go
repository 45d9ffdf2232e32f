package registry

import (
	"errors"
	"strings"
	"testing"
)

// fieldError returns the field and message of a ValidationError, failing
// the test on any other error.
func fieldError(t *testing.T, err error) (string, string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a ValidationError", err, err)
	}
	return ve.Field, ve.Message
}

func TestDNSNameProblem(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, c := range []struct {
		name string
		kind nameKind
		want string // "" for valid; else a part of the problem
	}{
		{"example.org", hostName, ""},
		{"xn--bcher-kva.example", hostName, ""},
		{"Web-Server-1", hostName, ""},
		{long + ".org", hostName, ""},
		{"_dmarc", ownerName, ""},
		{"_sip._tcp.voip", ownerName, ""},
		{"*", ownerName, ""},
		{"*.dyn", ownerName, ""},
		{"", hostName, "is empty"},
		{"bad name", hostName, `label "bad name" holds a space`},
		{"bad name!", ownerName, `label "bad name!" holds a space`},
		{"shop!", ownerName, `label "shop!" holds '!'`},
		{"bad/x", hostName, `label "bad/x" holds '/'`},
		{"_dmarc", hostName, `label "_dmarc" holds '_': a label holds letters, digits and hyphens`},
		{"a..b", hostName, "empty label"},
		{".a", ownerName, "empty label"},
		{"-a.org", hostName, "starts or ends with a hyphen"},
		{"a-.org", hostName, "starts or ends with a hyphen"},
		{long + "a.org", hostName, "64 characters long, more than 63"},
		{strings.Repeat(long+".", 4) + "org", hostName, "259 characters long, more than 253"},
		{"www.*", ownerName, `"*" is only allowed as the whole first label`},
		{"a*.b", ownerName, `"*" is only allowed as the whole first label`},
		{"*.b", hostName, `label "*" holds '*'`},
	} {
		got := dnsNameProblem(c.name, c.kind)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("dnsNameProblem(%q, %d) = %q, want %q", c.name, c.kind, got, c.want)
		}
	}
}

func TestZoneOriginValidated(t *testing.T) {
	for origin, want := range map[string]string{
		"bad zone":        `"bad zone.": label "bad zone" holds a space`,
		"example..org":    "empty label",
		"_tcp.example":    `holds '_'`,
		"-x.example.org.": "hyphen",
	} {
		z := Zone{Origin: origin}
		field, msg := fieldError(t, z.validate())
		if field != "origin" || !strings.Contains(msg, want) {
			t.Errorf("zone %q: %s: %s, want origin: …%s…", origin, field, msg, want)
		}
	}
	z := Zone{Origin: "Example.NET"}
	if err := z.validate(); err != nil || z.Origin != "example.net." {
		t.Errorf("zone Example.NET: %v, origin %q", err, z.Origin)
	}
}

func TestRecordNameValidated(t *testing.T) {
	r := Record{ZoneID: 1, Name: "bad name!", Type: "A", Data: "198.51.100.1"}
	field, msg := fieldError(t, r.validate())
	if field != "name" || !strings.Contains(msg, "holds a space") {
		t.Errorf("record name 'bad name!': %s: %s", field, msg)
	}
	for _, name := range []string{"@", "", "www", "_dmarc", "_sip._tcp", "*", "*.dyn", "www.example.net."} {
		r := Record{ZoneID: 1, Name: name, Type: "TXT", Data: "x"}
		if err := r.validate(); err != nil {
			t.Errorf("record name %q: %v", name, err)
		}
	}
}

func TestRecordInZone(t *testing.T) {
	const origin = "example.net."
	others := []Record{
		{ID: 1, Name: "shop", Type: "A", Data: "198.51.100.1"},
		{ID: 2, Name: "shop", Type: "AAAA", Data: "2001:db8::1"},
		{ID: 3, Name: "blog.example.net.", Type: "CNAME", Data: "pages.example.org."},
		{ID: 4, Name: "@", Type: "MX", Data: "10 mail"},
	}
	for _, c := range []struct {
		r    Record
		want string // "" when accepted
	}{
		{Record{Name: "@", Type: "CNAME", Data: "foo.example.org."}, "cannot be at the zone apex"},
		{Record{Name: "example.net.", Type: "CNAME", Data: "foo.example.org."}, "cannot be at the zone apex"},
		{Record{Name: "shop", Type: "CNAME", Data: "other.example.net."}, "example.net. already has a A record (id 1)"},
		{Record{Name: "blog", Type: "A", Data: "198.51.100.2"}, "blog.example.net. is a CNAME to pages.example.org. (record id 3)"},
		{Record{Name: "blog", Type: "CNAME", Data: "other.example.org."}, "already has a CNAME record (id 3)"},
		{Record{Name: "www.example.org.", Type: "A", Data: "198.51.100.2"}, "outside zone example.net."},
		{Record{Name: strings.Repeat(strings.Repeat("a", 60)+".", 3) + strings.Repeat("a", 60), Type: "A", Data: "198.51.100.2"}, ".example.net. is 255 characters long, more than 253"},
		// The CNAME being edited does not conflict with itself, and other
		// names are free.
		{Record{ID: 3, Name: "blog", Type: "CNAME", Data: "elsewhere.example.org."}, ""},
		{Record{Name: "www", Type: "CNAME", Data: "shop"}, ""},
		{Record{Name: "shop", Type: "TXT", Data: "v=spf1 -all"}, ""},
		{Record{Name: "@", Type: "A", Data: "198.51.100.3"}, ""},
	} {
		err := c.r.checkInZone(origin, others)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s %s: %v", c.r.Name, c.r.Type, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %s accepted, want %q", c.r.Name, c.r.Type, c.want)
			continue
		}
		if field, msg := fieldError(t, err); field != "name" || !strings.Contains(msg, c.want) {
			t.Errorf("%s %s: %s: %s, want name: …%s…", c.r.Name, c.r.Type, field, msg, c.want)
		}
	}
}

func TestHostNameValidated(t *testing.T) {
	for name, want := range map[string]string{
		"Web Server 1": `label "Web Server 1" holds a space`,
		"bad name/x":   `holds a space`,
		"web/x":        `holds '/'`,
		"gw1.":         "without the final dot",
		"-gw":          "hyphen",
	} {
		h := Host{Name: name}
		field, msg := fieldError(t, h.validate())
		if field != "name" || !strings.Contains(msg, want) {
			t.Errorf("host %q: %s: %s, want name: …%s…", name, field, msg, want)
		}
	}
	for _, name := range []string{"gw1", "SW-Fleming-1", "pve1.infra.example.org"} {
		h := Host{Name: name}
		if err := h.validate(); err != nil {
			t.Errorf("host %q: %v", name, err)
		}
	}
}

func TestReverseNameProblems(t *testing.T) {
	for name, want := range map[string]string{
		"bad name.":                `label "bad name" holds a space`,
		"localhost.":               "at least two labels",
		"mail_1.example.net.":      `holds '_'`,
		"1.2.0.192.in-addr.arpa.":  "inside the reverse tree",
		"mail.example.net.":        "",
		"mx-1.members.example.net": "",
	} {
		if got := reverseNameProblem(name); want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("reverseNameProblem(%q) = %q, want %q", name, got, want)
		}
	}
	for tmpl, want := range map[string]string{
		"{bogus}.":                   `unknown placeholder "{bogus}": use {login} or {ip}`,
		"{login}.{net}.example.org.": `unknown placeholder "{net}"`,
		"{login.dsl.example.org.":    `unknown placeholder "{login.dsl.example.org."`,
		"{login} x.example.org.":     `gives "user x.example.org." (with {login} = user, {ip} = 192-0-2-1): it label "user x" holds a space`,
		"{login}.":                   "at least two labels",
		"{login}.dsl.example.org.":   "",
		"ip-{ip}.pool.example.org.":  "",
	} {
		if got := ptrTemplateProblem(tmpl); want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("ptrTemplateProblem(%q) = %q, want %q", tmpl, got, want)
		}
	}
}
