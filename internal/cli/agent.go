package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"maillon/internal/client"
	"maillon/internal/config"
	"maillon/internal/journal"
)

// agentCmd runs the change-detection agent; its code is internal/journal.
func agentCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run on a server: report changed files and packages to its journal once the server is quiet",
		Long: `The agent watches directories (default /etc) and the installed Debian
packages. Once nothing has changed for the quiet period (default 1h), it
reports to maillon which files were added, modified or removed, or changed
mode or owner (paths, modes, owners and SHA-256, never contents), and which
packages were installed, removed or upgraded. The report lands in the
host's journal. Text diffs stay on the server, in the state directory's
history (mode 0700). Reports wait in the state directory while maillon is
unreachable, and are delivered in order, once.

It authenticates with the host's agent token ("maillon journal token create
HOST"), read from --token-file. Settings come from --config (YAML: server,
token_file, host, watch, exclude, quiet, interval, retry_max, state_dir,
dpkg_status, keep_max), flags on top.`,
		Example: `  maillon journal token create gw1 | ssh root@gw1 'umask 077; mkdir -p /etc/maillon; cat > /etc/maillon/agent.token'
  maillon agent --url https://maillon.example.org
  maillon agent --config /etc/maillon/agent.yaml --once     # report what changed now, quiet or not`,
		Args: exactArgs(0, "no arguments (settings are flags or the --config file)"),
	}
	f := cmd.Flags()
	cfgFile := f.String("config", journal.DefaultConfigFile, "the agent's YAML configuration (optional at its default place)")
	tokenFile := f.String("token-file", "", "file holding the host's agent token (default "+journal.DefaultTokenFile+")")
	host := f.String("host", "", "this host's name in maillon (default: the hostname)")
	watch := f.StringArray("watch", nil, "directory to watch (repeat; default /etc)")
	exclude := f.StringArray("exclude", nil, `pattern to leave out (repeat): "*.bak" matches names, "/etc/ssl/private" paths`)
	quiet := f.String("quiet", "", "how long nothing may change before reporting (default 1h)")
	interval := f.String("interval", "", "how often to scan (default 1m)")
	retryMax := f.String("retry-max", "", "longest wait between attempts to reach maillon (default 5m)")
	stateDir := f.String("state-dir", "", "snapshot, queue and diff history (default "+journal.DefaultStateDir+")")
	dpkg := f.String("dpkg-status", "", `dpkg's status file, "none" for no packages (default `+journal.DefaultDpkgStatus+")")
	once := f.Bool("once", false, "report what changed since the last report now, deliver the queue, and exit")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := journal.LoadConfig(*cfgFile, !cmd.Flags().Changed("config"))
		if err != nil {
			return err
		}
		if s.conn.URL != "" {
			cfg.Server = s.conn.URL
		} else if cfg.Server == "" {
			cfg.Server = s.getenv(client.EnvURL)
		}
		setIf(&cfg.TokenFile, *tokenFile)
		setIf(&cfg.Host, *host)
		setIf(&cfg.StateDir, *stateDir)
		setIf(&cfg.DpkgStatus, *dpkg)
		if len(*watch) > 0 {
			cfg.Watch = *watch
		}
		cfg.Exclude = append(cfg.Exclude, *exclude...)
		for name, d := range map[string]struct {
			v   string
			dst *config.Duration
		}{"quiet": {*quiet, &cfg.Quiet}, "interval": {*interval, &cfg.Interval}, "retry-max": {*retryMax, &cfg.RetryMax}} {
			if d.v == "" {
				continue
			}
			v, err := config.ParseDuration(d.v)
			if err != nil || v <= 0 {
				return usagef("--%s: %q is not a positive duration (30s, 10m, 1h)", name, d.v)
			}
			d.dst.Duration = v
		}
		if err := cfg.Complete(); err != nil {
			return err
		}
		token := s.conn.Token
		if token == "" {
			if token, err = cfg.Token(); err != nil {
				return err
			}
		}
		c, err := client.New(client.Options{URL: cfg.Server, Token: token})
		if err != nil {
			return err
		}
		log := slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		a, err := journal.New(cfg, journal.Options{Sender: c, Permanent: client.IsPermanent, Logger: log})
		if err != nil {
			return err
		}
		if *once {
			return a.Once(s.ctx)
		}
		// Stopped by a signal: a clean exit, as a service should.
		return a.Run(s.ctx)
	}
	return cmd
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
