package registry

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mails go out in three steps, like certificates are issued: a claim
// (a transaction that says "this instance sends it now"; for a renewal it
// also sets a fresh link token, whose hash only is kept), the sending,
// then the record of what happened, audited. A crash between the claim and
// the record sends the mail again once the claim is stale, never twice at
// once; the last mail's link is the one that works.

// StartRosterCampaign asks every admin holding one of roles whether they
// keep their title, answers due within window. The mails go out
// afterwards (ClaimRosterMail). It fails with ErrConflict while another
// campaign is open.
func (s *Service) StartRosterCampaign(ctx context.Context, a Actor, roles []Role, window time.Duration) (RosterCampaign, error) {
	return s.startRosterCampaign(ctx, a, roles, window, time.Time{})
}

// StartYearlyRosterCampaign starts the campaign of a renewal date unless
// one started since that date (IsNotDue then): instances sharing a
// database start it once between them.
func (s *Service) StartYearlyRosterCampaign(ctx context.Context, a Actor, roles []Role, window time.Duration, since time.Time) (RosterCampaign, error) {
	return s.startRosterCampaign(ctx, a, roles, window, since)
}

func (s *Service) startRosterCampaign(ctx context.Context, a Actor, roles []Role, window time.Duration, since time.Time) (RosterCampaign, error) {
	if window <= 0 {
		return RosterCampaign{}, invalid("window", "must be positive")
	}
	if len(roles) == 0 {
		return RosterCampaign{}, invalid("roles", "at least one role is renewed")
	}
	for _, r := range roles {
		switch r {
		case RoleAdmin, RoleTechnicalOfficer, RoleReadOnly:
		default:
			return RosterCampaign{}, invalid("roles", "%q is not one of admin, technical-officer, read-only", r)
		}
	}
	var out RosterCampaign
	err := s.write(ctx, a, func(c *change) error {
		if err := c.tx.LockRoster(ctx); err != nil {
			return err
		}
		if !since.IsZero() {
			last, err := c.tx.LatestRosterCampaign(ctx)
			if err == nil && !last.StartedAt.Before(since) {
				return errNotClaimed
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if open, err := c.tx.OpenRosterCampaign(ctx); err == nil {
			return fmt.Errorf("roster campaign %d is open until %s: %w", open.ID, open.Deadline.Format(time.RFC3339), ErrConflict)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		admins, err := c.tx.ListAdmins(ctx)
		if err != nil {
			return err
		}
		out = RosterCampaign{State: CampaignOpen, Roles: slices.Clone(roles), StartedAt: c.now, StartedBy: a.Name, Deadline: c.now.Add(window)}
		if err := c.tx.InsertRosterCampaign(ctx, &out); err != nil {
			return fmt.Errorf("start roster campaign: %w", err)
		}
		var asked []string
		for _, admin := range admins {
			held := heldTitles(admin, roles)
			if len(held) == 0 {
				continue
			}
			r := RosterRequest{CampaignID: out.ID, AdminID: admin.ID, AdminName: admin.Name, Email: admin.Email, Roles: held, State: RosterPending}
			if err := c.tx.InsertRosterRequest(ctx, &r); err != nil {
				return fmt.Errorf("roster request for %s: %w", admin.Name, err)
			}
			out.Requests = append(out.Requests, r)
			asked = append(asked, admin.Name)
		}
		if err := c.record("start", "roster_campaign", out.ID, nil, map[string]any{
			"roles": out.Roles, "deadline": out.Deadline, "admins": asked,
		}); err != nil {
			return err
		}
		return c.closeCampaignIfDone(out.ID)
	})
	if err != nil {
		return RosterCampaign{}, err
	}
	return s.RosterCampaign(ctx, out.ID)
}

func heldTitles(a Admin, roles []Role) []Role {
	var held []Role
	for _, r := range roles {
		if a.Has(r) {
			held = append(held, r)
		}
	}
	return held
}

// RosterCampaign reads a campaign with its requests; id 0 is the latest.
func (s *Service) RosterCampaign(ctx context.Context, id int64) (RosterCampaign, error) {
	var out RosterCampaign
	err := s.store.Read(ctx, func(r Reader) error {
		var err error
		if id == 0 {
			out, err = r.LatestRosterCampaign(ctx)
		} else {
			out, err = r.GetRosterCampaign(ctx, id)
		}
		if err != nil {
			return err
		}
		out.Requests, err = r.ListRosterRequests(ctx, out.ID)
		return err
	})
	return out, err
}

// errNotClaimed says another instance (or an earlier attempt, not stale
// yet) has the mail in hand, or that it needs no sending.
var errNotClaimed = fmt.Errorf("not due: %w", ErrConflict)

// IsNotDue reports whether a Claim* error only means there is nothing to
// send now.
func IsNotDue(err error) bool { return errors.Is(err, errNotClaimed) }

// rosterTokenPrefix tells a roster link's token from an API token.
const rosterTokenPrefix = "mlr_"

func newRosterToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return rosterTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ClaimRosterMail claims the mail of a pending request whose mail has not
// gone out and was not attempted within retry. It returns the link's
// token (valid until the request's deadline: the campaign's, or a whole
// window from now if the mail goes out late) and the request.
func (s *Service) ClaimRosterMail(ctx context.Context, id int64, retry time.Duration) (string, RosterRequest, error) {
	token := newRosterToken()
	var out RosterRequest
	err := s.write(ctx, System, func(c *change) error {
		if err := c.tx.LockRoster(ctx); err != nil {
			return err
		}
		r, err := c.tx.GetRosterRequest(ctx, id)
		if err != nil {
			return err
		}
		if r.State != RosterPending || r.MailSentAt != nil || (r.MailClaimedAt != nil && c.now.Before(r.MailClaimedAt.Add(retry))) {
			return errNotClaimed
		}
		camp, err := c.tx.GetRosterCampaign(ctx, r.CampaignID)
		if err != nil {
			return err
		}
		expires := camp.Deadline
		if late := c.now.Add(camp.Deadline.Sub(camp.StartedAt)); late.After(expires) {
			expires = late
		}
		at := c.now
		r.MailClaimedAt, r.ExpiresAt, r.TokenHash = &at, &expires, HashToken(token)
		if err := c.tx.UpdateRosterRequest(ctx, &r); err != nil {
			return fmt.Errorf("claim roster mail of %s: %w", r.AdminName, err)
		}
		out = r
		return nil
	})
	return token, out, err
}

// RecordRosterMail records the outcome of a claimed mail: sent (audited),
// or the error, shown by the status until a later attempt succeeds.
func (s *Service) RecordRosterMail(ctx context.Context, id int64, sendErr error) (RosterRequest, error) {
	return s.updateRosterRequest(ctx, System, id, func(c *change, r *RosterRequest) error {
		if sendErr != nil {
			r.MailError = sendErr.Error()
			return nil
		}
		at := c.now
		r.MailSentAt, r.MailError = &at, ""
		return c.record("mail", "roster_request", r.ID, nil, map[string]any{"admin": r.AdminName, "email": r.Email, "expires_at": r.ExpiresAt})
	})
}

func (s *Service) updateRosterRequest(ctx context.Context, a Actor, id int64, fn func(*change, *RosterRequest) error) (RosterRequest, error) {
	var out RosterRequest
	err := s.write(ctx, a, func(c *change) error {
		if err := c.tx.LockRoster(ctx); err != nil {
			return err
		}
		r, err := c.tx.GetRosterRequest(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(c, &r); err != nil {
			return err
		}
		if err := c.tx.UpdateRosterRequest(ctx, &r); err != nil {
			return fmt.Errorf("roster request of %s: %w", r.AdminName, err)
		}
		out = r
		return c.closeCampaignIfDone(r.CampaignID)
	})
	return out, err
}

// ErrRosterLink is what an unknown, used or expired link gets; which of
// them is not told.
var ErrRosterLink = fmt.Errorf("this link is unknown, was already used, or its deadline has passed: %w", ErrNotFound)

// RosterRequestByToken returns the request a link's token answers, if it
// still may.
func (s *Service) RosterRequestByToken(ctx context.Context, token string) (RosterRequest, error) {
	var out RosterRequest
	err := s.store.Read(ctx, func(r Reader) error {
		req, err := r.GetRosterRequestByToken(ctx, HashToken(strings.TrimSpace(token)))
		if errors.Is(err, ErrNotFound) {
			return ErrRosterLink
		}
		if err != nil {
			return err
		}
		if !req.Open(s.Now()) {
			return ErrRosterLink
		}
		out = req
		return nil
	})
	return out, err
}

// AnswerRosterByToken answers through a mailed link: the token is the
// proof, and works once.
func (s *Service) AnswerRosterByToken(ctx context.Context, token string, keep bool) (RosterRequest, error) {
	req, err := s.RosterRequestByToken(ctx, token)
	if err != nil {
		return req, err
	}
	hash := req.TokenHash
	return s.answerRoster(ctx, Actor{Name: "admin:" + req.AdminName + " (roster link)"}, req.ID, keep, func(r *RosterRequest) error {
		if r.TokenHash != hash {
			return ErrRosterLink
		}
		return nil
	})
}

// AnswerRoster answers for an admin in the open campaign (an admin
// authenticated to the API, or someone on the admin socket).
func (s *Service) AnswerRoster(ctx context.Context, a Actor, adminID int64, keep bool) (RosterRequest, error) {
	var id int64
	err := s.store.Read(ctx, func(r Reader) error {
		camp, err := r.OpenRosterCampaign(ctx)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("no roster campaign is open: %w", ErrNotFound)
		}
		if err != nil {
			return err
		}
		reqs, err := r.ListRosterRequests(ctx, camp.ID)
		if err != nil {
			return err
		}
		for _, req := range reqs {
			if req.AdminID == adminID {
				id = req.ID
				return nil
			}
		}
		return fmt.Errorf("admin %d is not asked in roster campaign %d: %w", adminID, camp.ID, ErrNotFound)
	})
	if err != nil {
		return RosterRequest{}, err
	}
	return s.answerRoster(ctx, a, id, keep, nil)
}

func (s *Service) answerRoster(ctx context.Context, a Actor, id int64, keep bool, check func(*RosterRequest) error) (RosterRequest, error) {
	return s.updateRosterRequest(ctx, a, id, func(c *change, r *RosterRequest) error {
		if check != nil {
			if err := check(r); err != nil {
				return err
			}
		}
		if r.State != RosterPending {
			return fmt.Errorf("%s already answered (%s on %s): %w", r.AdminName, r.State, fmtDay(r.AnsweredAt), ErrConflict)
		}
		if r.ExpiresAt != nil && !c.now.Before(*r.ExpiresAt) {
			return fmt.Errorf("the deadline of %s passed on %s: %w", r.AdminName, r.ExpiresAt.Format(time.RFC3339), ErrConflict)
		}
		before := *r
		at := c.now
		r.AnsweredAt, r.AnsweredBy, r.TokenHash = &at, c.actor.Name, ""
		if keep {
			r.State = RosterKept
			return c.record("keep", "roster_request", r.ID, before, *r)
		}
		if err := c.removeTitles(r, "roster renewal: stepped down"); err != nil {
			return err
		}
		r.State = RosterSteppedDown
		return c.record("step-down", "roster_request", r.ID, before, *r)
	})
}

func fmtDay(t *time.Time) string {
	if t == nil {
		return "?"
	}
	return t.Format("2006-01-02")
}

// ExpireRosterRequest removes the titles of an admin whose deadline
// passed without an answer, and revokes their certificates, in one
// transaction. Only a request whose mail went out expires: nobody loses a
// title over a mail they never got.
func (s *Service) ExpireRosterRequest(ctx context.Context, id int64) (RosterRequest, error) {
	return s.updateRosterRequest(ctx, System, id, func(c *change, r *RosterRequest) error {
		if r.State != RosterPending || r.MailSentAt == nil || r.ExpiresAt == nil || c.now.Before(*r.ExpiresAt) {
			return errNotClaimed
		}
		before := *r
		if err := c.removeTitles(r, "roster renewal: no answer by "+r.ExpiresAt.Format(time.RFC3339)); err != nil {
			return err
		}
		at := c.now
		r.State, r.AnsweredAt, r.TokenHash = RosterRemoved, &at, ""
		return c.record("remove", "roster_request", r.ID, before, *r)
	})
}

// removeTitles takes the campaign's roles from the admin and revokes
// their user certificates, which were signed for those roles.
func (c *change) removeTitles(r *RosterRequest, reason string) error {
	camp, err := c.tx.GetRosterCampaign(c.ctx, r.CampaignID)
	if err != nil {
		return err
	}
	admin, err := c.tx.GetAdmin(c.ctx, r.AdminID)
	if err != nil {
		return err
	}
	before := admin
	admin.Roles = slices.DeleteFunc(slices.Clone(admin.Roles), func(role Role) bool { return slices.Contains(camp.Roles, role) })
	if len(admin.Roles) != len(before.Roles) {
		if err := c.tx.UpdateAdmin(c.ctx, &admin); err != nil {
			return fmt.Errorf("remove titles of %s: %w", admin.Name, err)
		}
		if err := c.record("update", "admin", admin.ID, before, admin); err != nil {
			return err
		}
	}
	certs, err := c.revokeAll(CertificateFilter{Kind: CertUser, AdminID: admin.ID}, reason)
	if err != nil {
		return err
	}
	for _, cert := range certs {
		r.Revoked = append(r.Revoked, cert.Serial)
	}
	return nil
}

// closeCampaignIfDone closes a campaign once nobody is pending.
func (c *change) closeCampaignIfDone(id int64) error {
	camp, err := c.tx.GetRosterCampaign(c.ctx, id)
	if err != nil || camp.State != CampaignOpen {
		return err
	}
	reqs, err := c.tx.ListRosterRequests(c.ctx, id)
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, r := range reqs {
		if r.State == RosterPending {
			return nil
		}
		count[r.State]++
	}
	before := camp
	at := c.now
	camp.State, camp.ClosedAt = CampaignClosed, &at
	if err := c.tx.UpdateRosterCampaign(c.ctx, &camp); err != nil {
		return fmt.Errorf("close roster campaign %d: %w", id, err)
	}
	return c.record("close", "roster_campaign", id, before, map[string]any{"closed_at": at, "answers": count})
}

// ClaimRosterNotice claims the mail telling the other admins that someone
// stepped down or was removed.
func (s *Service) ClaimRosterNotice(ctx context.Context, id int64, retry time.Duration) (RosterRequest, error) {
	var out RosterRequest
	err := s.write(ctx, System, func(c *change) error {
		if err := c.tx.LockRoster(ctx); err != nil {
			return err
		}
		r, err := c.tx.GetRosterRequest(ctx, id)
		if err != nil {
			return err
		}
		if (r.State != RosterRemoved && r.State != RosterSteppedDown) || r.NoticeSentAt != nil ||
			(r.NoticeClaimedAt != nil && c.now.Before(r.NoticeClaimedAt.Add(retry))) {
			return errNotClaimed
		}
		at := c.now
		r.NoticeClaimedAt = &at
		out = r
		return c.tx.UpdateRosterRequest(ctx, &r)
	})
	return out, err
}

// RecordRosterNotice records that the other admins were told (audited).
func (s *Service) RecordRosterNotice(ctx context.Context, id int64, to []string) (RosterRequest, error) {
	return s.updateRosterRequest(ctx, System, id, func(c *change, r *RosterRequest) error {
		at := c.now
		r.NoticeSentAt = &at
		return c.record("notice", "roster_request", r.ID, nil, map[string]any{"admin": r.AdminName, "state": r.State, "told": to})
	})
}

// ClaimCertReminder claims the expiry reminder of a user certificate that
// is unrevoked, still valid, held by an admin, and not reminded yet, and
// returns it with its admin.
func (s *Service) ClaimCertReminder(ctx context.Context, serial int64, retry time.Duration) (Certificate, Admin, error) {
	var (
		cert  Certificate
		admin Admin
	)
	err := s.write(ctx, System, func(c *change) error {
		if err := c.tx.LockRoster(ctx); err != nil {
			return err
		}
		var err error
		if cert, err = c.tx.GetCertificate(ctx, serial); err != nil {
			return err
		}
		if cert.Kind != CertUser || cert.AdminID == nil || cert.StateAt(c.now) != CertValid {
			return errNotClaimed
		}
		rem, err := c.tx.GetCertReminder(ctx, serial)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case rem.SentAt != nil || c.now.Before(rem.ClaimedAt.Add(retry)):
			return errNotClaimed
		}
		if admin, err = c.tx.GetAdmin(ctx, *cert.AdminID); err != nil {
			return err
		}
		return c.tx.PutCertReminder(ctx, &CertReminder{Serial: serial, ClaimedAt: c.now})
	})
	return cert, admin, err
}

// RecordCertReminder records that an expiry reminder went out (audited).
func (s *Service) RecordCertReminder(ctx context.Context, serial int64, to string) error {
	return s.write(ctx, System, func(c *change) error {
		if err := c.tx.LockRoster(ctx); err != nil {
			return err
		}
		rem, err := c.tx.GetCertReminder(ctx, serial)
		if err != nil {
			return err
		}
		at := c.now
		rem.SentAt, rem.SentTo = &at, to
		if err := c.tx.PutCertReminder(ctx, &rem); err != nil {
			return fmt.Errorf("reminder of certificate %d: %w", serial, err)
		}
		return c.record("remind", "certificate", serial, nil, rem)
	})
}
