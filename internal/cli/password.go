package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// adminPasswordCmd is "admin password NAME": the admin's password for the
// web interface, hashed with argon2id by the daemon.
func adminPasswordCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "password ADMIN",
		Short: "Set an admin's web interface password (id, name or email); it ends their web sessions",
		Long: `password sets the password ADMIN logs in to the web interface with. From
a terminal it is asked twice without echo; --stdin reads the first line of
standard input instead. At least 12 characters. --remove leaves only single
sign-on (web.oidc) to that admin.`,
		Example: `  maillon admin password grace@example.org
  pass show maillon/grace | maillon admin password grace --stdin
  maillon admin password grace --remove`,
		Args: exactArgs(1, "one admin (id, name or email)"),
	}
	stdin := cmd.Flags().Bool("stdin", false, "read the password from the first line of standard input")
	remove := cmd.Flags().Bool("remove", false, "remove the password")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		password := ""
		if !*remove {
			var err error
			if password, err = s.newPassword(*stdin); err != nil {
				return err
			}
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		if err := c.SetAdminPassword(s.ctx, args[0], password); err != nil {
			return err
		}
		if !s.json {
			if *remove {
				fmt.Fprintf(s.stdout, "web password of %s removed\n", args[0])
			} else {
				fmt.Fprintf(s.stdout, "web password of %s set\n", args[0])
			}
		}
		return nil
	}
	return cmd
}

// newPassword asks for a password twice on a terminal, or reads one line.
func (s *session) newPassword(fromStdin bool) (string, error) {
	f, isFile := s.stdin.(*os.File)
	if !fromStdin {
		if !isFile || !s.isTerminal(f) {
			return "", usagef("standard input is not a terminal: give --stdin to read the password from it")
		}
		fmt.Fprint(s.stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		fmt.Fprint(s.stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(s.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("stdin is empty")
	}
	return line, nil
}
