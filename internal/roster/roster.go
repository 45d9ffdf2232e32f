// Package roster runs the yearly renewal of the admins' titles and the
// SSH certificate expiry reminders (seeds/003): it decides what is due at
// a given time, mails it, and has the registry record each step. It keeps
// no state of its own: everything it has done is in the database, so a
// restart resumes where it stopped, and several instances sharing a
// database do each thing once (the registry's claims).
package roster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"maillon/internal/notify"
	"maillon/internal/registry"
)

// Registry is what the roster needs of the registry service.
type Registry interface {
	Now() time.Time
	Read(ctx context.Context, fn func(registry.Reader) error) error
	RosterCampaign(ctx context.Context, id int64) (registry.RosterCampaign, error)
	StartRosterCampaign(ctx context.Context, a registry.Actor, roles []registry.Role, window time.Duration) (registry.RosterCampaign, error)
	StartYearlyRosterCampaign(ctx context.Context, a registry.Actor, roles []registry.Role, window time.Duration, since time.Time) (registry.RosterCampaign, error)
	ClaimRosterMail(ctx context.Context, id int64, retry time.Duration) (string, registry.RosterRequest, error)
	RecordRosterMail(ctx context.Context, id int64, sendErr error) (registry.RosterRequest, error)
	RosterRequestByToken(ctx context.Context, token string) (registry.RosterRequest, error)
	AnswerRosterByToken(ctx context.Context, token string, keep bool) (registry.RosterRequest, error)
	AnswerRoster(ctx context.Context, a registry.Actor, adminID int64, keep bool) (registry.RosterRequest, error)
	ExpireRosterRequest(ctx context.Context, id int64) (registry.RosterRequest, error)
	ClaimRosterNotice(ctx context.Context, id int64, retry time.Duration) (registry.RosterRequest, error)
	RecordRosterNotice(ctx context.Context, id int64, to []string) (registry.RosterRequest, error)
	ClaimCertReminder(ctx context.Context, serial int64, retry time.Duration) (registry.Certificate, registry.Admin, error)
	RecordCertReminder(ctx context.Context, serial int64, to string) error
}

// Options configures the roster.
type Options struct {
	// Month and Day are the yearly renewal date (00:00 UTC); Month 0
	// turns the yearly campaign off.
	Month time.Month
	Day   int
	// Window is how long admins have to answer.
	Window time.Duration
	Roles  []registry.Role
	// Reminder is how long before expiry a certificate's admin is
	// reminded; 0 turns reminders off.
	Reminder time.Duration
	// LinkBase is maillon's public URL, which the links start with (a
	// function: the daemon knows its address once it listens).
	LinkBase func() string
	// Mail sends email; nil (or MailOff) leaves everything that needs a
	// mail undone: nobody loses a title over a mail they never got.
	Mail    notify.Sender
	MailOff bool
	// Revoked runs after certificates were revoked (the KRL is rewritten
	// before the others are told it was).
	Revoked func(ctx context.Context) error
	// Retry is how long a claimed mail waits before another attempt
	// (a failed send, or an instance that died while sending).
	Retry time.Duration
	Log   *slog.Logger
}

// Actor is who starts the yearly campaign.
var Actor = registry.Actor{Name: "system:roster"}

// Service runs the roster.
type Service struct {
	reg Registry
	opt Options
}

// New returns the roster service.
func New(reg Registry, opt Options) *Service {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Window <= 0 {
		opt.Window = 14 * 24 * time.Hour
	}
	if len(opt.Roles) == 0 {
		opt.Roles = []registry.Role{registry.RoleTechnicalOfficer}
	}
	if opt.Retry <= 0 {
		opt.Retry = 10 * time.Minute
	}
	if opt.Mail == nil {
		opt.MailOff = true
	}
	return &Service{reg: reg, opt: opt}
}

// ErrMailOff refuses a campaign nobody would be told about.
var ErrMailOff = fmt.Errorf("email is off (notify.email.smtp): nobody would get the renewal mail: %w", registry.ErrInvalid)

// RenewalAt is the renewal date of now's year.
func (s *Service) RenewalAt(now time.Time) (time.Time, bool) {
	if s.opt.Month == 0 {
		return time.Time{}, false
	}
	return time.Date(now.UTC().Year(), s.opt.Month, s.opt.Day, 0, 0, 0, 0, time.UTC), true
}

