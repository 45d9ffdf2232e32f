package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"maillon/internal/client"
	"maillon/internal/registry"
)

func rosterCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:   "roster",
		Short: "Yearly roster renewal: who keeps their title, who is still to answer",
		Long: `Once a year (roster.renewal in the configuration) every admin holding a
title (roster.roles, technical-officer by default) is mailed a link asking
whether they keep it. Whoever has not answered when the window ends
(roster.window, two weeks) loses the title and their SSH certificates,
and the other admins are told. Every step is in the audit log
(maillon audit --entity roster_request).`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	group.AddCommand(rosterStatusCmd(s), rosterStartCmd(s), rosterAnswerCmd(s, "confirm", "keep"), rosterAnswerCmd(s, "step-down", "step-down"))
	return group
}

func rosterStatusCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "The current (or last) campaign: who answered, who is pending, deadlines",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			var camp registry.RosterCampaign
			if err := c.Do(s.ctx, "GET", "/api/v1/roster", nil, nil, &camp); err != nil {
				var ae *client.APIError
				if errors.As(err, &ae) && ae.Status == http.StatusNotFound && !s.json {
					// Nothing yet is an answer, not a failure.
					_, err := fmt.Fprintln(s.stdout, "no roster campaign yet: the first starts on roster.renewal, or with \"maillon roster start\"")
					return err
				}
				return err
			}
			if s.json {
				return printJSON(s.stdout, camp)
			}
			return writeCampaign(s, &camp)
		},
	}
}

func writeCampaign(s *session, camp *registry.RosterCampaign) error {
	roles := make([]string, len(camp.Roles))
	for i, r := range camp.Roles {
		roles[i] = string(r)
	}
	p := (&props{}).add("campaign", fmtID(camp.ID)).add("state", camp.State).add("roles", strings.Join(roles, ", ")).
		add("started", fmtTime(camp.StartedAt)+" by "+camp.StartedBy).add("deadline", fmtTime(camp.Deadline))
	if camp.ClosedAt != nil {
		p.add("closed", fmtTime(*camp.ClosedAt))
	}
	if err := p.write(s.stdout); err != nil {
		return err
	}
	fmt.Fprintln(s.stdout)
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return fmtTime(*t)
	}
	return writeTable(s.stdout, s.now(), camp.Requests, []column[registry.RosterRequest]{
		col("ADMIN", func(r *registry.RosterRequest) string { return r.AdminName }),
		col("EMAIL", func(r *registry.RosterRequest) string { return r.Email }),
		col("STATE", func(r *registry.RosterRequest) string { return r.State }),
		col("MAILED", func(r *registry.RosterRequest) string {
			if r.MailSentAt == nil && r.MailError != "" {
				// The relay's own words end the error; --json has it all.
				parts := strings.Split(r.MailError, ": ")
				return "failed, retrying (" + strings.Join(parts[max(0, len(parts)-2):], ": ") + ")"
			}
			return at(r.MailSentAt)
		}),
		col("DEADLINE", func(r *registry.RosterRequest) string { return at(r.ExpiresAt) }),
		col("ANSWERED", func(r *registry.RosterRequest) string {
			if r.AnsweredAt == nil {
				return ""
			}
			return at(r.AnsweredAt) + " by " + r.AnsweredBy
		}),
		col("REVOKED", func(r *registry.RosterRequest) string {
			serials := make([]string, len(r.Revoked))
			for i, n := range r.Revoked {
				serials[i] = fmtID(n)
			}
			return strings.Join(serials, ",")
		}),
	})
}

func rosterStartCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "start",
		Short: "Start a campaign now, whatever the date (the mails go out at once)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			var camp registry.RosterCampaign
			if err := c.Do(s.ctx, "POST", "/api/v1/roster/campaigns", nil, nil, &camp); err != nil {
				return err
			}
			if s.json {
				return printJSON(s.stdout, camp)
			}
			fmt.Fprintf(s.stdout, "roster campaign %d started: %d admin(s) asked, answers due by %s\n", camp.ID, len(camp.Requests), fmtTime(camp.Deadline))
			return nil
		},
	}
}

func rosterAnswerCmd(s *session, use, answer string) *cobra.Command {
	cmd := &cobra.Command{
		Use: use,
		Short: map[string]string{
			"keep":      "Keep your title in the open campaign",
			"step-down": "Step down: your title goes now and your SSH certificates are revoked",
		}[answer],
		Example: fmt.Sprintf("  maillon --url https://maillon.example.org roster %s\n  maillon roster %s --admin ada@example.org   # on the admin socket", use, use),
		Args:    exactArgs(0, "no arguments (--admin names someone else)"),
	}
	admin := cmd.Flags().String("admin", "", "answer for this admin (id, name or email); with a token, yourself by default")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := s.Client()
		if err != nil {
			return err
		}
		body := map[string]string{"answer": answer}
		if *admin != "" {
			body["admin"] = *admin
		}
		var r registry.RosterRequest
		if err := c.Do(s.ctx, "POST", "/api/v1/roster/answer", nil, body, &r); err != nil {
			return err
		}
		if s.json {
			return printJSON(s.stdout, r)
		}
		if r.State == registry.RosterKept {
			fmt.Fprintf(s.stdout, "%s keeps their title\n", r.AdminName)
			return nil
		}
		fmt.Fprintf(s.stdout, "%s stepped down; %d certificate(s) revoked\n", r.AdminName, len(r.Revoked))
		return nil
	}
	return cmd
}
