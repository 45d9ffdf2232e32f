package sshca

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"maillon/internal/testenv"
)

// keygenKey makes a key pair with ssh-keygen, as an admin would, and
// returns the private key path (the public key is path + ".pub").
func keygenKey(t testing.TB, dir, name, typ, passphrase string) string {
	t.Helper()
	keygen := testenv.LookPath(t, "ssh-keygen")
	p := filepath.Join(dir, name)
	args := []string{"-q", "-t", typ, "-N", passphrase, "-C", name, "-f", p}
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return p
}

func readPub(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFileKeyWithPassphrase(t *testing.T) {
	dir := t.TempDir()
	path := keygenKey(t, dir, "user_ca", "ed25519", "correct horse")
	if _, err := Open(KeySource{File: path}); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("encrypted key without passphrase: %v", err)
	}
	if _, err := Open(KeySource{File: path, Passphrase: []byte("wrong")}); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	ca, err := Open(KeySource{File: path, Passphrase: []byte("correct horse")})
	if err != nil {
		t.Fatal(err)
	}
	want := readPub(t, path+".pub")
	got, err := ca.PublicKey(context.Background())
	if err != nil || string(got.Marshal()) != string(want.Marshal()) || ca.Fingerprint() != ssh.FingerprintSHA256(want) {
		t.Fatalf("public key = %v, %v", got, err)
	}
	if ca.InAgent() {
		t.Fatal("file key says it is in the agent")
	}
}

