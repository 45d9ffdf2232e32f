package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"maillon/internal/app"
	"maillon/internal/client"
	"maillon/internal/config"
	"maillon/internal/demo"
	"maillon/internal/registry"
	"maillon/internal/secret"
)

func demoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run maillon on a temporary SQLite database filled with a demo ISP",
		Long: `demo starts the daemon on a fresh temporary SQLite database filled with a
realistic small ISP (sites, members, lines, VPN users, switches, prefixes,
a NAS), prints what to try, and deletes the database when stopped.`,
		Args: cobra.NoArgs,
	}
	httpAddr := cmd.Flags().String("http", "127.0.0.1:8080", "HTTP listen address")
	socket := cmd.Flags().String("socket", client.DefaultSocket(), "admin socket path")
	keep := cmd.Flags().Bool("keep", false, "keep the demo database when stopping")
	radiusAuth := cmd.Flags().String("radius-auth", "127.0.0.1:1812", "RADIUS authentication listen address (empty: off)")
	radiusAcct := cmd.Flags().String("radius-acct", "127.0.0.1:1813", "RADIUS accounting listen address (empty: off)")
	dnsAddr := cmd.Flags().String("dns", "127.0.0.1:5353", "DNS listen address, UDP and TCP (empty: off)")
	smtp := cmd.Flags().String("smtp", "", "SMTP server (host:port, no TLS) the demo mails through, e.g. the status page's announcements (empty: off)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		dir, err := os.MkdirTemp("", "maillon-demo-")
		if err != nil {
			return err
		}
		if !*keep {
			defer os.RemoveAll(dir)
		}
		cfg := config.Default()
		cfg.Database = filepath.Join(dir, "maillon.db")
		cfg.SecretKey = secret.NewKey()
		cfg.Listen.HTTP = *httpAddr
		cfg.Listen.Socket = *socket
		cfg.RADIUS.Auth, cfg.RADIUS.Acct = *radiusAuth, *radiusAcct
		cfg.RADIUS.SpoolDir = filepath.Join(dir, "radius-spool")
		cfg.DNS = demoDNS(*dnsAddr)
		cfg.Status.Title = "Demo ISP"
		if *httpAddr != "" {
			cfg.Status.PublicURL = "http://" + *httpAddr + "/status"
		}
		if *smtp != "" {
			cfg.Notify.Email = config.Email{SMTP: *smtp, From: "maillon demo <noc@" + strings.TrimSuffix(demo.Domain, ".") + ">", TLS: "none"}
		}
		demoMonitorConfig(cfg, *httpAddr, *smtp != "")
		sw, err := newDemoTarget() // the demo's switches and uplink
		if err != nil {
			return err
		}
		defer sw.close()
		cfg.Log.Level = "warn"
		ctx := cmd.Context()
		a, err := app.New(ctx, cfg, newLogger(cfg, cmd.ErrOrStderr()))
		if err != nil {
			return demoPortHint(err)
		}
		defer a.Close()
		if _, err := demo.Seed(ctx, a.Registry()); err != nil {
			return fmt.Errorf("fill the demo registry: %w", err)
		}
		if _, err := demo.SeedUsage(ctx, a.Registry(), a.Store()); err != nil {
			return err
		}
		token, err := demoToken(ctx, a.Registry())
		if err != nil {
			return err
		}
		push, err := demo.SeedChecks(ctx, a.Registry(), demo.MonitorTargets{HTTP: a.HTTPAddr(), DNS: a.DNSAddr(), RADIUS: a.RADIUSAuthAddr(), Switch: sw.addr})
		if err != nil {
			return err
		}
		if err := printDemo(ctx, cmd.OutOrStdout(), a, cfg, token, *keep); err != nil {
			return err
		}
		printDemoMonitor(cmd.OutOrStdout(), a, cfg, push)
		return a.Run(ctx)
	}
	return cmd
}

// demoSocketFlag is the --socket flag the banner's commands need to find
// the demo, empty for the default socket.
func demoSocketFlag(cfg *config.Config) string {
	if cfg.Listen.Socket == client.DefaultSocket() {
		return ""
	}
	return " --socket " + cfg.Listen.Socket
}

// demoPortHint names the flag that moves a listener another program holds.
func demoPortHint(err error) error {
	var le *app.ListenError
	if !errors.As(err, &le) || !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	flag, ok := map[string]string{"listen.http": "--http", "listen.socket": "--socket", "radius.auth": "--radius-auth",
		"radius.acct": "--radius-acct", "dns.listen": "--dns"}[le.Key]
	if !ok {
		return err
	}
	return fmt.Errorf("%w (another program holds it: choose another address with %s ADDR, or %s '' to turn it off)", err, flag, flag)
}

// demoTSIG is the demo's transfer key; printed, so not a secret.
var demoTSIG = config.TSIGKey{Name: "demo-transfer.", Algorithm: "hmac-sha256", Secret: "ZGVtby10cmFuc2Zlci1rZXktbm90LWEtc2VjcmV0"}

func demoDNS(listen string) config.DNS {
	return config.DNS{
		Listen:      listen,
		Nameservers: []string{"ns1." + demo.Domain},
		Hostmaster:  "hostmaster@" + strings.TrimSuffix(demo.Domain, "."),
		TTL:         300,
		Keys:        []config.TSIGKey{demoTSIG},
		Transfer:    []config.TransferACL{{Key: demoTSIG.Name}},
		// The forward zone is signed, the reverse ones not: opt-in per zone.
		DNSSEC: config.DNSSEC{Zones: []string{demo.Domain}},
	}
}

