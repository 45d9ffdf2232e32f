package dns

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"maillon/internal/testenv"
)

// delv is BIND's validating resolver tool: with the zone's DNSKEY as its
// trust anchor it validates maillon's answers as a resolver would.
func delv(t *testing.T, addr string, z *Zone, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "delv")
	k := z.Key().keyFor(z.Origin(), 3600)
	anchor := filepath.Join(t.TempDir(), "anchor")
	conf := "trust-anchors {\n\t" + z.Origin() + " static-key 257 3 13 \"" + k.PublicKey + "\";\n};\n"
	if err := os.WriteFile(anchor, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	all := append([]string{"@" + host, "-p", port, "-a", anchor, "+root=" + z.Origin()}, args...)
	out, err := exec.Command(bin, all...).CombinedOutput()
	if err != nil {
		t.Logf("delv %s: %v", strings.Join(all, " "), err)
	}
	return string(out)
}

func TestDelvValidates(t *testing.T) {
	s := startServer(t, signedSource(t), Config{})
	snap := s.Snapshot()
	fwd := snap.Zone("example.org")
	v6 := snap.Zone("8.b.d.0.1.0.0.2.ip6.arpa")
	v4 := snap.Zone("100.51.198.in-addr.arpa")
	for _, c := range []struct {
		name string
		zone *Zone
		args []string
		want []string
	}{
		{"A", fwd, []string{"front.example.org", "A"}, []string{"; fully validated", "192.0.2.80"}},
		{"apex MX", fwd, []string{"example.org", "MX"}, []string{"; fully validated", "10 mail.example.org."}},
		{"DNSKEY", fwd, []string{"example.org", "DNSKEY"}, []string{"; fully validated", "257 3 13"}},
		{"CNAME chain", fwd, []string{"www.example.org", "A"}, []string{"; fully validated", "192.0.2.80", "CNAME"}},
		{"NXDOMAIN", fwd, []string{"nope.example.org", "A"}, []string{"; negative response, fully validated", "NXDOMAIN"}},
		{"NODATA", fwd, []string{"front.example.org", "AAAA"}, []string{"; negative response, fully validated"}},
		{"empty non-terminal", fwd, []string{"b.deep.example.org", "A"}, []string{"; negative response, fully validated"}},
		{"wildcard", fwd, []string{"x.users.example.org", "A"}, []string{"; fully validated", "192.0.2.99"}},
		{"wildcard NODATA", fwd, []string{"x.users.example.org", "AAAA"}, []string{"; negative response, fully validated"}},
		{"PTR v4", v4, []string{"-x", "198.51.100.6"}, []string{"; fully validated", "alice.dsl.example.org."}},
		{"NXDOMAIN v4", v4, []string{"-x", "198.51.100.99"}, []string{"; negative response, fully validated"}},
		{"PTR v6", v6, []string{"-x", "2001:db8:1:100::1"}, []string{"; fully validated", "alice.v6.example.org."}},
		{"wildcard PTR v6", v6, []string{"-x", "2001:db8:1:1ff::42"}, []string{"; fully validated", "alice.v6.example.org."}},
		{"NXDOMAIN v6", v6, []string{"-x", "2001:db8:2::1"}, []string{"; negative response, fully validated"}},
		{"no DS at the delegation", fwd, []string{"sub.example.org", "DS"}, []string{"; negative response, fully validated"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := delv(t, s.Addr(), c.zone, c.args...)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("delv %v: want %q in\n%s", c.args, w, out)
				}
			}
		})
	}
}

// TestKnotSecondaryServesSigned has a Knot secondary follow a signed zone,
// by AXFR then IXFR, and checks that what it serves validates.
func TestKnotSecondaryServesSigned(t *testing.T) {
	testenv.LookPath(t, "knotd")
	src := signedSource(t)
	s := startServer(t, src, Config{})
	conf := func(dir, listen string) string {
		return knotServer(dir, listen) + knotKey() +
			fmt.Sprintf("remote:\n  - id: maillon\n    address: %s\n    key: %s\n", strings.Replace(s.Addr(), ":", "@", 1), testKeyName) +
			"acl:\n  - id: from_maillon\n    address: 127.0.0.1\n    key: " + testKeyName + "\n    action: notify\n" +
			"  - id: transfer\n    address: 127.0.0.1\n    key: " + testKeyName + "\n    action: transfer\n" +
			"template:\n  - id: default\n    storage: " + strconv.Quote(dir) + "\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    journal-content: changes\n" +
			"zone:\n  - domain: example.org.\n    master: maillon\n    acl: [from_maillon, transfer]\n"
	}
	k := startKnot(t, conf, nil)
	converge(t, s, k.Addr, "example.org.")
	z := s.Snapshot().Zone("example.org")
	if out := delv(t, k.Addr, z, "front.example.org", "A"); !strings.Contains(out, "; fully validated") {
		t.Errorf("from Knot after AXFR:\n%s", out)
	}

	// A change reaches Knot by NOTIFY and IXFR, new signatures included.
	src.Zones[0].Notify = []Secondary{{Addr: k.Addr, Key: testKeyName}}
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "later", Type: "AAAA", Data: "2001:db8::1"})
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	converge(t, s, k.Addr, "example.org.")
	z = s.Snapshot().Zone("example.org")
	for _, c := range [][]string{{"later.example.org", "AAAA"}, {"latex.example.org", "A"}, {"x.users.example.org", "TXT"}} {
		if out := delv(t, k.Addr, z, c...); !strings.Contains(out, "fully validated") {
			t.Errorf("from Knot after IXFR, %v:\n%s", c, out)
		}
	}
	if !strings.Contains(k.Log.String(), "IXFR") {
		t.Errorf("knotd did not use IXFR:\n%s", k.Log.String())
	}
}
