package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Knot is a knotd started by a test.
type Knot struct {
	Dir  string // its configuration, zone files and storage
	Addr string // 127.0.0.1:port, UDP and TCP
	Log  Buffer // what it printed
}

// StartKnot runs knotd on 127.0.0.1:port (a free port when 0) with the
// configuration conf writes for its directory and "127.0.0.1@port" listen
// address, the files (zone files) written there first, and stops it when
// the test ends, showing its log if the test failed.
func StartKnot(t testing.TB, port int, conf func(dir, listen string) string, files map[string]string) *Knot {
	t.Helper()
	bin := LookPath(t, "knotd")
	if port == 0 {
		port = FreePort(t)
	}
	k := &Knot{Dir: t.TempDir(), Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(k.Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(k.Dir, "knot.conf")
	if err := os.WriteFile(cfg, []byte(conf(k.Dir, "127.0.0.1@"+strconv.Itoa(port))), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cfg)
	cmd.Stdout, cmd.Stderr = &k.Log, &k.Log
	if err := cmd.Start(); err != nil {
		t.Fatalf("knotd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("knotd log:\n%s", k.Log.String())
		}
	})
	// Any answer, even REFUSED, means it listens: a deadline for
	// readiness, not a timing test.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c := &mdns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
		m := new(mdns.Msg)
		m.SetQuestion("knot.test.", mdns.TypeSOA)
		if _, _, err := c.Exchange(m, k.Addr); err == nil {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("knotd did not start:\n%s", k.Log.String())
		}
	}
}
