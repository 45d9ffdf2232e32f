package config

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"maillon/internal/secret"
)

// environ turns a map into os.Environ's form, in sorted order.
func environ(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// The variables the README and earlier releases documented must keep
// working whatever the derivation from the keys does.
func TestEnvDocumentedNamesStillWork(t *testing.T) {
	old := []string{
		"MAILLON_DATABASE", "MAILLON_DATABASE_LISTEN", "MAILLON_SECRET_KEY", "MAILLON_LISTEN_HTTP", "MAILLON_LISTEN_SOCKET",
		"MAILLON_LOG_LEVEL", "MAILLON_LOG_FORMAT", "MAILLON_RADIUS_AUTH", "MAILLON_RADIUS_ACCT", "MAILLON_RADIUS_SPOOL_DIR",
		"MAILLON_DNS_LISTEN", "MAILLON_CA_USER_KEY_FILE", "MAILLON_CA_USER_PASSPHRASE_FILE", "MAILLON_CA_USER_AGENT_KEY",
		"MAILLON_CA_USER_AGENT_SOCKET", "MAILLON_CA_HOST_KEY_FILE", "MAILLON_CA_HOST_PASSPHRASE_FILE", "MAILLON_CA_HOST_AGENT_KEY",
		"MAILLON_CA_HOST_AGENT_SOCKET", "MAILLON_CA_KRL_PATH", "MAILLON_CA_PUBLIC_URL", "MAILLON_CA_USER_VALIDITY",
		"MAILLON_CA_HOST_VALIDITY", "MAILLON_CA_USER_REMINDER", "MAILLON_WEB_PUBLIC_URL", "MAILLON_WEB_OIDC_ISSUER",
		"MAILLON_WEB_OIDC_CLIENT_ID", "MAILLON_WEB_OIDC_CLIENT_SECRET", "MAILLON_WEB_OIDC_REDIRECT_URL",
		"MAILLON_WEB_SESSION_LIFETIME", "MAILLON_WEB_IDLE_TIMEOUT", "MAILLON_WEB_SECURE_COOKIES", "MAILLON_ROSTER_RENEWAL",
		"MAILLON_ROSTER_PUBLIC_URL", "MAILLON_ROSTER_WINDOW", "MAILLON_MONITOR_ALERTMANAGER_TOKEN", "MAILLON_IPAM_QUARANTINE",
		"MAILLON_IPAM_DELEGATED_PREFIX_LENGTH",
	}
	keys := envKeys(Default())
	for _, n := range old {
		if _, ok := keys[n]; !ok {
			if _, ok := envAliases[n]; !ok {
				t.Errorf("%s no longer sets a key", n)
			}
		}
	}
}

func TestEnvSetsEveryScalarKey(t *testing.T) {
	c := Default()
	c.SecretKey = secret.NewKey()
	env := map[string]string{
		"MAILLON_NOTIFY_EMAIL_SMTP":          "mail.example.org:25",
		"MAILLON_NOTIFY_EMAIL_FROM":          "noc@example.org",
		"MAILLON_RADIUS_SWITCH_UNKNOWN_MAC":  "vlan guest",
		"MAILLON_MONITOR_DISABLED":           "true",
		"MAILLON_STATUS_PUBLIC_URL":          "https://status.example.org",
		"MAILLON_DNS_NAMESERVERS":            "ns1.example.org., ns2.example.net.",
		"MAILLON_DNS_TTL":                    "300",
		"MAILLON_STATUS_CONFIRM_WITHIN":      "3d",
		"MAILLON_CA_USER_ACCOUNTS":           "",
		"MAILLON_RADIUS_EAP_CERT_FILE":       "/etc/radius.pem",
		"MAILLON_WEB_SECURE_COOKIES":         "yes",
		"MAILLON_DNS_DNSSEC_ALL":             "1",
		"MAILLON_TOKEN":                      "not a key, the CLI's",
		"MAILLON_TEST_POSTGRES_URL":          "postgres://x",
		"MAILLON_BENCH_ROWS":                 "4000",
		"MAILLON_MONITOR_ALERTMANAGER_TOKEN": "t",
	}
	if err := c.applyEnv(append(environ(env), "PATH=/bin", "NOT_MAILLON_X=1")); err != nil {
		t.Fatal(err)
	}
	if c.Notify.Email.SMTP != "mail.example.org:25" || c.Notify.Email.From != "noc@example.org" || c.RADIUS.Switch.UnknownMAC != "vlan guest" ||
		!c.Monitor.Disabled || c.Status.PublicURL != "https://status.example.org" || c.DNS.TTL != 300 ||
		!slices.Equal(c.DNS.Nameservers, []string{"ns1.example.org.", "ns2.example.net."}) || c.Status.ConfirmWithin.Duration != 72*time.Hour ||
		len(c.CA.User.Accounts) != 0 || c.RADIUS.EAP.CertFile != "/etc/radius.pem" || !c.Web.SecureCookies || !c.DNS.DNSSEC.All ||
		c.Monitor.Alertmanager.Token != "t" {
		t.Fatalf("env not applied: %+v", c)
	}
}

func TestEnvUnknownOrBadIsAnError(t *testing.T) {
	for env, want := range map[string][]string{
		"MAILLON_MONITOR_DISABLD=true":        {"MAILLON_MONITOR_DISABLD", "did you mean MAILLON_MONITOR_DISABLED"},
		"MAILLON_DNS_KEYS=x":                  {"MAILLON_DNS_KEYS", "no such configuration key"}, // a list of tables
		"MAILLON_NOPE=1":                      {"MAILLON_NOPE"},
		"MAILLON_MONITOR_DISABLED=maybe":      {"MAILLON_MONITOR_DISABLED (monitor.disabled)", `"maybe"`},
		"MAILLON_DNS_TTL=1h":                  {"MAILLON_DNS_TTL (dns.ttl)", "whole number"},
		"MAILLON_IPAM_QUARANTINE=30x":         {"MAILLON_IPAM_QUARANTINE (ipam.quarantine)", "not a duration"},
		"MAILLON_WEB_SECURE_COOKIES=sometime": {"MAILLON_WEB_SECURE_COOKIES"},
	} {
		err := Default().applyEnv([]string{env})
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want it to mention %q", env, err, w)
			}
		}
	}
}

func TestLoadRefusesUnknownVariable(t *testing.T) {
	path := write(t, "database: /tmp/x.db\nsecret_key: "+secret.NewKey()+"\n")
	t.Setenv("MAILLON_MONITOR_DISABLED", "true")
	c, err := Load(path)
	if err != nil || !c.Monitor.Disabled {
		t.Fatalf("MAILLON_MONITOR_DISABLED: %v, disabled %v", err, c != nil && c.Monitor.Disabled)
	}
	t.Setenv("MAILLON_STATUS_PUBLIC_ULR", "https://status.example.org")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "MAILLON_STATUS_PUBLIC_ULR") {
		t.Fatalf("misspelt variable: %v", err)
	}
}
