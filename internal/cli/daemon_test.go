package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"maillon/internal/app"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/store"
	"maillon/internal/testenv"
)

func initDB(t *testing.T, dir, database string) (conf, token string) {
	t.Helper()
	conf = filepath.Join(dir, "maillon.yaml")
	r := runCLI(runOpt{}, nil, "init", "--config", conf, "--database", database, "--admin-email", "root@example.org",
		"--socket", filepath.Join(dir, "maillon.sock"))
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`API token for admin \(shown once\): (mln_\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("init printed no token:\n%s", r.stdout)
	}
	return conf, m[1]
}

// serveFrom runs a daemon from a config file written by init, its
// listeners moved to free loopback ports.
func serveFrom(t *testing.T, conf string) (*app.App, func()) {
	t.Helper()
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	lb := app.LoopbackConfig(t.TempDir(), cfg.Database)
	cfg.Listen.HTTP, cfg.RADIUS, cfg.DNS.Listen = lb.Listen.HTTP, lb.RADIUS, lb.DNS.Listen
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, func() {
		cancel()
		<-done
		a.Close()
	}
}

func TestInitOnBothEngines(t *testing.T) {
	for name, database := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "db", "maillon.db") },
		"postgres": func(t *testing.T) string { return testenv.FreshPostgresDB(t) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := database(t)
			conf, token := initDB(t, dir, db)
			// The file it wrote is commented, private, and holds a key.
			info, err := os.Stat(conf)
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("config %v, %v", info, err)
			}
			body, _ := os.ReadFile(conf)
			if !strings.Contains(string(body), "# ") || !strings.Contains(string(body), "secret_key: ") {
				t.Fatalf("config:\n%s", body)
			}
			runCLI(runOpt{}, nil, "init", "--config", conf, "--database", db, "--admin-email", "x@example.org").
				failsWith(t, 1, conf+" already exists; remove it or choose another --config")
			r := runCLI(runOpt{}, nil, "init", "--config", filepath.Join(dir, "other.yaml"), "--database", db, "--admin-email", "x@example.org")
			if r.code != 1 || !strings.Contains(r.stderr, "already has 1 admins") {
				t.Fatalf("second init on the same database: %d %s", r.code, r.stderr)
			}
			a, stop := serveFrom(t, conf)
			defer stop()
			admin, err := a.Registry().Authenticate(context.Background(), token)
			if err != nil || admin.Name != "admin" || !admin.Has(registry.RoleAdmin) {
				t.Fatalf("the printed token: %+v, %v", admin, err)
			}
			env := map[string]string{"MAILLON_URL": "http://" + a.HTTPAddr(), "MAILLON_TOKEN": token}
			if r := runCLI(runOpt{}, env, "member", "list"); r.code != 0 {
				t.Fatalf("member list with the init token: %s", r.stderr)
			}
		})
	}
	runCLI(runOpt{}, nil, "init", "--config", filepath.Join(t.TempDir(), "c.yaml"), "--database", filepath.Join(t.TempDir(), "m.db")).
		failsWith(t, 1, "--admin-email is required (the first admin's address)")
}

// A backup taken while the daemon writes is a sound database holding what
// was committed; restore refuses while the daemon runs and then puts the
// backup in place, keeping the replaced database aside.
func TestBackupWhileServingAndRestore(t *testing.T) {
	dir := t.TempDir()
	conf, _ := initDB(t, dir, filepath.Join(dir, "maillon.db"))
	a, stop := serveFrom(t, conf)
	reg := a.Registry()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	written := make(chan struct{})
	go func() {
		defer wg.Done()
		ok := 0
		for i := 0; ctx.Err() == nil; i++ {
			name, email := fmt.Sprintf("Writer %d", i), fmt.Sprintf("w%d@example.org", i)
			if _, err := reg.CreateMember(context.Background(), registry.System, registry.MemberInput{Name: &name, Email: &email}); err != nil {
				t.Errorf("writer: %v", err)
				close(written)
				return
			}
			if ok++; ok == 10 {
				close(written)
			}
		}
	}()
	// The backup starts once some members are committed, and runs while
	// the writer goes on.
	<-written
	backup := filepath.Join(dir, "backup.db")
	r := runCLI(runOpt{}, nil, "backup", "--config", conf, backup)
	cancel()
	wg.Wait()
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+backup) {
		t.Fatalf("backup: %d %s %s", r.code, r.stdout, r.stderr)
	}
	runCLI(runOpt{}, nil, "backup", "--config", conf, backup).failsWith(t, 1, "backup: "+backup+" already exists")
	// Members' data is for the owner's eyes: the database, its WAL and the
	// backup are not readable by other local users, whatever the umask.
	for _, f := range []string{"maillon.db", "maillon.db-wal", "backup.db"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	count := func(path string) int64 {
		st, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var n int64
		st.Read(context.Background(), func(r registry.Reader) error { n, err = r.CountMembers(context.Background()); return err })
		return n
	}
	inBackup := count(backup)
	if inBackup == 0 {
		t.Fatal("the backup holds no member")
	}
	// Restoring under a running daemon would pull the file from under it.
	sock := filepath.Join(dir, "maillon.sock")
	cfg, _ := config.Load(conf)
	if cfg.Listen.Socket != sock {
		t.Fatalf("socket %s", cfg.Listen.Socket)
	}
	runCLI(runOpt{}, nil, "restore", "--config", conf, backup).failsWith(t, 1, "a maillon daemon is running on "+sock+": stop it before restoring")
	stop()
	live := count(filepath.Join(dir, "maillon.db"))
	if live <= inBackup {
		t.Logf("no write after the backup (live %d, backup %d)", live, inBackup)
	}
	r = runCLI(runOpt{}, nil, "restore", "--config", conf, backup)
	if r.code != 0 || !strings.Contains(r.stdout, "previous database is kept as") {
		t.Fatalf("restore: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := count(filepath.Join(dir, "maillon.db")); got != inBackup {
		t.Fatalf("after restore %d members, backup had %d", got, inBackup)
	}
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("not a database"), 0o600)
	if r := runCLI(runOpt{}, nil, "restore", "--config", conf, garbage); r.code != 1 || !strings.Contains(r.stderr, "garbage.db") {
		t.Fatalf("restore of garbage: %d %s", r.code, r.stderr)
	}
	if got := count(filepath.Join(dir, "maillon.db")); got != inBackup {
		t.Fatalf("a refused restore changed the database: %d members", got)
	}
}

// The demo says which flag moves a listener another program holds.
func TestDemoNamesTheFlagOfABusyPort(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	r := runCLI(runOpt{}, nil, "demo", "--socket", filepath.Join(t.TempDir(), "s.sock"), "--http", "127.0.0.1:0",
		"--radius-auth", "127.0.0.1:0", "--radius-acct", "127.0.0.1:0", "--dns", busy.LocalAddr().String())
	if r.code != 1 || !strings.Contains(r.stderr, "address already in use") || !strings.Contains(r.stderr, "--dns ADDR") {
		t.Fatalf("demo on a busy DNS port: %d %s", r.code, r.stderr)
	}
}

// The demo's monitoring banner counts the alerts a power cut raises (the
// uplink's and the Fleming switch's), and its commands carry --socket
// like the banner's other commands, so they reach the demo when pasted.
func TestDemoMonitorBanner(t *testing.T) {
	got := demoMonitorBanner(4242, " --socket /tmp/d.sock", "http://127.0.0.1:8080", "TOKEN")
	for _, want := range []string{
		"kill -USR1 4242 ", "two alerts",
		"maillon --socket /tmp/d.sock check list; maillon --socket /tmp/d.sock check graph\n",
		"maillon --socket /tmp/d.sock alert list; maillon --socket /tmp/d.sock alert ack 1\n",
		"curl http://127.0.0.1:8080/push/TOKEN ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("banner lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "one alert") {
		t.Errorf("banner promises one alert:\n%s", got)
	}
}

// init writes absolute paths, whatever it was given: the daemon, systemd
// and the CLI read the file from other directories, and a relative
// database path would open (and create) another, empty database there.
// A relative path written by hand is refused.
func TestInitWritesAbsolutePaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := runCLI(runOpt{}, nil, "init", "--config", "etc/maillon.yaml", "--database", "var/maillon.db", "--admin-email", "root@example.org",
		"--socket", "run/maillon.sock")
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	cfg, err := config.Load(filepath.Join(dir, "etc/maillon.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != filepath.Join(dir, "var/maillon.db") || cfg.Listen.Socket != filepath.Join(dir, "run/maillon.sock") {
		t.Fatalf("init wrote database %q, socket %q", cfg.Database, cfg.Listen.Socket)
	}
	st, err := store.Open(context.Background(), cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var admins []registry.Admin
	if err := st.Read(context.Background(), func(r registry.Reader) error { admins, err = r.ListAdmins(context.Background()); return err }); err != nil || len(admins) != 1 {
		t.Fatalf("the database init made has %d admins: %v", len(admins), err)
	}

	// A sqlite: URL keeps its prefix, its path made absolute.
	r = runCLI(runOpt{}, nil, "init", "--config", filepath.Join(dir, "etc/prefixed.yaml"), "--database", "sqlite:var/other.db",
		"--admin-email", "root@example.org", "--socket", filepath.Join(dir, "run/other.sock"))
	if r.code != 0 {
		t.Fatalf("init with sqlite:: %d %s", r.code, r.stderr)
	}
	if cfg, err := config.Load(filepath.Join(dir, "etc/prefixed.yaml")); err != nil || cfg.Database != "sqlite:"+filepath.Join(elsewhere, "var/other.db") {
		t.Fatalf("init with sqlite: wrote %v, %v", cfg, err)
	}

	conf := filepath.Join(dir, "etc/relative.yaml")
	body, _ := os.ReadFile(filepath.Join(dir, "etc/maillon.yaml"))
	os.WriteFile(conf, []byte(strings.Replace(string(body), filepath.Join(dir, "var/maillon.db"), "var/maillon.db", 1)), 0o600)
	if _, err := config.Load(conf); err == nil || !strings.Contains(err.Error(), `database: "var/maillon.db" is a relative path`) {
		t.Fatalf("a relative database path: %v", err)
	}
}
