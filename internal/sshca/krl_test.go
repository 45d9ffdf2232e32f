package sshca

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"maillon/internal/testenv"
)

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newECDSASigner(t testing.TB) ssh.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fileCA is a CAKey on an in-memory signer.
func fileCA(s ssh.Signer) *CAKey {
	return &CAKey{src: KeySource{File: "(test)"}, file: s, pub: s.PublicKey()}
}

func testCert(t testing.TB, ca *CAKey, key ssh.PublicKey, serial uint64, id string) *ssh.Certificate {
	t.Helper()
	now := time.Now()
	c, err := ca.SignUser(context.Background(), Request{
		Key: key, Serial: serial, KeyID: id, Principals: []string{"technical-officer"},
		ValidAfter: now.Add(-time.Minute), ValidBefore: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serialZeroCert is what other CAs may sign and SignUser refuses.
func serialZeroCert(t testing.TB, ca *CAKey, key ssh.PublicKey, id string) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{Key: key, CertType: ssh.UserCert, KeyId: id, ValidPrincipals: []string{"x"}, ValidBefore: ssh.CertTimeInfinity}
	if err := c.SignCert(rand.Reader, ca.file); err != nil {
		t.Fatal(err)
	}
	return c
}

func writeKey(t testing.TB, dir, name string, k ssh.PublicKey) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, ssh.MarshalAuthorizedKey(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// keygenRevoked asks `ssh-keygen -Q` whether the KRL file revokes the key
// file: exit 0 and "ok", or exit 1 and "REVOKED"; anything else (the KRL
// does not load) fails the test.
func keygenRevoked(t testing.TB, keygen, krl, keyFile string) bool {
	t.Helper()
	out, err := exec.Command(keygen, "-Q", "-f", krl, keyFile).CombinedOutput()
	s := strings.TrimSpace(string(out))
	switch {
	case err == nil && strings.HasSuffix(s, ": ok"):
		return false
	case err != nil && strings.HasSuffix(s, ": REVOKED"):
		return true
	}
	t.Fatalf("ssh-keygen -Q -f %s %s: %v: %s", krl, keyFile, err, out)
	return false
}

// TestKRLAgreesWithSSHKeygen writes a KRL revoking certificates of two CAs
// by serial (single, pairs, runs) and keys explicitly, and checks that
// ssh-keygen -Q gives, for every certificate and key, the answer of
// IsRevoked, both on the KRL we wrote and on that KRL read back.
func TestKRLAgreesWithSSHKeygen(t *testing.T) {
	keygen := testenv.LookPath(t, "ssh-keygen")
	dir := t.TempDir()
	caA, caB := fileCA(newSigner(t)), fileCA(newECDSASigner(t))

	type item struct {
		name string
		key  ssh.PublicKey
	}
	var items []item
	var keys []ssh.PublicKey
	for i := 1; i <= 14; i++ {
		k := newSigner(t).PublicKey()
		keys = append(keys, k)
		items = append(items, item{fmt.Sprintf("key%d", i), k})
		items = append(items, item{fmt.Sprintf("a%d-cert", i), testCert(t, caA, k, uint64(i), fmt.Sprintf("id%d", i))})
		if i <= 5 {
			items = append(items, item{fmt.Sprintf("b%d-cert", i), testCert(t, caB, k, uint64(i), fmt.Sprintf("id%d", i))})
		}
	}
	// Certificates with serial 0 are matched by key id only.
	items = append(items, item{"a0-cert", serialZeroCert(t, caA, keys[0], "zero")})

	krl := &KRL{Version: 7, GeneratedAt: time.Now(), Comment: "maillon test"}
	pa, _ := caA.PublicKey(context.Background())
	pb, _ := caB.PublicKey(context.Background())
	for _, n := range []uint64{2, 4, 5, 6, 7, 9, 10, 12, 14, 13} {
		krl.Revoke(pa, n)
	}
	krl.Revoke(pb, 3)
	krl.Revoke(pb, 3) // twice is once
	krl.RevokeKey(keys[10])
	krl.RevokeKey(items[4].key) // a2's certificate: its key, key2, is revoked
	krl.Certs = append(krl.Certs, CertRevocations{CA: pb, KeyIDs: []string{"id5"}})

	data, err := krl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "krl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(keygen, "-Q", "-l", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Q -l does not load our KRL: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "KRL version 7") || !strings.Contains(string(out), "maillon test") {
		t.Fatalf("ssh-keygen reads another header:\n%s", out)
	}
	back, err := ParseKRL(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.Marshal()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("KRL read back marshals differently (%v)", err)
	}
	revoked := 0
	for _, it := range items {
		file := writeKey(t, dir, it.name+".pub", it.key)
		want := keygenRevoked(t, keygen, path, file)
		if got := krl.IsRevoked(it.key); got != want {
			t.Errorf("%s: IsRevoked = %v, ssh-keygen says %v", it.name, got, want)
		}
		if got := back.IsRevoked(it.key); got != want {
			t.Errorf("%s: IsRevoked on the KRL read back = %v, ssh-keygen says %v", it.name, got, want)
		}
		if want {
			revoked++
		}
	}
	// a: 2 4 5 6 7 9 10 12 13 14 by serial, 11 by key; b: 3 by serial,
	// 5 by id, 2 by key; plain keys 2 and 11.
	if revoked != 16 {
		t.Errorf("%d items revoked, want 16", revoked)
	}
}

// TestParseKRLFromSSHKeygen reads KRLs that ssh-keygen -k wrote, with the
// sections maillon never writes (bitmaps, key ids, SHA1 and SHA256
// hashes), and checks every answer against ssh-keygen -Q.
func TestParseKRLFromSSHKeygen(t *testing.T) {
	keygen := testenv.LookPath(t, "ssh-keygen")
	dir := t.TempDir()
	ca := fileCA(newSigner(t))
	caPub, _ := ca.PublicKey(context.Background())
	caFile := writeKey(t, dir, "ca.pub", caPub)

	var files []string
	var keys []ssh.PublicKey
	for i := 1; i <= 40; i++ {
		k := newSigner(t).PublicKey()
		keys = append(keys, k)
		files = append(files, writeKey(t, dir, fmt.Sprintf("key%d.pub", i), k))
		files = append(files, writeKey(t, dir, fmt.Sprintf("cert%d.pub", i), testCert(t, ca, k, uint64(i*3), fmt.Sprintf("holder %d", i))))
	}
	spec := strings.Join([]string{
		// Dense but gappy serials make ssh-keygen write a bitmap.
		"serial: 3", "serial: 6", "serial: 12", "serial: 15", "serial: 21", "serial: 24", "serial: 27",
		"serial: 60-75",
		"serial: 0x54",
		"id: holder 30",
		"key: " + string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(keys[33]))),
		"sha1: " + string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(keys[34]))),
		"sha256: " + string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(keys[35]))),
		"hash: " + ssh.FingerprintSHA256(keys[36]),
	}, "\n") + "\n"
	specFile := filepath.Join(dir, "spec")
	os.WriteFile(specFile, []byte(spec), 0o644)
	krlFile := filepath.Join(dir, "krl")
	if out, err := exec.Command(keygen, "-k", "-f", krlFile, "-s", caFile, "-z", "42", specFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -k: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(krlFile)
	krl, err := ParseKRL(data)
	if err != nil {
		t.Fatalf("ParseKRL of ssh-keygen's KRL: %v", err)
	}
	if krl.Version != 42 {
		t.Errorf("version = %d, want 42", krl.Version)
	}
	if len(krl.SHA1) != 1 || len(krl.SHA256) != 2 || len(krl.Keys) != 1 {
		t.Errorf("read %d SHA1, %d SHA256 and %d explicit keys, want 1, 2, 1", len(krl.SHA1), len(krl.SHA256), len(krl.Keys))
	}
	revoked := 0
	for _, f := range files {
		text, _ := os.ReadFile(f)
		k, err := ParsePublicKey(text)
		if err != nil {
			t.Fatal(err)
		}
		want := keygenRevoked(t, keygen, krlFile, f)
		if got := krl.IsRevoked(k); got != want {
			t.Errorf("%s: IsRevoked = %v, ssh-keygen says %v", filepath.Base(f), got, want)
		}
		if want {
			revoked++
		}
	}
	// Certs 1 2 4 5 7 8 9 (serials 3..27), 20-25 (60..75),
	// 28 (0x54), 30 (id), 34-37 (by key: cert and key each).
	if revoked != 7+6+1+1+8 {
		t.Errorf("%d revoked, want %d", revoked, 7+6+1+1+8)
	}
	// What we read, we write back in our own form, and ssh-keygen agrees.
	ours, err := krl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	oursFile := filepath.Join(dir, "ours")
	os.WriteFile(oursFile, ours, 0o644)
	for _, f := range files {
		if keygenRevoked(t, keygen, oursFile, f) != keygenRevoked(t, keygen, krlFile, f) {
			t.Errorf("%s: our rewrite of the KRL answers differently", filepath.Base(f))
		}
	}
}

