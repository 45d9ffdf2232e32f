package registry

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Member self-service: a member logs in to the web pages with the login and
// password of one of their lines (the password RADIUS checks, sealed in the
// registry) or with a single-use link sent to their contact email, and
// keeps their notification choices. Everything else they change (their
// line's password, their email, a reverse name) goes through the ordinary
// service methods with the member as the actor, so it is audited like an
// admin's change.

// MemberPrefs are a member's notification choices. A member who never chose
// gets DefaultMemberPrefs: told about everything that affects them.
type MemberPrefs struct {
	MemberID int64 `json:"member_id"`
	// Maintenance: planned maintenance that affects one of their lines.
	Maintenance bool `json:"maintenance"`
	// Incidents: an outage that affects one of their lines.
	Incidents bool      `json:"incidents"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// DefaultMemberPrefs are the choices of a member who never made any.
func DefaultMemberPrefs(memberID int64) MemberPrefs {
	return MemberPrefs{MemberID: memberID, Maintenance: true, Incidents: true}
}

// LoginLink is an emailed single-use login link. Only the SHA-256 of its
// token is stored, so a copy of the database logs nobody in.
type LoginLink struct {
	ID        int64      `json:"id"`
	MemberID  int64      `json:"member_id"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// LoginLinkTTL is how long an emailed link stays valid: long enough to
// reach a mailbox, short enough that an old mail is harmless.
const LoginLinkTTL = 15 * time.Minute

// memberPortalReader and memberPortalWriter are the storage the member
// pages need (embedded in Reader and Tx).
type memberPortalReader interface {
	// GetMemberPrefs returns ErrNotFound for a member who never chose.
	GetMemberPrefs(ctx context.Context, memberID int64) (MemberPrefs, error)
	GetLoginLinkByHash(ctx context.Context, hash string) (LoginLink, error)
}

type memberPortalWriter interface {
	// PutMemberPrefs inserts or replaces a member's choices.
	PutMemberPrefs(ctx context.Context, p *MemberPrefs) error
	InsertLoginLink(ctx context.Context, l *LoginLink) error
	// UseLoginLink marks an unused link used; ErrNotFound when it was
	// used already, so two concurrent redemptions cannot both succeed.
	UseLoginLink(ctx context.Context, id int64, at time.Time) error
	// DeleteLoginLinks removes the links that expired before a time.
	DeleteLoginLinks(ctx context.Context, expiredBefore time.Time) error
}

// MemberActor is the actor of a change a member makes on their own pages
// (the web session's Actor says the same).
func MemberActor(m Member) Actor { return Actor{Name: "member:" + m.Email} }

// memberMayLogIn refuses archived members: their data stays for the
// records, their access does not.
func memberMayLogIn(m Member) error {
	if m.State == MemberArchived {
		return fmt.Errorf("member %d is archived: %w", m.ID, ErrUnauthenticated)
	}
	return nil
}

// MemberLogin checks the login and password of a line (any kind that has a
// password, unless closed) and returns its member. Every failure is
// ErrUnauthenticated, so the answer does not tell whether a login exists.
func (s *Service) MemberLogin(ctx context.Context, login, password string) (Member, error) {
	var m Member
	err := s.store.Read(ctx, func(r Reader) error {
		sub, err := r.GetSubscriptionByLogin(ctx, strings.TrimSpace(login))
		if errors.Is(err, ErrNotFound) {
			// Compare anyway, so an unknown login costs what a wrong
			// password does.
			subtle.ConstantTimeCompare([]byte(password), []byte(password))
			return ErrUnknownLogin
		}
		if err != nil {
			return err
		}
		if sub.State == SubClosed || len(sub.SealedPassword) == 0 {
			return ErrUnauthenticated
		}
		want, err := s.Password(&sub)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 {
			return ErrUnauthenticated
		}
		if m, err = r.GetMember(ctx, sub.MemberID); err != nil {
			return err
		}
		return memberMayLogIn(m)
	})
	return m, err
}

// IssueLoginLink creates a single-use login link for the member whose
// contact email this is and returns its token, to be mailed to them. An
// unknown email gives ErrNotFound: the caller must answer the same way
// either way, so that the form does not reveal who is a member.
func (s *Service) IssueLoginLink(ctx context.Context, email string) (string, Member, error) {
	token, hash := NewTokenSecret()
	var m Member
	err := s.write(ctx, System, func(c *change) error {
		var err error
		if m, err = c.tx.GetMemberByEmail(ctx, strings.TrimSpace(email)); err != nil {
			return err
		}
		if err := memberMayLogIn(m); err != nil {
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		// Expired links are useless; dropping them here keeps the table
		// small without a janitor.
		if err := c.tx.DeleteLoginLinks(ctx, c.now); err != nil {
			return fmt.Errorf("drop expired login links: %w", err)
		}
		l := LoginLink{MemberID: m.ID, Hash: hash, CreatedAt: c.now, ExpiresAt: c.now.Add(LoginLinkTTL)}
		if err := c.tx.InsertLoginLink(ctx, &l); err != nil {
			return fmt.Errorf("login link for member %d: %w", m.ID, err)
		}
		return c.record("create", "login_link", l.ID, nil, l)
	})
	if err != nil {
		return "", Member{}, err
	}
	return token, m, nil
}

// RedeemLoginLink logs in with an emailed link's token, once: a used,
// expired or unknown token is ErrUnauthenticated.
func (s *Service) RedeemLoginLink(ctx context.Context, token string) (Member, error) {
	var m Member
	err := s.write(ctx, System, func(c *change) error {
		l, err := c.tx.GetLoginLinkByHash(ctx, HashToken(strings.TrimSpace(token)))
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		if l.UsedAt != nil || !c.now.Before(l.ExpiresAt) {
			return ErrUnauthenticated
		}
		if err := c.tx.UseLoginLink(ctx, l.ID, c.now); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrUnauthenticated
			}
			return err
		}
		if m, err = c.tx.GetMember(ctx, l.MemberID); err != nil {
			return err
		}
		if err := memberMayLogIn(m); err != nil {
			return err
		}
		before := l
		l.UsedAt = &c.now
		c.actor = MemberActor(m)
		return c.record("use", "login_link", l.ID, before, l)
	})
	return m, err
}

