package config

import (
	"strings"
	"testing"

	"maillon/internal/secret"
)

// Mistakes in the file are reported by key path and line, in words, not
// by Go type.
func TestFileErrorsNameKeyAndLine(t *testing.T) {
	head := "database: /tmp/x.db\nsecret_key: " + secret.NewKey() + "\n" // lines 1-2
	for body, want := range map[string]string{
		"ipam:\n  quarantine: 30x\n":                                  `ipam.quarantine (line 4): "30x" is not a duration (e.g. 30d, 12h, 90m)`,
		"ipam:\n  quarantin: 30d\n":                                   "ipam.quarantin (line 4): no such key (did you mean ipam.quarantine?)",
		"ipam:\n  zzz: 1\n":                                           "ipam.zzz (line 4): no such key",
		"dns:\n  ttl: soon\n":                                         `dns.ttl (line 4): "soon" is not a whole number`,
		"monitor:\n  disabled: perhaps\n":                             `monitor.disabled (line 4): "perhaps" is not true or false`,
		"dns:\n  nameservers: ns1.example.org.\n":                     "dns.nameservers (line 4): a list is expected",
		"dns:\n  keys:\n    - {name: k, secrt: x}\n":                  "dns.keys[0].secrt (line 5): no such key (did you mean dns.keys[0].secret?)",
		"monitor:\n  routes:\n    - levels:\n        - {after: 5q}\n": `monitor.routes[0].levels[0].after (line 6): "5q" is not a duration`,
		"ca:\n  user:\n    agent_kye: SHA256:x\n":                     "ca.user.agent_kye (line 5): no such key (did you mean ca.user.agent_key?)",
		"ipam: 30d\n": "ipam (line 3): keys are expected under it",
	} {
		_, err := Load(write(t, head+body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q:\nerror %v\nwant  %q", body, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "config.") {
			t.Errorf("config %q: error %v names a Go type", body, err)
		}
	}
}

// yaml.v3 puts some indentation errors on the line where the enclosing
// block starts; the message gives the line at fault.
func TestSyntaxErrorLine(t *testing.T) {
	body := "database: /tmp/x.db\nradius:\n  auth: \":1812\"\n" + strings.Repeat("  acct: \":1813\"\n", 0) +
		"  switch:\n    unknown_mac: reject\n    unknown_port: reject\n    non_member: reject\n   suspended: reject\n"
	_, err := Load(write(t, body))
	if err == nil || !strings.Contains(err.Error(), "line 8: did not find expected key") {
		t.Fatalf("error %v, want line 8", err)
	}
}

func TestDNSNamesValidated(t *testing.T) {
	head := "database: /tmp/x.db\nsecret_key: " + secret.NewKey() + "\n"
	for body, want := range map[string]string{
		"dns:\n  hostmaster: nope\n":                                 "dns.hostmaster",
		"dns:\n  hostmaster: \"host master@example.org\"\n":          "dns.hostmaster",
		"dns:\n  hostmaster: hostmaster@bad_domain!\n":               "dns.hostmaster",
		"dns:\n  nameservers: [\"bad name!\"]\n":                     "dns.nameservers[0]",
		"dns:\n  nameservers: [ns1.example.org., -ns.example.org]\n": "dns.nameservers[1]",
		"dns:\n  nameservers: [ns1]\n":                               "dns.nameservers[0]",
	} {
		_, err := Load(write(t, head+body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: error %v, want it to mention %q", body, err, want)
		}
	}
	for _, body := range []string{
		"dns:\n  hostmaster: hostmaster@example.org\n  nameservers: [ns1.example.org., ns2.example.net]\n",
		"dns:\n  hostmaster: first.last@example.org\n",
		"dns:\n  hostmaster: hostmaster.example.org.\n",
		"dns:\n  hostmaster: 'first\\.last.example.org.'\n",
		"dns:\n  hostmaster: \"\"\n",
	} {
		if _, err := Load(write(t, head+body)); err != nil {
			t.Errorf("config %q: %v", body, err)
		}
	}
}
