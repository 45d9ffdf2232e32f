package cli

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"maillon/internal/web"
)

func dnsDSCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "ds ZONE",
		Short: "Print the DS record the parent of a signed zone must publish (dns.dnssec)",
		Long: `Print the DS record (SHA-256) of a signed zone's key, for its parent: a
registrar's form, or the operator of the zone above. The key derives from
secret_key and dns.dnssec.generation: after changing either, publish the new
DS (the zone also publishes CDS and CDNSKEY for parents that scan for them).
--json adds the DNSKEY, for parents that ask for the key itself.`,
		Example: "  maillon dns ds example.org",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			var out web.ZoneDS
			if err := c.Do(s.ctx, "GET", "/api/v1/dns/zones/"+url.PathEscape(args[0])+"/ds", nil, nil, &out); err != nil {
				return err
			}
			if s.json {
				return printJSON(s.stdout, out)
			}
			for _, ds := range out.DS {
				fmt.Fprintln(s.stdout, ds)
			}
			return nil
		},
	}
}
