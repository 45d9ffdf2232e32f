package registry

import (
	"context"
	"time"
)

// CertKind says whom an SSH certificate identifies.
type CertKind string

const (
	CertUser CertKind = "user" // an admin logging in to servers
	CertHost CertKind = "host" // a server, to admins' ssh
)

// Certificate is an SSH certificate the CA issued. Rows are never deleted:
// revoked ones make the KRL, and the audit log refers to all of them.
type Certificate struct {
	// Serial is unique across both CAs and increases with each issue.
	Serial int64    `json:"serial"`
	Kind   CertKind `json:"kind"`
	// AdminID or HostID is who holds it (nil once they are deleted);
	// Subject keeps their name as it was when it was issued.
	AdminID *int64 `json:"admin_id,omitempty"`
	HostID  *int64 `json:"host_id,omitempty"`
	Subject string `json:"subject"`
	KeyID   string `json:"key_id"`
	// PublicKey is the certified key (authorized_keys form) and
	// Fingerprint its SHA256 fingerprint.
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	Principals  []string  `json:"principals"`
	ValidAfter  time.Time `json:"valid_after"`
	ValidBefore time.Time `json:"valid_before"`
	// SignerKey is the CA key that signed it, so that a KRL still lists
	// the revoked certificates of a CA key since replaced.
	SignerKey         string     `json:"signer_key"`
	SignerFingerprint string     `json:"signer_fingerprint"`
	Certificate       string     `json:"certificate"`
	IssuedAt          time.Time  `json:"issued_at"`
	IssuedBy          string     `json:"issued_by"`
	RevokedAt         *time.Time `json:"revoked_at,omitempty"`
	RevokedBy         string     `json:"revoked_by,omitempty"`
	RevocationReason  string     `json:"revocation_reason,omitempty"`
	// State is computed when shown: valid, expired, revoked or pending.
	State string `json:"state,omitempty"`
}

// The states of a certificate.
const (
	CertValid   = "valid"
	CertExpired = "expired"
	CertRevoked = "revoked"
	CertPending = "pending" // not valid yet
)

// StateAt is the certificate's state at a time.
func (c *Certificate) StateAt(now time.Time) string {
	switch {
	case c.RevokedAt != nil:
		return CertRevoked
	case !now.Before(c.ValidBefore):
		return CertExpired
	case now.Before(c.ValidAfter):
		return CertPending
	}
	return CertValid
}

// Annotate fills the computed State.
func (c *Certificate) Annotate(now time.Time) { c.State = c.StateAt(now) }

// RevokedKey is a public key revoked outright: every certificate on it, and
// the key itself, are in the KRL, and the CA refuses to sign it again.
type RevokedKey struct {
	ID          int64     `json:"id"`
	Fingerprint string    `json:"fingerprint"`
	PublicKey   string    `json:"public_key"`
	Reason      string    `json:"reason,omitempty"`
	RevokedAt   time.Time `json:"revoked_at"`
	RevokedBy   string    `json:"revoked_by"`
}

// CertificateFilter narrows a certificate listing; zero fields match all.
type CertificateFilter struct {
	Kind        CertKind
	AdminID     int64
	HostID      int64
	Fingerprint string
	// Revoked keeps only revoked (true) or unrevoked (false) ones.
	Revoked *bool
	// ActiveAt keeps unrevoked certificates valid at that time.
	ActiveAt time.Time
	Limit    int
}

// CertReader reads the SSH CA's records (part of Reader).
type CertReader interface {
	GetCertificate(ctx context.Context, serial int64) (Certificate, error)
	// ListCertificates lists by serial, newest first.
	ListCertificates(ctx context.Context, f CertificateFilter) ([]Certificate, error)
	GetRevokedKey(ctx context.Context, fingerprint string) (RevokedKey, error)
	ListRevokedKeys(ctx context.Context) ([]RevokedKey, error)
}

// CertWriter writes them (part of Tx).
type CertWriter interface {
	// NextCertificateSerial hands out the next serial, never the same
	// twice, even across instances.
	NextCertificateSerial(ctx context.Context) (int64, error)
	InsertCertificate(ctx context.Context, c *Certificate) error
	// SetCertificateRevoked writes RevokedAt, RevokedBy and
	// RevocationReason.
	SetCertificateRevoked(ctx context.Context, c *Certificate) error
	InsertRevokedKey(ctx context.Context, k *RevokedKey) error
}
