package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"maillon/internal/accounting"
)

// subjectFlags adds --member and --subscription, which take any ref.
func subjectFlags(cmd *cobra.Command, q url.Values) func() {
	member := cmd.Flags().String("member", "", "only this member (id, email, login, IP or MAC)")
	sub := cmd.Flags().String("subscription", "", "only this line (id, login, IP or MAC)")
	return func() {
		if *member != "" {
			q.Set("member", *member)
		}
		if *sub != "" {
			q.Set("subscription", *sub)
		}
	}
}

func usageCmd(s *session) *cobra.Command {
	q := url.Values{}
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Daily traffic (UTC days) per line, from RADIUS accounting",
		Example: `  maillon usage --member demo1@DEMO --from 2026-11-01
  maillon usage --from 2026-10-01 --to 2026-10-31 --csv > october.csv`,
		Args: exactArgs(0, "no arguments (filter with --member, --subscription, --from, --to)"),
	}
	setSubject := subjectFlags(cmd, q)
	from := cmd.Flags().String("from", "", "first day, YYYY-MM-DD")
	to := cmd.Flags().String("to", "", "last day, YYYY-MM-DD")
	asCSV := cmd.Flags().Bool("csv", false, "CSV with member names and logins, for invoicing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		setSubject()
		for flag, v := range map[string]string{"--from": *from, "--to": *to} {
			if v == "" {
				continue
			}
			if _, err := time.Parse("2006-01-02", v); err != nil {
				return fmt.Errorf("%s %q is not a day (YYYY-MM-DD)", flag, v)
			}
		}
		if *from != "" {
			q.Set("from", *from)
		}
		if *to != "" {
			q.Set("to", *to)
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		if *asCSV {
			q.Set("format", "csv")
			return c.Download(s.ctx, "/api/v1/usage", q, s.stdout)
		}
		return listTable(s, "/api/v1/usage", q, []column[accounting.Day]{
			col("DAY", func(d *accounting.Day) string { return d.Day }),
			col("MEMBER", func(d *accounting.Day) string { return fmtID(d.MemberID) }),
			col("SUBSCRIPTION", func(d *accounting.Day) string { return fmtID(d.SubscriptionID) }),
			col("DOWNLOAD", func(d *accounting.Day) string { return fmtBytes(d.OutputOctets) }),
			col("UPLOAD", func(d *accounting.Day) string { return fmtBytes(d.InputOctets) }),
		})
	}
	return cmd
}

func sessionCmd(s *session) *cobra.Command {
	group := &cobra.Command{Use: "session", Short: "Sessions reported by the NAS (RADIUS accounting)"}
	q := url.Values{}
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List sessions, newest first",
		Example: "  maillon session list --open\n  maillon session list --member 198.51.100.7",
		Args:    exactArgs(0, "no arguments"),
	}
	setSubject := subjectFlags(list, q)
	open := list.Flags().Bool("open", false, "only open sessions")
	nas := list.Flags().String("nas", "", "only sessions of this NAS")
	limit := list.Flags().Int("limit", 50, "at most this many sessions")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		setSubject()
		if *open {
			q.Set("open", "true")
		}
		if *nas != "" {
			q.Set("nas", *nas)
		}
		q.Set("limit", strconv.Itoa(*limit))
		return listTable(s, "/api/v1/sessions", q, []column[accounting.Session]{
			col("LOGIN", func(x *accounting.Session) string { return x.Login }),
			col("NAS", func(x *accounting.Session) string { return x.NAS }),
			col("SESSION", func(x *accounting.Session) string { return x.SessionID }),
			col("IPV4", func(x *accounting.Session) string { return textOrEmpty(x.IPv4.IsValid(), x.IPv4.String()) }),
			col("STARTED", func(x *accounting.Session) string { return fmtTime(x.StartedAt) }),
			col("DURATION", func(x *accounting.Session) string { return (time.Duration(x.SessionTime) * time.Second).String() }),
			col("DOWN", func(x *accounting.Session) string { return fmtBytes(x.OutputOctets) }),
			col("UP", func(x *accounting.Session) string { return fmtBytes(x.InputOctets) }),
			col("STATE", func(x *accounting.Session) string {
				if x.Open() {
					return "open"
				}
				return "closed (" + x.StopReason + ")"
			}),
		})
	}
	group.AddCommand(list)
	return group
}

func textOrEmpty(ok bool, s string) string {
	if !ok {
		return ""
	}
	return s
}

// fmtBytes prints a byte count in binary units, as traffic is read.
func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
