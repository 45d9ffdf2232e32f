package sshca

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// FuzzParseKRL feeds arbitrary bytes to the KRL reader: it must never
// panic, and whatever it accepts must write back into a KRL that reads the
// same, revoking the same keys. `go test` runs the seeds;
// `go test -fuzz FuzzParseKRL ./internal/sshca` explores.
func FuzzParseKRL(f *testing.F) {
	ca := newSigner(f)
	caKey := fileCA(ca)
	k1, k2 := newSigner(f).PublicKey(), newSigner(f).PublicKey()
	c1 := testCert(f, caKey, k1, 7, "seven")
	c2 := testCert(f, caKey, k2, 1000, "thousand")
	probes := []ssh.PublicKey{k1, k2, c1, c2, ca.PublicKey()}

	full := &KRL{Version: 3, GeneratedAt: time.Unix(1700000000, 0), Comment: "seed"}
	full.Revoke(ca.PublicKey(), 7)
	full.Revoke(ca.PublicKey(), 9)
	full.Certs = append(full.Certs, CertRevocations{CA: ca.PublicKey(), Serials: []SerialRange{{100, 200}}, KeyIDs: []string{"thousand"}})
	full.Certs = append(full.Certs, CertRevocations{KeyIDs: []string{"any CA"}})
	full.RevokeKey(k2)
	full.SHA256 = [][]byte{bytes.Repeat([]byte{7}, 32)}
	full.SHA1 = [][]byte{bytes.Repeat([]byte{1}, 20)}
	for _, k := range []*KRL{{}, full} {
		b, err := k.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A bitmap section, as ssh-keygen writes them.
	var bm wbuf
	bm.str(ca.PublicKey().Marshal())
	bm.str(nil)
	var bits wbuf
	bits.u64(5)
	bits.str([]byte{0x05, 0x81})
	bm.byte(certSectionSerialBitmap)
	bm.str(bits.b)
	empty, _ := (&KRL{}).Marshal()
	f.Add(append(append(slices.Clone(empty), sectionCertificates), append([]byte{0, 0, 0, byte(len(bm.b))}, bm.b...)...))
	f.Add([]byte("SSHKRL\n\x00"))

	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKRL(data)
		if err != nil {
			return
		}
		out, err := k.Marshal()
		if err != nil {
			t.Fatalf("accepted KRL does not marshal: %v", err)
		}
		back, err := ParseKRL(out)
		if err != nil {
			t.Fatalf("our own KRL does not parse: %v", err)
		}
		if back.Version != k.Version || back.Comment != k.Comment {
			t.Fatalf("header changed: %d %q -> %d %q", k.Version, k.Comment, back.Version, back.Comment)
		}
		for _, p := range probes {
			if k.IsRevoked(p) != back.IsRevoked(p) {
				t.Fatalf("rewritten KRL disagrees on %s", ssh.FingerprintSHA256(p))
			}
		}
		again, err := back.Marshal()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("marshal is not stable: %v", err)
		}
	})
}

// FuzzParsePublicKey feeds arbitrary text to the public key reader used on
// uploaded .pub files: no panic, and an accepted key writes back to
// itself.
func FuzzParsePublicKey(f *testing.F) {
	s := newSigner(f)
	line := ssh.MarshalAuthorizedKey(s.PublicKey())
	f.Add(line)
	f.Add(append(bytes.TrimSpace(line), " ada@laptop\n"...))
	f.Add(ssh.MarshalAuthorizedKey(testCert(f, fileCA(s), newSigner(f).PublicKey(), 1, "x")))
	f.Add([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"))
	f.Add([]byte("ssh-ed25519 AAAA"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := ParsePublicKey(text)
		if err != nil {
			return
		}
		again, err := ParsePublicKey(ssh.MarshalAuthorizedKey(k))
		if err != nil {
			t.Fatalf("accepted key does not read back: %v", err)
		}
		if !bytes.Equal(again.Marshal(), k.Marshal()) {
			t.Fatal("key changed on the way back")
		}
	})
}
