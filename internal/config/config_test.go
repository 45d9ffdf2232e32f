package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/secret"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "maillon.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTemplateLoads(t *testing.T) {
	key := secret.NewKey()
	c, err := Load(write(t, Template("/tmp/x.db", key, "/tmp/x.sock")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "/tmp/x.db" || c.SecretKey != key || c.IPAM.Quarantine.Duration != 30*24*time.Hour || c.Listen.Socket != "/tmp/x.sock" {
		t.Fatalf("loaded %+v", c)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	c := Default()
	c.SecretKey = secret.NewKey()
	env := map[string]string{"MAILLON_DATABASE": "postgres://x@y/z", "MAILLON_IPAM_QUARANTINE": "2d", "MAILLON_RADIUS_AUTH": "127.0.0.1:11812"}
	if err := c.applyEnv(environ(env)); err != nil {
		t.Fatal(err)
	}
	if c.Database != "postgres://x@y/z" || c.IPAM.Quarantine.Duration != 48*time.Hour || c.RADIUS.Auth != "127.0.0.1:11812" {
		t.Fatalf("env not applied: %+v", c)
	}
}

func TestBadConfigSaysWhat(t *testing.T) {
	key := secret.NewKey()
	cases := map[string]string{
		"database: [unclosed":                                                                   "config",
		"databse: /tmp/x.db\nsecret_key: " + key:                                                "databse",
		"database: /tmp/x.db\nsecret_key: short":                                                "secret_key",
		"database: /tmp/x.db\nsecret_key: " + key + "\nipam:\n  quarantine: soon":               "soon",
		"database: /tmp/x.db\nsecret_key: " + key + "\nlisten:\n  http: nowhere":                "listen.http",
		"database: /tmp/x.db\nsecret_key: " + key + "\nlog:\n  level: loud":                     "log.level",
		"database: /tmp/x.db\nsecret_key: " + key + "\nipam:\n  delegated_prefix_length: 40":    "delegated_prefix_length",
		"\x00\x01\x02 binary garbage":                                                           "config",
		"database: /tmp/x.db\nsecret_key: " + key + "\nweb:\n  public_url: maillon.example.org": "web.public_url",
		"database: /tmp/x.db\nsecret_key: " + key + "\nweb:\n  metrics_from: [prometheus]":      "web.metrics_from",
	}
	for body, want := range cases {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: error %v, want it to mention %q", body, err, want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file accepted")
	}
}
