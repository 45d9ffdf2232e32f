package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Issuing a certificate takes two transactions: ReserveCertificateSerial,
// then the signature (which a hardware token may take seconds over, and
// which must not hold the database's write lock meanwhile), then
// RecordCertificate. A signature that fails leaves an unused serial, never
// a repeated one.

// ReserveCertificateSerial hands out the serial of the next certificate.
// It writes only the counter: the issue itself is audited when recorded.
func (s *Service) ReserveCertificateSerial(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, System, func(c *change) error {
		var err error
		n, err = c.tx.NextCertificateSerial(ctx)
		return err
	})
	return n, err
}

// CertificateInput records a signed certificate: the certificate (one
// authorized_keys line) and whom it was issued to, an admin for a user
// certificate, a host for a host certificate. Everything else is read
// from the certificate itself.
type CertificateInput struct {
	AdminID     *int64 `json:"admin_id,omitempty"`
	HostID      *int64 `json:"host_id,omitempty"`
	Certificate string `json:"certificate"`
}

// ParseCertificate reads a certificate line.
func ParseCertificate(text string) (*ssh.Certificate, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
	if err != nil {
		return nil, invalid("certificate", "not an OpenSSH certificate: %v", err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, invalid("certificate", "a plain %s key, not a certificate", pub.Type())
	}
	return cert, nil
}

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// RecordCertificate records a certificate the CA signed, with an "issue"
// entry in the audit log. It refuses a certificate on a revoked key, for
// someone who does not exist, or without principals (valid for anyone).
func (s *Service) RecordCertificate(ctx context.Context, a Actor, in CertificateInput) (Certificate, error) {
	cert, err := ParseCertificate(in.Certificate)
	if err != nil {
		return Certificate{}, err
	}
	if cert.Serial == 0 || cert.Serial > math.MaxInt64 {
		return Certificate{}, invalid("certificate", "serial %d is outside 1..2^63-1", cert.Serial)
	}
	if len(cert.ValidPrincipals) == 0 {
		return Certificate{}, invalid("certificate", "has no principals, so it is valid for every user or host")
	}
	if cert.ValidBefore == ssh.CertTimeInfinity || cert.ValidBefore > math.MaxInt64 || cert.ValidAfter > math.MaxInt64 {
		return Certificate{}, invalid("certificate", "never expires")
	}
	out := Certificate{
		Serial:            int64(cert.Serial),
		KeyID:             cert.KeyId,
		PublicKey:         authorizedLine(cert.Key),
		Fingerprint:       ssh.FingerprintSHA256(cert.Key),
		Principals:        slices.Clone(cert.ValidPrincipals),
		ValidAfter:        time.Unix(int64(cert.ValidAfter), 0).UTC(),
		ValidBefore:       time.Unix(int64(cert.ValidBefore), 0).UTC(),
		SignerKey:         authorizedLine(cert.SignatureKey),
		SignerFingerprint: ssh.FingerprintSHA256(cert.SignatureKey),
		Certificate:       authorizedLine(cert),
	}
	switch cert.CertType {
	case ssh.UserCert:
		out.Kind = CertUser
		if in.AdminID == nil || in.HostID != nil {
			return Certificate{}, invalid("admin_id", "a user certificate is issued to an admin")
		}
	case ssh.HostCert:
		out.Kind = CertHost
		if in.HostID == nil || in.AdminID != nil {
			return Certificate{}, invalid("host_id", "a host certificate is issued to a host")
		}
	default:
		return Certificate{}, invalid("certificate", "unknown certificate type %d", cert.CertType)
	}
	err = s.write(ctx, a, func(c *change) error {
		if in.AdminID != nil {
			admin, err := c.tx.GetAdmin(ctx, *in.AdminID)
			if err != nil {
				return exists("admin_id", err)
			}
			out.AdminID, out.Subject = &admin.ID, admin.Name
		} else {
			host, err := c.tx.GetHost(ctx, *in.HostID)
			if err != nil {
				return exists("host_id", err)
			}
			out.HostID, out.Subject = &host.ID, host.Name
		}
		if err := c.keyNotRevoked(out.Fingerprint); err != nil {
			return err
		}
		out.IssuedAt, out.IssuedBy = c.now, a.Name
		if err := c.tx.InsertCertificate(ctx, &out); err != nil {
			return fmt.Errorf("record certificate %d: %w", out.Serial, err)
		}
		return c.record("issue", "certificate", out.Serial, nil, out)
	})
	return out, err
}

// CheckKeyNotRevoked refuses a key revoked outright, before anything is
// signed for it.
func (s *Service) CheckKeyNotRevoked(ctx context.Context, fingerprint string) error {
	return s.store.Read(ctx, func(r Reader) error {
		return keyNotRevoked(ctx, r, fingerprint)
	})
}

func (c *change) keyNotRevoked(fingerprint string) error {
	return keyNotRevoked(c.ctx, c.tx, fingerprint)
}

func keyNotRevoked(ctx context.Context, r Reader, fingerprint string) error {
	k, err := r.GetRevokedKey(ctx, fingerprint)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return invalid("public_key", "key %s was revoked on %s by %s: it cannot be certified again", fingerprint, k.RevokedAt.Format("2006-01-02"), k.RevokedBy)
}

// RevokeCertificate revokes one certificate by serial.
func (s *Service) RevokeCertificate(ctx context.Context, a Actor, serial int64, reason string) (Certificate, error) {
	var out Certificate
	err := s.write(ctx, a, func(c *change) error {
		cert, err := c.tx.GetCertificate(ctx, serial)
		if err != nil {
			return err
		}
		if cert.RevokedAt != nil {
			return fmt.Errorf("certificate %d was already revoked on %s: %w", serial, cert.RevokedAt.Format(time.RFC3339), ErrConflict)
		}
		out, err = c.revoke(cert, reason)
		return err
	})
	return out, err
}

func (c *change) revoke(cert Certificate, reason string) (Certificate, error) {
	before := cert
	at := c.now
	cert.RevokedAt, cert.RevokedBy, cert.RevocationReason = &at, c.actor.Name, strings.TrimSpace(reason)
	if err := c.tx.SetCertificateRevoked(c.ctx, &cert); err != nil {
		return cert, fmt.Errorf("revoke certificate %d: %w", cert.Serial, err)
	}
	return cert, c.record("revoke", "certificate", cert.Serial, before, cert)
}

// revokeAll revokes the unrevoked certificates a filter selects.
func (c *change) revokeAll(f CertificateFilter, reason string) ([]Certificate, error) {
	no := false
	f.Revoked = &no
	certs, err := c.tx.ListCertificates(c.ctx, f)
	if err != nil {
		return nil, err
	}
	var out []Certificate
	for _, cert := range certs {
		r, err := c.revoke(cert, reason)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RevokeKey revokes a public key outright (given as a .pub line, or a
// certificate, whose key is taken): the key and every certificate on it
// are listed in the KRL, and the CA will not sign it again. It returns the
// certificates it revoked along.
func (s *Service) RevokeKey(ctx context.Context, a Actor, publicKey, reason string) (RevokedKey, []Certificate, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil {
		return RevokedKey{}, nil, invalid("public_key", "not an OpenSSH public key: %v", err)
	}
	if cert, ok := pub.(*ssh.Certificate); ok {
		pub = cert.Key
	}
	k := RevokedKey{Fingerprint: ssh.FingerprintSHA256(pub), PublicKey: authorizedLine(pub), Reason: strings.TrimSpace(reason)}
	var certs []Certificate
	err = s.write(ctx, a, func(c *change) error {
		if old, err := c.tx.GetRevokedKey(ctx, k.Fingerprint); err == nil {
			return fmt.Errorf("key %s was already revoked on %s: %w", k.Fingerprint, old.RevokedAt.Format(time.RFC3339), ErrConflict)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		k.RevokedAt, k.RevokedBy = c.now, a.Name
		if err := c.tx.InsertRevokedKey(ctx, &k); err != nil {
			return fmt.Errorf("revoke key: %w", err)
		}
		if err := c.record("revoke", "revoked_key", k.ID, nil, k); err != nil {
			return err
		}
		var err error
		why := "key revoked"
		if k.Reason != "" {
			why += ": " + k.Reason
		}
		certs, err = c.revokeAll(CertificateFilter{Fingerprint: k.Fingerprint}, why)
		return err
	})
	return k, certs, err
}

// RevokeAdminCertificates revokes every unrevoked certificate of an admin
// (an admin who loses their title, say) and returns them.
func (s *Service) RevokeAdminCertificates(ctx context.Context, a Actor, adminID int64, reason string) ([]Certificate, error) {
	var out []Certificate
	err := s.write(ctx, a, func(c *change) error {
		if _, err := c.tx.GetAdmin(ctx, adminID); err != nil {
			return err
		}
		var err error
		out, err = c.revokeAll(CertificateFilter{Kind: CertUser, AdminID: adminID}, reason)
		return err
	})
	return out, err
}
