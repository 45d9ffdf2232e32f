package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"maillon/internal/client"
	"maillon/internal/registry"
)

// entity describes one registry collection for the command line; its
// add, list, show, edit and remove commands are all built from it.
type entity struct {
	name    string // command name, singular: "member"
	aliases []string
	path    string // API collection: "members"
	short   string // what it is, for help
	refHelp string // what a REF may be
	// fields are the Input's fields, as flags of add and edit.
	fields []field
	// filters are list's flags beyond --search/--state/--limit/--offset;
	// their keys are query parameters (member_id, kind, host_id).
	filters  []field
	newInput func() any
	list     func(s *session, w io.Writer, items []json.RawMessage) error
	show     func(s *session, w io.Writer, raw json.RawMessage) error
	examples []string // one per verb, for help
	// more adds commands beyond the five verbs (admin token).
	more func(s *session) *cobra.Command
}

func (e *entity) command(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:     e.name,
		Aliases: e.aliases,
		Short:   "Manage " + e.short,
		Example: "  " + strings.Join(e.examples, "\n  "),
		Args:    noSubcommand,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	group.AddCommand(e.addCmd(s), e.listCmd(s), e.showCmd(s), e.editCmd(s), e.removeCmd(s))
	if e.more != nil {
		group.AddCommand(e.more(s))
	}
	return group
}

func (e *entity) addCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a " + e.name,
		Args:  exactArgs(0, "no arguments, only flags"),
	}
	return e.writeCmd(s, cmd, func(c *client.Client, _ []string, body json.RawMessage) (json.RawMessage, error) {
		return client.Create(s.ctx, c, client.Raw(e.path), body)
	})
}

func (e *entity) editCmd(s *session) *cobra.Command {
	cmd := e.refCmd("edit", "Change the given fields of")
	cmd.Aliases = []string{"update"}
	return e.writeCmd(s, cmd, func(c *client.Client, args []string, body json.RawMessage) (json.RawMessage, error) {
		return client.Update(s.ctx, c, client.Raw(e.path), args[0], body)
	})
}

// writeCmd gives cmd the entity's fields as flags and a run that sends
// them through write and prints the result.
func (e *entity) writeCmd(s *session, cmd *cobra.Command, write func(*client.Client, []string, json.RawMessage) (json.RawMessage, error)) *cobra.Command {
	e.defineFields(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Name() == "edit" && !slices.ContainsFunc(e.fields, func(f field) bool {
			return cmd.Flags().Changed(f.flag) || f.generate && cmd.Flags().Changed("generate-"+f.flag)
		}) {
			return usagef("nothing to change: give the fields to set as flags (see %s --help)", cmd.CommandPath())
		}
		body, generated, err := s.inputBody(cmd.Flags(), e.fields, e.newInput)
		if err != nil {
			return err
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		obj, err := write(c, args, body)
		if err != nil {
			return err
		}
		return e.print(s, obj, generated)
	}
	return cmd
}

// refCmd is a verb that takes one REF argument.
func (e *entity) refCmd(verb, does string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " REF",
		Short: does + " a " + e.name + " (REF: " + e.refHelp + ")",
		Args:  exactArgs(1, "one "+e.name+" ("+e.refHelp+")"),
	}
}

// fetch returns the object ref names, as the API wrote it.
func (e *entity) fetch(s *session, ref string) (*client.Client, json.RawMessage, error) {
	c, err := s.Client()
	if err != nil {
		return nil, nil, err
	}
	obj, err := client.Get(s.ctx, c, client.Raw(e.path), ref)
	return c, obj, err
}

func (e *entity) defineFields(fs *pflag.FlagSet) {
	for _, f := range e.fields {
		f.define(fs)
	}
	fs.SortFlags = false
}

// print shows an object just written, then any secret generated for it:
// after the object so it is the last thing on screen, and on stderr with
// --json so that stdout stays the API's JSON.
func (e *entity) print(s *session, obj json.RawMessage, generated map[string]string) error {
	if s.json {
		if err := printJSON(s.stdout, obj); err != nil {
			return err
		}
	} else if err := e.show(s, s.stdout, obj); err != nil {
		return err
	}
	w := s.stdout
	if s.json {
		w = s.stderr
	}
	for _, name := range slices.Sorted(maps.Keys(generated)) {
		fmt.Fprintf(w, "generated %s (shown this once): %s\n", name, generated[name])
	}
	if !s.json {
		printDisconnects(w, obj)
	}
	return nil
}

