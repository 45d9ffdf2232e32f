package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"maillon/internal/sshca"
)

// CA configures the SSH certificate authority: a user CA for admins, a
// host CA for servers, and the KRL. A CA without a key cannot sign, but
// certificates already issued can still be listed and revoked.
type CA struct {
	User UserCA `yaml:"user"`
	Host HostCA `yaml:"host"`
	// KRLPath is where the KRL is written, atomically, at start and after
	// every revocation (sshd's RevokedKeys on this machine, or what a
	// sync job copies); empty writes none. It is always served at /ca/krl.
	KRLPath string `yaml:"krl_path"`
	// PublicURL is maillon's URL as servers reach it, for the KRL download
	// line of `maillon ca config`.
	PublicURL string `yaml:"public_url"`
}

// CAKey says where a CA private key is: a file (encrypted, its passphrase
// in passphrase_file) or ssh-agent (agent_key selects the key by public
// key, .pub file or SHA256 fingerprint; agent_socket defaults to the
// daemon's $SSH_AUTH_SOCK).
type CAKey struct {
	KeyFile        string `yaml:"key_file"`
	PassphraseFile string `yaml:"passphrase_file"`
	AgentKey       string `yaml:"agent_key"`
	AgentSocket    string `yaml:"agent_socket"`
}

// Configured reports whether a key is set.
func (k CAKey) Configured() bool { return k.KeyFile != "" || k.AgentKey != "" }

// UserCA configures admins' certificates.
type UserCA struct {
	CAKey    `yaml:",inline"`
	Validity Duration `yaml:"validity"`
	// Reminder is how long before a certificate expires its admin is
	// mailed a reminder (once per certificate); 0 turns reminders off.
	Reminder Duration `yaml:"reminder"`
	// RolePrincipals maps admin roles to certificate principals; unset
	// means admin -> admin and technical-officer -> technical-officer.
	RolePrincipals map[string][]string `yaml:"role_principals"`
	// Accounts are the server accounts admins log in as (root, as the
	// seeds decided), for `maillon ca config`.
	Accounts      []string `yaml:"accounts"`
	Extensions    []string `yaml:"extensions"`
	SourceAddress string   `yaml:"source_address"`
	ForceCommand  string   `yaml:"force_command"`
}

// HostCA configures servers' certificates.
type HostCA struct {
	CAKey    `yaml:",inline"`
	Validity Duration `yaml:"validity"`
	// Domains qualify short host names: host gw1 also gets
	// gw1.example.org; they are the @cert-authority patterns too.
	Domains []string `yaml:"domains"`
}

func defaultCA() CA {
	return CA{
		User: UserCA{Validity: Duration{sshca.DefaultUserValidity}, Reminder: Duration{14 * 24 * time.Hour}, Accounts: []string{"root"}, Extensions: append([]string(nil), sshca.DefaultExtensions...)},
		Host: HostCA{Validity: Duration{sshca.DefaultHostValidity}},
	}
}

// Passphrase reads the key's passphrase file (without its final newline).
func (k CAKey) Passphrase() ([]byte, error) {
	if k.PassphraseFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(k.PassphraseFile)
	if err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}

func (k CAKey) validate(key string) error {
	if k.KeyFile != "" && k.AgentKey != "" {
		return fmt.Errorf("%s: key_file and agent_key exclude each other (a file, or a key in ssh-agent)", key)
	}
	if k.KeyFile != "" {
		if _, err := os.Stat(k.KeyFile); err != nil {
			return fmt.Errorf("%s.key_file: %w", key, err)
		}
	}
	if k.PassphraseFile != "" {
		if k.KeyFile == "" {
			return fmt.Errorf("%s.passphrase_file: goes with key_file", key)
		}
		if _, err := os.Stat(k.PassphraseFile); err != nil {
			return fmt.Errorf("%s.passphrase_file: %w", key, err)
		}
	}
	if k.AgentSocket != "" && k.AgentKey == "" {
		return fmt.Errorf("%s.agent_socket: goes with agent_key", key)
	}
	return nil
}

func (c *CA) validate() error {
	if err := c.User.validate("ca.user"); err != nil {
		return err
	}
	if err := c.Host.validate("ca.host"); err != nil {
		return err
	}
	for name, d := range map[string]time.Duration{"ca.user.validity": c.User.Validity.Duration, "ca.host.validity": c.Host.Validity.Duration} {
		if d <= 0 {
			return fmt.Errorf("%s: must be positive (e.g. 393d: a year and four weeks)", name)
		}
	}
	if r := c.User.Reminder.Duration; r < 0 || r >= c.User.Validity.Duration {
		return fmt.Errorf("ca.user.reminder: %s is outside 0..ca.user.validity (0 turns reminders off)", r)
	}
	for role, ps := range c.User.RolePrincipals {
		switch role {
		case "admin", "technical-officer", "read-only":
		default:
			return fmt.Errorf("ca.user.role_principals: %q is not one of admin, technical-officer, read-only", role)
		}
		for _, p := range ps {
			if p == "" || strings.ContainsAny(p, ", \t") {
				return fmt.Errorf("ca.user.role_principals.%s: %q is not a principal (no commas or spaces)", role, p)
			}
		}
	}
	opts := sshca.UserOptions{Extensions: c.User.Extensions, SourceAddress: c.User.SourceAddress}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("ca.user: %w", err)
	}
	for _, d := range c.Host.Domains {
		if strings.Trim(d, ".") == "" || strings.ContainsAny(d, " ,*") {
			return fmt.Errorf("ca.host.domains: %q is not a domain", d)
		}
	}
	if c.KRLPath != "" {
		if !filepath.IsAbs(c.KRLPath) {
			return fmt.Errorf("ca.krl_path: %q is not an absolute path", c.KRLPath)
		}
		if fi, err := os.Stat(filepath.Dir(c.KRLPath)); err != nil || !fi.IsDir() {
			return fmt.Errorf("ca.krl_path: directory %s does not exist", filepath.Dir(c.KRLPath))
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("ca.public_url: not an http(s):// URL")
		}
	}
	return nil
}

const caTemplate = `
ca:
  # SSH certificate authority. The user CA signs admins' keys (maillon ca
  # sign-user), the host CA servers' keys (maillon ca sign-host); servers
  # trust them with the lines of "maillon ca config".
  # user:
  #   # A key on a hardware token, through ssh-agent (selected by public
  #   # key, .pub file or fingerprint; the socket defaults to $SSH_AUTH_SOCK):
  #   agent_key: SHA256:...
  #   # or a file encrypted with a passphrase:
  #   # key_file: /etc/maillon/user_ca
  #   # passphrase_file: /etc/maillon/user_ca.passphrase
  #   validity: 393d         # a year and four weeks
  #   reminder: 14d          # mail the admin this long before expiry (0: never)
  #   role_principals: {admin: [admin], technical-officer: [technical-officer]}
  #   accounts: [root]
  #   extensions: [permit-X11-forwarding, permit-agent-forwarding, permit-port-forwarding, permit-pty, permit-user-rc]
  #   source_address: ""     # e.g. 192.0.2.0/24,2001:db8::/32
  #   force_command: ""
  # host:
  #   key_file: /etc/maillon/host_ca
  #   passphrase_file: /etc/maillon/host_ca.passphrase
  #   validity: 1825d
  #   domains: [example.org]
  # Written atomically at start and on every revocation; also served at /ca/krl.
  # krl_path: /var/lib/maillon/revoked_keys
  # public_url: https://maillon.example.org
`
