package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"maillon/internal/app"
	"maillon/internal/client"
	"maillon/internal/config"
	"maillon/internal/dbaddr"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
)

// daemonCommands are the commands that run or maintain the daemon and its
// database directly: serve, demo, init, migrate, backup, restore. Offline
// tasks open the store themselves; everything else goes through the daemon
// so that it stays the one writer.
func daemonCommands() []*cobra.Command {
	return []*cobra.Command{serveCmd(), demoCmd(), initCmd(), migrateCmd(), backupCmd(), restoreCmd()}
}

func configFlag(cmd *cobra.Command) *string {
	return cmd.Flags().String("config", os.Getenv("MAILLON_CONFIG"), "configuration file (default $MAILLON_CONFIG)")
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, errors.New("no configuration: pass --config FILE (create one with `maillon init`)")
	}
	return config.Load(path)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the maillon daemon",
		Args:  cobra.NoArgs,
	}
	cfgPath := configFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		if cfg.Listen.Socket == "" {
			cfg.Listen.Socket = client.DefaultSocket()
		}
		log := newLogger(cfg, cmd.ErrOrStderr())
		a, err := app.New(cmd.Context(), cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		log.Info("maillon started", "version", app.Version, "database", store.Describe(cfg.Database), "http", a.HTTPAddr(), "socket", a.SocketPath())
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				if err := a.Reload(); err != nil {
					log.Error("SIGHUP: reload failed; keeping the previous state", "err", err)
				} else {
					log.Info("SIGHUP: reloaded")
				}
			}
		}()
		return a.Run(cmd.Context())
	}
	return cmd
}

func initCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented configuration file, create the database and the first admin",
		Long: `init writes a configuration file with a fresh secret key, creates the
database and the first admin, and prints that admin's API token (shown once).`,
		Args: cobra.NoArgs,
	}
	cfgPath := cmd.Flags().String("config", "/etc/maillon/maillon.yaml", "configuration file to write")
	dbURL := cmd.Flags().String("database", "/var/lib/maillon/maillon.db", "SQLite path or postgres:// URL")
	socket := cmd.Flags().String("socket", "", "admin socket path (default: the CLI's default)")
	name := cmd.Flags().String("admin-name", "admin", "first admin's name")
	email := cmd.Flags().String("admin-email", "", "first admin's email (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *email == "" {
			return errors.New("--admin-email is required (the first admin's address)")
		}
		if _, err := registry.NormalizeEmail(*email); err != nil {
			return fmt.Errorf("--admin-email: %w", err)
		}
		if _, err := os.Stat(*cfgPath); err == nil {
			return fmt.Errorf("%s already exists; remove it or choose another --config", *cfgPath)
		}
		sock := *socket
		if sock == "" {
			sock = client.DefaultSocket()
		}
		// The file is read from other directories (systemd, the CLI):
		// relative paths are made absolute here, where they mean something.
		if !filepath.IsAbs(sock) {
			abs, err := filepath.Abs(sock)
			if err != nil {
				return err
			}
			sock = abs
		}
		if p := dbaddr.SQLiteFile(*dbURL); p != "" && !filepath.IsAbs(p) {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			// sqlite:x.db and file:x.db keep their prefix.
			*dbURL = strings.Replace(*dbURL, p, abs, 1)
		}
		if p := dbaddr.SQLiteFile(*dbURL); p != "" {
			if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
				return err
			}
		}
		body := config.Template(*dbURL, secret.NewKey(), sock)
		if err := os.MkdirAll(filepath.Dir(*cfgPath), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*cfgPath, []byte(body), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", *cfgPath, err)
		}
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		token, err := firstAdmin(cmd.Context(), cfg, *name, *email)
		if err != nil {
			os.Remove(*cfgPath)
			return err
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "wrote %s (keep its secret_key safe and backed up)\n", *cfgPath)
		fmt.Fprintf(out, "created the database %s and the admin %q\n", store.Describe(cfg.Database), *name)
		fmt.Fprintf(out, "API token for %s (shown once): %s\n\n", *name, token)
		fmt.Fprintf(out, "next: maillon serve --config %s\n", *cfgPath)
		return nil
	}
	return cmd
}

// firstAdmin creates the database and its first admin, refusing to add a
// second "first" admin to a database that has admins already.
func firstAdmin(ctx context.Context, cfg *config.Config, name, email string) (string, error) {
	a, err := app.New(ctx, &config.Config{Database: cfg.Database, SecretKey: cfg.SecretKey, IPAM: cfg.IPAM, Log: cfg.Log}, nil)
	if err != nil {
		return "", err
	}
	defer a.Close()
	reg := a.Registry()
	var existing []registry.Admin
	if err := reg.Read(ctx, func(r registry.Reader) error {
		var err error
		existing, err = r.ListAdmins(ctx)
		return err
	}); err != nil {
		return "", err
	}
	if len(existing) > 0 {
		return "", fmt.Errorf("the database already has %d admins; use `maillon admin add` through the daemon", len(existing))
	}
	admin, err := reg.CreateAdmin(ctx, registry.Actor{Name: "init"}, registry.AdminInput{Name: &name, Email: &email, Roles: &[]registry.Role{registry.RoleAdmin}})
	if err != nil {
		return "", err
	}
	token, _, err := reg.CreateToken(ctx, registry.Actor{Name: "init"}, admin.ID, "init", 0)
	return token, err
}

// offline runs a maintenance command on the database named by the
// configuration, opened directly (and migrated) rather than through the
// daemon.
func offline(cfgPath *string, run func(*cobra.Command, []string, *config.Config, *store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		st, err := store.Open(cmd.Context(), cfg.Database)
		if err != nil {
			return err
		}
		defer st.Close()
		return run(cmd, args, cfg, st)
	}
}

func migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve also does it at start-up)",
		Args:  cobra.NoArgs,
	}
	cfgPath := configFlag(cmd)
	cmd.RunE = offline(cfgPath, func(cmd *cobra.Command, _ []string, cfg *config.Config, st *store.Store) error {
		v, err := st.SchemaVersion(cmd.Context())
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: schema at version %d\n", store.Describe(cfg.Database), v)
		return nil
	})
	return cmd
}

func backupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent snapshot of the SQLite database, also while the daemon runs",
		Args:  cobra.ExactArgs(1),
	}
	cfgPath := configFlag(cmd)
	cmd.RunE = offline(cfgPath, func(cmd *cobra.Command, args []string, _ *config.Config, st *store.Store) error {
		start := time.Now()
		if err := st.Backup(cmd.Context(), args[0]); err != nil {
			return err
		}
		info, _ := os.Stat(args[0])
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes) in %s\n", args[0], info.Size(), time.Since(start).Round(time.Millisecond))
		return nil
	})
	return cmd
}

func restoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the SQLite database with a backup (the daemon must be stopped)",
		Args:  cobra.ExactArgs(1),
	}
	cfgPath := configFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		sock := cfg.Listen.Socket
		if sock == "" {
			sock = client.DefaultSocket()
		}
		if app.SocketAnswers(sock) {
			return fmt.Errorf("a maillon daemon is running on %s: stop it before restoring", sock)
		}
		previous, err := store.Restore(cmd.Context(), args[0], cfg.Database)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "restored %s from %s", store.Describe(cfg.Database), args[0])
		if previous != "" {
			fmt.Fprintf(cmd.OutOrStdout(), " (the previous database is kept as %s)", previous)
		}
		fmt.Fprintln(cmd.OutOrStdout())
		return nil
	}
	return cmd
}
