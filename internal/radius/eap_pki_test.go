package radius

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a throw-away PKI in a temp dir: a CA, the server's
// certificate, client certificates, and a second CA nobody trusts.
type testPKI struct {
	dir      string
	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	rogue    *x509.Certificate
	rogueKey *ecdsa.PrivateKey
	serial   int64
}

func (k *testPKI) path(name string) string { return filepath.Join(k.dir, name) }

// newTestPKI writes ca.pem, server.pem and server.key (CN radius.test).
func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	k := &testPKI{dir: t.TempDir()}
	k.ca, k.caKey = k.newCA(t, "maillon test CA", "ca.pem")
	k.rogue, k.rogueKey = k.newCA(t, "rogue CA", "rogue-ca.pem")
	k.issue(t, "server", k.ca, k.caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "radius.test"},
		DNSNames:    []string{"radius.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return k
}

func (k *testPKI) newCA(t testing.TB, cn, file string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	k.serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(k.serial),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, k.path(file), "CERTIFICATE", der)
	return cert, key
}

// client issues a client certificate: files NAME.pem and NAME.key.
func (k *testPKI) client(t testing.TB, name, cn string, rogue bool, sans ...string) {
	t.Helper()
	ca, caKey := k.ca, k.caKey
	if rogue {
		ca, caKey = k.rogue, k.rogueKey
	}
	k.issue(t, name, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    sans,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (k *testPKI) issue(t testing.TB, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) {
	t.Helper()
	key := newKey(t)
	k.serial++
	tmpl.SerialNumber = big.NewInt(k.serial)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if tmpl.IPAddresses == nil && tmpl.Subject.CommonName == "radius.test" {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, k.path(name+".pem"), "CERTIFICATE", der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, k.path(name+".key"), "PRIVATE KEY", kder)
}

// newKey is ECDSA P-256: quick to make, and every supplicant takes it.
func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// clientTLS is a supplicant's TLS configuration: client certificate NAME,
// trusting the test CA for serverName.
func (k *testPKI) clientTLS(t testing.TB, name, serverName string) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(k.path(name+".pem"), k.path(name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(k.ca)
	return &tls.Config{ServerName: serverName, RootCAs: roots, Certificates: []tls.Certificate{cert}}
}

// eapConfig is the server side of k.
func (k *testPKI) eapConfig() *EAPConfig {
	return &EAPConfig{
		CertFile:     k.path("server.pem"),
		KeyFile:      k.path("server.key"),
		ClientCAFile: k.path("ca.pem"),
	}
}
