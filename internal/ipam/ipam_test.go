package ipam

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePrefixInsistsOnCanonicalForm(t *testing.T) {
	if _, err := ParsePrefix("198.51.100.0/24"); err != nil {
		t.Fatal(err)
	}
	_, err := ParsePrefix("198.51.100.7/24")
	if err == nil || !strings.Contains(err.Error(), "198.51.100.0/24") {
		t.Fatalf("want a hint at the canonical prefix, got %v", err)
	}
	for _, bad := range []string{"", "198.51.100.0", "2001:db8::/129", "fe80::%eth0/64", "::ffff:1.2.3.0/120"} {
		if _, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", bad)
		}
	}
}

func TestBlocksRoundTrip(t *testing.T) {
	cases := []struct {
		pool  string
		bits  int
		index uint64
		want  string
		count uint64
	}{
		{"198.51.100.0/24", 32, 6, "198.51.100.6/32", 256},
		{"198.51.100.0/24", 32, 255, "198.51.100.255/32", 256},
		{"2001:db8:100::/40", 64, 1, "2001:db8:100:1::/64", 1 << 24},
		{"2001:db8:1000::/36", 56, 3, "2001:db8:1000:300::/56", 1 << 20},
		{"2001:db8::/32", 128, 5, "2001:db8::5/128", MaxBlocks},
		{"0.0.0.0/0", 32, 1 << 31, "128.0.0.0/32", 1 << 32},
	}
	for _, c := range cases {
		pool := netip.MustParsePrefix(c.pool)
		n, err := BlockCount(pool, c.bits)
		if err != nil || n != c.count {
			t.Errorf("BlockCount(%s,/%d) = %d, %v; want %d", pool, c.bits, n, err, c.count)
		}
		b, err := Block(pool, c.bits, c.index)
		if err != nil || b.String() != c.want {
			t.Errorf("Block(%s,/%d,%d) = %s, %v; want %s", pool, c.bits, c.index, b, err, c.want)
			continue
		}
		i, err := BlockIndex(pool, b, c.bits)
		if err != nil || i != c.index {
			t.Errorf("BlockIndex(%s,%s) = %d, %v; want %d", pool, b, i, err, c.index)
		}
	}
}

func TestBlockErrors(t *testing.T) {
	pool := netip.MustParsePrefix("198.51.100.0/24")
	if _, err := Block(pool, 32, 256); err == nil {
		t.Error("index past the end accepted")
	}
	if _, err := BlockCount(pool, 16); err == nil {
		t.Error("block larger than pool accepted")
	}
	if _, err := BlockIndex(pool, netip.MustParsePrefix("198.51.101.1/32"), 32); err == nil {
		t.Error("block outside pool accepted")
	}
	if _, err := BlockIndex(pool, netip.MustParsePrefix("198.51.100.0/31"), 32); err == nil {
		t.Error("block of the wrong size accepted")
	}
}

func TestContains(t *testing.T) {
	outer := netip.MustParsePrefix("2001:db8::/32")
	if !Contains(outer, netip.MustParsePrefix("2001:db8:100::/40")) {
		t.Error("nested prefix not contained")
	}
	if Contains(outer, netip.MustParsePrefix("2001:db8::/31")) {
		t.Error("larger prefix reported contained")
	}
	if Contains(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/64")) {
		t.Error("families mixed")
	}
}

func FuzzBlockRoundTrip(f *testing.F) {
	f.Add("198.51.100.0/24", 32, uint64(7))
	f.Add("2001:db8::/32", 56, uint64(99))
	f.Fuzz(func(t *testing.T, s string, bits int, index uint64) {
		pool, err := ParsePrefix(s)
		if err != nil {
			return
		}
		b, err := Block(pool, bits, index)
		if err != nil {
			return
		}
		if !Contains(pool, b) {
			t.Fatalf("%s not inside %s", b, pool)
		}
		i, err := BlockIndex(pool, b, bits)
		if err != nil || i != index {
			t.Fatalf("round trip %d -> %s -> %d (%v)", index, b, i, err)
		}
	})
}
