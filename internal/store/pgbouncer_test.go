package store_test

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"maillon/internal/testenv"
)

// pgbouncerURL starts a PgBouncer in transaction pooling mode in front of a
// fresh test database, as production setups under Patroni run it, and
// returns a URL through it: the whole store suite runs there too.
func pgbouncerURL(t *testing.T) string {
	direct := testenv.FreshPostgresDB(t)
	bin := testenv.LookPath(t, "pgbouncer")
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is private to us, and PgBouncer runs as
	// postgres when we are root.
	dir, err := os.MkdirTemp("", "maillon-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	port := testenv.FreePort(t)
	users := filepath.Join(dir, "users.txt")
	os.WriteFile(users, []byte(fmt.Sprintf("%q \"\"\n", u.User.Username())), 0o644)
	ini := filepath.Join(dir, "pgbouncer.ini")
	os.WriteFile(ini, []byte(fmt.Sprintf(`[databases]
* = host=%s port=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 200
default_pool_size = 10
logfile = %s
pidfile = %s
ignore_startup_parameters = extra_float_digits
`, u.Hostname(), u.Port(), port, users, filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))), 0o644)
	cmd := exec.Command(bin, ini)
	if os.Getuid() == 0 {
		// PgBouncer refuses to run as root. Drop to postgres in the child
		// itself (not through runuser, whose own child would outlive a
		// kill of runuser).
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgbouncer must not run as root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.ParseUint(pg.Uid, 10, 32)
		gid, _ := strconv.ParseUint(pg.Gid, 10, 32)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	out, _ := os.Create(filepath.Join(dir, "stdout.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			deadline = time.Time{}
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			so, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			t.Fatalf("pgbouncer did not start: %v\n%s%s", err, log, so)
		}
		time.Sleep(50 * time.Millisecond)
	}
	u.Host = addr
	return u.String()
}
