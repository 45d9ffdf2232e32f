// Package testenv gives tests what they need from the machine: the throw-away
// PostgreSQL cluster started by scripts/test.sh, a fresh database per test,
// peer programs installed from Debian packages (radclient, kdig, sshd, ...)
// and free loopback ports.
//
// A missing requirement skips the test on a developer's machine, and fails
// it when MAILLON_REQUIRE_PEERS or CI is set (scripts/test.sh sets the
// former): in CI a missing peer is a failure, never a skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresURLEnv names the variable holding the URL of the test cluster's
// base database; scripts/test.sh exports it.
const PostgresURLEnv = "MAILLON_TEST_POSTGRES_URL"

// RequirePeers reports whether a missing peer or database must fail the test
// rather than skip it: MAILLON_REQUIRE_PEERS or CI is set to anything but
// "", "0" or "false".
func RequirePeers() bool {
	return truthy(os.Getenv("MAILLON_REQUIRE_PEERS")) || truthy(os.Getenv("CI"))
}

func truthy(v string) bool {
	v = strings.TrimSpace(strings.ToLower(v))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// Unavailable stops the test because something it needs from the machine is
// missing: t.Fatal when RequirePeers, t.Skip otherwise. Use it for
// requirements this package has no helper for.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequirePeers() {
		t.Fatalf("%s (required: MAILLON_REQUIRE_PEERS or CI is set)", msg)
	}
	t.Skipf("%s; run scripts/test.sh, which installs and starts what the tests need", msg)
}

// PostgresURL returns the URL of the test cluster's base database
// (MAILLON_TEST_POSTGRES_URL). Tests that create tables should use
// FreshPostgresDB instead.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresURLEnv)
	if u == "" {
		Unavailable(t, "%s is not set: no PostgreSQL server for this test", PostgresURLEnv)
	}
	return u
}

// FreshPostgresDB creates an empty database for this test on the test
// cluster, returns its URL, and drops it when the test ends.
func FreshPostgresDB(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL, got %q", PostgresURLEnv, base)
	}
	name := "maillon_test_" + randomHex(t, 8)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("testenv: connect to %s: %v", redact(base), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(base, name); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})

	fresh := *u
	fresh.Path = "/" + name
	fresh.RawPath = ""
	return fresh.String()
}

func dropDatabase(base, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42601" { // syntax error: server < 13
		if _, err := conn.Exec(ctx,
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
			name); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident)
	}
	return err
}

// redact hides a password in a URL for error messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// PeerPackages maps peer programs to the Debian package that provides them.
// scripts/test-packages.txt must list the package of every peer a test uses.
var PeerPackages = map[string]string{
	"radclient":  "freeradius-utils",
	"radtest":    "freeradius-utils",
	"freeradius": "freeradius",
	"eapol_test": "eapoltest",
	"kdig":       "knot-dnsutils",
	"knsupdate":  "knot-dnsutils",
	"knotd":      "knot",
	"knotc":      "knot",
	"kzonecheck": "knot-dnssecutils",
	"keymgr":     "knot",
	"dnsperf":    "dnsperf",
	"sshd":       "openssh-server",
	"ssh":        "openssh-client",
	"ssh-keygen": "openssh-client",
	"ssh-agent":  "openssh-client",
	"ssh-add":    "openssh-client",
	"chromium":   "chromium",
	"node":       "nodejs",
	"npm":        "npm",
	"psql":       "postgresql-client",
	"initdb":     "postgresql",
	"pg_ctl":     "postgresql",
	"postgres":   "postgresql",
	"pgbouncer":  "pgbouncer",
	"plackup":    "libplack-perl",

	// Monitoring.
	"prometheus-alertmanager": "prometheus-alertmanager",
}

// extraDirs returns the directories searched after $PATH: the sbin
// directories (often not on a user's PATH) and PostgreSQL's versioned bin
// directories, newest first.
func extraDirs() []string {
	dirs := []string{"/usr/local/sbin", "/usr/sbin", "/sbin"}
	pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(pg, func(i, j int) bool { return pgMajor(pg[i]) > pgMajor(pg[j]) })
	return append(dirs, pg...)
}

func pgMajor(bindir string) int {
	n, err := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	if err != nil {
		return -1
	}
	return n
}

// LookPath returns the absolute path of a peer program, searching $PATH,
// then /usr/local/sbin, /usr/sbin, /sbin and /usr/lib/postgresql/*/bin.
// A missing program fails the test under MAILLON_REQUIRE_PEERS or CI and
// skips it otherwise, naming the Debian package to install.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := lookPath(name); err == nil {
		return p
	}
	hint := ""
	if pkg, ok := PeerPackages[name]; ok {
		hint = fmt.Sprintf(" (Debian package %s: list it in scripts/test-packages.txt)", pkg)
	}
	Unavailable(t, "peer program %q not found in $PATH, /usr/sbin or /usr/lib/postgresql/*/bin%s", name, hint)
	return ""
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	if strings.ContainsRune(name, filepath.Separator) {
		return "", fmt.Errorf("%s: not found", name)
	}
	for _, d := range extraDirs() {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found", name)
}

// FreePort returns a port number on 127.0.0.1 that was free for both TCP and
// UDP a moment ago, for peers that must be told a port number (knotd,
// freeradius, sshd). Prefer listening on :0 and asking the listener for its
// address when the code under test allows it: another process may take the
// port between this call and its use.
func FreePort(t testing.TB) int {
	t.Helper()
	var lastErr error
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: listen tcp: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			lastErr = err
			continue
		}
		pc.Close()
		return port
	}
	t.Fatalf("testenv: no port free for both TCP and UDP: %v", lastErr)
	return 0
}
