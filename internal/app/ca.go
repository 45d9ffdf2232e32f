package app

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"

	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/sshca"
	"maillon/internal/web"
)

// caService is the SSH certificate authority: it turns admins and hosts
// of the registry into certificate requests, signs them with the CA keys,
// records what it signed, and keeps the KRL file in step with the
// revocations recorded in the database (its own and other instances').
type caService struct {
	reg  *registry.Service
	cfg  config.CA
	log  *slog.Logger
	user *sshca.CAKey // nil when ca.user has no key
	host *sshca.CAKey
	opts sshca.UserOptions
	// principals maps roles to principals (ca.user.role_principals).
	principals map[string][]string

	krlMu sync.Mutex // one KRL write at a time
}

func (a *App) newCA() (*caService, error) {
	cfg := a.cfg.CA
	c := &caService{reg: a.reg, cfg: cfg, log: a.log, principals: cfg.User.RolePrincipals,
		opts: sshca.UserOptions{Extensions: cfg.User.Extensions, SourceAddress: cfg.User.SourceAddress, ForceCommand: cfg.User.ForceCommand}}
	if c.principals == nil {
		c.principals = sshca.DefaultRolePrincipals()
	}
	for name, kc := range map[string]config.CAKey{"ca.user": cfg.User.CAKey, "ca.host": cfg.Host.CAKey} {
		if !kc.Configured() {
			continue
		}
		pass, err := kc.Passphrase()
		if err != nil {
			return nil, fmt.Errorf("%s.passphrase_file: %w", name, err)
		}
		k, err := sshca.Open(sshca.KeySource{File: kc.KeyFile, Passphrase: pass, AgentKey: kc.AgentKey, AgentSocket: kc.AgentSocket})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if kc.KeyFile != "" && len(pass) == 0 {
			a.log.Warn("CA key file is not encrypted; protect it with a passphrase (ssh-keygen -p)", "key", name, "file", kc.KeyFile)
		}
		if name == "ca.user" {
			c.user = k
		} else {
			c.host = k
		}
		a.log.Info("SSH CA key", "ca", name, "key", k.Describe())
	}
	// sshd refuses every key when its RevokedKeys file is missing: write
	// it before serving, and fail to start if it cannot be written.
	if err := c.writeKRL(context.Background()); err != nil {
		return nil, fmt.Errorf("ca.krl_path: %w", err)
	}
	return c, nil
}