// printDisconnects tells what became of the open sessions of a line an
// edit took out of service: the suspension is only effective once each
// NAS acknowledged.
func printDisconnects(w io.Writer, obj json.RawMessage) {
	var rep struct {
		Disconnects     *[]registry.Disconnect `json:"disconnects"`
		DisconnectError string                 `json:"disconnect_error"`
	}
	if json.Unmarshal(obj, &rep) != nil || rep.Disconnects == nil {
		return
	}
	switch {
	case rep.DisconnectError != "":
		fmt.Fprintf(w, "disconnect: not sent: %s; open sessions may stay open\n", rep.DisconnectError)
	case len(*rep.Disconnects) == 0:
		fmt.Fprintln(w, "disconnect: no open session")
	}
	for _, d := range *rep.Disconnects {
		note := ""
		switch d.Outcome() {
		case "ack":
			note = " (ended)"
		case "nak":
			note = " (refused by the NAS: the session may still be open)"
		case "timeout":
			note = " (no answer from the NAS: the session may still be open)"
		default:
			note = " (the session may still be open)"
		}
		fmt.Fprintf(w, "disconnect: session %s on %s: %s%s\n", d.SessionID, d.NAS, d.Result, note)
	}
}

func (e *entity) listCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List " + e.short,
		Args:    exactArgs(0, "no arguments (filter with --search)"),
	}
	fs := cmd.Flags()
	search := fs.String("search", "", "only those whose name, email, login... contains this")
	var state string
	if sf := e.stateField(); sf != nil {
		fs.StringVar(&state, "state", "", "only those in this state ("+strings.Join(sf.choices, ", ")+")")
	}
	limit := fs.Int("limit", 0, "at most this many (0: all)")
	offset := fs.Int("offset", 0, "skip this many first")
	for _, f := range e.filters {
		f.define(fs)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opt := client.ListOptions{Search: *search, State: state, Limit: *limit, Offset: *offset}
		if sf := e.stateField(); sf != nil && state != "" {
			if err := oneOf(state, sf.choices); err != nil {
				return fmt.Errorf("--state: %w", err)
			}
		}
		for _, f := range e.filters {
			if !fs.Changed(f.flag) {
				continue
			}
			v, err := s.fieldValue(fs, f)
			if err != nil {
				return fmt.Errorf("--%s: %w", f.flag, err)
			}
			switch f.key {
			case "member_id":
				opt.MemberID = v.(int64)
			case "host_id":
				opt.HostID = v.(int64)
			case "kind":
				opt.Kind = v.(string)
			default:
				return fmt.Errorf("internal error: no list filter %q", f.key)
			}
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		items, err := client.List(s.ctx, c, client.Raw(e.path), opt)
		if err != nil {
			return err
		}
		if s.json {
			return printItems(s.stdout, items)
		}
		return e.list(s, s.stdout, items)
	}
	return cmd
}

func (e *entity) stateField() *field {
	for i := range e.fields {
		if e.fields[i].flag == "state" {
			return &e.fields[i]
		}
	}
	return nil
}

func (e *entity) showCmd(s *session) *cobra.Command {
	cmd := e.refCmd("show", "Show")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		_, obj, err := e.fetch(s, args[0])
		if err != nil {
			return err
		}
		if s.json {
			return printJSON(s.stdout, obj)
		}
		return e.show(s, s.stdout, obj)
	}
	return cmd
}

func (e *entity) removeCmd(s *session) *cobra.Command {
	cmd := e.refCmd("remove", "Remove")
	cmd.Aliases = []string{"rm", "delete"}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		// Look the ref up first so that the message names what was removed
		// (a ref like an IP says little), then remove by id so that it is
		// that object and no other.
		c, obj, err := e.fetch(s, args[0])
		if err != nil {
			return err
		}
		l, err := labelOf(obj)
		if err != nil {
			return err
		}
		if err := client.Delete(s.ctx, c, client.Raw(e.path), fmtID(l.ID)); err != nil {
			return err
		}
		if !s.json {
			fmt.Fprintf(s.stdout, "removed %s %s\n", e.name, l)
		}
		return nil
	}
	return cmd
}

// label is what names an object in a message, whatever its entity.
type label struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Login  string `json:"login"`
	CIDR   string `json:"cidr"`
	Serial string `json:"serial"`
}

func labelOf(raw json.RawMessage) (label, error) {
	var l label
	if err := json.Unmarshal(raw, &l); err != nil || l.ID == 0 {
		return l, fmt.Errorf("the daemon's answer has no id: %.100s", raw)
	}
	return l, nil
}

func (l label) String() string {
	for _, n := range []string{l.Login, l.Name, l.CIDR, l.Serial} {
		if n != "" {
			return fmt.Sprintf("%d (%s)", l.ID, n)
		}
	}
	return fmtID(l.ID)
}
