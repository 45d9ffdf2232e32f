package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"maillon/internal/registry"
	"maillon/internal/web"
)

func init() { entities = append(entities, checkEntity) }

var checkEntity = &entity{
	name: "check", aliases: []string{"checks"}, path: "checks",
	short: "monitoring checks (http, tcp, icmp, dns, radius, push) and their dependencies", refHelp: "id or name",
	fields: []field{
		txt("name", "name", "name"),
		{flag: "kind", key: "kind", kind: asChoice, usage: "what it probes",
			choices: names(registry.CheckHTTP, registry.CheckTCP, registry.CheckICMP, registry.CheckDNS, registry.CheckRADIUS, registry.CheckPush)},
		{flag: "host", key: "host_id", kind: asRef, target: "hosts", usage: "the host it watches (id, name or address; none to detach)"},
		{flag: "site", key: "site_id", kind: asRef, target: "sites", usage: "the site it watches, e.g. a residence's uplink"},
		{flag: "nas", key: "nas_id", kind: asRef, target: "nas", usage: "the NAS it watches"},
		txt("service", "service", "a named service it watches (mail, vpn, web)"),
		txt("url", "url", "http: the URL to fetch"),
		{flag: "expect-status", key: "expect_status", kind: asNumber, usage: "http: the status wanted (default any 2xx/3xx)"},
		txt("match", "body_match", "http: text the body must contain; dns: the answer wanted (e.g. 192.0.2.10)"),
		{flag: "cert-days", key: "cert_days", kind: asNumber, usage: "https: down when the certificate expires within this many days"},
		txt("address", "address", "tcp, dns, radius: host:port; icmp: host"),
		txt("query", "query_name", "dns: the name to ask"),
		txt("type", "query_type", "dns: the record type (default A)"),
		txt("interval", "interval", "time between probes (60s, 5m); push: the period within which a call must come (1d)"),
		txt("timeout", "timeout", "probe timeout (10s); push: the grace after the period"),
		{flag: "retries", key: "retries", kind: asNumber, usage: "failures in a row tolerated before it is down"},
		{flag: "severity", key: "severity", kind: asChoice, usage: "severity of its alerts",
			choices: names(registry.SeverityInfo, registry.SeverityWarning, registry.SeverityCritical)},
		{flag: "tag", key: "tags", kind: asLines, usage: "tag for routing and silences (repeatable; replaces all)"},
		{flag: "parent", key: "parents", kind: asLines, usage: "check this one depends on (id or name; repeatable; replaces all)"},
		{flag: "enabled", key: "enabled", kind: asBool, usage: "run it (--enabled=false pauses it)"},
		{flag: "secret", key: "secret", kind: asSecret, usage: "radius: the shared secret (- reads it from stdin); never shown again"},
		{flag: "rotate-token", key: "rotate_token", kind: asBool, usage: "push: a new URL; the old one stops working"},
	},
	newInput: func() any { return &registry.CheckInput{} },
	list: table(
		col("ID", func(c *registry.Check) string { return fmtID(c.ID) }),
		col("NAME", func(c *registry.Check) string { return c.Name }),
		col("KIND", func(c *registry.Check) string { return string(c.Kind) }),
		col("WHAT", checkWhat),
		col("STATE", func(c *registry.Check) string { return checkState(c) }),
		colAt("SINCE", func(now time.Time, c *registry.Check) string {
			if c.State == nil || c.State.Since.IsZero() {
				return ""
			}
			return ago(now, c.State.Since)
		}),
		col("MESSAGE", func(c *registry.Check) string {
			if c.State == nil {
				return ""
			}
			if c.State.Cause != "" {
				return "behind " + c.State.Cause
			}
			return oneLine(c.State.Message)
		}),
	),
	show: detail(showCheck),
	examples: []string{
		`maillon check add --name web --kind http --url https://neutrinet.be --match Neutrinet --cert-days 14 --service web --severity critical`,
		`maillon check add --name sw-fleming --kind icmp --address 10.0.3.2 --host sw-fleming --retries 2`,
		`maillon check add --name borgmatic --kind push --interval 1d --timeout 2h --host backup1   # prints the URL to call`,
		`maillon check list`,
		`maillon check show web`,
		`maillon check update ap1 --parent sw-fleming`,
		`maillon check delete web`,
	},
	more: checkGraphCmd,
}

func checkWhat(c *registry.Check) string {
	switch c.Kind {
	case registry.CheckHTTP:
		return c.URL
	case registry.CheckDNS:
		return c.QueryName + " " + c.QueryType + " @" + c.Address
	case registry.CheckPush:
		return "every " + (time.Duration(c.IntervalSeconds) * time.Second).String()
	}
	return c.Address
}

func checkState(c *registry.Check) string {
	if c.State == nil {
		return registry.StateUnknown
	}
	return c.State.State
}

func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

