package radius

import (
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"unicode/utf16"

	//lint:ignore SA1019 MS-CHAP is defined on MD4; compatibility is the point
	"golang.org/x/crypto/md4"
)

// credential is a cleartext password with its MS-CHAP hashes, computed on
// first use so that building a snapshot of many subscribers stays cheap.
type credential struct {
	password string
	pw       []byte
	once     sync.Once
	nt       [16]byte // NtPasswordHash (RFC 2759 §8.3)
	ntnt     [16]byte // HashNtPasswordHash (RFC 2759 §8.4)
	lm       [16]byte // LmPasswordHash (RFC 2433 §A.2)
}

func newCredential(password string) *credential {
	return &credential{password: password, pw: []byte(password)}
}

func (c *credential) hashes() *credential {
	c.once.Do(func() {
		c.nt = ntPasswordHash(c.password)
		h := md4.New()
		h.Write(c.nt[:])
		h.Sum(c.ntnt[:0])
		c.lm = lmPasswordHash(c.password)
	})
	return c
}

func ntPasswordHash(password string) [16]byte {
	u := make([]byte, 0, 2*len(password))
	for _, r := range password {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			u = append(u, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		u = append(u, byte(r), byte(r>>8))
	}
	var out [16]byte
	h := md4.New()
	h.Write(u)
	h.Sum(out[:0])
	return out
}

// lmPasswordHash is the LAN Manager hash (RFC 2433 §A.2): only its first 8
// octets are ever sent, as the LM key of MS-CHAP-MPPE-Keys for 40/56-bit
// MPPE with MS-CHAP v1 (RFC 3079 §2.1).
func lmPasswordHash(password string) [16]byte {
	var pw [14]byte
	for i := 0; i < len(password) && i < 14; i++ {
		b := password[i]
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		pw[i] = b
	}
	std := [8]byte{'K', 'G', 'S', '!', '@', '#', '$', '%'}
	var out [16]byte
	desEncrypt(out[0:8], pw[0:7], std[:])
	desEncrypt(out[8:16], pw[7:14], std[:])
	return out
}

// desEncrypt encrypts one block with a 56-bit key spread over 8 octets
// (RFC 2759 §8.6); the parity bits are ignored by DES.
func desEncrypt(dst, key7, clear []byte) {
	var k [8]byte
	k[0] = key7[0]
	k[1] = key7[0]<<7 | key7[1]>>1
	k[2] = key7[1]<<6 | key7[2]>>2
	k[3] = key7[2]<<5 | key7[3]>>3
	k[4] = key7[3]<<4 | key7[4]>>4
	k[5] = key7[4]<<3 | key7[5]>>5
	k[6] = key7[5]<<2 | key7[6]>>6
	k[7] = key7[6] << 1
	c, err := des.NewCipher(k[:])
	if err != nil {
		panic(err) // unreachable: the key is always 8 octets
	}
	c.Encrypt(dst, clear)
}

// challengeResponse is RFC 2759 §8.5 (and RFC 2433's NT/LM responses).
func challengeResponse(challenge []byte, pwHash *[16]byte) [24]byte {
	var z [21]byte
	copy(z[:], pwHash[:])
	var out [24]byte
	desEncrypt(out[0:8], z[0:7], challenge)
	desEncrypt(out[8:16], z[7:14], challenge)
	desEncrypt(out[16:24], z[14:21], challenge)
	return out
}

// challengeHash is RFC 2759 §8.2. The user name is the one the peer used,
// without any "DOMAIN\" prefix.
func challengeHash(peerChallenge, authChallenge, username []byte) [8]byte {
	for i := len(username) - 1; i >= 0; i-- {
		if username[i] == '\\' {
			username = username[i+1:]
			break
		}
	}
	h := sha1.New()
	h.Write(peerChallenge)
	h.Write(authChallenge)
	h.Write(username)
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [8]byte
	copy(out[:], sum[:8])
	return out
}

var (
	// RFC 2759 §8.7
	authMagic1 = []byte("Magic server to client signing constant")
	authMagic2 = []byte("Pad to make it do more than one iteration")
	// RFC 3079 §3.4
	keyMagic1 = []byte("This is the MPPE Master Key")
	keyMagic2 = []byte("On the client side, this is the send key; on the server side, it is the receive key.")
	keyMagic3 = []byte("On the client side, this is the receive key; on the server side, it is the send key.")
	shsPad2   = [40]byte{0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2}
)

// authenticatorResponse is RFC 2759 §8.7: "S=" and 40 upper-case hex digits.
func authenticatorResponse(ntnt *[16]byte, ntResponse []byte, chHash [8]byte) [42]byte {
	h := sha1.New()
	h.Write(ntnt[:])
	h.Write(ntResponse)
	h.Write(authMagic1)
	var d [sha1.Size]byte
	h.Sum(d[:0])
	h.Reset()
	h.Write(d[:])
	h.Write(chHash[:])
	h.Write(authMagic2)
	h.Sum(d[:0])
	var out [42]byte
	out[0], out[1] = 'S', '='
	hex.Encode(out[2:], d[:])
	for i := 2; i < len(out); i++ {
		if out[i] >= 'a' {
			out[i] -= 'a' - 'A'
		}
	}
	return out
}

// mppeKeys derives the server's MPPE send and receive start keys from an
// MS-CHAPv2 exchange (RFC 3079 §3.4, 128-bit keys).
func mppeKeys(ntnt *[16]byte, ntResponse []byte) (send, recv [16]byte) {
	h := sha1.New()
	h.Write(ntnt[:])
	h.Write(ntResponse)
	h.Write(keyMagic1)
	var d [sha1.Size]byte
	h.Sum(d[:0])
	var master [16]byte
	copy(master[:], d[:16])
	var pad1 [40]byte
	start := func(magic []byte, out *[16]byte) {
		h.Reset()
		h.Write(master[:])
		h.Write(pad1[:])
		h.Write(magic)
		h.Write(shsPad2[:])
		h.Sum(d[:0])
		copy(out[:], d[:16])
	}
	start(keyMagic3, &send)
	start(keyMagic2, &recv)
	return send, recv
}

func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
