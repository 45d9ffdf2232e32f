package app

import (
	"context"
	"strings"

	"maillon/internal/notify"
	"maillon/internal/registry"
	"maillon/internal/status"
	"maillon/internal/web"
)

// memberMailer mails the member pages' login links through the configured
// SMTP relay.
type memberMailer struct{ email notify.Sender }

func (m memberMailer) Mail(ctx context.Context, to, subject, text string) error {
	return m.email.Send(ctx, notify.Message{To: []string{to}, Subject: subject, Text: text,
		// RFC 3834: no out-of-office reply to a login link.
		Headers: map[string]string{"Auto-Submitted": "auto-generated"}})
}

// memberMailerOf is nil when email is off, which hides the emailed login.
func memberMailerOf(n *notify.Notifier) web.Mailer {
	if !n.EmailEnabled() {
		return nil
	}
	return memberMailer{n.Email()}
}

// memberNotices lists, for a member's page, the maintenance not over yet
// and the incidents not resolved that affect one of their lines, computed
// the way the status page picks whom to email (status.MemberAffected).
func (a *App) memberNotices(ctx context.Context, memberID int64) ([]web.MemberNotice, error) {
	now := a.reg.Now()
	var out []web.MemberNotice
	url := strings.TrimRight(a.cfg.Status.PublicURL, "/")
	err := a.reg.Read(ctx, func(r registry.Reader) error {
		affects := func(components []int64) (bool, error) {
			return status.MemberAffected(ctx, r, memberID, components)
		}
		maint, err := r.ListMaintenance(ctx, now)
		if err != nil {
			return err
		}
		for _, m := range maint {
			if m.CancelledAt != nil {
				continue
			}
			ok, err := affects(m.Components)
			if err != nil {
				return err
			}
			if ok {
				end := m.EndsAt
				out = append(out, web.MemberNotice{Kind: "maintenance", Title: m.Title, Start: m.StartsAt, End: &end, URL: url})
			}
		}
		// Incidents open for longer than a month are rare; the status
		// page shows those.
		incs, err := r.ListIncidents(ctx, now.AddDate(0, -1, 0))
		if err != nil {
			return err
		}
		for _, in := range incs {
			if in.ResolvedAt != nil {
				continue
			}
			ok, err := affects(in.Components)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, web.MemberNotice{Kind: "incident", Title: in.Title, Start: in.StartedAt, URL: url})
			}
		}
		return nil
	})
	return out, err
}
