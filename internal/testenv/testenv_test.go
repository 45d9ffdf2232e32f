package testenv

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect %s: %v", u, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func dbName(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func databaseExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestFreshPostgresDBIsolatedAndDropped(t *testing.T) {
	base := connect(t, PostgresURL(t))
	ctx := context.Background()

	var nameA, nameB string
	t.Run("isolated", func(t *testing.T) {
		urlA, urlB := FreshPostgresDB(t), FreshPostgresDB(t)
		nameA, nameB = dbName(t, urlA), dbName(t, urlB)
		if nameA == nameB {
			t.Fatalf("two fresh databases share the name %q", nameA)
		}
		for _, n := range []string{nameA, nameB} {
			if !strings.HasPrefix(n, "maillon_test_") {
				t.Errorf("database name %q lacks the maillon_test_ prefix", n)
			}
		}

		a, b := connect(t, urlA), connect(t, urlB)
		var cur string
		if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&cur); err != nil {
			t.Fatal(err)
		}
		if cur != nameA {
			t.Fatalf("URL %s connected to database %q, want %q", urlA, cur, nameA)
		}
		if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Exec(ctx, "INSERT INTO only_in_a VALUES (1), (2)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := a.QueryRow(ctx, "SELECT count(*) FROM only_in_a").Scan(&n); err != nil || n != 2 {
			t.Fatalf("count in a = %d, %v; want 2, nil", n, err)
		}
		var reg *string
		if err := b.QueryRow(ctx, "SELECT to_regclass('only_in_a')::text").Scan(&reg); err != nil {
			t.Fatal(err)
		}
		if reg != nil {
			t.Fatalf("table only_in_a, created in %s, is visible in %s", nameA, nameB)
		}
		if !databaseExists(t, base, nameA) || !databaseExists(t, base, nameB) {
			t.Fatal("fresh databases are not listed in pg_database")
		}
		// a and b stay connected: cleanup must drop databases in use.
	})
	if nameA == "" {
		t.Fatal("subtest did not create databases")
	}
	for _, n := range []string{nameA, nameB} {
		if databaseExists(t, base, n) {
			t.Errorf("database %s still exists after its test ended", n)
		}
	}
}

func TestFreshPostgresDBParallel(t *testing.T) {
	PostgresURL(t)
	const n = 4
	var mu sync.Mutex
	seen := map[string]bool{}
	for i := range n {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			u := FreshPostgresDB(t)
			conn := connect(t, u)
			if _, err := conn.Exec(context.Background(), "CREATE TABLE t (v text)"); err != nil {
				t.Fatalf("create table in %s: %v", u, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[u] {
				t.Errorf("URL %s handed out twice", u)
			}
			seen[u] = true
		})
	}
}

// fakeTB records how a helper stopped the test instead of stopping the real
// one. Fatal and Skip end the calling goroutine, as the real ones do.
type fakeTB struct {
	testing.TB
	fataled, skipped bool
	msg              string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fataled, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any) { f.Skipf("%s", fmt.Sprint(args...)) }

// runFake runs fn with a fakeTB in its own goroutine (so Goexit ends only it).
func runFake(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestMissingPeerFailsWhenRequiredSkipsOtherwise(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	missing := "maillon-no-such-peer"
	PeerPackages[missing] = "maillon-fake-package"
	t.Cleanup(func() { delete(PeerPackages, missing) })

	t.Setenv("CI", "")
	t.Setenv("MAILLON_REQUIRE_PEERS", "1")
	f := runFake(t, func(tb testing.TB) { LookPath(tb, missing) })
	if !f.fataled || f.skipped {
		t.Fatalf("MAILLON_REQUIRE_PEERS=1: fataled=%v skipped=%v, want a failure", f.fataled, f.skipped)
	}
	if !strings.Contains(f.msg, "maillon-fake-package") || !strings.Contains(f.msg, missing) {
		t.Errorf("failure message %q names neither the program nor its package", f.msg)
	}

	t.Setenv("MAILLON_REQUIRE_PEERS", "")
	t.Setenv("CI", "true")
	if f := runFake(t, func(tb testing.TB) { LookPath(tb, missing) }); !f.fataled {
		t.Errorf("CI=true: missing peer did not fail the test")
	}

	t.Setenv("CI", "false")
	t.Setenv("MAILLON_REQUIRE_PEERS", "0")
	f = runFake(t, func(tb testing.TB) { LookPath(tb, missing) })
	if !f.skipped || f.fataled {
		t.Fatalf("no CI: fataled=%v skipped=%v, want a skip", f.fataled, f.skipped)
	}
	if !strings.Contains(f.msg, "scripts/test.sh") || !strings.Contains(f.msg, "maillon-fake-package") {
		t.Errorf("skip message %q should point to scripts/test.sh and the package", f.msg)
	}

	t.Setenv(PostgresURLEnv, "")
	f = runFake(t, func(tb testing.TB) { PostgresURL(tb) })
	if !f.skipped || !strings.Contains(f.msg, PostgresURLEnv) {
		t.Errorf("unset %s without CI: skipped=%v msg=%q", PostgresURLEnv, f.skipped, f.msg)
	}
	t.Setenv("CI", "1")
	if f := runFake(t, func(tb testing.TB) { PostgresURL(tb) }); !f.fataled {
		t.Errorf("unset %s under CI did not fail", PostgresURLEnv)
	}
}

func TestLookPathFindsPrograms(t *testing.T) {
	p := LookPath(t, "sh")
	if !filepath.IsAbs(p) {
		t.Errorf("LookPath(sh) = %q, not absolute", p)
	}

	// A program outside $PATH but in /usr/lib/postgresql/*/bin is found.
	if matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(matches) > 0 {
		t.Setenv("PATH", t.TempDir())
		p := LookPath(t, "initdb")
		if !strings.HasPrefix(p, "/usr/lib/postgresql/") {
			t.Errorf("LookPath(initdb) with empty PATH = %q, want one under /usr/lib/postgresql", p)
		}
	} else if os.Getenv(PostgresURLEnv) != "" && RequirePeers() {
		t.Errorf("no /usr/lib/postgresql/*/bin/initdb, yet the tests run with PostgreSQL")
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreePort's port is not free for TCP: %v", err)
	}
	defer l.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("FreePort's port is not free for UDP: %v", err)
	}
	pc.Close()
}
