// Package config reads maillon's configuration: a YAML file, then MAILLON_*
// environment variables on top (one per scalar key, derived from the YAML
// tags: see env.go), then Validate. There are no globals: the
// daemon passes the Config it loaded to what it starts.
package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"maillon/internal/dbaddr"
	"maillon/internal/secret"
)

// Config is maillon's whole configuration.
type Config struct {
	// Database is a SQLite file path or a postgres:// URL.
	Database string `yaml:"database"`
	// DatabaseListen is where instances sharing a PostgreSQL database
	// LISTEN for each other's changes; it must reach PostgreSQL directly
	// (not PgBouncer in transaction mode). Empty means Database.
	DatabaseListen string `yaml:"database_listen"`
	SecretKey      string `yaml:"secret_key"`
	Listen         Listen `yaml:"listen"`
	IPAM           IPAM   `yaml:"ipam"`
	RADIUS         RADIUS `yaml:"radius"`
	DNS            DNS    `yaml:"dns"`
	CA             CA     `yaml:"ca"`
	Notify         Notify `yaml:"notify"`
	Web            Web    `yaml:"web"`
	Roster         Roster `yaml:"roster"`
	Status         Status `yaml:"status"`
	Log            Log    `yaml:"log"`

	// Journal says where agents' change reports are announced.
	Journal Journal `yaml:"journal"`

	// Monitor configures checks and alerting.
	Monitor Monitor `yaml:"monitor"`
}

// DNS configures the authoritative DNS server.
type DNS struct {
	// Listen is the UDP and TCP address; empty disables DNS.
	Listen string `yaml:"listen"`
	// Nameservers are the NS of every zone, the first being the SOA MNAME.
	Nameservers []string `yaml:"nameservers"`
	// Hostmaster is the SOA RNAME, as a mail address.
	Hostmaster string `yaml:"hostmaster"`
	TTL        int    `yaml:"ttl"`
	// Keys are TSIG keys, referred to by name below.
	Keys []TSIGKey `yaml:"keys"`
	// Transfer says who may AXFR/IXFR every zone: a key, networks, or both.
	Transfer []TransferACL `yaml:"transfer"`
	// Notify lists the secondaries told of every change.
	Notify []DNSPeer `yaml:"notify"`
	// Push lists external primaries kept in step by RFC 2136 updates.
	Push []DNSPeer `yaml:"push"`
	// RateLimit is the responses per second to one client network
	// (response rate limiting against reflection); 0 disables it.
	RateLimit int `yaml:"rate_limit"`
	// DNSSEC signs the zones it names (see DNSSEC).
	DNSSEC DNSSEC `yaml:"dnssec"`
}

// TSIGKey is a shared transaction-signature key.
type TSIGKey struct {
	Name      string `yaml:"name"`
	Algorithm string `yaml:"algorithm"`
	Secret    string `yaml:"secret"`
}

// TransferACL admits zone transfers signed with Key (if set) from
// Networks (if set).
type TransferACL struct {
	Key      string   `yaml:"key"`
	Networks []string `yaml:"networks"`
}

// DNSPeer is a server maillon talks to: host:port and an optional key.
type DNSPeer struct {
	Addr string `yaml:"addr"`
	Key  string `yaml:"key"`
}

// RADIUS configures the RADIUS server.
type RADIUS struct {
	// Auth and Acct are the UDP listen addresses; empty disables.
	Auth string `yaml:"auth"`
	Acct string `yaml:"acct"`
	// SpoolDir keeps accounting records acknowledged while the database
	// was unreachable, until they are replayed.
	SpoolDir        string   `yaml:"spool_dir"`
	InterimInterval int      `yaml:"interim_interval"`
	DayBoundary     Duration `yaml:"day_boundary"`
	// Switch says what a switch port gets when the registry cannot settle
	// it: "reject", or "vlan NAME" to accept it into that VLAN.
	Switch SwitchPolicy `yaml:"switch"`
	// EAP enables 802.1X (PEAP/MS-CHAPv2, EAP-TLS) when CertFile is set.
	EAP EAP `yaml:"eap"`
}

// EAP holds the certificates of 802.1X authentication.
type EAP struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// SwitchPolicy is the decision for each unsettled switch-port case.
type SwitchPolicy struct {
	UnknownMAC  string `yaml:"unknown_mac"`
	UnknownPort string `yaml:"unknown_port"`
	NonMember   string `yaml:"non_member"`
	Suspended   string `yaml:"suspended"`
}

// Listen says where the daemon listens.
type Listen struct {
	// HTTP serves the API, /healthz and /metrics; empty disables it.
	HTTP string `yaml:"http"`
	// Socket is the local admin socket the CLI uses without a token.
	Socket string `yaml:"socket"`
}

