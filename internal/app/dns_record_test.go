package app

import (
	"strings"
	"testing"

	"maillon/internal/dns"
	"maillon/internal/registry"
)

// Every type the registry takes is one the DNS server serves: a record
// accepted and then dropped from its zone would be a silent loss.
func TestRecordTypesAreServed(t *testing.T) {
	for _, typ := range registry.RecordTypes {
		if !dns.Serves(typ) {
			t.Errorf("the registry takes %s records, the DNS server does not serve them", typ)
		}
	}
}

// Record data of each managed type is checked, with a message about the
// data.
func TestCheckRecordData(t *testing.T) {
	good := [][2]string{
		{"A", "198.51.100.1"}, {"AAAA", "2001:db8::1"}, {"CNAME", "www"}, {"CNAME", "pages.example.org."},
		{"MX", "10 mail"}, {"TXT", `"v=spf1 -all"`}, {"SRV", "10 5 5060 sip"}, {"CAA", `0 issue "letsencrypt.org"`},
		{"SSHFP", "4 2 " + strings.Repeat("ab", 32)}, {"SSHFP", "1 1 " + strings.Repeat("0f", 20)},
		{"NS", "ns1.example.org."}, {"PTR", "host.example.org."},
		{"TLSA", "3 1 1 " + strings.Repeat("c0", 32)}, {"TLSA", "2 0 2 " + strings.Repeat("c0", 64)},
	}
	for _, c := range good {
		if err := checkRecord("example.net.", "x", c[0], 0, c[1]); err != nil {
			t.Errorf("%s %q: %v", c[0], c[1], err)
		}
	}
	bad := []struct{ typ, data, want string }{
		{"A", "1.2.3", `"1.2.3" is not valid A data: bad A A: "1.2.3"`},
		{"A", "2001:db8::1", "is not valid A data"},
		{"A", "198.51.100.1 198.51.100.2", "garbage after rdata"},
		{"AAAA", "198.51.100.1", "is not valid AAAA data"},
		{"CNAME", "a..b.", "is not valid CNAME data"},
		{"CNAME", "foo bar", "garbage after rdata"},
		{"MX", "mail.example.net.", "bad MX Pref"},
		{"MX", "10", "bad MX Mx"},
		{"TXT", `"unterminated`, "is not valid TXT data"},
		{"SRV", "10 5 sip", "is not valid SRV data"},
		{"CAA", "0 issue", "is not valid CAA data"},
		{"SSHFP", "1 1", "fingerprint \"\" is not 40 hexadecimal digits"},
		{"SSHFP", "1 1 zz", "is not 40 hexadecimal digits"},
		{"SSHFP", "4 2 " + strings.Repeat("ab", 20), "is not 64 hexadecimal digits"},
		{"SSHFP", "4 3 " + strings.Repeat("ab", 32), "fingerprint type 3"},
		{"SSHFP", "9 2 " + strings.Repeat("ab", 32), "algorithm 9"},
		{"TLSA", "3 1 1 " + strings.Repeat("c0", 20), "is not hexadecimal of the matching type's length"},
		{"TLSA", "3 1 1 zz", "is not hexadecimal"},
		{"TLSA", "4 1 1 " + strings.Repeat("c0", 32), "usage is 0 to 3"},
		{"NS", "ns1 extra", "garbage after rdata"},
		{"PTR", "x y", "garbage after rdata"},
	}
	for _, c := range bad {
		err := checkRecord("example.net.", "x", c.typ, 0, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "at line") {
			t.Errorf("%s %q: %v, want …%s…", c.typ, c.data, err, c.want)
		}
	}
}
