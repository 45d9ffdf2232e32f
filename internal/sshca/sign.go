// Package sshca is maillon's SSH certificate authority: a user CA whose
// certificates let admins log in to the ISP's servers, a host CA whose
// certificates let admins' ssh trust those servers without known_hosts
// entries, and the key revocation list (KRL) that sshd checks. The CA keys
// are files encrypted with a passphrase or keys held by ssh-agent (so that
// the user CA can live on a hardware token, as the seeds decided).
//
// The package knows nothing of the registry: the application reserves
// serials, builds requests from admins and hosts, and records what was
// signed (internal/app/ca.go).
package sshca

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Default validities: a user certificate lasts a year and four weeks, so
// that the yearly roster renewal has four weeks to run before anyone
// loses access (seeds/003); host certificates change with the machine.
const (
	DefaultUserValidity = (365 + 28) * 24 * time.Hour
	DefaultHostValidity = 5 * 365 * 24 * time.Hour
	// Backdate starts certificates a little in the past, so that a server
	// whose clock is behind accepts a certificate signed a moment ago.
	Backdate = 5 * time.Minute
)

// DefaultExtensions are what `ssh-keygen -s` grants a user certificate by
// default.
var DefaultExtensions = []string{
	"permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty", "permit-user-rc",
}

// KnownExtensions are the user-certificate extensions OpenSSH acts on;
// others must be named like "name@domain".
var KnownExtensions = append(slices.Clone(DefaultExtensions), "no-touch-required")

// Request is a certificate to sign.
type Request struct {
	// Key is the public key to certify; a certificate's key is taken.
	Key ssh.PublicKey
	// Serial is unique per CA, and never 0 (OpenSSH's KRL cannot revoke 0).
	Serial uint64
	// KeyID names the holder in sshd's logs.
	KeyID string
	// Principals are the user names or host names the certificate is
	// valid for; never empty (an empty list means "any" to OpenSSH).
	Principals  []string
	ValidAfter  time.Time
	ValidBefore time.Time
	// CriticalOptions and Extensions apply to user certificates only.
	CriticalOptions map[string]string
	Extensions      map[string]string
}

// UserOptions are the extensions and critical options of user
// certificates (ca.user in the configuration).
type UserOptions struct {
	// Extensions are granted by name, e.g. permit-pty.
	Extensions []string
	// SourceAddress limits where the certificate is accepted from: a
	// comma-separated list of addresses and CIDR networks.
	SourceAddress string
	// ForceCommand replaces whatever command the user asks for.
	ForceCommand string
}

// Validate checks the options as sshd would read them.
func (o UserOptions) Validate() error {
	for _, e := range o.Extensions {
		if !slices.Contains(KnownExtensions, e) && !strings.Contains(e, "@") {
			return fmt.Errorf("extension %q is not one of %s (or a name@domain extension)", e, strings.Join(KnownExtensions, ", "))
		}
	}
	if o.SourceAddress != "" {
		if err := checkSourceAddress(o.SourceAddress); err != nil {
			return err
		}
	}
	return nil
}

// checkSourceAddress accepts what sshd's addr_match_cidr_list accepts:
// addresses and CIDR networks, comma-separated, without spaces.
func checkSourceAddress(s string) error {
	for _, part := range strings.Split(s, ",") {
		if _, err := netip.ParsePrefix(part); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(part); err == nil {
			continue
		}
		return fmt.Errorf("source-address %q: %q is neither an address nor a CIDR network", s, part)
	}
	return nil
}

// Apply sets the options on a user certificate request.
func (o UserOptions) Apply(r *Request) {
	r.Extensions = map[string]string{}
	for _, e := range o.Extensions {
		r.Extensions[e] = ""
	}
	r.CriticalOptions = map[string]string{}
	if o.SourceAddress != "" {
		r.CriticalOptions["source-address"] = o.SourceAddress
	}
	if o.ForceCommand != "" {
		r.CriticalOptions["force-command"] = o.ForceCommand
	}
}