// IPAM tunes address allocation.
type IPAM struct {
	Quarantine    Duration `yaml:"quarantine"`
	DelegatedBits int      `yaml:"delegated_prefix_length"`
}

// Log tunes logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Duration reads "720h", "30d" or "90m" in YAML.
type Duration struct{ time.Duration }

// ParseDuration accepts Go durations and a "d" suffix for days.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 30d, 12h, 90m)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 30d, 12h, 90m)", s)
	}
	return v, nil
}

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Default is the configuration used where the file says nothing.
func Default() *Config {
	return &Config{
		Database: "/var/lib/maillon/maillon.db",
		Listen:   Listen{HTTP: "127.0.0.1:8080"},
		IPAM:     IPAM{Quarantine: Duration{30 * 24 * time.Hour}, DelegatedBits: 56},
		RADIUS: RADIUS{Auth: ":1812", Acct: ":1813", SpoolDir: "/var/lib/maillon/radius-spool", InterimInterval: 60,
			Switch: SwitchPolicy{UnknownMAC: "reject", UnknownPort: "reject", NonMember: "reject", Suspended: "reject"}},
		DNS:    DNS{Listen: ":53", Nameservers: []string{"ns1.example.org."}, Hostmaster: "hostmaster@example.org", TTL: 3600, RateLimit: 20},
		Log:    Log{Level: "info", Format: "text"},
		CA:     defaultCA(),
		Web:    defaultWeb(),
		Roster: defaultRoster(),
		Status: defaultStatus(),
	}
}

// Load reads path (if not empty) over the defaults, applies the environment
// and validates the result.
func Load(path string) (*Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := c.parse(b); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(os.Environ()); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func (c *Config) parse(b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return syntaxError(b, err)
	}
	if len(doc.Content) > 0 {
		if err := checkNode(doc.Content[0], reflect.TypeFor[Config](), ""); err != nil {
			return err
		}
	}
	// checkNode has found what a user gets wrong; the decoder still refuses
	// unknown keys in case the two ever disagree.
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Validate checks the configuration and says what is wrong, one problem at
// a time, naming the key.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.Database) == "" {
		return errors.New("database: is required (a SQLite path or a postgres:// URL)")
	}
	if p := dbaddr.SQLiteFile(c.Database); p != "" && !filepath.IsAbs(p) {
		// Relative to what? The daemon, the CLI and systemd each start
		// somewhere else, and an empty database would be made there.
		return fmt.Errorf("database: %q is a relative path: give an absolute one", c.Database)
	}
	if _, err := secret.ParseKey(c.SecretKey); err != nil {
		return fmt.Errorf("secret_key: %w", err)
	}
	if c.Listen.HTTP != "" {
		if _, _, err := net.SplitHostPort(c.Listen.HTTP); err != nil {
			return fmt.Errorf("listen.http: %q is not host:port", c.Listen.HTTP)
		}
	}
	if c.IPAM.Quarantine.Duration < 0 {
		return errors.New("ipam.quarantine: cannot be negative")
	}
	if b := c.IPAM.DelegatedBits; b < 48 || b > 64 {
		return fmt.Errorf("ipam.delegated_prefix_length: /%d is outside /48../64", b)
	}
	for key, addr := range map[string]string{"radius.auth": c.RADIUS.Auth, "radius.acct": c.RADIUS.Acct} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s: %q is not host:port", key, addr)
		}
	}
	if c.RADIUS.Acct != "" && c.RADIUS.SpoolDir == "" {
		return errors.New("radius.spool_dir: is required with radius.acct (accounting is acknowledged only once durable)")
	}
	if e := c.RADIUS.EAP; e.CertFile != "" || e.KeyFile != "" || e.ClientCAFile != "" {
		if e.CertFile == "" || e.KeyFile == "" {
			return errors.New("radius.eap: cert_file and key_file go together")
		}
		for key, path := range map[string]string{"cert_file": e.CertFile, "key_file": e.KeyFile, "client_ca_file": e.ClientCAFile} {
			if path == "" {
				continue
			}
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("radius.eap.%s: %w", key, err)
			}
		}
	}
	if err := c.DNS.validate(); err != nil {
		return err
	}
	if err := c.Notify.validate(); err != nil {
		return err
	}
	if err := c.Web.validate(); err != nil {
		return err
	}
	if err := c.CA.validate(); err != nil {
		return err
	}
	if err := c.Roster.validate(); err != nil {
		return err
	}
	if err := c.Status.validate(); err != nil {
		return err
	}
	if err := c.validateJournal(); err != nil {
		return err
	}
	if err := c.Monitor.validate(); err != nil {
		return err
	}
	if n := c.RADIUS.InterimInterval; n < 0 || n > 86400 {
		return fmt.Errorf("radius.interim_interval: %d is outside 0..86400 seconds", n)
	}
	if d := c.RADIUS.DayBoundary.Duration; d < 0 || d >= 24*time.Hour {
		return fmt.Errorf("radius.day_boundary: %s is outside 0..24h", d)
	}
	for key, v := range map[string]string{"unknown_mac": c.RADIUS.Switch.UnknownMAC, "unknown_port": c.RADIUS.Switch.UnknownPort,
		"non_member": c.RADIUS.Switch.NonMember, "suspended": c.RADIUS.Switch.Suspended} {
		if _, _, err := ParseDecision(v); err != nil {
			return fmt.Errorf("radius.switch.%s: %w", key, err)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format)
	}
	return nil
}

