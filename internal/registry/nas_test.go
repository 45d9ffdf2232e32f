package registry

import (
	"strings"
	"testing"
)

func TestNASAddressMessages(t *testing.T) {
	for addr, want := range map[string]string{
		"hello":            `"hello" is not an IP address or prefix (e.g. 192.0.2.1 or 192.0.2.0/28)`,
		"192.0.2.300":      `"192.0.2.300" is not an IP address or prefix`,
		"fe80::1%eth0":     `address "fe80::1%eth0" must not carry a zone`,
		"192.0.2.1/24":     "has host bits set; did you mean 192.0.2.0/24?",
		"hello/24":         `"hello/24" is not a prefix`,
		"":                 "is required",
		"  192.0.2.1  ":    "",
		"192.0.2.0/28":     "",
		"::ffff:192.0.2.1": "",
	} {
		var n NAS
		err := NASInput{Name: ptrTo("n"), Address: &addr}.apply(&n)
		if err == nil {
			err = n.validate()
		}
		if want == "" {
			if err != nil {
				t.Errorf("address %q: %v", addr, err)
			}
			continue
		}
		field, msg := fieldError(t, err)
		if field != "address" || !strings.Contains(msg, want) || strings.Contains(msg, "ParseAddr") {
			t.Errorf("address %q: %s: %s, want address: …%s…", addr, field, msg, want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