// demoToken issues an API token for the demo's first full admin.
func demoToken(ctx context.Context, reg *registry.Service) (string, error) {
	var admins []registry.Admin
	if err := reg.Read(ctx, func(r registry.Reader) error {
		var err error
		admins, err = r.ListAdmins(ctx)
		return err
	}); err != nil {
		return "", err
	}
	for _, ad := range admins {
		if ad.Has(registry.RoleAdmin) {
			token, _, err := reg.CreateToken(ctx, registry.Actor{Name: "demo"}, ad.ID, "demo", 0)
			return token, err
		}
	}
	return "", fmt.Errorf("the demo has no admin")
}

func printDemo(ctx context.Context, w io.Writer, a *app.App, cfg *config.Config, token string, keep bool) error {
	reg := a.Registry()
	demo1, err := reg.FindSubscription(ctx, "demo1@DEMO")
	if err != nil {
		return fmt.Errorf("demo1@DEMO: %w", err)
	}
	var members int64
	reg.Read(ctx, func(r registry.Reader) error {
		members, err = r.CountMembers(ctx)
		return err
	})
	base := "http://" + a.HTTPAddr()
	fate := "deleted when you stop the demo"
	if keep {
		fate = "kept after the demo stops"
	}
	fmt.Fprintf(w, "maillon demo is running with %d members (database %s, %s)\n\n", members, cfg.Database, fate)
	if err := demoWeb(ctx, w, reg, base); err != nil {
		return err
	}
	fmt.Fprintf(w, "  member    %s/member/   %s / %s   (a line's login and password; 90 days of usage)\n", base, demo.Login, demo.Password)
	fmt.Fprintf(w, "  API       %s/api/v1/   token: %s\n", base, token)
	fmt.Fprintf(w, "  OpenAPI   %s/api/v1/openapi.json\n", base)
	fmt.Fprintf(w, "  health    %s/healthz   metrics: %s/metrics\n", base, base)
	fmt.Fprintf(w, "  status    %s/status   (public status page; feeds %s/status/feed.atom, %s/status/calendar.ics)\n", base, base, base)
	fmt.Fprintf(w, "  socket    %s   (the maillon CLI uses it, no token needed)\n\n", cfg.Listen.Socket)
	fmt.Fprintf(w, "  subscriber demo1@DEMO, password demo1-password, addresses:")
	for _, ad := range demo1.Addresses {
		fmt.Fprintf(w, " %s", ad.Block)
	}
	fmt.Fprintf(w, "\n  NAS 127.0.0.1, shared secret demo-secret\n")
	if addr := a.RADIUSAuthAddr(); addr != "" {
		fmt.Fprintf(w, "  RADIUS    auth %s, accounting %s\n", addr, a.RADIUSAcctAddr())
	}
	if addr := a.DNSAddr(); addr != "" {
		fmt.Fprintf(w, "  DNS       %s: zones %s and the reverse zones of 198.51.100.0/24 and 2001:db8::/32\n", addr, demo.Domain)
		fmt.Fprintf(w, "            transfer key %s:%s:%s\n", demoTSIG.Algorithm, strings.TrimSuffix(demoTSIG.Name, "."), demoTSIG.Secret)
	}
	fmt.Fprintln(w)
	sock := demoSocketFlag(cfg)
	fmt.Fprintf(w, "Try, in another terminal:\n")
	for _, c := range []string{
		"maillon%s member list",
		"maillon%s member show demo1@DEMO",
		"maillon%s subscription show " + demo1.Addresses[0].Block.Addr().String(),
		"maillon%s member add --name \"Ada Lovelace\" --email ada@example.org --period 2026-01-01:",
		"maillon%s subscription add --member ada@example.org --kind ppp --login ada@DEMO --generate-password",
		"maillon%s prefix list",
		"maillon%s incident list",
		"maillon%s maintenance recipients --component \"Internet — Résidence Fleming\"",
	} {
		fmt.Fprintf(w, "  "+c+"\n", sock)
	}
	if addr := a.RADIUSAuthAddr(); addr != "" {
		host, port, _ := net.SplitHostPort(addr)
		server := host
		if port != "1812" {
			server = addr
		}
		fmt.Fprintf(w, "  radtest demo1@DEMO demo1-password %s 0 demo-secret\n", server)
		fmt.Fprintf(w, "  radtest -t mschap demo1@DEMO demo1-password %s 0 demo-secret\n", server)
	}
	if addr := a.DNSAddr(); addr != "" {
		host, port, _ := net.SplitHostPort(addr)
		v6 := ""
		for _, ad := range demo1.Addresses {
			if ad.Role == registry.RoleIPv6 {
				v6 = ad.Block.Addr().Next().String()
			}
		}
		fmt.Fprintf(w, "  kdig @%s -p %s -x %s\n", host, port, demo1.Addresses[0].Block.Addr())
		fmt.Fprintf(w, "  kdig @%s -p %s -x %s\n", host, port, v6)
		fmt.Fprintf(w, "  kdig @%s -p %s -y %s:%s:%s AXFR %s\n", host, port, demoTSIG.Algorithm, strings.TrimSuffix(demoTSIG.Name, "."), demoTSIG.Secret, demo.Domain)
		fmt.Fprintf(w, "  kdig @%s -p %s +dnssec %s DNSKEY       (signed: maillon%s dns ds %s)\n", host, port, demo.Domain, sock, demo.Domain)
	}
	fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' %s/api/v1/members/demo1@DEMO\n\nStop with Ctrl-C.\n", token, base)
	return nil
}