func TestKRLRefusesWhatOpenSSHRefuses(t *testing.T) {
	ca := newSigner(t).PublicKey()
	for _, k := range []*KRL{
		{Certs: []CertRevocations{{CA: ca, Serials: []SerialRange{{0, 0}}}}},
		{Certs: []CertRevocations{{CA: ca, Serials: []SerialRange{{5, 4}}}}},
		{SHA256: [][]byte{{1, 2, 3}}},
	} {
		if _, err := k.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) succeeded", k)
		}
	}
	good, _ := (&KRL{Certs: []CertRevocations{{CA: ca, Serials: []SerialRange{{1, 1}}}}}).Marshal()
	if _, err := ParseKRL(good); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("SSHKRL\n\x01"), good[8:]...),
		"version":   append(append(good[:8:8], 0, 0, 0, 2), good[12:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(good[:len(good):len(good)], 1),
		"signature": append(good[:len(good):len(good)], sectionSignature, 0, 0, 0, 0),
		"critical":  append(good[:len(good):len(good)], sectionExtension, 0, 0, 0, 10, 0, 0, 0, 1, 'x', 1, 0, 0, 0, 0),
		"unknown":   append(good[:len(good):len(good)], 9, 0, 0, 0, 0),
	} {
		if _, err := ParseKRL(data); err == nil {
			t.Errorf("%s: ParseKRL succeeded", name)
		}
	}
	// A non-critical extension is skipped.
	ext := append(good[:len(good):len(good)], sectionExtension, 0, 0, 0, 10, 0, 0, 0, 1, 'x', 0, 0, 0, 0, 0)
	if _, err := ParseKRL(ext); err != nil {
		t.Errorf("non-critical extension: %v", err)
	}
}

func TestMergeRanges(t *testing.T) {
	got := mergeRanges([]SerialRange{{9, 9}, {1, 1}, {2, 3}, {5, 7}, {6, 8}, {20, 30}, {10, 10}})
	want := []SerialRange{{1, 3}, {5, 10}, {20, 30}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("mergeRanges = %v, want %v", got, want)
	}
}

func TestBitmapRanges(t *testing.T) {
	// 0b1011_0000_0001: bits 0, 8, 9, 11 → serials 100, 108-109, 111.
	got, err := bitmapRanges(100, []byte{0x0b, 0x01})
	if err != nil {
		t.Fatal(err)
	}
	want := []SerialRange{{100, 100}, {108, 109}, {111, 111}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bitmapRanges = %v, want %v", got, want)
	}
	if _, err := bitmapRanges(0, []byte{1}); err == nil {
		t.Fatal("a bitmap revoking serial 0 was accepted")
	}
	if _, err := bitmapRanges(^uint64(0)-3, []byte{1}); err == nil {
		t.Fatal("an overflowing bitmap was accepted")
	}
}
