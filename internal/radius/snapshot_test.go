package radius

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSecondsUntilBoundary(t *testing.T) {
	for _, c := range []struct {
		now    time.Time
		offset time.Duration
		want   uint32
	}{
		{traceTime, 0, 49708}, // the reference trace
		{time.Date(2025, 4, 8, 0, 0, 0, 0, time.UTC), 0, 86400},
		{time.Date(2025, 4, 8, 23, 59, 59, 900e6, time.UTC), 0, 1},
		{traceTime, 6 * time.Hour, 71308}, // to 06:00 the next day
		{traceTime, 11 * time.Hour, 2908}, // to 11:00 the same day
		// A local-time clock still counts to midnight UTC.
		{traceTime.In(time.FixedZone("CEST", 2*3600)), 0, 49708},
	} {
		if got := secondsUntilBoundary(c.now, c.offset); got != c.want {
			t.Errorf("secondsUntilBoundary(%v, %v) = %d, want %d", c.now, c.offset, got, c.want)
		}
	}
}

func TestSubscriberLookup(t *testing.T) {
	snap, err := NewSnapshot(testInput(MARequire))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mode RealmMode
		want string
	}{
		{"p1f9bd1@NEUTRINET", RealmKeep, "p1f9bd1@NEUTRINET"},
		{"p1f9bd1@neutrinet", RealmKeep, "p1f9bd1@NEUTRINET"}, // realms fold case
		{"P1F9BD1@NEUTRINET", RealmKeep, ""},                  // user parts do not
		{"p1f9bd1", RealmKeep, ""},
		{"p1f9bd1", RealmStrip, "p1f9bd1@NEUTRINET"},
		{"p1f9bd1@ELSEWHERE.example", RealmStrip, "p1f9bd1@NEUTRINET"},
		{"vpn1@VPN", RealmStrip, "vpn1"},
		{"vpn1@VPN", RealmKeep, ""},
		{"@", RealmKeep, ""},
		{"", RealmStrip, ""},
	} {
		got := ""
		if e := snap.subscriber([]byte(c.name), c.mode); e != nil {
			got = e.Login
		}
		if got != c.want {
			t.Errorf("subscriber(%q, %s) = %q, want %q", c.name, c.mode, got, c.want)
		}
	}
	// Two realms with the same user part: stripping cannot choose.
	in := testInput(MARequire)
	in.Subscribers = append(in.Subscribers, Subscriber{Login: "p1f9bd1@OTHER", Password: "x"})
	snap, _ = NewSnapshot(in)
	if e := snap.subscriber([]byte("p1f9bd1"), RealmStrip); e != nil {
		t.Errorf("ambiguous user part resolved to %s", e.Login)
	}
}

