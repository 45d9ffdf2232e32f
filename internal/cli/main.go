// Package cli is the maillon command line: the daemon commands, and the
// admin commands that talk to a running daemon through internal/client so
// that the daemon stays the registry's one writer.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"maillon/internal/client"
)

// Main runs the maillon command with args (without the program name) and
// returns the process exit status: 0, 1 on error, 2 on a usage error.
func Main(ctx context.Context, args []string) int {
	return run(ctx, args, &session{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		isTerminal: func(f any) bool {
			file, ok := f.(*os.File)
			return ok && term.IsTerminal(int(file.Fd()))
		},
		now: time.Now,
	})
}

// session is one run of the command: its streams, its environment and the
// daemon connection, made on first use so that offline commands never
// need one.
type session struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	isTerminal     func(any) bool
	now            func() time.Time

	conn   client.Options // from the global flags
	json   bool
	client *client.Client
	// names caches nameMap's listings for the command's run.
	names map[string]map[int64]string
}

// Client connects to the daemon named by the flags or the environment.
func (s *session) Client() (*client.Client, error) {
	if s.client != nil {
		return s.client, nil
	}
	opt, err := client.Resolve(s.conn, s.getenv)
	if err != nil {
		return nil, err
	}
	c, err := client.New(opt)
	if err != nil {
		return nil, err
	}
	s.client = c
	return c, nil
}

// usageError is a command line that cannot mean anything: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func run(ctx context.Context, args []string, s *session) int {
	s.ctx = ctx
	root := rootCmd(s)
	root.SetArgs(args)
	root.SetIn(s.stdin)
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(s.stderr, "maillon: interrupted")
		return 130
	}
	fmt.Fprintln(s.stderr, "maillon: "+errorLines(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// errorLines tidies an error for the terminal. An error of several lines
// (an import's bad lines, one per line of the file) keeps one per line,
// indented under the first, rather than running together.
func errorLines(s string) string {
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = oneLine(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n  ")
}

// oneLine keeps a text to the one line a table cell or terminal shows.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func rootCmd(s *session) *cobra.Command {
	root := &cobra.Command{
		Use:   "maillon",
		Short: "The registry and network services of a community ISP",
		Long: `maillon keeps a community ISP's members, lines and addresses and serves
the network from them. The admin commands talk to the running daemon: over
its local unix socket (no token needed), or over HTTP with --url and --token.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noSubcommand,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := root.PersistentFlags()
	pf.StringVar(&s.conn.Socket, "socket", "", "daemon's unix socket (env "+client.EnvSocket+"; default "+client.DefaultSocket()+")")
	pf.StringVar(&s.conn.URL, "url", "", "daemon's HTTP(S) URL, instead of the socket (env "+client.EnvURL+")")
	pf.StringVar(&s.conn.Token, "token", "", "API token for --url (env "+client.EnvToken+")")
	pf.BoolVar(&s.json, "json", false, "print the API's JSON instead of tables")

	// Wrong flags are usage errors; the message names the command to ask
	// for help, since the usage text itself is not printed.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%v (see %s --help)", err, cmd.CommandPath())
	})
	root.AddCommand(daemonCommands()...)
	for _, e := range entities {
		cmd := e.command(s)
		if e.name == "admin" {
			cmd.AddCommand(adminPasswordCmd(s))
		}
		if e.name == "member" {
			cmd.AddCommand(memberLanguageCmd(s))
		}
		root.AddCommand(cmd)
	}
	root.AddCommand(importCmd(s), auditCmd(s), usageCmd(s), sessionCmd(s), dnsCmd(s), caCmd(s))
	root.AddCommand(journalCmd(s), agentCmd(s))
	root.AddCommand(rosterCmd(s))
	root.AddCommand(incidentCmd(s), maintenanceCmd(s))
	root.AddCommand(alertCmd(s), silenceCmd(s))
	return root
}

// noSubcommand makes a command group reject a word it does not know, which
// cobra otherwise answers with the group's help and status 0.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// exactArgs is cobra.ExactArgs as a usage error naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (got %d arguments)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}
