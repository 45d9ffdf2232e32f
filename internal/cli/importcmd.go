package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// importKinds maps what people type to the import endpoint's kind.
var importKinds = map[string]string{
	"member": "members", "members": "members",
	"subscription": "subscriptions", "subscriptions": "subscriptions",
}

func importCmd(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import [members|subscriptions] FILE",
		Short: "Import a CSV file of members or subscriptions, all or nothing",
		Long: `import sends a CSV file to the daemon, which creates everything in it or,
at the first bad line, nothing. What the file holds is taken from the first
argument, --kind, or else the file's name (members.csv, subscriptions-2026.csv).
FILE - reads standard input. On a terminal a progress bar follows the import.`,
		Example: `  maillon import members.csv
  maillon import subscriptions lines.csv
  maillon import --kind members - < export.csv`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%s takes [members|subscriptions] FILE (got %d arguments)", cmd.CommandPath(), len(args))
			}
			return nil
		},
	}
	kindFlag := cmd.Flags().String("kind", "", "what the file holds: members or subscriptions")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path := args[len(args)-1]
		given := *kindFlag
		if len(args) == 2 {
			if given != "" && importKinds[given] != importKinds[args[0]] {
				return usagef("--kind %s contradicts %q", given, args[0])
			}
			given = args[0]
		}
		kind, err := importKind(given, path)
		if err != nil {
			return err
		}
		var in io.Reader = s.stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return err // *PathError names the file
			}
			defer f.Close()
			in = f
		}
		c, err := s.Client()
		if err != nil {
			return err
		}
		var progress func(done, total int)
		bar := &progressBar{w: s.stderr, label: "importing " + kind}
		if s.isTerminal(s.stderr) && !s.json {
			progress = bar.update
		}
		n, err := c.Import(s.ctx, kind, in, progress)
		bar.clear()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if s.json {
			return printJSON(s.stdout, map[string]any{"ok": true, "created": n})
		}
		_, err = fmt.Fprintf(s.stdout, "imported %d %s from %s\n", n, kind, path)
		return err
	}
	return cmd
}

// importKind reads the kind given, or guesses it from the file's name.
func importKind(given, path string) (string, error) {
	if given != "" {
		if k, ok := importKinds[given]; ok {
			return k, nil
		}
		return "", fmt.Errorf("cannot import %q: members or subscriptions", given)
	}
	base := strings.ToLower(filepath.Base(path))
	for _, k := range []string{"subscription", "member"} {
		if strings.HasPrefix(base, k) {
			return importKinds[k], nil
		}
	}
	return "", usagef("cannot tell what %s holds: say members or subscriptions (maillon import members %s)", path, path)
}

// progressBar draws "label [=====     ]  50% 10000/20000" on one terminal
// line. It is a few lines rather than a library: the NDJSON stream already
// paces the updates (10 a second), and the maintained bar libraries bring
// four or five modules (ANSI, colour, width tables) for this.
type progressBar struct {
	w     io.Writer
	label string
	drawn bool
}

const barWidth = 30

func (b *progressBar) update(done, total int) {
	if total <= 0 {
		return
	}
	done = min(max(done, 0), total)
	filled := done * barWidth / total
	fmt.Fprintf(b.w, "\r%s [%s%s] %3d%% %d/%d", b.label,
		strings.Repeat("=", filled), strings.Repeat(" ", barWidth-filled), done*100/total, done, total)
	b.drawn = true
}

// clear erases the bar so the result or the error line stands alone.
func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}
