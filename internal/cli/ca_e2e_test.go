package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"maillon/internal/app"
	"maillon/internal/config"
	"maillon/internal/testenv"
)

// startDaemonWith runs the real daemon like startDaemon, with the
// configuration changed first.
func startDaemonWith(t *testing.T, change func(*config.Config)) (env map[string]string, httpURL string) {
	t.Helper()
	cfg := app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "maillon.db"))
	cfg.Log.Level = "error"
	change(cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon stopped with %v", err)
		}
		a.Close()
	})
	return map[string]string{"MAILLON_SOCKET": a.SocketPath()}, "http://" + a.HTTPAddr()
}

func keygen(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(testenv.LookPath(t, "ssh-keygen"), args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestSSHCertificatesAgainstOpenSSH is the CA's round trip with the real
// programs: the daemon signs with a user CA key file under a passphrase
// and a host CA key that only ssh-agent holds; Debian's sshd trusts them
// with the lines `maillon ca config` prints, and ssh logs in with a
// certificate from `maillon ca sign-user`, trusts sshd's certificate
// from `maillon ca sign-host` through @cert-authority alone, and is
// refused once the certificate has expired or is revoked (by serial or by
// key) in the KRL the daemon writes; given that KRL as RevokedHostKeys,
// ssh refuses the server once its host certificate is revoked.
func TestSSHCertificatesAgainstOpenSSH(t *testing.T) {
	testenv.LookPath(t, "sshd")
	testenv.LookPath(t, "ssh")
	dir := t.TempDir()
	keygen(t, "-q", "-t", "ed25519", "-N", "correct horse battery", "-C", "user CA", "-f", filepath.Join(dir, "user_ca"))
	os.WriteFile(filepath.Join(dir, "user_ca.pass"), []byte("correct horse battery\n"), 0o600)
	keygen(t, "-q", "-t", "ecdsa", "-N", "", "-C", "host CA", "-f", filepath.Join(dir, "host_ca"))
	sock := testenv.StartSSHAgent(t, filepath.Join(dir, "host_ca"))
	hostCAPub, _ := os.ReadFile(filepath.Join(dir, "host_ca.pub"))
	os.Remove(filepath.Join(dir, "host_ca")) // the agent has the only copy now
	krlPath := filepath.Join(dir, "revoked_keys")
	account := testenv.SSHDUser(t)

	env, httpURL := startDaemonWith(t, func(c *config.Config) {
		c.CA.User.KeyFile = filepath.Join(dir, "user_ca")
		c.CA.User.PassphraseFile = filepath.Join(dir, "user_ca.pass")
		c.CA.User.Accounts = []string{account}
		c.CA.Host.AgentKey = strings.TrimSpace(string(hostCAPub))
		c.CA.Host.AgentSocket = sock
		c.CA.Host.Domains = []string{"example.org"}
		c.CA.KRLPath = krlPath
		c.CA.PublicURL = "https://maillon.example.org"
	})
	cli := func(o runOpt, args ...string) result { return runCLI(o, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		r := cli(runOpt{}, args...)
		if r.code != 0 {
			t.Fatalf("maillon %s: status %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	// The daemon wrote an empty KRL before anyone was revoked: sshd
	// refuses everyone when RevokedKeys is missing.
	if b, err := os.ReadFile(krlPath); err != nil || !bytes.HasPrefix(b, []byte("SSHKRL\n\x00")) {
		t.Fatalf("no KRL at start: %v", err)
	}

	must("admin", "add", "--name", "Ada", "--email", "ada@example.org", "--role", "technical-officer")
	must("admin", "add", "--name", "Reader", "--email", "reader@example.org", "--role", "read-only")
	must("host", "add", "--name", "gw1", "--address", "127.0.0.1")

	// sshd's host key, certified by the host CA (through the agent).
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-f", hostKey)
	hostCert := must("ca", "sign-host", "gw1", hostKey+".pub", "--validity", "30d")
	os.WriteFile(hostKey+"-cert.pub", []byte(hostCert), 0o644)
	if out, _ := exec.Command(testenv.LookPath(t, "ssh-keygen"), "-L", "-f", hostKey+"-cert.pub").CombinedOutput(); !strings.Contains(string(out), "host certificate") ||
		!strings.Contains(string(out), "gw1.example.org") || !strings.Contains(string(out), "127.0.0.1") {
		t.Fatalf("host certificate:\n%s", out)
	}

	// What to deploy, straight from `maillon ca config`.
	deploy := must("ca", "config")
	for _, want := range []string{"TrustedUserCAKeys", "RevokedKeys", "HostCertificate", "AuthorizedPrincipalsFile",
		"@cert-authority *.example.org ecdsa-sha2-nistp256 ", "https://maillon.example.org/ca/krl"} {
		if !strings.Contains(deploy, want) {
			t.Fatalf("ca config lacks %q:\n%s", want, deploy)
		}
	}
	userCA := regexp.MustCompile(`(?m)^ssh-ed25519 \S+ maillon user CA$`).FindString(deploy)
	knownHosts := regexp.MustCompile(`(?m)^@cert-authority .*$`).FindString(deploy)
	if userCA == "" || knownHosts == "" {
		t.Fatalf("no CA lines in:\n%s", deploy)
	}
	os.WriteFile(filepath.Join(dir, "user_ca_trusted.pub"), []byte(userCA+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(knownHosts+"\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "principals"), 0o755)
	os.WriteFile(filepath.Join(dir, "principals", account), []byte("admin\ntechnical-officer\n"), 0o644)

	sshd := testenv.StartSSHD(t, hostKey,
		"HostCertificate "+hostKey+"-cert.pub",
		"TrustedUserCAKeys "+filepath.Join(dir, "user_ca_trusted.pub"),
		"RevokedKeys "+krlPath,
		"AuthorizedPrincipalsFile "+filepath.Join(dir, "principals", "%u"))

	// login connects under the host name the certificate names: known
	// hosts has only the @cert-authority line, no entry for this host.
	login := func(key, hostName string, opts ...string) (string, error) {
		return sshd.SSHClient(t, append([]string{"-i", key, "-o", "CertificateFile=" + key + "-cert.pub",
			"-o", "UserKnownHostsFile=" + filepath.Join(dir, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
			"-o", "HostKeyAlias=" + hostName}, opts...), "echo", "logged-in")
	}
	newKey := func(name string) string {
		p := filepath.Join(dir, name)
		keygen(t, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", p)
		return p
	}
	signUser := func(key string, args ...string) string {
		t.Helper()
		r := cli(runOpt{}, append([]string{"ca", "sign-user", "ada@example.org", key + ".pub", "-o", key + "-cert.pub"}, args...)...)
		if r.code != 0 {
			t.Fatalf("sign-user: %s", r.stderr)
		}
		m := regexp.MustCompile(`^certificate (\d+) for user Ada, principals technical-officer, valid until `).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("sign-user said %q", r.stderr)
		}
		return m[1]
	}

	// 1. A signed admin logs in.
	ada := newKey("ada")
	serial := signUser(ada)
	if out, err := login(ada, "gw1.example.org"); err != nil || strings.TrimSpace(out) != "logged-in" {
		t.Fatalf("login with a fresh certificate: %v\n%s", err, out)
	}
	if !sshd.LogHas(0, "ID admin Ada <ada@example.org> serial "+serial+" (serial "+serial+")") {
		t.Errorf("sshd did not log the key id:\n%s", sshd.Log())
	}
	// The host certificate names gw1.example.org, not another host.
	if out, err := login(ada, "gw2.example.org"); err == nil {
		t.Fatalf("ssh trusted the host certificate for a name it lacks:\n%s", out)
	}

	// Refusals before anything is signed.
	cli(runOpt{}, "ca", "sign-user", "reader@example.org", ada+".pub").failsWith(t, 1,
		"admin: Reader has no role that grants SSH access (roles: read-only)")
	cli(runOpt{}, "ca", "sign-user", "ada", ada+".pub", "--principals", "admin").failsWith(t, 1,
		`principals: "admin" is not granted by the roles of Ada (technical-officer)`)
	cli(runOpt{}, "ca", "sign-user", "ada", ada).failsWith(t, 1,
		"public_key: this is a private key: give the public key (the .pub file)")
	cli(runOpt{}, "ca", "sign-user", "ada", ada+".pub", "--validity", "400d").failsWith(t, 1,
		"validity: 9600h0m0s is longer than ca.user.validity (9432h0m0s)")

	// 2. An expired certificate is refused. (Step 1 showed a valid one
	// logs in; logging in within a 2 s validity would make the test depend
	// on the machine's speed. The sleep only lets the validity pass.)
	brief := newKey("brief")
	signUser(brief, "--validity", "2s")
	time.Sleep(3 * time.Second)
	if out, err := login(brief, "gw1.example.org"); err == nil {
		t.Fatalf("an expired certificate logged in:\n%s", out)
	}
	if !sshd.LogHas(0, "expired") {
		t.Errorf("sshd did not refuse for expiry:\n%s", sshd.Log())
	}

	// 3. A revoked certificate is refused as soon as the command returns:
	// the daemon rewrote the KRL first.
	before := len(sshd.Log())
	if out := must("ca", "revoke", serial, "--reason", "laptop stolen"); out != "revoked certificate "+serial+" of user Ada\n" {
		t.Fatalf("revoke said %q", out)
	}
	if out, err := login(ada, "gw1.example.org"); err == nil {
		t.Fatalf("a revoked certificate logged in:\n%s", out)
	}
	if !sshd.LogHas(before, "revoked") {
		t.Errorf("sshd did not refuse for revocation:\n%s", sshd.Log()[before:])
	}
	if out, err := exec.Command(testenv.LookPath(t, "ssh-keygen"), "-Q", "-f", krlPath, ada+"-cert.pub").CombinedOutput(); err == nil {
		t.Errorf("ssh-keygen -Q does not find the revocation: %s", out)
	}
	// Ada signs a new key and is back in.
	ada2 := newKey("ada2")
	signUser(ada2)
	if out, err := login(ada2, "gw1.example.org"); err != nil {
		t.Fatalf("login with a new certificate after a revocation: %v\n%s", err, out)
	}

	// 4. Revocation by key takes every certificate on it, and the CA will
	// not sign that key again.
	twice := newKey("twice")
	signUser(twice)
	signUser(twice)
	if out, err := login(twice, "gw1.example.org"); err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	out := must("ca", "revoke", "--key", twice+"-cert.pub", "--reason", "key leaked")
	if !regexp.MustCompile(`^revoked key SHA256:\S+ and certificates \d+, \d+\n$`).MatchString(out) {
		t.Fatalf("revoke --key said %q", out)
	}
	if out, err := login(twice, "gw1.example.org"); err == nil {
		t.Fatalf("a revoked key logged in:\n%s", out)
	}
	r := cli(runOpt{}, "ca", "sign-user", "ada", twice+".pub")
	if r.code != 1 || !strings.Contains(r.stderr, "was revoked on") {
		t.Fatalf("signing a revoked key: %d %s", r.code, r.stderr)
	}

	// The listing, the served KRL, the audit log and the metrics agree.
	list := must("ca", "list", "--state", "revoked")
	if strings.Count(list, "revoked") != 3 || !strings.Contains(list, "SERIAL") {
		t.Fatalf("ca list --state revoked:\n%s", list)
	}
	list = must("ca", "list", "--kind", "host")
	if !strings.Contains(list, "gw1,gw1.example.org,127.0.0.1") {
		t.Fatalf("ca list --kind host:\n%s", list)
	}
	resp, err := http.Get(httpURL + "/ca/krl")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	written, _ := os.ReadFile(krlPath)
	if resp.StatusCode != 200 || !bytes.Equal(served, written) {
		t.Fatalf("/ca/krl: %d, %d bytes; the file has %d", resp.StatusCode, len(served), len(written))
	}
	var viaCLI strings.Builder
	r = cli(runOpt{}, "ca", "krl")
	viaCLI.WriteString(r.stdout)
	if r.code != 0 || viaCLI.String() != string(written) {
		t.Fatalf("maillon ca krl: %d, %d bytes: %s", r.code, viaCLI.Len(), r.stderr)
	}
	cli(runOpt{terminal: true}, "ca", "krl").failsWith(t, 2, "the KRL is binary: redirect it or give -o FILE")
	resp, err = http.Get(httpURL + "/ca/user_ca.pub")
	if err != nil {
		t.Fatal(err)
	}
	pubText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if pk, _, _, _, err := ssh.ParseAuthorizedKey(pubText); err != nil || !strings.HasPrefix(userCA, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))) {
		t.Fatalf("/ca/user_ca.pub = %q, %v", pubText, err)
	}
	audit := must("audit", "--entity", "certificate", "--id", serial)
	if !strings.Contains(audit, "revoke") || !strings.Contains(audit, "issue") {
		t.Fatalf("audit of certificate %s:\n%s", serial, audit)
	}
	resp, err = http.Get(httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Three certificates and one key are revoked.
	for _, want := range []string{`maillon_ssh_access_expiry_timestamp_seconds{kind="user",subject="Ada"}`,
		`maillon_ssh_access_expiry_timestamp_seconds{kind="host",subject="gw1"}`, "maillon_ssh_krl_revocations 4"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if regexp.MustCompile(`maillon_ssh_certificate_expiry_timestamp_seconds\{kind="user",serial="` + serial + `"`).Match(metrics) {
		t.Errorf("/metrics shows the revoked certificate %s", serial)
	}

	// 5. Admins' ssh, given the same KRL as RevokedHostKeys, refuses the
	// server once its host certificate is revoked.
	if out, err := login(ada2, "gw1.example.org", "-o", "RevokedHostKeys="+krlPath); err != nil {
		t.Fatalf("login with RevokedHostKeys before the host is revoked: %v\n%s", err, out)
	}
	hostSerial := regexp.MustCompile(`(?m)^(\d+)\s+host\s+gw1\s`).FindStringSubmatch(must("ca", "list", "--kind", "host"))
	if hostSerial == nil {
		t.Fatal("no host certificate listed")
	}
	must("ca", "revoke", hostSerial[1], "--reason", "host reinstalled")
	if out, err := login(ada2, "gw1.example.org", "-o", "RevokedHostKeys="+krlPath); err == nil || !strings.Contains(out, "revoked") {
		t.Fatalf("ssh accepted a revoked host certificate: %v\n%s", err, out)
	}
}