func invalidf(field, format string, args ...any) error {
	return &registry.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// request checks the key (for a user certificate, that it is owner's) and
// builds the common part of a request.
func (c *caService) request(ctx context.Context, req web.CertRequest, max time.Duration, kind string, owner *registry.Admin) (sshca.Request, error) {
	pub, err := sshca.ParsePublicKey([]byte(req.PublicKey))
	if err != nil {
		return sshca.Request{}, invalidf("public_key", "%v", err)
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return sshca.Request{}, invalidf("public_key", "this is a certificate: give the public key it certifies (the .pub file)")
	}
	fingerprint := ssh.FingerprintSHA256(pub)
	if err := c.reg.CheckKeyNotRevoked(ctx, fingerprint); err != nil {
		return sshca.Request{}, err
	}
	if owner != nil {
		if err := c.keyIsTheirs(ctx, *owner, fingerprint); err != nil {
			return sshca.Request{}, err
		}
	}
	validity := max
	if req.Validity > 0 {
		if req.Validity > max {
			return sshca.Request{}, invalidf("validity", "%s is longer than ca.%s.validity (%s)", req.Validity, kind, max)
		}
		validity = req.Validity
	}
	serial, err := c.reg.ReserveCertificateSerial(ctx)
	if err != nil {
		return sshca.Request{}, err
	}
	now := c.reg.Now()
	return sshca.Request{Key: pub, Serial: uint64(serial), ValidAfter: now.Add(-sshca.Backdate), ValidBefore: now.Add(validity)}, nil
}

// SignUser certifies an admin's key for the principals their roles grant
// (or some of them).
func (c *caService) SignUser(ctx context.Context, a registry.Actor, admin registry.Admin, req web.CertRequest) (registry.Certificate, error) {
	if c.user == nil {
		return registry.Certificate{}, fmt.Errorf("no user CA key is configured (ca.user.key_file or ca.user.agent_key): %w", registry.ErrInvalid)
	}
	roles := make([]string, len(admin.Roles))
	for i, r := range admin.Roles {
		roles[i] = string(r)
	}
	allowed := sshca.RolePrincipals(roles, c.principals)
	if len(allowed) == 0 {
		return registry.Certificate{}, invalidf("admin", "%s has no role that grants SSH access (roles: %s)", admin.Name, strings.Join(roles, ", "))
	}
	principals := allowed
	if len(req.Principals) > 0 {
		principals = nil
		for _, p := range req.Principals {
			if !slices.Contains(allowed, p) {
				return registry.Certificate{}, invalidf("principals", "%q is not granted by the roles of %s (%s)", p, admin.Name, strings.Join(allowed, ", "))
			}
			if !slices.Contains(principals, p) {
				principals = append(principals, p)
			}
		}
	}
	r, err := c.request(ctx, req, c.cfg.User.Validity.Duration, "user", &admin)
	if err != nil {
		return registry.Certificate{}, err
	}
	r.Principals = principals
	r.KeyID = fmt.Sprintf("admin %s <%s> serial %d", admin.Name, admin.Email, r.Serial)
	c.opts.Apply(&r)
	cert, err := c.user.SignUser(ctx, r)
	if err != nil {
		return registry.Certificate{}, fmt.Errorf("user CA: %w", err)
	}
	return c.reg.RecordCertificate(ctx, a, registry.CertificateInput{AdminID: &admin.ID, Certificate: sshca.MarshalCert(cert, "")})
}

// keyIsTheirs refuses a key that was certified to someone else: keys are
// personal (an admin who leaves is shut out by revoking theirs), and
// revoking a shared key would shut out everyone who holds it.
func (c *caService) keyIsTheirs(ctx context.Context, admin registry.Admin, fingerprint string) error {
	var certs []registry.Certificate
	if err := c.reg.Read(ctx, func(r registry.Reader) error {
		var err error
		certs, err = r.ListCertificates(ctx, registry.CertificateFilter{Fingerprint: fingerprint})
		return err
	}); err != nil {
		return err
	}
	for _, cert := range certs {
		if cert.AdminID == nil || *cert.AdminID != admin.ID {
			return invalidf("public_key", "this key was certified to %s (serial %d): each admin signs in with a key of their own", cert.Subject, cert.Serial)
		}
	}
	return nil
}

// SignHost certifies a host's key for its names in the registry.
func (c *caService) SignHost(ctx context.Context, a registry.Actor, host registry.Host, req web.CertRequest) (registry.Certificate, error) {
	if c.host == nil {
		return registry.Certificate{}, fmt.Errorf("no host CA key is configured (ca.host.key_file or ca.host.agent_key): %w", registry.ErrInvalid)
	}
	for _, p := range req.Principals {
		if p = strings.TrimSpace(p); p == "" || strings.ContainsAny(p, ", \t") {
			return registry.Certificate{}, invalidf("principals", "%q is not a host name", p)
		}
	}
	// Host names are validated now, but a host registered before may
	// still carry a name no certificate can hold: the admin renames it.
	principals := sshca.HostPrincipals(host.Name, host.Address, c.cfg.Host.Domains, req.Principals)
	for _, p := range principals {
		if err := sshca.CheckPrincipal(p); err != nil {
			return registry.Certificate{}, invalidf("host", "host %q cannot be certified: %v: rename the host", host.Name, err)
		}
	}
	r, err := c.request(ctx, req, c.cfg.Host.Validity.Duration, "host", nil)
	if err != nil {
		return registry.Certificate{}, err
	}
	r.Principals = principals
	r.KeyID = fmt.Sprintf("host %s serial %d", host.Name, r.Serial)
	cert, err := c.host.SignHost(ctx, r)
	if err != nil {
		return registry.Certificate{}, fmt.Errorf("host CA: %w", err)
	}
	return c.reg.RecordCertificate(ctx, a, registry.CertificateInput{HostID: &host.ID, Certificate: sshca.MarshalCert(cert, "")})
}

// Revoke revokes by serial and rewrites the KRL file before answering, so
// that "revoked" means revoked on this machine.
func (c *caService) Revoke(ctx context.Context, a registry.Actor, serial int64, reason string) (registry.Certificate, error) {
	cert, err := c.reg.RevokeCertificate(ctx, a, serial, reason)
	if err != nil {
		return cert, err
	}
	return cert, c.writeKRL(ctx)
}

// RevokeKey revokes a key outright and rewrites the KRL file.
func (c *caService) RevokeKey(ctx context.Context, a registry.Actor, publicKey, reason string) (web.KeyRevocation, error) {
	k, certs, err := c.reg.RevokeKey(ctx, a, publicKey, reason)
	if err != nil {
		return web.KeyRevocation{}, err
	}
	return web.KeyRevocation{Key: k, Certificates: certs}, c.writeKRL(ctx)
}

// KRL builds the revocation list from the database: every revoked
// certificate under the CA key that signed it (old CA keys included), and
// every key revoked outright. Its version is the number of revocations,
// which only grows, and its date that of the last one, so instances
// sharing a database serve the same bytes.
func (c *caService) KRL(ctx context.Context) ([]byte, error) {
	var (
		certs []registry.Certificate
		keys  []registry.RevokedKey
	)
	yes := true
	err := c.reg.Read(ctx, func(r registry.Reader) error {
		var err error
		if certs, err = r.ListCertificates(ctx, registry.CertificateFilter{Revoked: &yes}); err != nil {
			return err
		}
		keys, err = r.ListRevokedKeys(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	krl := &sshca.KRL{Comment: "maillon", Version: uint64(len(certs) + len(keys))}
	signers := map[string]ssh.PublicKey{}
	for _, cert := range certs {
		ca := signers[cert.SignerKey]
		if ca == nil {
			if ca, err = sshca.ParsePublicKey([]byte(cert.SignerKey)); err != nil {
				return nil, fmt.Errorf("certificate %d: signer key: %w", cert.Serial, err)
			}
			signers[cert.SignerKey] = ca
		}
		krl.Revoke(ca, uint64(cert.Serial))
		if cert.RevokedAt != nil && cert.RevokedAt.After(krl.GeneratedAt) {
			krl.GeneratedAt = *cert.RevokedAt
		}
	}
	for _, k := range keys {
		pub, err := sshca.ParsePublicKey([]byte(k.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("revoked key %s: %w", k.Fingerprint, err)
		}
		krl.RevokeKey(pub)
		if k.RevokedAt.After(krl.GeneratedAt) {
			krl.GeneratedAt = k.RevokedAt
		}
	}
	return krl.Marshal()
}

// writeKRL writes the KRL to ca.krl_path, atomically, if it changed.
func (c *caService) writeKRL(ctx context.Context) error {
	if c.cfg.KRLPath == "" {
		return nil
	}
	c.krlMu.Lock()
	defer c.krlMu.Unlock()
	data, err := c.KRL(ctx)
	if err != nil {
		return fmt.Errorf("build KRL: %w", err)
	}
	changed, err := sshca.WriteFileAtomic(c.cfg.KRLPath, data, 0o644)
	if err != nil {
		return fmt.Errorf("write KRL: %w", err)
	}
	if changed {
		c.log.Info("KRL written", "path", c.cfg.KRLPath, "bytes", len(data))
	}
	return nil
}

// run rewrites the KRL when any instance records a revocation (its events
// arrive through the database's change feed).
func (c *caService) run(ctx context.Context) error {
	if c.cfg.KRLPath == "" {
		return nil
	}
	events, stop := c.reg.Events().Subscribe()
	defer stop()
	// A revocation between New and Run would otherwise wait for the next.
	if err := c.writeKRL(ctx); err != nil {
		c.log.Error("KRL not written", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-events:
			if e.Entity != "certificate" && e.Entity != "revoked_key" && e.Entity != registry.EntityAll {
				continue
			}
			if e.Entity == "certificate" && e.Action != "revoke" {
				continue
			}
			if err := c.writeKRL(ctx); err != nil && ctx.Err() == nil {
				c.log.Error("KRL not written; servers keep the previous one", "err", err)
			}
		}
	}
}

// Deployment is what `maillon ca config` prints.
func (c *caService) Deployment(ctx context.Context) (web.CADeployment, error) {
	d := sshca.Deployment{}
	var err error
	if c.user != nil {
		if d.UserCA, err = c.user.PublicKey(ctx); err != nil {
			return web.CADeployment{}, fmt.Errorf("user CA: %w", err)
		}
		all := sshca.RolePrincipals(slices.Collect(maps.Keys(c.principals)), c.principals)
		d.Principals = map[string][]string{}
		for _, acct := range c.cfg.User.Accounts {
			d.Principals[acct] = all
		}
	}
	if c.host != nil {
		if d.HostCA, err = c.host.PublicKey(ctx); err != nil {
			return web.CADeployment{}, fmt.Errorf("host CA: %w", err)
		}
		for _, dom := range c.cfg.Host.Domains {
			d.HostPatterns = append(d.HostPatterns, "*."+strings.Trim(dom, "."))
		}
	}
	if c.cfg.PublicURL != "" {
		d.KRLURL = strings.TrimRight(c.cfg.PublicURL, "/") + "/ca/krl"
	}
	out := web.CADeployment{SSHDConfig: d.SSHDConfig(), KnownHosts: d.KnownHostsLine(), Text: d.Text()}
	if d.UserCA != nil {
		out.UserCA = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.UserCA)))
	}
	if d.HostCA != nil {
		out.HostCA = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.HostCA)))
	}
	return out, nil
}