// Tick does what is due at now: starts the year's campaign, sends the
// mails not sent yet, removes the titles whose deadline passed, tells the
// other admins, reminds admins of expiring certificates. A step that
// fails is logged and retried at a later tick; the others go on.
func (s *Service) Tick(ctx context.Context, now time.Time) error {
	var errs []error
	if err := s.startYearly(ctx, now); err != nil {
		errs = append(errs, err)
	}
	camp, err := s.reg.RosterCampaign(ctx, 0)
	switch {
	case errors.Is(err, registry.ErrNotFound):
	case err != nil:
		errs = append(errs, err)
	default:
		errs = append(errs, s.advance(ctx, now, camp)...)
	}
	if err := s.remind(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startYearly starts the campaign of now's year once its date has come,
// unless one started since that date. A daemon that was down on the date
// still starts it within the window; later it waits for next year rather
// than surprise everyone months after.
func (s *Service) startYearly(ctx context.Context, now time.Time) error {
	at, ok := s.RenewalAt(now)
	if !ok || now.Before(at) || !now.Before(at.Add(s.opt.Window)) {
		return nil
	}
	last, err := s.reg.RosterCampaign(ctx, 0)
	if err == nil && !last.StartedAt.Before(at) {
		return nil
	}
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return err
	}
	if s.opt.MailOff {
		s.opt.Log.Warn("roster renewal due but email is off (notify.email.smtp): not started", "date", at.Format("2006-01-02"))
		return nil
	}
	camp, err := s.reg.StartYearlyRosterCampaign(ctx, Actor, s.opt.Roles, s.opt.Window, at)
	if errors.Is(err, registry.ErrConflict) {
		return nil // another campaign is open, or another instance started this one
	}
	if err != nil {
		return fmt.Errorf("start roster campaign: %w", err)
	}
	s.opt.Log.Info("roster renewal started", "campaign", camp.ID, "admins", len(camp.Requests), "deadline", camp.Deadline)
	return nil
}

// Start starts a campaign now (maillon roster start); the mails go out at
// the next tick.
func (s *Service) Start(ctx context.Context, a registry.Actor) (registry.RosterCampaign, error) {
	if s.opt.MailOff {
		return registry.RosterCampaign{}, ErrMailOff
	}
	return s.reg.StartRosterCampaign(ctx, a, s.opt.Roles, s.opt.Window)
}

// Status is the latest campaign.
func (s *Service) Status(ctx context.Context) (registry.RosterCampaign, error) {
	c, err := s.reg.RosterCampaign(ctx, 0)
	if errors.Is(err, registry.ErrNotFound) {
		return c, fmt.Errorf("no roster campaign yet: %w", registry.ErrNotFound)
	}
	return c, err
}

// advance sends a campaign's mails and applies its deadlines.
func (s *Service) advance(ctx context.Context, now time.Time, camp registry.RosterCampaign) []error {
	var errs []error
	revoked := false
	for _, r := range camp.Requests {
		switch {
		case r.State == registry.RosterPending && r.MailSentAt == nil && !s.opt.MailOff:
			if err := s.mailRequest(ctx, camp, r); err != nil {
				errs = append(errs, err)
			}
		case r.State == registry.RosterPending && r.MailSentAt != nil && r.ExpiresAt != nil && !now.Before(*r.ExpiresAt):
			done, err := s.reg.ExpireRosterRequest(ctx, r.ID)
			if registry.IsNotDue(err) {
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("remove the titles of %s: %w", r.AdminName, err))
				continue
			}
			s.opt.Log.Info("roster: no answer, titles removed", "admin", r.AdminName, "revoked", done.Revoked)
			revoked = revoked || len(done.Revoked) > 0
		}
	}
	if revoked {
		if err := s.revoked(ctx); err != nil {
			// The others are told once the KRL is out, not before.
			return append(errs, err)
		}
	}
	if s.opt.MailOff {
		return errs
	}
	camp, err := s.reg.RosterCampaign(ctx, camp.ID)
	if err != nil {
		return append(errs, err)
	}
	for _, r := range camp.Requests {
		if (r.State == registry.RosterRemoved || r.State == registry.RosterSteppedDown) && r.NoticeSentAt == nil {
			if err := s.tellOthers(ctx, r); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

func (s *Service) revoked(ctx context.Context) error {
	if s.opt.Revoked == nil {
		return nil
	}
	if err := s.opt.Revoked(ctx); err != nil {
		return fmt.Errorf("KRL after roster revocations: %w", err)
	}
	return nil
}

// Link is the answer page of a token.
func (s *Service) Link(token string) string {
	base := ""
	if s.opt.LinkBase != nil {
		base = s.opt.LinkBase()
	}
	return strings.TrimRight(base, "/") + "/roster/confirm/" + url.PathEscape(token)
}

// unit gives one claim-send-record sequence a context that a stopping
// daemon does not cancel (only a timeout ends it): a mail that went out
// but was not recorded would go out again after a restart.
func unit(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
}

func (s *Service) mailRequest(ctx context.Context, camp registry.RosterCampaign, r registry.RosterRequest) error {
	if ctx.Err() != nil {
		return nil
	}
	ctx, cancel := unit(ctx)
	defer cancel()
	token, claimed, err := s.reg.ClaimRosterMail(ctx, r.ID, s.opt.Retry)
	if registry.IsNotDue(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("roster mail to %s: %w", r.AdminName, err)
	}
	r = claimed
	link := s.Link(token)
	sendErr := s.opt.Mail.Send(ctx, notify.Message{
		To:      []string{r.Email},
		Subject: fmt.Sprintf("Roster renewal: do you keep your title (%s)? Answer by %s", roleList(r.Roles), day(*r.ExpiresAt)),
		Text:    renewalText(r, link),
		URL:     link,
	})
	if _, err := s.reg.RecordRosterMail(ctx, r.ID, sendErr); err != nil {
		return errors.Join(sendErr, err)
	}
	if sendErr != nil {
		return fmt.Errorf("roster mail to %s: %w", r.AdminName, sendErr)
	}
	s.opt.Log.Info("roster mail sent", "campaign", camp.ID, "admin", r.AdminName, "deadline", r.ExpiresAt)
	return nil
}

func roleList(roles []registry.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func renewalText(r registry.RosterRequest, link string) string {
	return fmt.Sprintf(`Hello %s,

Once a year every admin holding a title is asked whether they keep it.
You hold: %s.

Please answer by %s, on this page:

  %s

It asks you to keep your title or to step down (the link works once).
Without an answer by then, the title is removed, your SSH certificates
are revoked, and the other admins are told.

From a machine where you use the maillon CLI, "maillon roster confirm"
(or "maillon roster step-down") answers too.
`, r.AdminName, roleList(r.Roles), day(*r.ExpiresAt), link)
}

// tellOthers mails every other admin who still holds a role that someone
// left the roster.
func (s *Service) tellOthers(ctx context.Context, r registry.RosterRequest) error {
	if ctx.Err() != nil {
		return nil
	}
	ctx, cancel := unit(ctx)
	defer cancel()
	r, err := s.reg.ClaimRosterNotice(ctx, r.ID, s.opt.Retry)
	if registry.IsNotDue(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tell the admins: %w", err)
	}
	var admins []registry.Admin
	if err := s.reg.Read(ctx, func(rd registry.Reader) error {
		var err error
		admins, err = rd.ListAdmins(ctx)
		return err
	}); err != nil {
		return err
	}
	var to []string
	for _, a := range admins {
		if a.ID != r.AdminID && len(a.Roles) > 0 && !slices.Contains(to, a.Email) {
			to = append(to, a.Email)
		}
	}
	if len(to) > 0 {
		subject, text := noticeText(r)
		if err := s.opt.Mail.Send(ctx, notify.Message{To: to, Subject: subject, Text: text}); err != nil {
			return fmt.Errorf("tell the admins about %s: %w", r.AdminName, err)
		}
	}
	_, err = s.reg.RecordRosterNotice(ctx, r.ID, to)
	return err
}

func noticeText(r registry.RosterRequest) (subject, text string) {
	what := fmt.Sprintf("%s stepped down on %s", r.AdminName, day(*r.AnsweredAt))
	subject = fmt.Sprintf("Roster: %s stepped down (%s)", r.AdminName, roleList(r.Roles))
	if r.State == registry.RosterRemoved {
		what = fmt.Sprintf("%s did not answer the roster renewal by %s", r.AdminName, day(*r.ExpiresAt))
		subject = fmt.Sprintf("Roster: %s is no longer %s (no answer)", r.AdminName, roleList(r.Roles))
	}
	certs := "They held no SSH certificate."
	if len(r.Revoked) > 0 {
		serials := make([]string, len(r.Revoked))
		for i, n := range r.Revoked {
			serials[i] = fmt.Sprint(n)
		}
		certs = fmt.Sprintf("Their SSH certificates were revoked (serials %s) and the KRL rewritten;\nservers that fetch it from maillon refuse them from their next copy.", strings.Join(serials, ", "))
	}
	text = fmt.Sprintf(`%s: the title %s was removed.
%s

"maillon roster status" shows the whole campaign, "maillon audit --entity
roster_request" every step.
`, what, roleList(r.Roles), certs)
	return subject, text
}

// Answer answers for an admin (the CLI and the API).
func (s *Service) Answer(ctx context.Context, a registry.Actor, adminID int64, keep bool) (registry.RosterRequest, error) {
	r, err := s.reg.AnswerRoster(ctx, a, adminID, keep)
	return r, s.answered(ctx, r, err)
}

// Lookup returns the request a link's token answers, without answering.
func (s *Service) Lookup(ctx context.Context, token string) (registry.RosterRequest, error) {
	return s.reg.RosterRequestByToken(ctx, token)
}

// AnswerToken answers through a link.
func (s *Service) AnswerToken(ctx context.Context, token string, keep bool) (registry.RosterRequest, error) {
	r, err := s.reg.AnswerRosterByToken(ctx, token, keep)
	return r, s.answered(ctx, r, err)
}

// answered rewrites the KRL when stepping down revoked certificates; the
// notice to the others goes out at the next tick.
func (s *Service) answered(ctx context.Context, r registry.RosterRequest, err error) error {
	if err != nil {
		return err
	}
	s.opt.Log.Info("roster answer", "admin", r.AdminName, "state", r.State, "by", r.AnsweredBy)
	if len(r.Revoked) > 0 {
		return s.revoked(ctx)
	}
	return nil
}

// remind mails the admin of each user certificate expiring within the
// reminder lead, once per certificate. A certificate renewed on the same
// key (a later one on it lasts longer) needs no reminder.
func (s *Service) remind(ctx context.Context, now time.Time) error {
	if s.opt.Reminder <= 0 || s.opt.MailOff {
		return nil
	}
	var due []registry.Certificate
	err := s.reg.Read(ctx, func(r registry.Reader) error {
		active, err := r.ListCertificates(ctx, registry.CertificateFilter{Kind: registry.CertUser, ActiveAt: now})
		if err != nil {
			return err
		}
		for _, c := range active {
			if c.AdminID == nil || c.ValidBefore.After(now.Add(s.opt.Reminder)) || superseded(c, active) {
				continue
			}
			rem, err := r.GetCertReminder(ctx, c.Serial)
			if err == nil && rem.SentAt != nil {
				continue
			}
			if err != nil && !errors.Is(err, registry.ErrNotFound) {
				return err
			}
			due = append(due, c)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("certificate reminders: %w", err)
	}
	var errs []error
	for _, c := range due {
		if err := s.remindOne(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) remindOne(ctx context.Context, c registry.Certificate) error {
	if ctx.Err() != nil {
		return nil
	}
	ctx, cancel := unit(ctx)
	defer cancel()
	cert, admin, err := s.reg.ClaimCertReminder(ctx, c.Serial, s.opt.Retry)
	if registry.IsNotDue(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.opt.Mail.Send(ctx, notify.Message{
		To:      []string{admin.Email},
		Subject: fmt.Sprintf("Your SSH certificate %d expires on %s", cert.Serial, day(cert.ValidBefore)),
		Text:    reminderText(admin, cert),
	}); err != nil {
		return fmt.Errorf("reminder of certificate %d to %s: %w", cert.Serial, admin.Name, err)
	}
	if err := s.reg.RecordCertReminder(ctx, cert.Serial, admin.Email); err != nil {
		return err
	}
	s.opt.Log.Info("certificate expiry reminder sent", "serial", cert.Serial, "admin", admin.Name, "expires", cert.ValidBefore)
	return nil
}

func superseded(c registry.Certificate, active []registry.Certificate) bool {
	return slices.ContainsFunc(active, func(o registry.Certificate) bool {
		return o.Serial != c.Serial && o.Fingerprint == c.Fingerprint && o.ValidBefore.After(c.ValidBefore)
	})
}

func reminderText(a registry.Admin, c registry.Certificate) string {
	return fmt.Sprintf(`Hello %s,

Your SSH certificate %d expires on %s:
  key         %s
  principals  %s

After that date servers refuse it. Have your key signed again, for example:

  maillon ca sign-user %s ~/.ssh/id_ed25519.pub > ~/.ssh/id_ed25519-cert.pub
`, a.Name, c.Serial, day(c.ValidBefore), c.Fingerprint, strings.Join(c.Principals, ", "), a.Email)
}