// TestSignUserCertificate signs with every kind of key a token may hold
// through a real ssh-agent (Ed25519, ECDSA, RSA with rsa-sha2-512) and
// checks the certificate as ssh-keygen -L and x/crypto's checker read it.
func TestSignUserCertificate(t *testing.T) {
	keygen := testenv.LookPath(t, "ssh-keygen")
	dir := t.TempDir()
	cas := map[string]string{}
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		cas[typ] = keygenKey(t, dir, typ+"_ca", typ, "")
	}
	sock := testenv.StartSSHAgent(t, cas["ed25519"], cas["ecdsa"], cas["rsa"])
	user := keygenKey(t, dir, "ada", "ed25519", "")
	opts := UserOptions{Extensions: []string{"permit-pty"}, SourceAddress: "192.0.2.0/24,2001:db8::1", ForceCommand: "/usr/bin/true"}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	for typ, caPath := range cas {
		t.Run(typ, func(t *testing.T) {
			selectors := []string{ssh.FingerprintSHA256(readPub(t, caPath+".pub")), caPath + ".pub"}
			b, _ := os.ReadFile(caPath + ".pub")
			selectors = append(selectors, string(b))
			for _, sel := range selectors {
				ca, err := Open(KeySource{AgentKey: sel, AgentSocket: sock})
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now().Truncate(time.Second)
				req := Request{
					Key: readPub(t, user+".pub"), Serial: 42, KeyID: "admin Ada <ada@example.org> serial 42",
					Principals: []string{"technical-officer"}, ValidAfter: now.Add(-Backdate), ValidBefore: now.Add(DefaultUserValidity),
				}
				opts.Apply(&req)
				cert, err := ca.SignUser(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if typ == "rsa" && cert.Signature.Format != ssh.KeyAlgoRSASHA512 {
					t.Errorf("RSA CA signed with %s, want rsa-sha2-512", cert.Signature.Format)
				}
				checker := ssh.CertChecker{SupportedCriticalOptions: []string{"source-address", "force-command"}, IsUserAuthority: func(k ssh.PublicKey) bool {
					return string(k.Marshal()) == string(readPub(t, caPath+".pub").Marshal())
				}}
				if err := checker.CheckCert("technical-officer", cert); err != nil {
					t.Fatalf("certificate does not check: %v", err)
				}
				file := filepath.Join(dir, "ada-cert.pub")
				os.WriteFile(file, []byte(MarshalCert(cert, "ada")+"\n"), 0o644)
				out, err := exec.Command(keygen, "-L", "-f", file).CombinedOutput()
				if err != nil {
					t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
				}
				for _, want := range []string{"user certificate", "Serial: 42", `Key ID: "admin Ada <ada@example.org> serial 42"`,
					"technical-officer", "source-address 192.0.2.0/24,2001:db8::1", "force-command /usr/bin/true", "permit-pty"} {
					if !strings.Contains(string(out), want) {
						t.Errorf("ssh-keygen -L lacks %q:\n%s", want, out)
					}
				}
				if strings.Contains(string(out), "permit-X11") {
					t.Errorf("extension not configured appears:\n%s", out)
				}
			}
		})
	}
	// A key the agent does not hold is named in the error.
	other := keygenKey(t, dir, "other_ca", "ed25519", "")
	ca, err := Open(KeySource{AgentKey: other + ".pub", AgentSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ca.SignUser(context.Background(), Request{Key: readPub(t, user+".pub"), Serial: 1, Principals: []string{"x"},
		ValidAfter: time.Now(), ValidBefore: time.Now().Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "not in ssh-agent") {
		t.Fatalf("signing with a key the agent lacks: %v", err)
	}
	// No agent at all.
	ca, _ = Open(KeySource{AgentKey: other + ".pub", AgentSocket: filepath.Join(dir, "nothing.sock")})
	if _, err := ca.SignUser(context.Background(), Request{Key: readPub(t, user+".pub"), Serial: 1, Principals: []string{"x"},
		ValidAfter: time.Now(), ValidBefore: time.Now().Add(time.Hour)}); err == nil || !strings.Contains(err.Error(), "cannot reach ssh-agent") {
		t.Fatalf("signing without an agent: %v", err)
	}
}

func TestSignRefusesDangerousRequests(t *testing.T) {
	ca := fileCA(newSigner(t))
	key := newSigner(t).PublicKey()
	now := time.Now()
	ok := Request{Key: key, Serial: 1, Principals: []string{"root"}, ValidAfter: now, ValidBefore: now.Add(time.Hour)}
	for name, mut := range map[string]func(*Request){
		"serial 0":      func(r *Request) { r.Serial = 0 },
		"no principals": func(r *Request) { r.Principals = nil },
		"comma":         func(r *Request) { r.Principals = []string{"a,b"} },
		"reversed":      func(r *Request) { r.ValidBefore = r.ValidAfter.Add(-time.Second) },
		"no key":        func(r *Request) { r.Key = nil },
	} {
		r := ok
		mut(&r)
		if _, err := ca.SignUser(context.Background(), r); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	r := ok
	r.Extensions = map[string]string{"permit-pty": ""}
	if _, err := ca.SignHost(context.Background(), r); err == nil {
		t.Error("host certificate with extensions signed")
	}
	if err := (UserOptions{SourceAddress: "10.0.0.0/8, 192.0.2.1"}).Validate(); err == nil {
		t.Error("source-address with a space accepted")
	}
	if err := (UserOptions{Extensions: []string{"permit-ptty"}}).Validate(); err == nil {
		t.Error("misspelt extension accepted")
	}
}

func TestPrincipals(t *testing.T) {
	got := RolePrincipals([]string{"technical-officer", "read-only", "admin"}, DefaultRolePrincipals())
	if strings.Join(got, ",") != "admin,technical-officer" {
		t.Errorf("RolePrincipals = %v", got)
	}
	if got := RolePrincipals([]string{"read-only"}, DefaultRolePrincipals()); len(got) != 0 {
		t.Errorf("read-only gets %v", got)
	}
	hp := HostPrincipals("gw1", netip.MustParseAddr("::ffff:192.0.2.7"), []string{"example.org.", "example.net"}, []string{"gw1", "vpn.example.org"})
	if strings.Join(hp, ",") != "gw1,gw1.example.org,gw1.example.net,192.0.2.7,vpn.example.org" {
		t.Errorf("HostPrincipals = %v", hp)
	}
	if hp := HostPrincipals("ns1.example.org", netip.Addr{}, []string{"example.net"}, nil); strings.Join(hp, ",") != "ns1.example.org" {
		t.Errorf("HostPrincipals of an FQDN = %v", hp)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "revoked_keys")
	for i, c := range []struct {
		data    string
		changed bool
	}{{"one", true}, {"one", false}, {"two", true}} {
		changed, err := WriteFileAtomic(p, []byte(c.data), 0o644)
		if err != nil || changed != c.changed {
			t.Fatalf("write %d: changed %v, %v", i, changed, err)
		}
		b, _ := os.ReadFile(p)
		if string(b) != c.data {
			t.Fatalf("write %d: file holds %q", i, b)
		}
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if _, err := WriteFileAtomic(filepath.Join(dir, "missing", "krl"), []byte("x"), 0o644); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestDeploymentText(t *testing.T) {
	u, h := newSigner(t).PublicKey(), newSigner(t).PublicKey()
	d := Deployment{UserCA: u, HostCA: h, KRLURL: "https://maillon.example.org/ca/krl", HostPatterns: []string{"*.example.org"},
		Principals: map[string][]string{"root": {"admin", "technical-officer"}}}
	text := d.Text()
	for _, want := range []string{"TrustedUserCAKeys " + ServerUserCAPath, "RevokedKeys " + ServerKRLPath, "HostCertificate ",
		"AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u", "@cert-authority *.example.org ssh-ed25519 ",
		"https://maillon.example.org/ca/krl", "admin\ntechnical-officer\n", "RevokedHostKeys"} {
		if !strings.Contains(text, want) {
			t.Errorf("deployment text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains((Deployment{UserCA: u}).Text(), "@cert-authority") {
		t.Error("known_hosts line without a host CA")
	}
}
