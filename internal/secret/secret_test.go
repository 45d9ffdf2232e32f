package secret

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(k)
	s := b.Seal("demo1-password", "subscriptions.password")
	if bytes.Contains(s, []byte("demo1-password")) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := b.Open(s, "subscriptions.password")
	if err != nil || got != "demo1-password" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(s, "nas.secret"); err == nil {
		t.Fatal("opened under another context")
	}
	s[len(s)-1] ^= 1
	if _, err := b.Open(s, "subscriptions.password"); err == nil {
		t.Fatal("tampered value opened")
	}
	other, _ := ParseKey(NewKey())
	b2, _ := New(other)
	if _, err := b2.Open(b.Seal("x", "c"), "c"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("want ErrWrongKey, got %v", err)
	}
}

func TestParseKeyErrors(t *testing.T) {
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}
