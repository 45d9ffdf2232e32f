package app

import (
	"bytes"
	"testing"
)

// Every instance sharing a database derives the same key from the same
// secret; a new generation or another zone gives another key.
func TestZoneKeyDerivation(t *testing.T) {
	secretA := bytes.Repeat([]byte{0x42}, 32)
	secretB := bytes.Repeat([]byte{0x43}, 32)
	derive := func(secret []byte, origin string, gen int) (uint16, string) {
		t.Helper()
		k, err := deriveZoneKey(secret, origin, gen)
		if err != nil {
			t.Fatal(err)
		}
		return k.KeyTag(), k.DNSKEY.PublicKey
	}
	tag, pub := derive(secretA, "example.org.", 1)
	if tag2, pub2 := derive(secretA, "example.org", 1); tag2 != tag || pub2 != pub {
		t.Fatalf("same secret, origin and generation gave %d and %d", tag, tag2)
	}
	for _, c := range []struct {
		what   string
		secret []byte
		origin string
		gen    int
	}{
		{"another generation", secretA, "example.org.", 2},
		{"another zone", secretA, "100.64.in-addr.arpa.", 1},
		{"another secret", secretB, "example.org.", 1},
	} {
		if _, p := derive(c.secret, c.origin, c.gen); p == pub {
			t.Errorf("%s gave the same key", c.what)
		}
	}
}
