package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"maillon/internal/registry"
	"maillon/internal/sshca"
	"maillon/internal/web"
)

func caCmd(s *session) *cobra.Command {
	group := &cobra.Command{
		Use:   "ca",
		Short: "SSH certificate authority: sign admins' and hosts' keys, list, revoke, KRL",
		Long: `The daemon holds two SSH certificate authorities: the user CA signs admins'
keys (principals from their roles), the host CA signs servers' keys (their
names from the registry). Servers trust them with the lines of "maillon ca
config", and check revocations in the KRL ("maillon ca krl", or /ca/krl).`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	group.AddCommand(caSignCmd(s, "user"), caSignCmd(s, "host"), caListCmd(s), caShowCmd(s), caRevokeCmd(s), caKRLCmd(s), caConfigCmd(s))
	return group
}

// readKeyArg reads a public key file, "-" for standard input.
func (s *session) readKeyArg(path string) (string, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(s.stdin, 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// certComment names what a certificate line is for in a -cert.pub file.
func certComment(c *registry.Certificate) string {
	return fmt.Sprintf("maillon serial %d %s %s", c.Serial, c.Kind, strings.ReplaceAll(c.Subject, " ", "_"))
}

func caSignCmd(s *session, kind string) *cobra.Command {
	cmd := &cobra.Command{
		Use: "sign-" + kind + " " + strings.ToUpper(kind) + " PUBKEY_FILE",
		Short: map[string]string{
			"user": "Sign an admin's public key; prints the certificate (save it as KEY-cert.pub)",
			"host": "Sign a host's public key; prints the certificate (sshd's HostCertificate)",
		}[kind],
		Example: map[string]string{
			"user": "  maillon ca sign-user ada@example.org ~/.ssh/id_ed25519.pub > ~/.ssh/id_ed25519-cert.pub\n  maillon ca sign-user ada id.pub --principals technical-officer --validity 30d",
			"host": "  ssh root@gw1 cat /etc/ssh/ssh_host_ed25519_key.pub | maillon ca sign-host gw1 - > gw1-cert.pub",
		}[kind],
		Args: exactArgs(2, "the "+kind+" and a public key file (- for standard input)"),
	}
	help := "narrow to these principals (some of those the admin's roles grant)"
	if kind == "host" {
		help = "add these names to the host's (its name, name.domain, address); admins only"
	}
	principals := cmd.Flags().StringSlice("principals", nil, help)
	validity := cmd.Flags().String("validity", "", "shorter validity than configured, e.g. 30d or 12h")
	output := cmd.Flags().StringP("output", "o", "", "write the certificate to this file rather than standard output")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		key, err := s.readKeyArg(args[1])
		if err != nil {
			return err
		}
		subject := map[string]string{"user": "admin", "host": "host"}[kind]
		body := map[string]any{subject: args[0], "public_key": key}
		if len(*principals) > 0 {
			body["principals"] = *principals
		}
		if *validity != "" {
			body["validity"] = *validity
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var cert registry.Certificate
		if err := c.Do(s.ctx, "POST", "/api/v1/ca/"+kind+"-certificates", nil, body, &cert); err != nil {
			return err
		}
		if s.json {
			return printJSON(s.stdout, cert)
		}
		line := cert.Certificate + " " + certComment(&cert) + "\n"
		if *output != "" {
			if err := os.WriteFile(*output, []byte(line), 0o644); err != nil {
				return err
			}
		} else if _, err := io.WriteString(s.stdout, line); err != nil {
			return err
		}
		fmt.Fprintf(s.stderr, "certificate %d for %s %s, principals %s, valid until %s\n", cert.Serial, kind, cert.Subject,
			strings.Join(cert.Principals, ","), fmtTime(cert.ValidBefore))
		return nil
	}
	return cmd
}

func caListCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List issued certificates, newest first",
		Example: "  maillon ca list --state valid\n  maillon ca list --admin ada@example.org",
		Args:    exactArgs(0, "no arguments (filter with flags)"),
	}
	kind := cmd.Flags().String("kind", "", "user or host")
	admin := cmd.Flags().String("admin", "", "only this admin's (id, name or email)")
	host := cmd.Flags().String("host", "", "only this host's (id, name or address)")
	state := cmd.Flags().String("state", "", "valid, expired, revoked or pending")
	limit := cmd.Flags().Int("limit", 0, "at most this many")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q := url.Values{}
		for k, v := range map[string]string{"kind": *kind, "admin": *admin, "host": *host, "state": *state} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *kind != "" {
			if err := oneOf(*kind, []string{"user", "host"}); err != nil {
				return usagef("--kind: %v", err)
			}
		}
		if *state != "" {
			if err := oneOf(*state, []string{registry.CertValid, registry.CertExpired, registry.CertRevoked, registry.CertPending}); err != nil {
				return usagef("--state: %v", err)
			}
		}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		return listTable(s, "/api/v1/ca/certificates", q, []column[registry.Certificate]{
			col("SERIAL", func(c *registry.Certificate) string { return fmtID(c.Serial) }),
			col("KIND", func(c *registry.Certificate) string { return string(c.Kind) }),
			col("SUBJECT", func(c *registry.Certificate) string { return c.Subject }),
			col("PRINCIPALS", func(c *registry.Certificate) string { return strings.Join(c.Principals, ",") }),
			col("VALID UNTIL", func(c *registry.Certificate) string { return fmtTime(c.ValidBefore) }),
			col("STATE", func(c *registry.Certificate) string { return c.State }),
			col("KEY", func(c *registry.Certificate) string { return c.Fingerprint }),
		})
	}
	return cmd
}

func caShowCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "show SERIAL",
		Short: "Print an issued certificate again, as a -cert.pub line",
		Args:  exactArgs(1, "one serial"),
		RunE: func(cmd *cobra.Command, args []string) error {
			serial, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || serial <= 0 {
				return usagef("serial %q is not a number (maillon ca list shows them)", args[0])
			}
			c, err := s.Client()
			if err != nil {
				return err
			}
			var cert registry.Certificate
			if err := c.Do(s.ctx, "GET", "/api/v1/ca/certificates/"+fmtID(serial), nil, nil, &cert); err != nil {
				return err
			}
			if s.json {
				return printJSON(s.stdout, cert)
			}
			fmt.Fprintf(s.stderr, "certificate %d for %s %s, %s, valid %s to %s\n", cert.Serial, cert.Kind, cert.Subject, cert.State,
				fmtTime(cert.ValidAfter), fmtTime(cert.ValidBefore))
			_, err = fmt.Fprintln(s.stdout, cert.Certificate+" "+certComment(&cert))
			return err
		},
	}
}

func caRevokeCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke SERIAL | --key FILE",
		Short: "Revoke a certificate by serial, or a key and every certificate on it; the KRL is rewritten",
		Example: `  maillon ca revoke 42 --reason "laptop stolen"
  maillon ca revoke --key ada-old.pub --reason "key leaked"`,
	}
	keyFile := cmd.Flags().String("key", "", "revoke this public key (or the key of this certificate) outright")
	reason := cmd.Flags().String("reason", "", "why, for the audit log")
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if (*keyFile == "") == (len(args) == 0) || len(args) > 1 {
			return usagef("%s takes a serial or --key FILE, one of them", cmd.CommandPath())
		}
		return nil
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := s.Client()
		if err != nil {
			return err
		}
		if *keyFile != "" {
			key, err := s.readKeyArg(*keyFile)
			if err != nil {
				return err
			}
			var out web.KeyRevocation
			if err := c.Do(s.ctx, "POST", "/api/v1/ca/revoked-keys", nil, map[string]string{"public_key": key, "reason": *reason}, &out); err != nil {
				return err
			}
			if s.json {
				return printJSON(s.stdout, out)
			}
			serials := make([]string, len(out.Certificates))
			for i, cert := range out.Certificates {
				serials[i] = fmtID(cert.Serial)
			}
			also := "no certificate"
			if len(serials) > 0 {
				also = "certificates " + strings.Join(serials, ", ")
			}
			fmt.Fprintf(s.stdout, "revoked key %s and %s\n", out.Key.Fingerprint, also)
			return nil
		}
		serial, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || serial <= 0 {
			return usagef("serial %q is not a number (maillon ca list shows them)", args[0])
		}
		var cert registry.Certificate
		if err := c.Do(s.ctx, "POST", "/api/v1/ca/certificates/"+fmtID(serial)+"/revoke", nil, map[string]string{"reason": *reason}, &cert); err != nil {
			return err
		}
		if s.json {
			return printJSON(s.stdout, cert)
		}
		fmt.Fprintf(s.stdout, "revoked certificate %d of %s %s\n", cert.Serial, cert.Kind, cert.Subject)
		return nil
	}
	return cmd
}

func caKRLCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "krl",
		Short:   "Write the KRL (sshd's RevokedKeys, binary) to standard output or a file",
		Example: "  maillon ca krl -o /etc/ssh/maillon_revoked_keys\n  maillon ca krl | ssh-keygen -Q -f /dev/stdin ~/.ssh/id_ed25519-cert.pub",
		Args:    exactArgs(0, "no arguments"),
	}
	output := cmd.Flags().StringP("output", "o", "", "write to this file (atomically) rather than standard output")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *output == "" && s.isTerminal(s.stdout) {
			return usagef("the KRL is binary: redirect it or give -o FILE")
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := c.Download(s.ctx, "/ca/krl", nil, &buf); err != nil {
			return err
		}
		if *output == "" {
			_, err := s.stdout.Write(buf.Bytes())
			return err
		}
		// Whole or not at all: a half-written KRL makes sshd refuse everyone.
		_, err = sshca.WriteFileAtomic(*output, buf.Bytes(), 0o644)
		return err
	}
	return cmd
}

func caConfigCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the sshd_config, CA key and known_hosts lines to deploy",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := s.Client()
			if err != nil {
				return err
			}
			var d web.CADeployment
			if err := c.Do(s.ctx, "GET", "/api/v1/ca/config", nil, nil, &d); err != nil {
				return err
			}
			if s.json {
				return printJSON(s.stdout, d)
			}
			_, err = io.WriteString(s.stdout, d.Text)
			return err
		},
	}
}
