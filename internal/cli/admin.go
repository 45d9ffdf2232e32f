package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"maillon/internal/registry"
)

// tokenCmd is "admin token create|revoke".
func tokenCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:   "token",
		Short: "Issue and revoke API tokens",
		Args:  noSubcommand,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	create := &cobra.Command{
		Use:   "create ADMIN",
		Short: "Issue an API token for an admin (id, name or email); it is shown once",
		Args:  exactArgs(1, "one admin (id, name or email)"),
	}
	name := create.Flags().String("name", "cli", "what the token is for, e.g. the machine it lives on")
	ttl := create.Flags().String("ttl", "", "lifetime, e.g. 720h or 90d (default: no expiry)")
	create.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := s.Client()
		if err != nil {
			return err
		}
		t, err := c.CreateToken(s.ctx, args[0], *name, *ttl)
		if err != nil {
			return err
		}
		if s.json {
			return printJSON(s.stdout, t)
		}
		expires := "never"
		if t.Info.ExpiresAt != nil {
			expires = fmtTime(*t.Info.ExpiresAt)
		}
		fmt.Fprintf(s.stderr, "token %d %q for admin %d, expires %s; it is shown this once:\n", t.Info.ID, t.Info.Name, t.Info.AdminID, expires)
		_, err = fmt.Fprintln(s.stdout, t.Token)
		return err
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token by id",
		Args:  exactArgs(1, "one token id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tid, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || tid <= 0 {
				return fmt.Errorf("token id %q is not a number (token create prints it)", args[0])
			}
			c, err := s.Client()
			if err != nil {
				return err
			}
			if err := c.RevokeToken(s.ctx, tid); err != nil {
				return err
			}
			if !s.json {
				fmt.Fprintf(s.stdout, "revoked token %d\n", tid)
			}
			return nil
		},
	}
	group.AddCommand(create, revoke)
	return group
}

func auditCmd(s *session) *cobra.Command {
	// The registry's own list: every name it records entries under.
	entityNames := registry.AuditEntities()
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show who changed what, newest first",
		Example: `  maillon audit --limit 20
  maillon audit --entity member --id ada@example.org`,
		Args: exactArgs(0, "no arguments (filter with --entity and --id)"),
	}
	entityFlag := cmd.Flags().String("entity", "", "only changes to this kind of object ("+strings.Join(entityNames, ", ")+")")
	ref := cmd.Flags().String("id", "", "only changes to this object: an id, or with --entity any of its refs")
	limit := cmd.Flags().Int("limit", 50, "at most this many entries")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		f := registry.AuditFilter{Entity: *entityFlag, Limit: *limit}
		if f.Entity != "" {
			if err := oneOf(f.Entity, entityNames); err != nil {
				return fmt.Errorf("--entity: %w", err)
			}
		}
		if *ref != "" {
			n, err := strconv.ParseInt(*ref, 10, 64)
			if err != nil {
				// A ref other than an id needs its collection to look it up in.
				i := slices.IndexFunc(entities, func(e *entity) bool { return e.name == f.Entity })
				if i < 0 {
					return fmt.Errorf("--id %q: not an id; give --entity to look it up", *ref)
				}
				if n, err = s.resolveRef(entities[i].path, *ref); err != nil {
					return fmt.Errorf("--id: %w", err)
				}
			}
			f.EntityID = n
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		entries, err := c.Audit(s.ctx, f)
		if err != nil {
			return err
		}
		if s.json {
			return printItems(s.stdout, entries)
		}
		return writeTable(s.stdout, s.now(), entries, []column[registry.AuditEntry]{
			col("AT", func(e *registry.AuditEntry) string { return fmtTime(e.At) }),
			col("ACTOR", func(e *registry.AuditEntry) string { return e.Actor }),
			col("ACTION", func(e *registry.AuditEntry) string { return e.Action }),
			col("ENTITY", func(e *registry.AuditEntry) string { return e.Entity }),
			col("ID", func(e *registry.AuditEntry) string { return fmtID(e.EntityID) }),
			col("CHANGED", changedFields),
		})
	}
	return cmd
}

// changedFields names the top-level fields an update changed, which is
// what one scans an audit log for; the --json output has the full before
// and after.
func changedFields(e *registry.AuditEntry) string {
	if len(e.Before) == 0 || len(e.After) == 0 {
		return ""
	}
	var before, after map[string]json.RawMessage
	if json.Unmarshal(e.Before, &before) != nil || json.Unmarshal(e.After, &after) != nil {
		return "?"
	}
	changed := map[string]bool{}
	for k, v := range after {
		if b, ok := before[k]; !ok || !jsonEqual(b, v) {
			changed[k] = true
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			changed[k] = true
		}
	}
	delete(changed, "updated_at")
	return strings.Join(slices.Sorted(maps.Keys(changed)), ", ")
}

func jsonEqual(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
