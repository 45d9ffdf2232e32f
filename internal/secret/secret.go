// Package secret seals the secrets the registry must be able to read back in
// clear (subscriber passwords for CHAP and MS-CHAP, RADIUS shared secrets):
// AES-256-GCM under a key from the configuration. A hash would be safer at
// rest, but CHAP and MS-CHAP need the cleartext (or its NT hash) to verify a
// response, so a reversible, authenticated encryption is the honest choice.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a sealing key in bytes.
const KeySize = 32

// version tags each sealed value so that a later key rotation or algorithm
// change can tell old values apart.
const version = 1

// Box seals and opens values with one key.
type Box struct {
	aead  cipher.AEAD
	keyID [4]byte
}

// ParseKey decodes a base64 key as written by NewKey.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("secret key is empty (generate one with `maillon init` or `openssl rand -base64 32`)")
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("secret key is not base64: %w", err)
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(k))
	}
	return k, nil
}

// NewKey returns a fresh random key in the base64 form ParseKey reads.
func NewKey() string {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.StdEncoding.EncodeToString(k)
}

// New returns a Box for key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	b := &Box{aead: aead}
	sum := sha256.Sum256(key)
	copy(b.keyID[:], sum[:4])
	return b, nil
}

// Seal encrypts plaintext; context binds the value to where it is stored (a
// table and column) so a sealed password cannot be swapped into another row's
// place unnoticed.
func (b *Box) Seal(plaintext, context string) []byte {
	out := make([]byte, 0, 1+4+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out = append(out, version)
	out = append(out, b.keyID[:]...)
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out = append(out, nonce...)
	return b.aead.Seal(out, nonce, []byte(plaintext), []byte(context))
}

// ErrWrongKey means the value was sealed under another key.
var ErrWrongKey = errors.New("sealed with another secret key")

// Open decrypts a value sealed by Seal with the same context.
func (b *Box) Open(sealed []byte, context string) (string, error) {
	hdr := 1 + 4 + b.aead.NonceSize()
	if len(sealed) < hdr+b.aead.Overhead() || sealed[0] != version {
		return "", errors.New("sealed value is malformed")
	}
	if [4]byte(sealed[1:5]) != b.keyID {
		return "", ErrWrongKey
	}
	pt, err := b.aead.Open(nil, sealed[5:hdr], sealed[hdr:], []byte(context))
	if err != nil {
		return "", fmt.Errorf("open sealed value: %w", err)
	}
	return string(pt), nil
}