func showCheck(s *session, w io.Writer, c *registry.Check) error {
	p := &props{}
	p.add("id", fmtID(c.ID)).add("name", c.Name).add("kind", string(c.Kind))
	if c.TargetType != "" {
		target := c.Service
		if c.TargetID != nil {
			coll := map[string]string{registry.TargetHost: "hosts", registry.TargetSite: "sites", registry.TargetNAS: "nas"}[c.TargetType]
			n, err := s.named(coll, c.TargetID)
			if err != nil {
				return err
			}
			target = n
		}
		p.add("watches", c.TargetType+" "+target)
	}
	p.add("url", c.URL).add("address", c.Address)
	if c.ExpectStatus != 0 {
		p.add("expect status", strconv.Itoa(c.ExpectStatus))
	}
	p.add("match", c.BodyMatch)
	if c.CertDays > 0 {
		p.add("certificate", fmt.Sprintf("down within %d days of expiry", c.CertDays))
	}
	if c.QueryName != "" {
		p.add("query", c.QueryName+" "+c.QueryType)
	}
	p.add("interval", (time.Duration(c.IntervalSeconds)*time.Second).String()).
		add("timeout", (time.Duration(c.TimeoutSeconds)*time.Second).String()).
		add("retries", strconv.Itoa(c.Retries)).add("severity", c.Severity).add("tags", strings.Join(c.Tags, ", "))
	var parents []string
	for _, id := range c.Parents {
		parents = append(parents, fmtID(id))
	}
	p.add("parents", strings.Join(parents, ", ")).add("enabled", fmtYesNo(c.Enabled))
	if c.Kind == registry.CheckRADIUS {
		p.add("secret", fmtSecretSet(c.SecretSet))
	}
	if c.PushURL != "" {
		p.add("push URL", c.PushURL+"   (shown once: call it with curl -fsS, ?status=down&msg=... on failure)")
	}
	if st := c.State; st != nil {
		p.add("state", st.State+" since "+fmtTime(st.Since))
		if st.Cause != "" {
			p.add("cause", "depends on "+st.Cause+", which fails")
		}
		p.add("message", st.Message)
		if st.LastRun != nil {
			p.add("last run", fmt.Sprintf("%s (%.1f ms)", fmtTime(*st.LastRun), st.LatencyMS))
		}
		if st.CertExpiry != nil {
			p.add("cert expiry", fmtTime(*st.CertExpiry))
		}
	}
	return p.add("created", fmtTime(c.CreatedAt)).add("updated", fmtTime(c.UpdatedAt)).write(w)
}

func checkGraphCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "graph",
		Short: "Show the dependency graph: each check under the checks it depends on, with why",
		Long: `A check depends on the parents it was given (--parent) and on those the
registry implies: an object's ICMP checks are its base, its other checks
depend on them, and its base depends on the base of the site it is in.
When a parent fails, its descendants are "unreachable", not "down": one
alert, not thirty.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			var g web.CheckGraphView
			if err := c.Do(s.ctx, "GET", "/api/v1/checks/graph", nil, nil, &g); err != nil {
				return err
			}
			if s.json {
				return printJSON(s.stdout, g)
			}
			if g.Text == "" {
				fmt.Fprintln(s.stdout, "no checks")
				return nil
			}
			_, err = io.WriteString(s.stdout, g.Text)
			return err
		},
	}
}

func alertCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:     "alert",
		Aliases: []string{"alerts"},
		Short:   "Alerts: list, show, acknowledge",
		Long: `An alert is raised when a check goes down (not when it is only unreachable
behind a failing parent) or when Alertmanager forwards one. Acknowledging
stops repeats and escalation, and tells those who were alerted.`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List alerts, newest first (firing ones by default)",
		Args:  exactArgs(0, "no arguments"),
	}
	all := list.Flags().Bool("all", false, "resolved ones too")
	limit := list.Flags().Int("limit", 50, "at most this many")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if !*all {
			q.Set("state", registry.AlertFiring)
		}
		return listTable(s, "/api/v1/alerts", q, []column[registry.Alert]{
			col("ID", func(a *registry.Alert) string { return fmtID(a.ID) }),
			col("NAME", func(a *registry.Alert) string { return a.Name }),
			col("SEVERITY", func(a *registry.Alert) string { return a.Severity }),
			col("STATE", alertStatus),
			colAt("SINCE", func(now time.Time, a *registry.Alert) string { return ago(now, a.StartedAt) }),
			col("SUMMARY", func(a *registry.Alert) string { return oneLine(a.Summary) }),
		})
	}
	show := &cobra.Command{Use: "show ID", Short: "Show an alert", Args: exactArgs(1, "an alert id")}
	show.RunE = func(cmd *cobra.Command, args []string) error {
		return alertDo(s, "GET", "/api/v1/alerts/"+url.PathEscape(args[0]))
	}
	ack := &cobra.Command{
		Use:     "ack ID",
		Aliases: []string{"acknowledge"},
		Short:   "Acknowledge a firing alert: no more repeats nor escalation",
		Example: "  maillon alert ack 12",
		Args:    exactArgs(1, "an alert id"),
	}
	ack.RunE = func(cmd *cobra.Command, args []string) error {
		return alertDo(s, "POST", "/api/v1/alerts/"+url.PathEscape(args[0])+"/ack")
	}
	group.AddCommand(list, show, ack)
	return group
}

func alertStatus(a *registry.Alert) string {
	switch {
	case a.State == registry.AlertResolved:
		return "resolved"
	case a.AckedAt != nil:
		return "acknowledged"
	case a.Muted != "":
		return "muted"
	}
	return "firing"
}

func alertDo(s *session, method, path string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	var a registry.Alert
	if err := c.Do(s.ctx, method, path, nil, nil, &a); err != nil {
		return err
	}
	if s.json {
		return printJSON(s.stdout, a)
	}
	p := (&props{}).add("id", fmtID(a.ID)).add("name", a.Name).add("source", a.Source).add("severity", a.Severity).
		add("state", alertStatus(&a)).add("started", fmtTime(a.StartedAt))
	if a.ResolvedAt != nil {
		p.add("resolved", fmtTime(*a.ResolvedAt))
	}
	if a.AckedAt != nil {
		p.add("acknowledged", fmtTime(*a.AckedAt)+" by "+a.AckedBy)
	}
	p.add("muted", a.Muted).add("escalation level", strconv.Itoa(a.Level+1)).add("notifications", strconv.Itoa(a.Notifications))
	var labels []string
	for k, v := range a.Labels {
		labels = append(labels, k+"="+v)
	}
	return p.add("labels", strings.Join(labels, " ")).add("summary", a.Summary).write(s.stdout)
}

func silenceCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:     "silence",
		Aliases: []string{"silences"},
		Short:   "Silences: mute the alerts that match, for a while",
		Args:    noSubcommand,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	add := &cobra.Command{
		Use:   "add NAME=VALUE...",
		Short: "Mute the alerts matching every NAME=VALUE (check, tag, severity, alertname, any label; VALUE may be a pattern like web*)",
		Example: `  maillon silence add tag=backup --for 2h --comment "disk swap on nas1"
  maillon silence add alertname=NodeDown instance=gw1:9100 --until "2026-11-21 08:00"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s needs at least one NAME=VALUE", cmd.CommandPath())
			}
			return nil
		},
	}
	dur := add.Flags().String("for", "", "how long (2h, 30m, 1d)")
	until := add.Flags().String("until", "", "when it ends (2026-11-21 08:00 or RFC 3339)")
	comment := add.Flags().String("comment", "", "why")
	add.RunE = func(cmd *cobra.Command, args []string) error {
		in := registry.SilenceInput{Matchers: args, Duration: *dur, Comment: *comment}
		if *until != "" {
			t, err := parseWhen(*until, s.now())
			if err != nil {
				return usagef("--until: %v", err)
			}
			in.EndsAt = &t
		}
		if in.EndsAt == nil && in.Duration == "" {
			return usagef("say how long: --for 2h or --until TIME")
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var sl registry.Silence
		if err := c.Do(s.ctx, "POST", "/api/v1/silences", nil, in, &sl); err != nil {
			return err
		}
		return printSilences(s, []registry.Silence{sl})
	}
	list := &cobra.Command{Use: "list", Short: "List silences", Args: exactArgs(0, "no arguments")}
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := s.Client()
		if err != nil {
			return err
		}
		var out struct{ Items []registry.Silence }
		if err := c.Do(s.ctx, "GET", "/api/v1/silences", nil, nil, &out); err != nil {
			return err
		}
		return printSilences(s, out.Items)
	}
	expire := &cobra.Command{Use: "expire ID", Aliases: []string{"delete", "rm"}, Short: "End a silence now", Args: exactArgs(1, "a silence id")}
	expire.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := s.Client()
		if err != nil {
			return err
		}
		var sl registry.Silence
		if err := c.Do(s.ctx, "DELETE", "/api/v1/silences/"+url.PathEscape(args[0]), nil, nil, &sl); err != nil {
			return err
		}
		return printSilences(s, []registry.Silence{sl})
	}
	group.AddCommand(add, list, expire)
	return group
}

func printSilences(s *session, items []registry.Silence) error {
	if s.json {
		return printItems(s.stdout, items)
	}
	return writeTable(s.stdout, s.now(), items, []column[registry.Silence]{
		col("ID", func(x *registry.Silence) string { return fmtID(x.ID) }),
		col("MATCHERS", func(x *registry.Silence) string { return strings.Join(x.Matchers, " ") }),
		colAt("STATE", func(now time.Time, x *registry.Silence) string {
			switch {
			case x.ActiveAt(now):
				return "active"
			case now.Before(x.StartsAt):
				return "pending"
			}
			return "expired"
		}),
		col("ENDS", func(x *registry.Silence) string { return fmtTime(x.EndsAt) }),
		col("BY", func(x *registry.Silence) string { return x.CreatedBy }),
		col("COMMENT", func(x *registry.Silence) string { return x.Comment }),
	})
}