// SignUser signs a user certificate.
func (k *CAKey) SignUser(ctx context.Context, r Request) (*ssh.Certificate, error) {
	return k.sign(ctx, ssh.UserCert, r)
}

// SignHost signs a host certificate; it carries no options.
func (k *CAKey) SignHost(ctx context.Context, r Request) (*ssh.Certificate, error) {
	if len(r.CriticalOptions) > 0 || len(r.Extensions) > 0 {
		return nil, errors.New("host certificates carry no options or extensions")
	}
	return k.sign(ctx, ssh.HostCert, r)
}

func (k *CAKey) sign(ctx context.Context, typ uint32, r Request) (*ssh.Certificate, error) {
	if r.Key == nil {
		return nil, errors.New("no key to certify")
	}
	key := plainKey(r.Key)
	if r.Serial == 0 {
		return nil, errors.New("serial 0 cannot be revoked: serials start at 1")
	}
	if len(r.Principals) == 0 {
		return nil, errors.New("no principals: a certificate without principals is valid for every user or host")
	}
	for _, p := range r.Principals {
		if err := CheckPrincipal(p); err != nil {
			return nil, err
		}
	}
	if !r.ValidBefore.After(r.ValidAfter) {
		return nil, fmt.Errorf("validity ends (%s) before it starts (%s)", r.ValidBefore.UTC().Format(time.RFC3339), r.ValidAfter.UTC().Format(time.RFC3339))
	}
	if r.ValidAfter.Unix() < 0 {
		return nil, errors.New("validity starts before 1970")
	}
	cert := &ssh.Certificate{
		Key:             key,
		Serial:          r.Serial,
		CertType:        typ,
		KeyId:           r.KeyID,
		ValidPrincipals: slices.Clone(r.Principals),
		ValidAfter:      uint64(r.ValidAfter.Unix()),
		ValidBefore:     uint64(r.ValidBefore.Unix()),
		Permissions: ssh.Permissions{
			CriticalOptions: r.CriticalOptions,
			Extensions:      r.Extensions,
		},
	}
	s, done, err := k.signer(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := cert.SignCert(rand.Reader, s); err != nil {
		return nil, fmt.Errorf("sign with %s: %w", k.Describe(), err)
	}
	return cert, nil
}

// RolePrincipals maps roles to principals (ca.user.role_principals), sorted
// and without repeats; a role the map lacks grants none.
func RolePrincipals(roles []string, mapping map[string][]string) []string {
	var out []string
	for _, r := range roles {
		out = append(out, mapping[r]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// DefaultRolePrincipals lets the admin and technical-officer roles log in
// under principals of the same name, which hosts map to accounts with
// AuthorizedPrincipalsFile; read-only admins get no SSH access.
func DefaultRolePrincipals() map[string][]string {
	return map[string][]string{
		"admin":             {"admin"},
		"technical-officer": {"technical-officer"},
	}
}

// CheckPrincipal refuses a principal OpenSSH cannot match: empty, or with a
// comma (the separator of principals lists) or white space (of
// authorized_principals lines).
func CheckPrincipal(p string) error {
	if p == "" || strings.ContainsAny(p, ", \t\n\r") {
		return fmt.Errorf("principal %q: empty or with a comma or space", p)
	}
	return nil
}

// HostPrincipals are the names a host certificate is valid for: the
// host's name, that name in each domain when it has no dot, and its
// address, plus extra names.
func HostPrincipals(name string, addr netip.Addr, domains, extra []string) []string {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	out := []string{name}
	if !strings.Contains(name, ".") {
		for _, d := range domains {
			out = append(out, name+"."+strings.Trim(d, "."))
		}
	}
	if addr.IsValid() {
		out = append(out, addr.Unmap().String())
	}
	out = append(out, extra...)
	var uniq []string
	for _, p := range out {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(uniq, p) {
			uniq = append(uniq, p)
		}
	}
	return uniq
}

// MarshalCert is a certificate as one line of a -cert.pub file.
func MarshalCert(c *ssh.Certificate, comment string) string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c)))
	if comment != "" {
		line += " " + comment
	}
	return line
}