// Expiry metrics: when each valid certificate expires, and when each
// admin's or host's access ends (their last valid certificate), which is
// what a reminder alert watches (for instance: less than two weeks left).
var (
	certExpiryDesc = prometheus.NewDesc("maillon_ssh_certificate_expiry_timestamp_seconds",
		"When a valid SSH certificate expires (Unix time), by serial.", []string{"serial", "kind", "subject"}, nil)
	accessExpiryDesc = prometheus.NewDesc("maillon_ssh_access_expiry_timestamp_seconds",
		"When the last valid SSH certificate of an admin or host expires (Unix time).", []string{"kind", "subject"}, nil)
	revocationsDesc = prometheus.NewDesc("maillon_ssh_krl_revocations",
		"Revocations in the KRL (certificates and keys).", nil, nil)
)

func (c *caService) Describe(ch chan<- *prometheus.Desc) {
	ch <- certExpiryDesc
	ch <- accessExpiryDesc
	ch <- revocationsDesc
}

// Collect reads the certificates at scrape time: a handful of rows.
func (c *caService) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var (
		active  []registry.Certificate
		revoked []registry.Certificate
		keys    []registry.RevokedKey
	)
	yes := true
	err := c.reg.Read(ctx, func(r registry.Reader) error {
		var err error
		if active, err = r.ListCertificates(ctx, registry.CertificateFilter{ActiveAt: c.reg.Now()}); err != nil {
			return err
		}
		if revoked, err = r.ListCertificates(ctx, registry.CertificateFilter{Revoked: &yes}); err != nil {
			return err
		}
		keys, err = r.ListRevokedKeys(ctx)
		return err
	})
	if err != nil {
		c.log.Warn("SSH certificate metrics unavailable", "err", err)
		ch <- prometheus.NewInvalidMetric(certExpiryDesc, err)
		return
	}
	last := map[[2]string]time.Time{}
	for _, cert := range active {
		ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, float64(cert.ValidBefore.Unix()),
			strconv.FormatInt(cert.Serial, 10), string(cert.Kind), cert.Subject)
		k := [2]string{string(cert.Kind), cert.Subject}
		if cert.ValidBefore.After(last[k]) {
			last[k] = cert.ValidBefore
		}
	}
	for k, t := range last {
		ch <- prometheus.MustNewConstMetric(accessExpiryDesc, prometheus.GaugeValue, float64(t.Unix()), k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(revocationsDesc, prometheus.GaugeValue, float64(len(revoked)+len(keys)))
}
