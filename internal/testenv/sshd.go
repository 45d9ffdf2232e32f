package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SSHD is a real OpenSSH server (Debian's openssh-server) a test started
// on 127.0.0.1, with its own configuration in a temporary directory.
type SSHD struct {
	// Addr is 127.0.0.1:port, Port its port.
	Addr string
	Port int
	// User is the account to log in as: root when the test runs as root
	// (PermitRootLogin prohibit-password), else the current user, the
	// only one an unprivileged sshd can log in.
	User string
	Dir  string

	mu  sync.Mutex
	log bytes.Buffer
}

// Log is what sshd logged so far (LogLevel VERBOSE, on stderr).
func (s *SSHD) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// LogHas waits until what sshd logged from offset since on contains
// substr, and says whether it came: sshd may write its log line after the
// client has already seen the refusal. The 10 s bound is for a line that
// never comes, not a timing check.
func (s *SSHD) LogHas(since int, substr string) bool {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if log := s.Log(); len(log) >= since && strings.Contains(log[since:], substr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func (s *SSHD) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// SSHDUser is the account StartSSHD's server lets tests log in as.
func SSHDUser(t testing.TB) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatalf("testenv: current user: %v", err)
	}
	return u.Username
}

// StartSSHD runs `sshd -D -e` on a free port of 127.0.0.1 with hostKey
// (a private key file) and the extra sshd_config lines given, and stops it
// when the test ends. Key and certificate authentication only: no
// passwords, no PAM, no authorized_keys unless a line says otherwise.
func StartSSHD(t testing.TB, hostKey string, config ...string) *SSHD {
	t.Helper()
	bin := LookPath(t, "sshd")
	dir := t.TempDir()
	s := &SSHD{Dir: dir, User: SSHDUser(t)}
	if os.Geteuid() == 0 {
		// sshd running as root insists on its privilege separation
		// directory, which Debian's service unit creates at start
		// (RuntimeDirectory=sshd); an empty root-owned directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("testenv: sshd needs /run/sshd: %v", err)
		}
	}
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		s.log.Reset()
		s.mu.Unlock()
		s.Port = FreePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		lines := append([]string{
			"Port " + strconv.Itoa(s.Port),
			"ListenAddress 127.0.0.1",
			"HostKey " + hostKey,
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			// Temporary directories are not root-owned 0755 all the way.
			"StrictModes no",
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"AuthorizedKeysFile none",
			"LogLevel VERBOSE",
		}, config...)
		cfg := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-t", "-f", cfg).CombinedOutput(); err != nil {
			t.Fatalf("sshd -t refuses the test configuration: %v\n%s", err, out)
		}
		cmd := exec.Command(bin, "-D", "-e", "-f", cfg)
		cmd.Stdout, cmd.Stderr = s, s
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		stop := func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		}
		ready, retry := false, false
	wait:
		for range 200 {
			select {
			case err := <-done:
				if attempt < 3 && strings.Contains(s.Log(), "Address already in use") {
					retry = true // another test took the port meanwhile
					break wait
				}
				t.Fatalf("sshd exited at start: %v\n%s", err, s.Log())
			default:
			}
			if c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err == nil {
				c.Close()
				ready = true
				break wait
			}
			time.Sleep(25 * time.Millisecond)
		}
		if retry {
			continue
		}
		if !ready {
			stop()
			t.Fatalf("sshd does not listen on %s:\n%s", s.Addr, s.Log())
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("sshd log:\n%s", s.Log())
			}
		})
		return s
	}
}

// SSHClient runs the OpenSSH client in batch mode against the server, as
// user, with only the options given (no ~/.ssh/config, no agent, no
// known_hosts but the ones named), and returns its output and error.
func (s *SSHD) SSHClient(t testing.TB, opts []string, command ...string) (string, error) {
	t.Helper()
	bin := LookPath(t, "ssh")
	args := append([]string{"-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
		"-p", strconv.Itoa(s.Port)}, opts...)
	args = append(args, fmt.Sprintf("%s@127.0.0.1", s.User), "--")
	args = append(args, command...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// StartSSHAgent runs a real ssh-agent on a socket in a temporary
// directory, holding the given private keys (as a hardware token's agent
// holds a CA key), stops it when the test ends, and returns the socket.
func StartSSHAgent(t testing.TB, keys ...string) string {
	t.Helper()
	bin := LookPath(t, "ssh-agent")
	add := LookPath(t, "ssh-add")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(bin, "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ssh-agent: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The socket file appears at bind, before listen: wait for a connection
	// to succeed, not for the file (a deadline for a hung agent, not timing).
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not listen on its socket")
		}
	}
	for _, k := range keys {
		c := exec.Command(add, "-q", k)
		c.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add %s: %v\n%s", k, err, out)
		}
	}
	return sock
}