func (d *DNS) validate() error {
	// Checked even with DNS off: pushes and zone exports use them too, and
	// a mistake found at start beats a bad SOA found by a registry.
	for i, ns := range d.Nameservers {
		if !isHostName(ns) {
			return fmt.Errorf("dns.nameservers[%d]: %q is not a host name (e.g. ns1.example.org.)", i, ns)
		}
	}
	if d.Hostmaster != "" && !isMailbox(d.Hostmaster) {
		return fmt.Errorf("dns.hostmaster: %q is neither a mail address (hostmaster@example.org) nor a mailbox as a DNS name (hostmaster.example.org.)", d.Hostmaster)
	}
	if d.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(d.Listen); err != nil {
		return fmt.Errorf("dns.listen: %q is not host:port", d.Listen)
	}
	if len(d.Nameservers) == 0 {
		return errors.New("dns.nameservers: at least one name server is required (registries ask for two)")
	}
	if err := d.DNSSEC.validate(); err != nil {
		return err
	}
	keys := map[string]bool{}
	for i, k := range d.Keys {
		if k.Name == "" || k.Secret == "" {
			return fmt.Errorf("dns.keys[%d]: name and secret are required", i)
		}
		if _, err := base64.StdEncoding.DecodeString(k.Secret); err != nil {
			return fmt.Errorf("dns.keys[%d] (%s): secret is not base64", i, k.Name)
		}
		keys[strings.TrimSuffix(strings.ToLower(k.Name), ".")] = true
	}
	known := func(where, key string) error {
		if key != "" && !keys[strings.TrimSuffix(strings.ToLower(key), ".")] {
			return fmt.Errorf("%s: key %q is not among dns.keys", where, key)
		}
		return nil
	}
	for i, a := range d.Transfer {
		if err := known(fmt.Sprintf("dns.transfer[%d]", i), a.Key); err != nil {
			return err
		}
		for _, n := range a.Networks {
			if _, err := netip.ParsePrefix(n); err != nil {
				return fmt.Errorf("dns.transfer[%d]: %q is not a network (e.g. 192.0.2.0/24)", i, n)
			}
		}
	}
	for name, peers := range map[string][]DNSPeer{"dns.notify": d.Notify, "dns.push": d.Push} {
		for i, p := range peers {
			if _, _, err := net.SplitHostPort(p.Addr); err != nil {
				return fmt.Errorf("%s[%d]: %q is not host:port", name, i, p.Addr)
			}
			if err := known(fmt.Sprintf("%s[%d]", name, i), p.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

// isHostName reports whether s is a fully qualified host name: two labels
// or more of letters, digits and inner hyphens, the final dot optional.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// isMailbox reports whether s is an SOA RNAME: local@host, or the DNS form
// local.host. whose first label is the local part (dots in it escaped as
// \.).
func isMailbox(s string) bool {
	local, host, at := strings.Cut(s, "@")
	if !at {
		// The first unescaped dot ends the local part.
		i := 0
		for i < len(s) && s[i] != '.' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(s) {
			return false
		}
		local, host = strings.ReplaceAll(s[:i], `\.`, "."), s[i+1:]
	}
	if local == "" || len(local) > 63 || strings.ContainsAny(local, " \t@\\\"(),:;<>[]") {
		return false
	}
	return isHostName(host)
}

// ParseDecision reads "reject" or "vlan NAME".
func ParseDecision(s string) (reject bool, vlan string, err error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "reject" {
		return true, "", nil
	}
	if v, ok := strings.CutPrefix(s, "vlan "); ok && strings.TrimSpace(v) != "" {
		return false, strings.TrimSpace(v), nil
	}
	return false, "", fmt.Errorf("%q is neither reject nor \"vlan NAME\"", s)
}

// Template is the commented configuration `maillon init` writes.
func Template(database, secretKey, socket string) string {
	return fmt.Sprintf(`# maillon configuration. Every key holding a value or a list of strings
# can also be set from the environment, as MAILLON_ and its path in capitals:
# MAILLON_DATABASE, MAILLON_LISTEN_HTTP, MAILLON_MONITOR_DISABLED, ...

# A SQLite file (the default, fine up to tens of thousands of subscribers)
# or a PostgreSQL URL for several maillon instances on one database, e.g.
# postgres://maillon@db.example.org:6432/maillon?sslmode=verify-full
database: %q
# With PostgreSQL behind PgBouncer in transaction mode, the change feed
# between instances (LISTEN/NOTIFY) needs a direct URL:
# database_listen: postgres://maillon@db.example.org:5432/maillon

# Seals subscriber passwords and RADIUS secrets in the database. Keep it
# secret and backed up apart from the database: without it, those cannot be
# read back. 32 random bytes, base64 (openssl rand -base64 32).
secret_key: %q

listen:
  # JSON API (/api/v1/), /healthz and /metrics; put TLS in front of it.
  http: "127.0.0.1:8080"
  # Local admin socket for the maillon CLI (no token needed; local users
  # with access to the socket are admins).
  socket: %q

ipam:
  # How long a released address waits before it is handed out again.
  quarantine: 30d
  # Default size of delegated IPv6 prefixes in new pools (48 to 64).
  delegated_prefix_length: 56

radius:
  # UDP listen addresses; an empty value turns that part off.
  auth: ":1812"
  acct: ":1813"
  # Accounting acknowledged while the database was unreachable waits here
  # until it is written.
  spool_dir: /var/lib/maillon/radius-spool
  interim_interval: 60
  # Sessions end at midnight UTC plus this offset (Session-Timeout), so a
  # day's usage is the sum of that day's sessions.
  day_boundary: 0s
  # What a switch port gets when the registry cannot settle it:
  # reject, or "vlan NAME" (a guest or registration VLAN).
  # 802.1X for switch ports and Wi-Fi: PEAP/MS-CHAPv2 with the server
  # certificate below, EAP-TLS too when client_ca_file is set.
  # eap:
  #   cert_file: /etc/maillon/radius.pem
  #   key_file: /etc/maillon/radius.key
  #   client_ca_file: /etc/maillon/clients-ca.pem
  switch:
    unknown_mac: reject
    unknown_port: reject
    non_member: reject
    suspended: reject

dns:
  # Authoritative DNS for the zones of "maillon zone" and the reverse zones
  # of IPAM; an empty listen turns it off.
  listen: ":53"
  nameservers: [ns1.example.org., ns2.example.net.]
  hostmaster: hostmaster@example.org
  ttl: 3600
  rate_limit: 20   # responses per second per client network (0: off)
  # keys:
  #   - {name: transfer.example.org., algorithm: hmac-sha256, secret: BASE64}
  # transfer:                       # who may AXFR/IXFR
  #   - {key: transfer.example.org., networks: [192.0.2.0/24]}
  # notify:                         # secondaries told of every change
  #   - {addr: "192.0.2.53:53", key: transfer.example.org.}
  # push:                           # external primaries updated by RFC 2136
  #   - {addr: "192.0.2.10:53", key: transfer.example.org.}
  # dnssec:                         # online signing; keys derive from secret_key
  #   zones: [example.org., 100.64.in-addr.arpa.]   # or all: true
  #   generation: 1                 # bump to roll the keys, then "maillon dns ds ZONE"

notify:
  # The SMTP relay every email goes through (roster renewal, certificate
  # reminders, incident and maintenance notices, alerts); empty: no email.
  # email:
  #   smtp: "localhost:25"
  #   from: "NOC <noc@example.org>"
  #   tls: opportunistic   # starttls, tls (port 465), opportunistic, none
  #   username: maillon
  #   password_file: /etc/maillon/smtp-password
  # Named channels that alert routes refer to.
  # channels:
  #   - {name: oncall-mail, type: email, to: [noc@example.org]}
  #   - {name: noc-matrix, type: matrix, homeserver: "https://matrix.example.org",
  #      room: "!abcdef:example.org", access_token_file: /etc/maillon/matrix-token}
  #   - {name: oncall-sms, type: sms, method: GET, to: ["+33600000000"],
  #      url: "https://smsapi.free-mobile.fr/sendmsg?user=ID&pass=KEY&msg={text}"}
  #   - {name: chat, type: webhook, url: "https://hooks.example.org/maillon",
  #      headers_file: /etc/maillon/hook-headers}

web:
  # maillon's address as browsers reach it: the login links mailed to
  # members point there (empty: members log in with a line's password only).
  # public_url: https://maillon.example.org
  # secure_cookies: true   # behind a reverse proxy that terminates TLS
  # trusted_proxies: [127.0.0.1]   # that proxy: its X-Forwarded-For is believed
  # Who reads /metrics without an admin's API token, besides this machine.
  # metrics_from: ["192.0.2.10"]

log:
  level: info   # debug, info, warn, error
  format: text  # text or json
`, database, secretKey, socket) + caTemplate + rosterTemplate
}
