package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"maillon/internal/registry"
)

// The status page from the command line: components (an entity like the
// others), incidents and maintenance (their own verbs).

func init() {
	entities = append(entities, &entity{
		name: "component", aliases: []string{"components"}, path: "components",
		short: "status page components, as members see them, linked to what they depend on", refHelp: "id or name",
		fields: []field{
			txt("name", "name", `name on the status page, e.g. "Internet — Fleming residence"`),
			txt("group", "group", `heading it is shown under, e.g. "Internet"`),
			txt("description", "description", "one line under the name"),
			{flag: "position", key: "position", kind: asNumber, usage: "order on the page (smaller first)"},
			{flag: "target", key: "targets", kind: asLines, usage: "what it depends on: site:NAME, host:NAME (a switch), nas:NAME, " +
				"service:vpn|ppp|room-port|vm|all or service:NAME (repeatable; replaces all); this is who an incident emails"},
		},
		newInput: func() any { return &registry.ComponentInput{} },
		list: func(s *session, w io.Writer, items []json.RawMessage) error {
			comps, err := decodeAll[registry.Component](items)
			if err != nil {
				return err
			}
			targets := make(map[int64]string, len(comps))
			for _, c := range comps {
				if targets[c.ID], err = s.targetNames(c.Targets); err != nil {
					return err
				}
			}
			return writeTable(w, s.now(), comps, []column[registry.Component]{
				col("ID", func(c *registry.Component) string { return fmtID(c.ID) }),
				col("GROUP", func(c *registry.Component) string { return c.Group }),
				col("NAME", func(c *registry.Component) string { return c.Name }),
				col("TARGETS", func(c *registry.Component) string { return targets[c.ID] }),
			})
		},
		show: detail(func(s *session, w io.Writer, c *registry.Component) error {
			targets, err := s.targetNames(c.Targets)
			if err != nil {
				return err
			}
			return (&props{}).add("id", fmtID(c.ID)).add("name", c.Name).add("group", c.Group).add("description", c.Description).
				add("position", strconv.Itoa(c.Position)).add("targets", targets).add("created", fmtTime(c.CreatedAt)).
				add("updated", fmtTime(c.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon component add --name "Internet — Fleming residence" --group Internet --target site:Fleming`,
			`maillon component list`,
			`maillon component show VPN`,
			`maillon component edit VPN --target nas:vpn1 --target service:vpn`,
			`maillon component remove VPN`,
		},
	})
}

// componentIDs resolves component names or ids.
func (s *session) componentIDs(refs []string) ([]int64, error) {
	var ids []int64
	for _, ref := range refs {
		id, err := s.resolveRef("components", ref)
		if err != nil {
			return nil, fmt.Errorf("--component %q: %w", ref, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func incidentCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:   "incident",
		Short: "Incidents on the status page: open, update, resolve, list; affected members are emailed",
		Long: `An incident names the components it touches. Opening it, each update and its
resolution appear on the public status page and its feeds, and are emailed
to the members whose lines go through those components (unless they opted
out) and to the confirmed email subscribers of those components.`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	group.AddCommand(incidentOpenCmd(s), incidentUpdateCmd(s, "update"), incidentUpdateCmd(s, "resolve"), incidentListCmd(s),
		incidentShowCmd(s), recipientsCmd(s, true))
	return group
}

func (s *session) printIncident(inc registry.Incident) error {
	if s.json {
		return printJSON(s.stdout, inc)
	}
	p := (&props{}).add("id", fmtID(inc.ID)).add("title", inc.Title).add("impact", string(inc.Impact)).add("state", string(inc.State)).
		add("started", fmtTime(inc.StartedAt))
	if inc.ResolvedAt != nil {
		p.add("resolved", fmtTime(*inc.ResolvedAt))
	}
	comps, err := s.componentNames(inc.Components)
	if err != nil {
		return err
	}
	if err := p.add("components", comps).write(s.stdout); err != nil {
		return err
	}
	for _, u := range inc.Updates {
		fmt.Fprintf(s.stdout, "\n%s  %s (%s)\n  %s\n", fmtTime(u.At), u.State, u.Author, strings.ReplaceAll(u.Message, "\n", "\n  "))
	}
	return nil
}

func incidentOpenCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "open",
		Short:   "Open an incident; the affected members are emailed",
		Example: `  maillon incident open --title "Fleming offline" --component "Internet — Fleming residence" --message "The switch does not answer; we are on our way."`,
		Args:    exactArgs(0, "no arguments (use flags)"),
	}
	title := cmd.Flags().String("title", "", "what members read first")
	comps := cmd.Flags().StringArray("component", nil, "a component it touches, id or name (repeatable)")
	impact := cmd.Flags().String("impact", "major", "degraded, partial or major")
	state := cmd.Flags().String("state", "investigating", "investigating, identified or monitoring")
	message := cmd.Flags().String("message", "", "the first entry of its timeline")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ids, err := s.componentIDs(*comps)
		if err != nil {
			return err
		}
		in := registry.IncidentInput{Title: title, Components: &ids, Message: *message,
			Impact: (*registry.Impact)(impact), State: (*registry.IncidentState)(state)}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var inc registry.Incident
		if err := c.Do(s.ctx, "POST", "/api/v1/incidents", nil, in, &inc); err != nil {
			return err
		}
		return s.printIncident(inc)
	}
	return cmd
}

func incidentUpdateCmd(s *session, verb string) *cobra.Command {
	cmd := &cobra.Command{
		Use:  verb + " ID",
		Args: exactArgs(1, "an incident id"),
	}
	var state *string
	if verb == "resolve" {
		cmd.Short = "Resolve an incident; the affected members are told it is over"
		cmd.Example = `  maillon incident resolve 12 --message "A power supply was replaced; everything is back."`
	} else {
		cmd.Short = "Add to an incident's timeline; the affected members are emailed"
		cmd.Example = `  maillon incident update 12 --state identified --message "A power supply died; a spare is on its way."`
		state = cmd.Flags().String("state", "", "investigating, identified, monitoring or resolved (default: unchanged)")
	}
	message := cmd.Flags().String("message", "", "the new entry of the timeline")
	title := cmd.Flags().String("title", "", "a new title")
	impact := cmd.Flags().String("impact", "", "a new impact: degraded, partial or major")
	comps := cmd.Flags().StringArray("component", nil, "the components it touches now (repeatable; replaces all)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return usagef("incident %q is not an id (maillon incident list shows them)", args[0])
		}
		in := registry.IncidentInput{Message: *message}
		if verb == "resolve" {
			in.State = ptrTo(registry.IncidentResolved)
		} else if *state != "" {
			in.State = (*registry.IncidentState)(state)
		}
		if *title != "" {
			in.Title = title
		}
		if *impact != "" {
			in.Impact = (*registry.Impact)(impact)
		}
		if len(*comps) > 0 {
			ids, err := s.componentIDs(*comps)
			if err != nil {
				return err
			}
			in.Components = &ids
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var inc registry.Incident
		if err := c.Do(s.ctx, "POST", "/api/v1/incidents/"+fmtID(id)+"/updates", nil, in, &inc); err != nil {
			return err
		}
		return s.printIncident(inc)
	}
	return cmd
}

func ptrTo[T any](v T) *T { return &v }

// joinIDs writes ids for a query parameter.
func joinIDs(ids []int64) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmtID(id)
	}
	return strings.Join(out, ",")
}

func incidentListCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List incidents: open ones and those of the last days",
		Example: "  maillon incident list --state open\n  maillon incident list --days 365",
		Args:    exactArgs(0, "no arguments (filter with flags)"),
	}
	state := cmd.Flags().String("state", "", "open, resolved, investigating, identified or monitoring")
	days := cmd.Flags().Int("days", 90, "how far back")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q := url.Values{"days": {strconv.Itoa(*days)}}
		if *state != "" {
			q.Set("state", *state)
		}
		var names map[int64]string // --json prints ids, as the API does
		if !s.json {
			var err error
			if names, err = s.nameMap("components"); err != nil {
				return err
			}
		}
		return listTable(s, "/api/v1/incidents", q, []column[registry.Incident]{
			col("ID", func(i *registry.Incident) string { return fmtID(i.ID) }),
			col("STARTED", func(i *registry.Incident) string { return fmtTime(i.StartedAt) }),
			col("STATE", func(i *registry.Incident) string { return string(i.State) }),
			col("IMPACT", func(i *registry.Incident) string { return string(i.Impact) }),
			col("TITLE", func(i *registry.Incident) string { return i.Title }),
			col("COMPONENTS", func(i *registry.Incident) string { return joinNames(names, i.Components) }),
		})
	}
	return cmd
}

func incidentShowCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an incident and its timeline",
		Args:  exactArgs(1, "an incident id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			var inc registry.Incident
			if err := c.Do(s.ctx, "GET", "/api/v1/incidents/"+url.PathEscape(args[0]), nil, nil, &inc); err != nil {
				return err
			}
			return s.printIncident(inc)
		},
	}
}

// recipientsCmd shows who would be emailed, before anything is sent.
func recipientsCmd(s *session, incidents bool) *cobra.Command {
	what := map[bool]string{true: "an incident", false: "maintenance"}[incidents]
	cmd := &cobra.Command{
		Use:     "recipients",
		Short:   "List who " + what + " on these components would email (affected members who did not opt out, subscribers)",
		Example: `  maillon ` + map[bool]string{true: "incident", false: "maintenance"}[incidents] + ` recipients --component "Internet — Fleming residence"`,
		Args:    exactArgs(0, "no arguments (use --component)"),
	}
	comps := cmd.Flags().StringArray("component", nil, "a component, id or name (repeatable)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if len(*comps) == 0 {
			return usagef("%s needs --component", cmd.CommandPath())
		}
		ids, err := s.componentIDs(*comps)
		if err != nil {
			return err
		}
		q := url.Values{"component": {joinIDs(ids)}, "kind": {map[bool]string{true: "incident", false: "maintenance"}[incidents]}}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var out struct {
			Items    []registry.Delivery `json:"items"`
			OptedOut []registry.OptedOut `json:"opted_out"`
		}
		if err := c.Do(s.ctx, "GET", "/api/v1/status/recipients", q, nil, &out); err != nil {
			return err
		}
		if s.json {
			out.Items, out.OptedOut = nonNilSlice(out.Items), nonNilSlice(out.OptedOut)
			return printJSON(s.stdout, out)
		}
		if err := writeTable(s.stdout, s.now(), out.Items, []column[registry.Delivery]{
			col("RECIPIENT", func(d *registry.Delivery) string { return d.Recipient }),
			col("EMAIL", func(d *registry.Delivery) string { return d.Email }),
			col("LANGUAGE", func(d *registry.Delivery) string { return d.Language }),
		}); err != nil {
			return err
		}
		// Those the notice leaves out, so the admin knows who is not told.
		fmt.Fprintf(s.stdout, "\nopted out (not emailed): %d\n", len(out.OptedOut))
		if len(out.OptedOut) == 0 {
			return nil
		}
		var buf bytes.Buffer
		if err := writeTable(&buf, s.now(), out.OptedOut, []column[registry.OptedOut]{
			col("MEMBER", func(o *registry.OptedOut) string { return "member:" + fmtID(o.MemberID) }),
			col("NAME", func(o *registry.OptedOut) string { return o.Name }),
			col("EMAIL", func(o *registry.OptedOut) string { return o.Email }),
		}); err != nil {
			return err
		}
		_, err = fmt.Fprint(s.stdout, indent(buf.String()))
		return err
	}
	return cmd
}

// nonNilSlice makes an empty list print as [] rather than null.
func nonNilSlice[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func maintenanceCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:   "maintenance",
		Short: "Planned maintenance on the status page: plan, list, cancel; affected members are emailed",
		Long: `Maintenance names the components it touches and when. It is announced to the
affected members when planned, and again when it starts and ends; it
shows on the status page and in its iCalendar feed, and monitoring mutes
the alerts of what it covers while it lasts.`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	group.AddCommand(maintenancePlanCmd(s), maintenanceListCmd(s), maintenanceCancelCmd(s), recipientsCmd(s, false))
	return group
}

func (s *session) printMaintenance(m registry.Maintenance) error {
	if s.json {
		return printJSON(s.stdout, m)
	}
	comps, err := s.componentNames(m.Components)
	if err != nil {
		return err
	}
	p := (&props{}).add("id", fmtID(m.ID)).add("title", m.Title).add("state", m.Phase(s.now())).add("starts", fmtTime(m.StartsAt)).
		add("ends", fmtTime(m.EndsAt)).add("components", comps).add("description", m.Description).add("planned by", m.CreatedBy)
	if m.CancelledAt != nil {
		p.add("cancelled", fmtTime(*m.CancelledAt))
	}
	return p.write(s.stdout)
}

func maintenancePlanCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "plan",
		Short:   "Plan maintenance; the affected members are emailed now, at its start and at its end",
		Example: `  maillon maintenance plan --title "Switch firmware" --component "Internet — Fleming residence" --start "2026-11-24 22:00" --end "2026-11-24 23:30"`,
		Args:    exactArgs(0, "no arguments (use flags)"),
	}
	title := cmd.Flags().String("title", "", "what members read first")
	description := cmd.Flags().String("description", "", "what will happen, what members should expect")
	comps := cmd.Flags().StringArray("component", nil, "a component it touches, id or name (repeatable)")
	from := cmd.Flags().String("start", "", `start, "2026-11-24 22:00" (local time) or RFC 3339`)
	to := cmd.Flags().String("end", "", "end, same forms")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		start, err := parseWhen(*from, s.now())
		if err != nil {
			return usagef("--start: %v", err)
		}
		end, err := parseWhen(*to, s.now())
		if err != nil {
			return usagef("--end: %v", err)
		}
		ids, err := s.componentIDs(*comps)
		if err != nil {
			return err
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var m registry.Maintenance
		in := registry.MaintenanceInput{Title: *title, Description: *description, Components: ids, StartsAt: start, EndsAt: end}
		if err := c.Do(s.ctx, "POST", "/api/v1/maintenance", nil, in, &m); err != nil {
			return err
		}
		return s.printMaintenance(m)
	}
	return cmd
}

func maintenanceListCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List maintenance not over yet (--all: also past and cancelled)",
		Example: "  maillon maintenance list",
		Args:    exactArgs(0, "no arguments"),
	}
	all := cmd.Flags().Bool("all", false, "also past and cancelled maintenance")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q := url.Values{}
		if *all {
			q.Set("all", "1")
		}
		var names map[int64]string // --json prints ids, as the API does
		if !s.json {
			var err error
			if names, err = s.nameMap("components"); err != nil {
				return err
			}
		}
		return listTable(s, "/api/v1/maintenance", q, []column[registry.Maintenance]{
			col("ID", func(m *registry.Maintenance) string { return fmtID(m.ID) }),
			col("STARTS", func(m *registry.Maintenance) string { return fmtTime(m.StartsAt) }),
			col("ENDS", func(m *registry.Maintenance) string { return fmtTime(m.EndsAt) }),
			colAt("STATE", func(now time.Time, m *registry.Maintenance) string { return m.Phase(now) }),
			col("TITLE", func(m *registry.Maintenance) string { return m.Title }),
			col("COMPONENTS", func(m *registry.Maintenance) string { return joinNames(names, m.Components) }),
		})
	}
	return cmd
}

func maintenanceCancelCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:     "cancel ID",
		Short:   "Cancel maintenance not over yet; the members told are told it is cancelled",
		Example: "  maillon maintenance cancel 3",
		Args:    exactArgs(1, "a maintenance id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usagef("maintenance %q is not an id (maillon maintenance list shows them)", args[0])
			}
			c, err := s.Client()
			if err != nil {
				return err
			}
			var m registry.Maintenance
			if err := c.Do(s.ctx, "POST", "/api/v1/maintenance/"+fmtID(id)+"/cancel", nil, nil, &m); err != nil {
				return err
			}
			return s.printMaintenance(m)
		},
	}
}

func memberLanguageCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:     "language REF fr|en|default",
		Short:   "Set the language of a member's emails (status page announcements)",
		Example: "  maillon member language ada@example.org en",
		Args:    exactArgs(2, "a member and a language"),
		RunE: func(cmd *cobra.Command, args []string) error {
			lang := args[1]
			if lang == "default" {
				lang = ""
			}
			c, err := s.Client()
			if err != nil {
				return err
			}
			if err := c.Do(s.ctx, "PUT", "/api/v1/members/"+url.PathEscape(args[0])+"/language", nil, map[string]string{"language": lang}, nil); err != nil {
				return err
			}
			fmt.Fprintf(s.stderr, "emails to %s are now in %s\n", args[0], args[1])
			return nil
		},
	}
}
