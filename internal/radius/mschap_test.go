package radius

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"

	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc3079"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// RFC 2759 §9.2 and RFC 3079 §3.5.3 sample data.
var rfcVectors = struct {
	user, password, authChallenge, peerChallenge, challenge, ntResponse,
	pwHash, pwHashHash, authResponse, masterKey, sendKey, recvKey string
}{
	user:          "User",
	password:      "clientPass",
	authChallenge: "5B5D7C7D7B3F2F3E3C2C602132262628",
	peerChallenge: "21402324255E262A28295F2B3A337C7E",
	challenge:     "D02E4386BCE91226",
	ntResponse:    "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF",
	pwHash:        "44EBBA8D5312B8D611474411F56989AE",
	pwHashHash:    "41C00C584BD2D91C4017A2A12FA59F3F",
	authResponse:  "S=407A5589115FD0D6209F510FE9C04566932CDA56",
	masterKey:     "FDECE3717A8C838CB388E527AE3CDD31",
	// RFC 3079 §3.5.3: the server's send key is the client's receive key.
	sendKey: "8B7CDC149B993A1BA118CB153F56DCCB",
	recvKey: "D5F0E9521E3EA9589645E86051C82226",
}

func TestMSCHAPv2AgainstRFC2759Vectors(t *testing.T) {
	v := rfcVectors
	c := newCredential(v.password).hashes()
	if !bytes.Equal(c.nt[:], unhex(t, v.pwHash)) {
		t.Errorf("NtPasswordHash = %X, want %s", c.nt, v.pwHash)
	}
	if !bytes.Equal(c.ntnt[:], unhex(t, v.pwHashHash)) {
		t.Errorf("HashNtPasswordHash = %X, want %s", c.ntnt, v.pwHashHash)
	}
	ch := challengeHash(unhex(t, v.peerChallenge), unhex(t, v.authChallenge), []byte(v.user))
	if !bytes.Equal(ch[:], unhex(t, v.challenge)) {
		t.Errorf("ChallengeHash = %X, want %s", ch, v.challenge)
	}
	// A "DOMAIN\" prefix is not part of the hashed name (RFC 2759 §4).
	if ch2 := challengeHash(unhex(t, v.peerChallenge), unhex(t, v.authChallenge), []byte(`CORP\User`)); ch2 != ch {
		t.Errorf("ChallengeHash with domain = %X, want %X", ch2, ch)
	}
	resp := challengeResponse(ch[:], &c.nt)
	if !bytes.Equal(resp[:], unhex(t, v.ntResponse)) {
		t.Errorf("NT-Response = %X, want %s", resp, v.ntResponse)
	}
	ar := authenticatorResponse(&c.ntnt, resp[:], ch)
	if string(ar[:]) != v.authResponse {
		t.Errorf("AuthenticatorResponse = %s, want %s", ar, v.authResponse)
	}
	send, recv := mppeKeys(&c.ntnt, resp[:])
	if !bytes.Equal(send[:], unhex(t, v.sendKey)) || !bytes.Equal(recv[:], unhex(t, v.recvKey)) {
		t.Errorf("MPPE keys send=%X recv=%X, want %s %s", send, recv, v.sendKey, v.recvKey)
	}
}

// The test client (layeh's rfc2759/rfc3079) must itself agree with the RFC
// before it can vouch for the server.
func TestClientLibraryAgainstRFC2759Vectors(t *testing.T) {
	v := rfcVectors
	nt, err := rfc2759.GenerateNTResponse(unhex(t, v.authChallenge), unhex(t, v.peerChallenge), []byte(v.user), []byte(v.password))
	if err != nil || !bytes.Equal(nt, unhex(t, v.ntResponse)) {
		t.Fatalf("layeh GenerateNTResponse = %X, %v; want %s", nt, err, v.ntResponse)
	}
	ar, err := rfc2759.GenerateAuthenticatorResponse(unhex(t, v.authChallenge), unhex(t, v.peerChallenge), nt, []byte(v.user), []byte(v.password))
	if err != nil || ar != v.authResponse {
		t.Fatalf("layeh GenerateAuthenticatorResponse = %s, %v", ar, err)
	}
	send, err := rfc3079.MakeKey(nt, []byte(v.password), true)
	if err != nil || !bytes.Equal(send, unhex(t, v.sendKey)) {
		t.Fatalf("layeh MakeKey(send) = %X, %v; want %s", send, err, v.sendKey)
	}
}

func TestPasswordHashes(t *testing.T) {
	// Well-known hashes of "password".
	c := newCredential("password").hashes()
	if got := hex.EncodeToString(c.nt[:]); got != "8846f7eaee8fb117ad06bdd830b7586c" {
		t.Errorf("NT hash = %s", got)
	}
	if got := hex.EncodeToString(c.lm[:]); got != "e52cac67419a9a224a3b108f3fa6cb6d" {
		t.Errorf("LM hash = %s", got)
	}
	// Non-ASCII passwords are hashed as UTF-16LE.
	u := newCredential("pässwörd€𝄞").hashes()
	want := rfc2759.NTPasswordHash(mustUTF16(t, "pässwörd€𝄞"))
	if !bytes.Equal(u.nt[:], want) {
		t.Errorf("NT hash of non-ASCII = %X, want %X", u.nt, want)
	}
}

func mustUTF16(t *testing.T, s string) []byte {
	b, err := rfc2759.ToUTF16([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decryptSalted is an independent RFC 2548 §2.4.2 decoder.
func decryptSalted(t testing.TB, v, secret, reqAuth []byte) []byte {
	t.Helper()
	if len(v) < 18 || (len(v)-2)%16 != 0 || v[0]&0x80 == 0 {
		t.Fatalf("bad salted value %X", v)
	}
	salt, c := v[:2], v[2:]
	var plain []byte
	prev := append(append([]byte{}, reqAuth...), salt...)
	for i := 0; i < len(c); i += 16 {
		b := md5.Sum(append(append([]byte{}, secret...), prev...))
		for j := 0; j < 16; j++ {
			plain = append(plain, c[i+j]^b[j])
		}
		prev = c[i : i+16]
	}
	n := int(plain[0])
	if n > len(plain)-1 {
		t.Fatalf("salted key length %d > %d", n, len(plain)-1)
	}
	return plain[1 : 1+n]
}

func TestSaltedAndHiddenEncryption(t *testing.T) {
	c := newCrypt()
	secret, auth := []byte("s3cret"), bytes.Repeat([]byte{7}, 16)
	key := []byte("0123456789abcdef")
	enc := c.appendSalted(nil, 0x8123, key, secret, auth)
	if len(enc) != 2+32 {
		t.Fatalf("salted length %d", len(enc))
	}
	if got := decryptSalted(t, enc, secret, auth); !bytes.Equal(got, key) {
		t.Fatalf("salted round trip = %q", got)
	}
	hidden := c.appendHidden(nil, []byte("twenty-four octets long!"), secret, auth)
	if len(hidden) != 32 {
		t.Fatalf("hidden length %d", len(hidden))
	}
	plain, ok := c.decryptUserPassword(nil, hidden, secret, auth)
	if !ok || string(plain) != "twenty-four octets long!" {
		t.Fatalf("hidden round trip = %q %v", plain, ok)
	}
}
