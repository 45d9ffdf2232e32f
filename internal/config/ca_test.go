package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/secret"
)

func TestCAConfig(t *testing.T) {
	dir := t.TempDir()
	keyFile, passFile := filepath.Join(dir, "user_ca"), filepath.Join(dir, "pass")
	os.WriteFile(keyFile, []byte("x"), 0o600)
	os.WriteFile(passFile, []byte("correct horse\n"), 0o600)
	head := "database: /tmp/x.db\nsecret_key: " + secret.NewKey() + "\n"
	c, err := Load(write(t, head+`ca:
  user:
    key_file: `+keyFile+`
    passphrase_file: `+passFile+`
    validity: 30d
    role_principals: {technical-officer: [root]}
    source_address: 192.0.2.0/24,2001:db8::1
  host:
    agent_key: SHA256:abc
    domains: [example.org]
  krl_path: `+filepath.Join(dir, "revoked_keys")+`
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.CA.User.Validity.Duration != 30*24*time.Hour || c.CA.Host.Validity.Duration != 5*365*24*time.Hour ||
		len(c.CA.User.RolePrincipals) != 1 || len(c.CA.User.Extensions) != 5 || c.CA.User.Accounts[0] != "root" {
		t.Fatalf("ca = %+v", c.CA)
	}
	if p, err := c.CA.User.Passphrase(); err != nil || string(p) != "correct horse" {
		t.Fatalf("passphrase %q, %v", p, err)
	}
	env := map[string]string{"MAILLON_CA_USER_AGENT_KEY": "SHA256:x", "MAILLON_CA_USER_KEY_FILE": "", "MAILLON_CA_USER_PASSPHRASE_FILE": "", "MAILLON_CA_HOST_VALIDITY": "90d"}
	if err := c.applyEnv(environ(env)); err != nil {
		t.Fatal(err)
	}
	if c.CA.User.AgentKey != "SHA256:x" || c.CA.User.KeyFile != "" || c.CA.Host.Validity.Duration != 90*24*time.Hour {
		t.Fatalf("env not applied: %+v", c.CA)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	for body, want := range map[string]string{
		"ca:\n  user:\n    key_file: /nonexistent/ca":                                    "ca.user.key_file",
		"ca:\n  user:\n    key_file: " + keyFile + "\n    agent_key: SHA256:x":           "exclude each other",
		"ca:\n  host:\n    passphrase_file: " + passFile:                                 "ca.host.passphrase_file",
		"ca:\n  user:\n    validity: 0s":                                                 "ca.user.validity",
		"ca:\n  user:\n    role_principals: {root: [root]}":                              "ca.user.role_principals",
		"ca:\n  user:\n    extensions: [permit-ptty]":                                    "permit-ptty",
		"ca:\n  user:\n    source_address: everywhere":                                   "source-address",
		"ca:\n  krl_path: relative/krl":                                                  "ca.krl_path",
		"ca:\n  krl_path: /nonexistent/dir/krl":                                          "ca.krl_path",
		"ca:\n  public_url: maillon.example.org":                                         "ca.public_url",
		"ca:\n  host:\n    domains: ['*.example.org']":                                   "ca.host.domains",
		"ca:\n  user:\n    agent_socket: /tmp/agent":                                     "agent_socket",
		"ca:\n  user:\n    key_file: " + keyFile + "\n    passphrase_file: /nonexistent": "passphrase_file",
	} {
		_, err := Load(write(t, head+body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: error %v, want it to mention %q", body, err, want)
		}
	}
}
