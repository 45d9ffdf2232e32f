package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"maillon/internal/client"
	"maillon/internal/registry"
)

func journalCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:   "journal",
		Short: "Interventions journal: who did what on which host, and the agents' change reports",
		Long: `Each host has a journal: the interventions admins write down ("maillon
journal add"), signed with who they are, and the reports of the host's
agent ("maillon agent") on which files and packages changed.`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	group.AddCommand(journalAddCmd(s), journalListCmd(s), journalShowCmd(s), agentTokenCmd(s))
	return group
}

// parseWhen reads a time given on the command line: RFC 3339, or a date
// and time in the local time zone.
func parseWhen(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(strings.TrimSuffix(v, " ago")); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2026-11-20 14:00, RFC 3339, or a duration ago like 2h)", v)
}

func journalAddCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add HOST TEXT...",
		Short: "Write down an intervention on a host, signed by you",
		Example: `  maillon journal add gw1 "replaced the PSU"
  maillon journal add gw1 "rebooted after the kernel upgrade" --maintenance 4 --at "2026-11-20 22:30"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("%s takes a host (id, name or address) and what was done", cmd.CommandPath())
			}
			return nil
		},
	}
	at := cmd.Flags().String("at", "", "when it happened, if not now (2026-11-20 14:00, RFC 3339, or 2h for two hours ago)")
	incident := cmd.Flags().Int64("incident", 0, "the status-page incident this was about")
	maintenance := cmd.Flags().Int64("maintenance", 0, "the planned maintenance this was part of")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		in := client.JournalEntryInput{Host: args[0], Text: strings.Join(args[1:], " ")}
		if *at != "" {
			t, err := parseWhen(*at, s.now())
			if err != nil {
				return usagef("--at: %v", err)
			}
			in.At = &t
		}
		switch {
		case *incident != 0 && *maintenance != 0:
			return usagef("give --incident or --maintenance, not both")
		case *incident != 0:
			in.RelatedKind, in.RelatedID = registry.RelatedIncident, incident
		case *maintenance != 0:
			in.RelatedKind, in.RelatedID = registry.RelatedMaintenance, maintenance
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		e, err := c.AddJournalEntry(s.ctx, in)
		if err != nil {
			return err
		}
		if s.json {
			return printJSON(s.stdout, e)
		}
		_, err = fmt.Fprintf(s.stdout, "journal entry %d on %s by %s at %s\n", e.ID, e.Host, e.Author, fmtTime(e.At))
		return err
	}
	return cmd
}

func related(e *registry.JournalEntry) string {
	if e.RelatedKind == "" || e.RelatedID == nil {
		return ""
	}
	return e.RelatedKind + " " + fmtID(*e.RelatedID)
}

func journalListCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [HOST]",
		Short:   "List the journal, newest first: one host's, or the whole network's",
		Example: "  maillon journal list gw1\n  maillon journal list --kind change-report --limit 10\n  maillon journal list gw1 --json   # with the reports' files and packages",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("%s takes at most one host", cmd.CommandPath())
			}
			return nil
		},
	}
	kind := cmd.Flags().String("kind", "", "intervention or change-report")
	limit := cmd.Flags().Int("limit", 50, "at most this many (0: all)")
	before := cmd.Flags().Int64("before", 0, "only entries older than this id (to page back)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		q := client.JournalQuery{Kind: registry.JournalKind(*kind), Limit: *limit, Before: *before}
		if *kind != "" {
			if err := oneOf(*kind, []string{string(registry.JournalIntervention), string(registry.JournalChangeReport)}); err != nil {
				return usagef("--kind: %v", err)
			}
		}
		if *limit < 0 {
			return usagef("--limit: %d is negative", *limit)
		}
		if len(args) == 1 {
			q.Host = args[0]
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		items, err := c.Journal(s.ctx, q)
		if err != nil {
			return err
		}
		if s.json {
			return printItems(s.stdout, items)
		}
		return writeTable(s.stdout, s.now(), items, []column[registry.JournalEntry]{
			col("ID", func(e *registry.JournalEntry) string { return fmtID(e.ID) }),
			col("WHEN", func(e *registry.JournalEntry) string { return fmtTime(e.At) }),
			col("HOST", func(e *registry.JournalEntry) string { return e.Host }),
			col("WHO", func(e *registry.JournalEntry) string { return e.Author }),
			col("RELATED", related),
			col("WHAT", func(e *registry.JournalEntry) string { return oneLine(e.Text) }),
		})
	}
	return cmd
}

func journalShowCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a journal entry; for a change report, its files and packages",
		Args:  exactArgs(1, "one entry id (maillon journal list shows them)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef("%q is not an entry id (maillon journal list shows them)", args[0])
			}
			c, err := s.Client()
			if err != nil {
				return err
			}
			e, err := c.JournalEntry(s.ctx, id)
			if err != nil {
				return err
			}
			if s.json {
				return printJSON(s.stdout, e)
			}
			p := &props{}
			p.add("id", fmtID(e.ID)).add("host", e.Host).add("kind", string(e.Kind)).add("when", fmtTime(e.At)).
				add("who", e.Author).add("related", related(&e)).add("recorded", fmtTime(e.CreatedAt)).add("what", e.Text)
			if r := e.Report; r != nil {
				p.add("report", r.ID).add("changes seen", fmtTime(r.FirstChange)+" to "+fmtTime(r.LastChange)).add("diffs on the host", r.History)
			}
			if err := p.write(s.stdout); err != nil {
				return err
			}
			if e.Report == nil {
				return nil
			}
			if len(e.Report.Files) > 0 {
				fmt.Fprintln(s.stdout)
				if err := writeTable(s.stdout, s.now(), e.Report.Files, []column[registry.FileChange]{
					col("CHANGE", func(f *registry.FileChange) string { return f.Change }),
					col("PATH", func(f *registry.FileChange) string { return f.Path }),
					col("MODE", func(f *registry.FileChange) string { return arrow(f.OldMode, f.Mode) }),
					col("OWNER", func(f *registry.FileChange) string { return arrow(f.OldOwner, f.Owner) }),
					col("SHA256", func(f *registry.FileChange) string { return short(f.SHA256) }),
				}); err != nil {
					return err
				}
			}
			if len(e.Report.Packages) > 0 {
				fmt.Fprintln(s.stdout)
				if err := writeTable(s.stdout, s.now(), e.Report.Packages, []column[registry.PackageChange]{
					col("CHANGE", func(p *registry.PackageChange) string { return p.Change }),
					col("PACKAGE", func(p *registry.PackageChange) string { return p.Name }),
					col("ARCH", func(p *registry.PackageChange) string { return p.Arch }),
					col("VERSION", func(p *registry.PackageChange) string { return arrow(p.OldVersion, p.Version) }),
					col("STATE", func(p *registry.PackageChange) string { return arrow(p.OldState, p.State) }),
				}); err != nil {
					return err
				}
			}
			if more := e.Report.FilesTotal - len(e.Report.Files) + e.Report.PackagesTotal - len(e.Report.Packages); more > 0 {
				fmt.Fprintf(s.stdout, "\n(%d more changes were counted but not listed)\n", more)
			}
			return nil
		},
	}
}

// arrow shows a value that changed as "old -> new".
func arrow(old, now string) string {
	if old == "" || old == now {
		return now
	}
	if now == "" {
		now = "-"
	}
	return old + " -> " + now
}

func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16]
	}
	return sum
}

func agentTokenCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:   "token",
		Short: "Tokens of the hosts' agents: each may only post its own host's reports",
		Args:  noSubcommand,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	add := &cobra.Command{
		Use:     "create HOST",
		Short:   "Issue a token for a host's agent; it is printed once, keep it in the agent's token file",
		Example: "  maillon journal token create gw1 | ssh root@gw1 'umask 077; cat > /etc/maillon/agent.token'",
		Args:    exactArgs(1, "one host (id, name or address)"),
	}
	name := add.Flags().String("name", "", "what the token is for (default agent)")
	add.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := s.Client()
		if err != nil {
			return err
		}
		t, err := c.CreateAgentToken(s.ctx, args[0], *name)
		if err != nil {
			return err
		}
		if s.json {
			return printJSON(s.stdout, t)
		}
		fmt.Fprintf(s.stderr, "agent token %d for host %s (shown only now)\n", t.Info.ID, t.Info.Host)
		_, err = fmt.Fprintln(s.stdout, t.Token)
		return err
	}
	list := &cobra.Command{
		Use:   "list [HOST]",
		Short: "List agent tokens (never the tokens themselves)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("%s takes at most one host", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			host := ""
			if len(args) == 1 {
				host = args[0]
			}
			items, err := c.AgentTokens(s.ctx, host)
			if err != nil {
				return err
			}
			if s.json {
				return printItems(s.stdout, items)
			}
			return writeTable(s.stdout, s.now(), items, []column[registry.AgentToken]{
				col("ID", func(t *registry.AgentToken) string { return fmtID(t.ID) }),
				col("HOST", func(t *registry.AgentToken) string { return t.Host }),
				col("NAME", func(t *registry.AgentToken) string { return t.Name }),
				col("CREATED", func(t *registry.AgentToken) string { return fmtTime(t.CreatedAt) }),
				col("BY", func(t *registry.AgentToken) string { return t.CreatedBy }),
				col("LAST USED", func(t *registry.AgentToken) string {
					if t.LastUsedAt == nil {
						return "never"
					}
					return fmtTime(*t.LastUsedAt)
				}),
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an agent token",
		Args:  exactArgs(1, "one token id (maillon journal token list shows them)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef("%q is not a token id", args[0])
			}
			c, err := s.Client()
			if err != nil {
				return err
			}
			if err := c.RevokeAgentToken(s.ctx, id); err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.stdout, "revoked agent token %d\n", id)
			return err
		},
	}
	group.AddCommand(add, list, revoke)
	return group
}
