package cli

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"maillon/internal/web"
)

func dnsCmd(s *session) *cobra.Command {
	group := &cobra.Command{Use: "dns", Short: "The zones the DNS server answers for: list, export, diff against external primaries"}
	zones := &cobra.Command{
		Use:   "zones",
		Short: "List the zones served (forward and reverse) with their serials",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listTable(s, "/api/v1/dns/zones", nil, []column[web.ServedZone]{
				col("ZONE", func(z *web.ServedZone) string { return z.Origin }),
				col("SERIAL", func(z *web.ServedZone) string { return strconv.FormatUint(uint64(z.Serial), 10) }),
			})
		},
	}
	export := &cobra.Command{
		Use:     "export ZONE",
		Short:   "Print a served zone as a standard zone file",
		Example: "  maillon dns export example.net > example.net.zone && kzonecheck -o example.net example.net.zone",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			return c.Download(s.ctx, "/api/v1/dns/zones/"+url.PathEscape(args[0])+"/export", nil, s.stdout)
		},
	}
	diff := &cobra.Command{
		Use:   "diff [ZONE]",
		Short: "Show what RFC 2136 updates would change on the external primaries (dns.push), sending nothing",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				q.Set("zone", args[0])
			}
			c, err := s.Client()
			if err != nil {
				return err
			}
			var out struct{ Items []web.PushDiff }
			if err := c.Do(s.ctx, "GET", "/api/v1/dns/diff", q, nil, &out); err != nil {
				return err
			}
			if s.json {
				return printItems(s.stdout, out.Items)
			}
			for _, d := range out.Items {
				switch {
				case d.Error != "":
					fmt.Fprintf(s.stdout, "%s on %s: cannot compare: %s\n", d.Zone, d.Target, d.Error)
				case len(d.Changes) == 0:
					fmt.Fprintf(s.stdout, "%s on %s: in step\n", d.Zone, d.Target)
				default:
					fmt.Fprintf(s.stdout, "%s on %s: %d changes\n", d.Zone, d.Target, len(d.Changes))
					for _, ch := range d.Changes {
						fmt.Fprintln(s.stdout, "  "+ch)
					}
				}
			}
			return nil
		},
	}
	group.AddCommand(zones, export, diff, dnsDSCmd(s))
	return group
}
