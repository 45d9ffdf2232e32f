package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/sshca"
	"maillon/internal/testenv"

	_ "modernc.org/sqlite"
)

func sshKeygen(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(testenv.LookPath(t, "ssh-keygen"), args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// userCA makes a passphrase-protected user CA key and points the
// configuration at it, with the KRL written into dir.
func userCA(t *testing.T, dir string) func(*config.Config) {
	key := filepath.Join(dir, "user_ca")
	if _, err := os.Stat(key); err != nil {
		sshKeygen(t, "-q", "-t", "ed25519", "-N", "s3cret", "-f", key)
		os.WriteFile(key+".pass", []byte("s3cret\n"), 0o600)
	}
	return func(c *config.Config) {
		c.CA.User.KeyFile, c.CA.User.PassphraseFile = key, key+".pass"
		c.CA.KRLPath = filepath.Join(c.RADIUS.SpoolDir, "..", "revoked_keys")
	}
}

// TestKRLFollowsOtherInstances runs two daemons on one PostgreSQL
// database, each writing its own KRL file: a certificate revoked through
// one is in the other's KRL shortly after (the change feed tells it), and
// both serve the same bytes.
func TestKRLFollowsOtherInstances(t *testing.T) {
	db := testenv.FreshPostgresDB(t)
	dir := t.TempDir()
	a := startWith(t, db, userCA(t, dir))
	b := startWith(t, db, userCA(t, dir))
	krlB := filepath.Join(b.app.SocketPath(), "..", "revoked_keys")
	if !strings.HasPrefix(readFile(t, krlB), "SSHKRL\n\x00") {
		t.Fatal("B wrote no KRL at start")
	}

	var admin registry.Admin
	if code := a.do("POST", "/api/v1/admins", a.token, map[string]any{"name": "Ada", "email": "ada@example.org", "roles": []string{"technical-officer"}}, &admin); code != 201 {
		t.Fatalf("create admin = %d", code)
	}
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "ada"))
	var cert registry.Certificate
	if code := a.do("POST", "/api/v1/ca/user-certificates", a.token, map[string]any{"admin": "Ada", "public_key": readFile(t, filepath.Join(dir, "ada.pub"))}, &cert); code != 201 {
		t.Fatalf("sign = %d", code)
	}
	if cert.State != registry.CertValid || cert.ValidBefore.Sub(cert.ValidAfter) != sshca.DefaultUserValidity+sshca.Backdate {
		t.Fatalf("certificate = %+v", cert)
	}
	pub, err := sshca.ParsePublicKey([]byte(cert.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	// B learns of the revocation through LISTEN/NOTIFY; until its
	// listener is up, nudge it with further revocations.
	if code := b.do("POST", "/api/v1/ca/certificates/"+itoa(cert.Serial)+"/revoke", b.token, map[string]string{"reason": "test"}, nil); code != 200 {
		t.Fatalf("revoke through B = %d", code)
	}
	krlA := filepath.Join(a.app.SocketPath(), "..", "revoked_keys")
	deadline := time.Now().Add(20 * time.Second)
	for {
		k, err := sshca.ParseKRL([]byte(readFile(t, krlA)))
		if err != nil {
			t.Fatal(err)
		}
		if k.IsRevoked(pub) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A's KRL file never listed the certificate revoked through B")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if readFile(t, krlA) != readFile(t, krlB) {
		t.Fatal("the two instances wrote different KRLs")
	}
	var fromA, fromB bytes.Buffer
	for _, x := range []struct {
		d   *daemon
		out *bytes.Buffer
	}{{a, &fromA}, {b, &fromB}} {
		resp, err := x.d.http.Get(x.d.base + "/ca/krl")
		if err != nil {
			t.Fatal(err)
		}
		x.out.ReadFrom(resp.Body)
		resp.Body.Close()
	}
	if !bytes.Equal(fromA.Bytes(), fromB.Bytes()) || fromA.String() != readFile(t, krlA) {
		t.Fatal("/ca/krl differs between instances or from the file")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func appLoopback(t *testing.T) *config.Config {
	return app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "m.db"))
}

// newApp builds a daemon and closes it at once: what New refuses is the
// point.
func newApp(c *config.Config) (*app.App, error) {
	a, err := app.New(context.Background(), c, nil)
	if err == nil {
		a.Close()
	}
	return a, err
}

// TestCARights: signing user certificates (root on every server) is for
// admins; technical officers sign hosts and revoke; read-only admins look.
func TestCARights(t *testing.T) {
	dir := t.TempDir()
	d := startWith(t, filepath.Join(t.TempDir(), "m.db"), userCA(t, dir))
	reg := d.app.Registry()
	ctx := context.Background()
	token := func(name string, role registry.Role) string {
		a, err := reg.CreateAdmin(ctx, registry.System, registry.AdminInput{Name: ptr(name), Email: ptr(name + "@example.org"), Roles: &[]registry.Role{role}})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := reg.CreateToken(ctx, registry.System, a.ID, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	officer, reader := token("officer", registry.RoleTechnicalOfficer), token("reader", registry.RoleReadOnly)
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "k"))
	key := readFile(t, filepath.Join(dir, "k.pub"))
	sign := map[string]any{"admin": "officer", "public_key": key}

	var e struct{ Error, Field string }
	if code := d.do("POST", "/api/v1/ca/user-certificates", officer, sign, &e); code != 403 {
		t.Fatalf("technical officer signs a user certificate: %d %v", code, e)
	}
	if code := d.do("POST", "/api/v1/ca/user-certificates", reader, sign, &e); code != 403 {
		t.Fatalf("read-only admin signs: %d", code)
	}
	var cert registry.Certificate
	if code := d.do("POST", "/api/v1/ca/user-certificates", d.token, sign, &cert); code != 201 {
		t.Fatalf("admin signs: %d", code)
	}
	if code := d.do("POST", "/api/v1/ca/host-certificates", d.token, map[string]any{"host": "nowhere", "public_key": key}, &e); code != 400 || e.Field != "host" {
		t.Fatalf("host certificate for an unknown host: %d %+v", code, e)
	}
	var list struct{ Items []registry.Certificate }
	if code := d.do("GET", "/api/v1/ca/certificates?state=valid&admin=officer", reader, nil, &list); code != 200 || len(list.Items) != 1 {
		t.Fatalf("read-only list = %d, %d items", code, len(list.Items))
	}
	if code := d.do("POST", "/api/v1/ca/certificates/"+itoa(cert.Serial)+"/revoke", reader, map[string]string{}, &e); code != 403 {
		t.Fatalf("read-only revokes: %d", code)
	}
	if code := d.do("POST", "/api/v1/ca/certificates/"+itoa(cert.Serial)+"/revoke", officer, map[string]string{}, &cert); code != 200 || cert.State != registry.CertRevoked {
		t.Fatalf("technical officer revokes: %d %s", code, cert.State)
	}
	if code := d.do("POST", "/api/v1/ca/certificates/"+itoa(cert.Serial)+"/revoke", officer, map[string]string{}, &e); code != 409 {
		t.Fatalf("second revoke: %d", code)
	}
	// Keys are personal: officer's key is not certified to another admin,
	// even once officer's certificate is revoked.
	token("officer2", registry.RoleTechnicalOfficer)
	if code := d.do("POST", "/api/v1/ca/user-certificates", d.token, map[string]any{"admin": "officer2", "public_key": key}, &e); code != 400 ||
		e.Field != "public_key" || !strings.Contains(e.Error, "certified to officer") {
		t.Fatalf("another admin's key: %d %+v", code, e)
	}
	if code := d.do("POST", "/api/v1/ca/user-certificates", d.token, sign, &cert); code != 201 {
		t.Fatalf("officer's own key again: %d", code)
	}
	if code := d.do("GET", "/api/v1/ca/certificates?state=soon", reader, nil, &e); code != 400 {
		t.Fatalf("bad state: %d", code)
	}
	// Without a host CA key, host certificates are refused plainly.
	if code := d.do("POST", "/api/v1/hosts", d.token, map[string]any{"name": "gw1"}, nil); code != 201 {
		t.Fatal("create host")
	}
	if code := d.do("POST", "/api/v1/ca/host-certificates", d.token, map[string]any{"host": "gw1", "public_key": key}, &e); code != 400 || !strings.Contains(e.Error, "no host CA key") {
		t.Fatalf("host certificate without a host CA: %d %+v", code, e)
	}
	// A technical officer certifies a host for its registry names only.
	if code := d.do("POST", "/api/v1/ca/host-certificates", officer, map[string]any{"host": "gw1", "public_key": key, "principals": []string{"db1.example.org"}}, &e); code != 403 {
		t.Fatalf("technical officer adds principals to a host certificate: %d %+v", code, e)
	}
	if code := d.do("POST", "/api/v1/ca/host-certificates", officer, map[string]any{"host": "gw1", "public_key": key}, &e); code != 400 || !strings.Contains(e.Error, "no host CA key") {
		t.Fatalf("technical officer's host certificate: %d %+v", code, e)
	}
	// The KRL and the CA key are public; the API is not.
	resp, err := d.http.Get(d.base + "/ca/krl")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/ca/krl without a token: %v %v", resp, err)
	}
	resp.Body.Close()
	if code := d.do("GET", "/api/v1/ca/certificates", "", nil, &e); code != 401 {
		t.Fatalf("certificates without a token: %d", code)
	}
	if resp, _ := d.http.Get(d.base + "/ca/host_ca.pub"); resp == nil || resp.StatusCode != 404 {
		t.Fatalf("/ca/host_ca.pub without a host CA: %v", resp)
	}
}

// TestCAKeyProblemsStopTheDaemon: a wrong passphrase or an unwritable
// KRL path is found at start, not at the first signature or revocation.
func TestCAKeyProblemsStopTheDaemon(t *testing.T) {
	dir := t.TempDir()
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "right", "-f", filepath.Join(dir, "ca"))
	os.WriteFile(filepath.Join(dir, "wrong"), []byte("wrong\n"), 0o600)
	cfg := func() *config.Config {
		c := appLoopback(t)
		c.CA.User.KeyFile = filepath.Join(dir, "ca")
		c.CA.User.PassphraseFile = filepath.Join(dir, "wrong")
		return c
	}
	if _, err := newApp(cfg()); err == nil || !strings.Contains(err.Error(), "ca.user") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	c := cfg()
	c.CA.User = config.UserCA{Validity: c.CA.User.Validity}
	c.CA.KRLPath = filepath.Join(dir, "not-a-dir", "krl")
	os.WriteFile(filepath.Join(dir, "not-a-dir"), nil, 0o600)
	if _, err := newApp(c); err == nil || !strings.Contains(err.Error(), "ca.krl_path") {
		t.Fatalf("unwritable KRL path: %v", err)
	}
}

