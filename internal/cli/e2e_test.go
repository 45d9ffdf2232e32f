package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
)

// startDaemon runs the real daemon on a fresh SQLite database, with its
// socket in a temp dir and HTTP on a free port, and returns the CLI
// environment that reaches it over the socket.
func startDaemon(t *testing.T) (env map[string]string, httpURL string) {
	t.Helper()
	cfg := app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "maillon.db"))
	cfg.Log.Level = "error"
	a := apptest.Run(t, cfg)
	return map[string]string{"MAILLON_SOCKET": a.SocketPath()}, "http://" + a.HTTPAddr()
}

// TestCLIAgainstTheDaemon drives the command line against the real daemon:
// pools, a member with a line and its addresses, lookups by what people
// have at hand, bad input, tokens over HTTP and an import.
func TestCLIAgainstTheDaemon(t *testing.T) {
	env, httpURL := startDaemon(t)
	cli := func(args ...string) result { return runCLI(runOpt{}, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("maillon %s: status %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}

	must("prefix", "add", "--cidr", "198.51.100.0/25", "--purpose", "subscriber")
	must("prefix", "add", "--cidr", "2001:db8:100::/40", "--purpose", "subscriber")
	must("prefix", "add", "--cidr", "2001:db8:1000::/36", "--purpose", "delegated", "--block-bits", "56")
	must("site", "add", "--name", "Résidence Nord", "--kind", "residence")
	must("member", "add", "--name", "Ada Lovelace", "--email", "ada@example.org", "--site", "résidence nord",
		"--room", "B204", "--period", "2026-01-01:")

	// A line gets its IPv4 /32, IPv6 /64 and delegated prefix on creation.
	out := must("subscription", "add", "--member", "ada@example.org", "--kind", "ppp", "--login", "ada@E2E",
		"--generate-password", "--mac", "AA-BB-CC-DD-EE-01")
	ipv4 := regexp.MustCompile(`(?m)^ipv4: +(198\.51\.100\.\d+)$`).FindStringSubmatch(out)
	if ipv4 == nil || !regexp.MustCompile(`(?m)^ipv6: +2001:db8:1[0-9a-f:]*/64$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^delegated: +2001:db8:1[0-9a-f:]*/56$`).MatchString(out) {
		t.Fatalf("subscription add did not show three addresses:\n%s", out)
	}
	password := regexp.MustCompile(`generated password \(shown this once\): (\S+)\n$`).FindStringSubmatch(out)
	if password == nil || strings.Count(out, password[1]) != 1 {
		t.Fatalf("the generated password is not printed exactly once:\n%s", out)
	}

	// The member is found from its line's IP and from its MAC in another
	// notation, and shows the line with its addresses.
	for _, ref := range []string{ipv4[1], "aabb.ccdd.ee01", "ada@E2E"} {
		out := must("member", "show", ref)
		if !strings.Contains(out, "email:      ada@example.org\n") || !strings.Contains(out, "site:       ") ||
			!regexp.MustCompile(`(?m)^  \d+ +\d+ +ada@E2E +ppp +active +`+regexp.QuoteMeta(ipv4[1])+` +2001:db8:`).MatchString(out) {
			t.Errorf("member show %s:\n%s", ref, out)
		}
		if strings.Contains(out, password[1]) {
			t.Errorf("member show %s printed the password", ref)
		}
	}
	if out := must("--json", "subscription", "show", "ada@E2E"); strings.Contains(out, password[1]) || !strings.Contains(out, `"password_set": true`) {
		t.Errorf("subscription --json:\n%s", out)
	}

	// Bad input: one line, status 1, and nothing written.
	count := func() int {
		var list struct{ Items []json.RawMessage }
		if err := json.Unmarshal([]byte(must("--json", "member", "list")), &list); err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	before := count()
	cli("member", "add", "--name", "X", "--email", "nope").failsWith(t, 1, `email: "nope" is not an email address`)
	cli("subscription", "add", "--member", "ada@example.org", "--kind", "pp").failsWith(t, 1, `--kind: "pp" is not one of ppp, vpn, room-port, vm`)
	cli("member", "show", "192.0.2.99").failsWith(t, 1, "member 192.0.2.99: not found")
	r := cli("member", "remove", "ada@example.org")
	if r.code != 1 || !strings.Contains(r.stderr, "still has active subscription ada@E2E") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("remove a member with a line: %d %q", r.code, r.stderr)
	}
	r = cli("prefix", "add", "--cidr", "198.51.100.64/26", "--purpose", "subscriber")
	if r.code != 1 || !strings.Contains(r.stderr, "overlaps 198.51.100.0/25") {
		t.Errorf("overlapping prefix: %d %q", r.code, r.stderr)
	}
	if n := count(); n != before {
		t.Errorf("bad input changed the member count from %d to %d", before, n)
	}

	// An admin and a token made over the socket work over HTTP.
	must("admin", "add", "--name", "root", "--email", "root@example.org", "--role", "admin")
	token := strings.TrimSpace(must("admin", "token", "create", "root@example.org", "--ttl", "1h"))
	if !strings.HasPrefix(token, "mln_") {
		t.Fatalf("token create printed %q", token)
	}
	httpEnv := map[string]string{"MAILLON_URL": httpURL, "MAILLON_TOKEN": token}
	if r := runCLI(runOpt{}, httpEnv, "subscription", "list", "--member", "ada@example.org"); r.code != 0 || !strings.Contains(r.stdout, "ada@E2E") {
		t.Errorf("list over HTTP: %d %s%s", r.code, r.stdout, r.stderr)
	}
	runCLI(runOpt{}, map[string]string{"MAILLON_URL": httpURL}, "member", "list").failsWith(t, 1,
		"an API token is required: use --token or MAILLON_TOKEN")

	// Import: all or nothing, and the bad line named.
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "members.csv"), filepath.Join(dir, "members-bad.csv")
	for path, text := range map[string]string{
		good: "name,email,membership_start\nBob,bob@example.org,2026-01-01\nCy,cy@example.org,2026-01-01\n",
		bad:  "name,email\nDi,di@example.org\nEd,ed@\n",
	} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out := must("import", good); out != "imported 2 members from "+good+"\n" {
		t.Errorf("import: %q", out)
	}
	r = cli("import", bad)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "maillon: "+bad+": line 3: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("bad import: %d %q", r.code, r.stderr)
	}
	if n := count(); n != before+2 {
		t.Errorf("after the imports %d members, want %d", n, before+2)
	}
	if out := must("audit", "--entity", "member", "--id", "ada@example.org"); !strings.Contains(out, "local:") {
		t.Errorf("audit of ada:\n%s", out)
	}
}
