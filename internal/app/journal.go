package app

import (
	"context"
	"time"

	"maillon/internal/config"
	"maillon/internal/journal"
	"maillon/internal/notify"
	"maillon/internal/registry"
)

// journalWeb is the journal as the web layer sees it: a change report
// recorded for the first time is announced where journal.notify says.
// The announcement leaves from the instance that took the report, so
// several instances sharing a database do not announce it each.
type journalWeb struct {
	*registry.Service
	announce func(registry.JournalEntry)
}

func (j journalWeb) RecordChangeReport(ctx context.Context, token registry.AgentToken, rep registry.ChangeReport) (registry.JournalEntry, bool, error) {
	e, created, err := j.Service.RecordChangeReport(ctx, token, rep)
	if err == nil && created {
		j.announce(e)
	}
	return e, created, err
}

// announceReport tells the configured channels, and the admins if asked,
// about a change report, in the background: the agent's answer does not
// wait for a mail relay.
func (a *App) announceReport(e registry.JournalEntry) {
	names := a.cfg.Journal.Notify
	if len(names) == 0 {
		return
	}
	subject, text := journal.Announcement(e, "")
	msg := notify.Message{Subject: subject, Text: text, Severity: "info", Headers: map[string]string{"Auto-Submitted": "auto-generated"}}
	log := a.log.With("subsystem", "journal", "entry", e.ID, "host", e.Host)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, name := range names {
			var err error
			if name == config.JournalAdmins {
				m := msg
				if m.To, err = a.adminEmails(ctx); err == nil && len(m.To) > 0 {
					err = a.notify.Email().Send(ctx, m)
				}
			} else if ch, ok := a.notify.Channel(name); ok {
				err = ch.Send(ctx, msg)
			}
			if err != nil {
				log.Warn("journal: announcing a change report failed", "to", name, "err", err)
			}
		}
	}()
}

// adminEmails are those who may act on a host: admins and technical
// officers.
func (a *App) adminEmails(ctx context.Context) ([]string, error) {
	var out []string
	err := a.reg.Read(ctx, func(r registry.Reader) error {
		admins, err := r.ListAdmins(ctx)
		for _, ad := range admins {
			if ad.CanWrite() {
				out = append(out, ad.Email)
			}
		}
		return err
	})
	return out, err
}