// TestSignHostBadNameIsAValidationError: a host registered before names
// were validated may have one no certificate can hold; signing for it is a
// 400 naming the host, not an internal error.
func TestSignHostBadNameIsAValidationError(t *testing.T) {
	dir := t.TempDir()
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host_ca"))
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "k"))
	db := filepath.Join(dir, "m.db")
	d := startWith(t, db, func(c *config.Config) { c.CA.Host.KeyFile = filepath.Join(dir, "host_ca") })
	var h registry.Host
	if code := d.do("POST", "/api/v1/hosts", d.token, map[string]any{"name": "gw1"}, &h); code != 201 {
		t.Fatalf("create host = %d", code)
	}
	var e struct{ Error, Field string }
	if code := d.do("POST", "/api/v1/hosts", d.token, map[string]any{"name": "Web Server 1"}, &e); code != 400 || e.Field != "name" {
		t.Fatalf("host named with spaces = %d %+v", code, e)
	}
	// The row as an older version would have stored it.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("PRAGMA busy_timeout = 5000; UPDATE hosts SET name = 'Web Server 1' WHERE id = ?", h.ID); err != nil {
		t.Fatal(err)
	}
	key := readFile(t, filepath.Join(dir, "k.pub"))
	code := d.do("POST", "/api/v1/ca/host-certificates", d.token, map[string]any{"host": strconv.FormatInt(h.ID, 10), "public_key": key}, &e)
	if code != 400 || e.Field != "host" || !strings.Contains(e.Error, `principal "Web Server 1": empty or with a comma or space`) {
		t.Fatalf("host certificate for %q = %d %+v", "Web Server 1", code, e)
	}
}