// MemberPrefs returns a member's notification choices (the defaults when
// they never chose).
func (s *Service) MemberPrefs(ctx context.Context, memberID int64) (MemberPrefs, error) {
	var p MemberPrefs
	err := s.store.Read(ctx, func(r Reader) error {
		var err error
		p, err = memberPrefs(ctx, r, memberID)
		return err
	})
	return p, err
}

func memberPrefs(ctx context.Context, r Reader, memberID int64) (MemberPrefs, error) {
	p, err := r.GetMemberPrefs(ctx, memberID)
	if errors.Is(err, ErrNotFound) {
		if _, err := r.GetMember(ctx, memberID); err != nil {
			return MemberPrefs{}, err
		}
		return DefaultMemberPrefs(memberID), nil
	}
	return p, err
}

// SetMemberPrefs records a member's notification choices.
func (s *Service) SetMemberPrefs(ctx context.Context, a Actor, p MemberPrefs) (MemberPrefs, error) {
	err := s.write(ctx, a, func(c *change) error {
		before, err := memberPrefs(ctx, c.tx, p.MemberID)
		if err != nil {
			return err
		}
		p.UpdatedAt = c.now
		if err := c.tx.PutMemberPrefs(ctx, &p); err != nil {
			return fmt.Errorf("notification choices of member %d: %w", p.MemberID, err)
		}
		return c.record("update", "member_prefs", p.MemberID, before, p)
	})
	return p, err
}

// endMemberWebSessions closes every web session of a member, within the
// change that calls for it (a line's new password, archiving).
func (c *change) endMemberWebSessions(memberID int64) error {
	if err := c.tx.DeleteWebSessionsOf(c.ctx, SessionMember, memberID); err != nil {
		return fmt.Errorf("end the web sessions of member %d: %w", memberID, err)
	}
	return c.record("logout-all", string(SessionMember), memberID, nil, nil)
}
