package registry

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SessionKind says who a browser session belongs to.
type SessionKind string

const (
	SessionAdmin  SessionKind = "admin"  // SubjectID is an admin id
	SessionMember SessionKind = "member" // SubjectID is a member id
)

// WebSession is a browser session. Only the hash of its cookie is stored,
// so a copy of the database opens no session.
type WebSession struct {
	ID         int64
	Kind       SessionKind
	SubjectID  int64
	TokenHash  string
	CSRF       string // the token forms carry (synchronizer pattern)
	Via        string // how the session was opened: password, oidc, ...
	RemoteAddr string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// WebSessionReader reads sessions and admins' local password hashes (part
// of Reader).
type WebSessionReader interface {
	// GetWebSession finds a session by the hash of its cookie.
	GetWebSession(ctx context.Context, tokenHash string) (WebSession, error)
	// GetAdminPassword returns an admin's PHC password hash, or
	// ErrNotFound when the admin has no local password.
	GetAdminPassword(ctx context.Context, adminID int64) (string, error)
	// ListMemberCPEs lists the CPE lent to a member.
	ListMemberCPEs(ctx context.Context, memberID int64) ([]CPE, error)
	// ListPools is ListPrefixes without the used counts (Used is 0):
	// what a lookup by address needs, without counting allocations.
	ListPools(ctx context.Context) ([]Prefix, error)
}

// WebSessionWriter writes them (part of Tx).
type WebSessionWriter interface {
	InsertWebSession(ctx context.Context, s *WebSession) error
	TouchWebSession(ctx context.Context, id int64, at time.Time) error
	DeleteWebSession(ctx context.Context, id int64) error
	// DeleteWebSessionsOf ends every session of a subject (password
	// changed, account removed).
	DeleteWebSessionsOf(ctx context.Context, kind SessionKind, subjectID int64) error
	DeleteExpiredWebSessions(ctx context.Context, now time.Time) error
	SetAdminPassword(ctx context.Context, adminID int64, hash string, at time.Time) error
}

// SessionStart is what opening a session needs.
type SessionStart struct {
	Kind       SessionKind
	SubjectID  int64
	Via        string
	RemoteAddr string
	Lifetime   time.Duration
}

// StartWebSession opens a session and returns its cookie value, shown
// once. The login is audited on the subject (without the token).
func (s *Service) StartWebSession(ctx context.Context, a Actor, in SessionStart) (string, WebSession, error) {
	if in.Kind != SessionAdmin && in.Kind != SessionMember {
		return "", WebSession{}, fmt.Errorf("session kind %q is not admin or member", in.Kind)
	}
	if in.Lifetime <= 0 {
		return "", WebSession{}, fmt.Errorf("session without a lifetime")
	}
	token, hash := NewTokenSecret()
	ws := WebSession{Kind: in.Kind, SubjectID: in.SubjectID, TokenHash: hash, CSRF: randomString(32), Via: in.Via, RemoteAddr: in.RemoteAddr}
	err := s.write(ctx, a, func(c *change) error {
		// Sessions nobody closed go when someone logs in, so the table
		// holds about the live ones.
		if err := c.tx.DeleteExpiredWebSessions(ctx, c.now); err != nil {
			return fmt.Errorf("expire web sessions: %w", err)
		}
		ws.CreatedAt, ws.LastSeenAt, ws.ExpiresAt = c.now, c.now, c.now.Add(in.Lifetime)
		if err := c.tx.InsertWebSession(ctx, &ws); err != nil {
			return fmt.Errorf("open web session: %w", err)
		}
		return c.record("login", string(in.Kind), in.SubjectID, nil, map[string]string{"via": in.Via, "remote_addr": in.RemoteAddr})
	})
	if err != nil {
		return "", WebSession{}, err
	}
	return token, ws, nil
}

// WebSession finds the session of a cookie; ErrUnauthenticated when there
// is none. Expiry is for the caller to judge, with its clock and idle
// timeout.
func (s *Service) WebSession(ctx context.Context, token string) (WebSession, error) {
	var ws WebSession
	err := s.store.Read(ctx, func(r Reader) error {
		var err error
		ws, err = r.GetWebSession(ctx, HashToken(token))
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		return err
	})
	return ws, err
}

// TouchWebSession records activity on a session (idle timeout). It is
// bookkeeping, not a registry change: no audit, no event.
func (s *Service) TouchWebSession(ctx context.Context, id int64, at time.Time) error {
	return s.store.Write(ctx, func(tx Tx) error { return tx.TouchWebSession(ctx, id, at) })
}

// EndWebSession closes a session: logout, or found expired.
func (s *Service) EndWebSession(ctx context.Context, a Actor, ws WebSession, why string) error {
	return s.write(ctx, a, func(c *change) error {
		if err := c.tx.DeleteWebSession(ctx, ws.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("close web session: %w", err)
		}
		return c.record(why, string(ws.Kind), ws.SubjectID, nil, map[string]string{"via": ws.Via})
	})
}

// SetAdminPassword sets an admin's local web password (argon2id) and ends
// their open sessions; "" removes it, leaving single sign-on only.
func (s *Service) SetAdminPassword(ctx context.Context, a Actor, adminID int64, password string) error {
	hash := ""
	if password != "" {
		if err := validateAdminPassword(password); err != nil {
			return err
		}
		var err error
		if hash, err = HashPassword(password); err != nil {
			return err
		}
	}
	return s.write(ctx, a, func(c *change) error {
		if _, err := c.tx.GetAdmin(ctx, adminID); err != nil {
			return err
		}
		if err := c.tx.SetAdminPassword(ctx, adminID, hash, c.now); err != nil {
			return fmt.Errorf("set password of admin %d: %w", adminID, err)
		}
		if err := c.tx.DeleteWebSessionsOf(ctx, SessionAdmin, adminID); err != nil {
			return fmt.Errorf("end sessions of admin %d: %w", adminID, err)
		}
		return c.record("password", "admin", adminID, nil, map[string]bool{"password_set": hash != ""})
	})
}

func validateAdminPassword(p string) error {
	if len(p) < 12 {
		return invalid("password", "must be at least 12 characters")
	}
	if len(p) > 1024 {
		return invalid("password", "must be at most 1024 bytes")
	}
	return nil
}

// CheckAdminPassword returns the admin named by ref (name or email) if
// password is theirs. Every failure is ErrUnauthenticated and costs the
// same hash, so the answer does not tell whether the admin exists.
func (s *Service) CheckAdminPassword(ctx context.Context, ref, password string) (Admin, error) {
	ref = strings.TrimSpace(ref)
	var (
		admin Admin
		hash  string
	)
	err := s.store.Read(ctx, func(r Reader) error {
		admins, err := r.ListAdmins(ctx)
		if err != nil {
			return err
		}
		a, ok := matchAdmin(admins, ref, true)
		if !ok {
			return nil
		}
		admin = a
		h, err := r.GetAdminPassword(ctx, a.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		hash = h
		return nil
	})
	if err != nil {
		return Admin{}, err
	}
	if admin.ID == 0 {
		VerifyPassword(dummyHash(), password)
		return Admin{}, ErrUnknownLogin
	}
	if hash == "" {
		VerifyPassword(dummyHash(), password)
		return Admin{}, ErrUnauthenticated
	}
	if ok, err := VerifyPassword(hash, password); err != nil || !ok {
		return Admin{}, ErrUnauthenticated
	}
	return admin, nil
}

// AdminHasPassword reports whether an admin may log in with a password.
func (s *Service) AdminHasPassword(ctx context.Context, adminID int64) (bool, error) {
	var ok bool
	err := s.store.Read(ctx, func(r Reader) error {
		_, err := r.GetAdminPassword(ctx, adminID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

// ErrUnknownLogin is the ErrUnauthenticated of a login that names no
// account. Callers answer it as any other failure; it only tells the log
// not to record what was typed, which may be a password in the wrong field.
var ErrUnknownLogin = fmt.Errorf("%w: unknown login", ErrUnauthenticated)

// matchAdmin finds the admin whose email, or name too when byName, is
// ref in any case.
func matchAdmin(admins []Admin, ref string, byName bool) (Admin, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Admin{}, false
	}
	for _, a := range admins {
		if strings.EqualFold(a.Email, ref) || byName && strings.EqualFold(a.Name, ref) {
			return a, true
		}
	}
	return Admin{}, false
}

// AdminAccount names the account a login attempt is against, for counting
// failures: one name per admin however the login is written (name or
// email, in any case: "ſacha" is "sacha" to the password check), and the
// login itself when no admin has it.
func (s *Service) AdminAccount(ctx context.Context, ref string) (string, error) {
	var account string
	err := s.store.Read(ctx, func(r Reader) error {
		admins, err := r.ListAdmins(ctx)
		if err != nil {
			return err
		}
		if a, ok := matchAdmin(admins, ref, true); ok {
			account = "admin#" + strconv.FormatInt(a.ID, 10)
		} else {
			account = "admin:" + strings.ToLower(strings.TrimSpace(ref))
		}
		return nil
	})
	return account, err
}

// FindAdminForSSO returns the admin a single sign-on identity names: by
// email only when it is an email (an identity provider's user must not
// become an admin by taking an admin's name as their address), else by
// name or email.
func (s *Service) FindAdminForSSO(ctx context.Context, who string, isEmail bool) (Admin, error) {
	var out Admin
	err := s.store.Read(ctx, func(r Reader) error {
		admins, err := r.ListAdmins(ctx)
		if err != nil {
			return err
		}
		a, ok := matchAdmin(admins, who, !isEmail)
		if !ok {
			return NotFound("admin", who)
		}
		out = a
		return nil
	})
	return out, err
}

// NewRandom is 256 random bits, URL-safe: state and nonce values.
func NewRandom() string { return randomString(32) }

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SameSecret compares two secrets in constant time.
func SameSecret(a, b string) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