func TestClientLookup(t *testing.T) {
	snap, err := NewSnapshot(SnapshotInput{Clients: []Client{
		{Name: "one", Prefix: netip.MustParsePrefix("192.0.2.10/32"), Secret: "a"},
		{Name: "lan", Prefix: netip.MustParsePrefix("192.0.2.0/24"), Secret: "b"},
		{Name: "wide", Prefix: netip.MustParsePrefix("192.0.0.0/16"), Secret: "c"},
		{Name: "v6", Prefix: netip.MustParsePrefix("2001:db8::/32"), Secret: "d"},
		{Name: "mapped", Prefix: netip.MustParsePrefix("::ffff:198.51.100.7/128"), Secret: "e"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"192.0.2.10":        "one",
		"192.0.2.11":        "lan",
		"192.0.7.1":         "wide",
		"::ffff:192.0.2.10": "one", // a v4-mapped source from a dual-stack socket
		"2001:db8:1::1":     "v6",
		"198.51.100.7":      "mapped",
		"203.0.113.1":       "",
		"2001:db9::1":       "",
	} {
		got := ""
		if c := snap.client(netip.MustParseAddr(addr)); c != nil {
			got = c.Name
		}
		if got != want {
			t.Errorf("client(%s) = %q, want %q", addr, got, want)
		}
	}
	if c := snap.client(netip.MustParseAddr("192.0.2.10")); c.MessageAuthenticator != MARequire || c.Realm != RealmKeep || c.Kind != ClientOther {
		t.Errorf("defaults: %+v", c.Client)
	}
}

func TestNewSnapshotReportsBadEntriesAndKeepsTheRest(t *testing.T) {
	in := testInput(MARequire)
	in.Subscribers = append(in.Subscribers, Subscriber{Login: "demo1@DEMO", Password: "dup"}, Subscriber{})
	in.Clients = append(in.Clients,
		Client{Name: "nosecret", Prefix: netip.MustParsePrefix("192.0.2.1/32")},
		Client{Name: "badpolicy", Prefix: netip.MustParsePrefix("192.0.2.2/32"), Secret: "s", MessageAuthenticator: "maybe"},
		Client{Name: "dupaddr", Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: "s"},
	)
	in.MACs = []MACEntry{{MAC: "not-a-mac"}}
	snap, err := NewSnapshot(in)
	if err == nil {
		t.Fatal("no error for bad entries")
	}
	for _, want := range []string{`"demo1@DEMO": duplicate`, "empty login", `"nosecret": empty shared secret`, `"badpolicy"`, `"dupaddr"`, `"not-a-mac"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	subs, clients := snap.Len()
	if subs != len(testSubscribers()) || clients != 1 {
		t.Errorf("snapshot holds %d subscribers, %d clients", subs, clients)
	}
	if e := snap.subscriber([]byte("demo1@DEMO"), RealmKeep); e == nil || e.Password != "demo1-password" {
		t.Error("the first demo1@DEMO must be kept")
	}
}

func TestParseMAC(t *testing.T) {
	want := [6]byte{0xaa, 0xbb, 0xcc, 0x01, 0x02, 0x03}
	for _, s := range []string{"aa:bb:cc:01:02:03", "AA-BB-CC-01-02-03", "aabb.cc01.0203", "AABBCC010203"} {
		if got, ok := parseMAC([]byte(s)); !ok || got != want {
			t.Errorf("parseMAC(%q) = %X %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "aa:bb:cc:01:02", "aa:bb:cc:01:02:03:04", "aa:bb:cc:01:02:0g", "a:ab:bc:c0:10:20:3"} {
		if _, ok := parseMAC([]byte(s)); ok {
			t.Errorf("parseMAC(%q) accepted", s)
		}
	}
}

func TestParseAttr(t *testing.T) {
	for _, c := range []struct {
		name, value string
		want        Attr
	}{
		{"Mikrotik-Rate-Limit", "10M/20M", VendorAttr(14988, 8, []byte("10M/20M"))},
		{"framed-mtu", "1492", Uint32Attr(attrFramedMTU, 1492)},
		{"Framed-IP-Netmask", "255.255.255.0", Attr{Type: attrFramedIPNetmask, Value: []byte{255, 255, 255, 0}}},
		{"Framed-IPv6-Prefix", "2001:db8::/48", Attr{Type: attrFramedIPv6Prefix, Value: []byte{0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 0}}},
		{"11", "filter", StringAttr(11, "filter")},
		{"26:9:1", "ip:addr-pool=x", VendorAttr(9, 1, []byte("ip:addr-pool=x"))},
		{"26:14988:8", "0x4142", VendorAttr(14988, 8, []byte("AB"))},
	} {
		got, err := ParseAttr(c.name, c.value)
		if err != nil {
			t.Errorf("ParseAttr(%q, %q): %v", c.name, c.value, err)
			continue
		}
		if got.Type != c.want.Type || got.Vendor != c.want.Vendor || got.VendorType != c.want.VendorType || !bytes.Equal(got.Value, c.want.Value) {
			t.Errorf("ParseAttr(%q, %q) = %+v, want %+v", c.name, c.value, got, c.want)
		}
	}
	for _, c := range [][2]string{{"No-Such-Attr", "x"}, {"Framed-MTU", "big"}, {"26", "x"}, {"26:0:1", "x"}, {"Class", "0xzz"}} {
		if _, err := ParseAttr(c[0], c[1]); err == nil {
			t.Errorf("ParseAttr(%q, %q) accepted", c[0], c[1])
		}
	}
}
