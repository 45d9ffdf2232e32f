package sshca

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Deployment is what servers and admins' machines need to use the CAs.
type Deployment struct {
	// UserCA and HostCA are the CA public keys; nil when not configured.
	UserCA, HostCA ssh.PublicKey
	// KRLURL is where servers fetch the KRL (maillon's /ca/krl), if known.
	KRLURL string
	// HostPatterns are the known_hosts patterns the host CA vouches for
	// ("*.example.org"); empty means every host.
	HostPatterns []string
	// Principals maps a login account to the principals that may use it.
	Principals map[string][]string
}

// Paths on the servers, as Debian lays out /etc/ssh.
const (
	ServerUserCAPath   = "/etc/ssh/maillon_user_ca.pub"
	ServerKRLPath      = "/etc/ssh/maillon_revoked_keys"
	ServerPrincipalDir = "/etc/ssh/auth_principals"
	ServerHostCertPath = "/etc/ssh/ssh_host_ed25519_key-cert.pub"
)

// KnownHostsLine is the @cert-authority line for admins' known_hosts.
func (d Deployment) KnownHostsLine() string {
	if d.HostCA == nil {
		return ""
	}
	pats := "*"
	if len(d.HostPatterns) > 0 {
		pats = strings.Join(d.HostPatterns, ",")
	}
	return fmt.Sprintf("@cert-authority %s %s maillon host CA", pats, authorized(d.HostCA))
}

// SSHDConfig is the sshd_config snippet for servers.
func (d Deployment) SSHDConfig() string {
	var b strings.Builder
	if d.UserCA != nil {
		fmt.Fprintf(&b, "TrustedUserCAKeys %s\n", ServerUserCAPath)
		fmt.Fprintf(&b, "RevokedKeys %s\n", ServerKRLPath)
		fmt.Fprintf(&b, "AuthorizedPrincipalsFile %s/%%u\n", ServerPrincipalDir)
	}
	if d.HostCA != nil {
		fmt.Fprintf(&b, "HostCertificate %s\n", ServerHostCertPath)
	}
	return b.String()
}

// Text is everything to deploy, as commented files to copy.
func (d Deployment) Text() string {
	var b strings.Builder
	if d.UserCA == nil && d.HostCA == nil {
		return "# No CA is configured (ca.user, ca.host): nothing to deploy.\n"
	}
	fmt.Fprintf(&b, "# On each server: /etc/ssh/sshd_config.d/maillon.conf\n%s\n", d.SSHDConfig())
	if d.UserCA != nil {
		fmt.Fprintf(&b, "# On each server: %s\n%s maillon user CA\n\n", ServerUserCAPath, authorized(d.UserCA))
		fmt.Fprintf(&b, "# On each server: %s, the KRL, refreshed often (sshd refuses every key if it is missing):\n", ServerKRLPath)
		if d.KRLURL != "" {
			fmt.Fprintf(&b, "#   curl -fsS -o %[1]s.new %[2]s && mv %[1]s.new %[1]s\n", ServerKRLPath, d.KRLURL)
		} else {
			fmt.Fprintf(&b, "#   maillon ca krl > %[1]s.new && mv %[1]s.new %[1]s\n", ServerKRLPath)
		}
		b.WriteString("\n")
		accounts := make([]string, 0, len(d.Principals))
		for a := range d.Principals {
			accounts = append(accounts, a)
		}
		sort.Strings(accounts)
		for _, a := range accounts {
			fmt.Fprintf(&b, "# On each server: %s/%s (who may log in as %s)\n%s\n\n", ServerPrincipalDir, a, a, strings.Join(d.Principals[a], "\n"))
		}
	}
	if d.HostCA != nil {
		fmt.Fprintf(&b, "# On each server: %s, from `maillon ca sign-host HOST /etc/ssh/ssh_host_ed25519_key.pub`\n\n", ServerHostCertPath)
		fmt.Fprintf(&b, "# On admins' machines: ~/.ssh/known_hosts (or /etc/ssh/ssh_known_hosts)\n%s\n", d.KnownHostsLine())
		fmt.Fprintf(&b, "# and, so that ssh refuses revoked host certificates too, in ~/.ssh/config:\n# RevokedHostKeys ~/.ssh/maillon_revoked_keys (the same KRL)\n")
	}
	return b.String()
}

func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}
