package dns

// Tests against Knot DNS, the server the ISPs run today: kdig as a client,
// knotd as a secondary following maillon and as the primary maillon pushes
// to, kzonecheck on the export. Missing programs skip the tests on a
// developer's machine and fail them in CI (testenv).

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/testenv"

	mdns "github.com/miekg/dns"
)

func kdig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "kdig")
	host, port, _ := net.SplitHostPort(addr)
	all := append([]string{"@" + host, "-p", port, "+time=5", "+retry=1"}, args...)
	out, err := exec.Command(bin, all...).CombinedOutput()
	if err != nil {
		// kdig exits non-zero on refused transfers: the output tells.
		t.Logf("kdig %s: %v", strings.Join(all, " "), err)
	}
	return string(out)
}

func kdigKey() string {
	return "hmac-sha256:" + strings.TrimSuffix(testKeyName, ".") + ":" + testKeySecret
}

func TestKdig(t *testing.T) {
	testenv.LookPath(t, "kdig")
	s := startServer(t, testSource(), Config{})
	addr := s.Addr()
	short := func(args ...string) string {
		return strings.TrimSpace(kdig(t, addr, append(args, "+short")...))
	}
	if got := short("-x", "198.51.100.6"); got != "alice.dsl.example.org." {
		t.Errorf("PTR IPv4: %q", got)
	}
	if got := short("-x", "2001:db8:1:100::1"); got != "alice.v6.example.org." {
		t.Errorf("PTR IPv6: %q", got)
	}
	if got := short("alice.dsl.example.org", "A"); got != "198.51.100.6" {
		t.Errorf("A: %q", got)
	}
	if got := short("alice.v6.example.org", "AAAA"); got != "2001:db8:1:100::1" {
		t.Errorf("AAAA: %q", got)
	}
	if got := short("+tcp", "www.example.org", "A"); got != "web.example.org.\nfront.example.org.\n192.0.2.80" {
		t.Errorf("CNAME chain over TCP: %q", got)
	}
	if out := kdig(t, addr, "nope.example.org", "A"); !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "Flags: qr aa") {
		t.Errorf("NXDOMAIN:\n%s", out)
	}
	if out := kdig(t, addr, "front.example.org", "AAAA"); !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "ANSWER: 0") ||
		!strings.Contains(out, "SOA") {
		t.Errorf("NODATA:\n%s", out)
	}
	if out := kdig(t, addr, "example.com", "A"); !strings.Contains(out, "status: REFUSED") {
		t.Errorf("outside the zones:\n%s", out)
	}
	// Without EDNS kdig gets TC and retries over TCP by itself.
	if out := kdig(t, addr, "+noedns", "big.example.org", "TXT"); !strings.Contains(out, "TC bit set") && !strings.Contains(out, "ANSWER: 1") {
		t.Errorf("TCP fallback:\n%s", out)
	}

	axfr := kdig(t, addr, "-y", kdigKey(), "example.org", "AXFR")
	if !strings.Contains(axfr, "front.example.org.") || strings.Contains(axfr, "REFUSED") {
		t.Errorf("AXFR with TSIG:\n%s", axfr)
	}
	if !strings.Contains(axfr, "NOERROR") && !strings.Contains(axfr, "Received") {
		t.Errorf("AXFR with TSIG did not finish:\n%s", axfr)
	}
	if out := kdig(t, addr, "example.org", "AXFR"); !strings.Contains(out, "REFUSED") || strings.Contains(out, "front.example.org.") {
		t.Errorf("AXFR without TSIG:\n%s", out)
	}

	src := testSource()
	serial := s.Snapshot().Zone("example.org").Serial()
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "added", Type: "A", Data: "192.0.2.123"})
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	ixfr := kdig(t, addr, "-y", kdigKey(), "example.org", "IXFR="+strconv.FormatUint(uint64(serial), 10))
	if !strings.Contains(ixfr, "added.example.org.") || strings.Contains(ixfr, "front.example.org.") {
		t.Errorf("IXFR should carry only the change:\n%s", ixfr)
	}
}

func TestExportPassesKzonecheck(t *testing.T) {
	bin := testenv.LookPath(t, "kzonecheck")
	snap, err := Build(testSource(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, o := range snap.Origins() {
		file := filepath.Join(dir, fmt.Sprintf("zone%d", i))
		if err := os.WriteFile(file, []byte(snap.Zone(o).Text()), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-o", o, file).CombinedOutput()
		if err != nil {
			t.Errorf("kzonecheck %s: %v\n%s\n%s", o, err, out, snap.Zone(o).Text())
		}
	}
}

func startKnot(t *testing.T, conf func(dir, listen string) string, files map[string]string) *testenv.Knot {
	t.Helper()
	return testenv.StartKnot(t, 0, conf, files)
}

func knotKey() string {
	return fmt.Sprintf("key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n", testKeyName, testKeySecret)
}

func knotServer(dir, listen string) string {
	return fmt.Sprintf("server:\n  rundir: %q\n  listen: %s\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"+
		"database:\n  storage: %q\nlog:\n  - target: stderr\n    any: info\n", dir, listen, dir)
}

// serialAt asks a server for a zone's SOA serial; 0 when it has none yet.
func serialAt(addr, zone string) uint32 {
	c := &mdns.Client{Net: "udp", Timeout: time.Second}
	m := new(mdns.Msg)
	m.SetQuestion(zone, mdns.TypeSOA)
	r, _, err := c.Exchange(m, addr)
	if err != nil || r.Rcode != mdns.RcodeSuccess || len(r.Answer) == 0 {
		return 0
	}
	if soa, ok := r.Answer[0].(*mdns.SOA); ok {
		return soa.Serial
	}
	return 0
}

// converge waits until the secondary serves the primary's serial, then
// checks that both have the same records.
func converge(t *testing.T, s *Server, sec, zone string) {
	t.Helper()
	want := s.Snapshot().Zone(zone).Serial()
	deadline := time.Now().Add(20 * time.Second)
	for serialAt(sec, zone) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: secondary at serial %d, primary at %d", zone, serialAt(sec, zone), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	have, err := axfrIn(t, sec, zone, &testKey)
	if err != nil {
		t.Fatalf("AXFR from the secondary: %v", err)
	}
	if d := Diff(s.Snapshot().Zone(zone).Records(), have); len(d) > 0 {
		t.Fatalf("%s: secondary differs: %v", zone, d)
	}
}

func TestKnotSecondaryFollows(t *testing.T) {
	testenv.LookPath(t, "knotd")
	// maillon needs the secondary's port for NOTIFY, the secondary maillon's
	// for transfers: take maillon's first.
	src := testSource()
	src.Reverse.Refresh, src.Reverse.Retry = 1, 1 // no NOTIFY there: polling
	s := startServer(t, src, Config{})
	conf := func(dir, listen string) string {
		return knotServer(dir, listen) + knotKey() +
			fmt.Sprintf("remote:\n  - id: maillon\n    address: %s\n    key: %s\n", strings.Replace(s.Addr(), ":", "@", 1), testKeyName) +
			"acl:\n  - id: from_maillon\n    address: 127.0.0.1\n    key: " + testKeyName + "\n    action: notify\n" +
			"  - id: transfer\n    address: 127.0.0.1\n    key: " + testKeyName + "\n    action: transfer\n" +
			"template:\n  - id: default\n    storage: " + strconv.Quote(dir) + "\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    journal-content: changes\n" +
			"zone:\n  - domain: example.org.\n    master: maillon\n    acl: [from_maillon, transfer]\n" +
			"  - domain: 100.51.198.in-addr.arpa.\n    master: maillon\n    acl: [transfer]\n"
	}
	k := startKnot(t, conf, nil)
	converge(t, s, k.Addr, "example.org.")
	converge(t, s, k.Addr, "100.51.198.in-addr.arpa.")

	// Now tell maillon about the secondary, and change both zones.
	src.Zones[0].Notify = []Secondary{{Addr: k.Addr, Key: testKeyName}}
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "later", Type: "AAAA", Data: "2001:db8::1"})
	src.Records[2].Data = "20 mail" // the MX changes
	src.Allocations = append(src.Allocations, Allocation{Login: "frank", Prefix: netip.MustParsePrefix("198.51.100.9/32")})
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	converge(t, s, k.Addr, "example.org.")
	converge(t, s, k.Addr, "100.51.198.in-addr.arpa.")
	// Another change, served by IXFR from the journal.
	src.Allocations = src.Allocations[1:]
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	converge(t, s, k.Addr, "example.org.")
	converge(t, s, k.Addr, "100.51.198.in-addr.arpa.")
	var seen []string
	for _, l := range strings.Split(k.Log.String(), "\n") {
		if strings.Contains(l, "IXFR") || strings.Contains(l, "notify, incoming") {
			seen = append(seen, l)
		}
	}
	t.Logf("knotd:\n%s", strings.Join(seen, "\n"))
	if !strings.Contains(k.Log.String(), "IXFR") || !strings.Contains(k.Log.String(), "notify, incoming") {
		t.Errorf("knotd never used IXFR or got no NOTIFY")
	}
}

// startKnotPrimary runs knotd as the primary of example.org with a few
// records of its own, accepting transfers and updates signed with the key.
func startKnotPrimary(t *testing.T) *testenv.Knot {
	t.Helper()
	zoneFile := `$ORIGIN example.org.
$TTL 3600
@ IN SOA ns.example.org. hostmaster.example.org. 2024010101 3600 600 1209600 300
@ NS ns.example.org.
ns A 192.0.2.1
www A 192.0.2.2
old TXT "to be removed"
front 60 A 192.0.2.80
`
	conf := func(dir, listen string) string {
		return knotServer(dir, listen) + knotKey() +
			"acl:\n  - id: push\n    address: 127.0.0.1\n    key: " + testKeyName + "\n    action: [transfer, update]\n" +
			"template:\n  - id: default\n    storage: " + strconv.Quote(dir) + "\n    file: \"%s.zone\"\n" +
			"zone:\n  - domain: example.org.\n    acl: push\n"
	}
	return startKnot(t, conf, map[string]string{"example.org.zone": zoneFile})
}

func TestPushToKnotPrimary(t *testing.T) {
	testenv.LookPath(t, "knotd")
	k := startKnotPrimary(t)
	snap, err := Build(testSource(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	z := snap.Zone("example.org")
	r := Remote{Addr: k.Addr, Key: &testKey}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	have, err := FetchZone(ctx, r, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	diff := Diff(z.Records(), have)
	text := fmt.Sprint(diff)
	for _, want := range []string{"- old.example.org.", "- front.example.org. 60 IN A 192.0.2.80", "+ front.example.org. 3600 IN A 192.0.2.80", "- example.org. 3600 IN NS ns.example.org."} {
		if !strings.Contains(text, want) {
			t.Errorf("diff lacks %q:\n%v", want, diff)
		}
	}
	// Pushing without the key is refused.
	if err := Push(ctx, Remote{Addr: k.Addr}, "example.org", diff); err == nil {
		t.Fatal("unsigned update accepted")
	}
	applied, err := Sync(ctx, r, z)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(diff) {
		t.Errorf("applied %d changes, diff had %d", len(applied), len(diff))
	}
	have, err = FetchZone(ctx, r, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(z.Records(), have); len(d) > 0 {
		t.Fatalf("after push the remote still differs:\n%v", d)
	}
	if again, err := Sync(ctx, r, z); err != nil || len(again) != 0 {
		t.Fatalf("second sync: %v, %v", again, err)
	}
}

func TestServerPushesToKnot(t *testing.T) {
	testenv.LookPath(t, "knotd")
	k := startKnotPrimary(t)
	src := testSource()
	src.Zones[0].Push = []PushTarget{{Addr: k.Addr, Key: testKeyName}}
	s := startServer(t, src, Config{})
	same := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			have, err := axfrIn(t, k.Addr, "example.org.", &testKey)
			if err == nil && len(Diff(s.Snapshot().Zone("example.org").Records(), have)) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Knot did not converge: %v %v", err, Diff(s.Snapshot().Zone("example.org").Records(), have))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	same()
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "pushed", Type: "TXT", Data: `"hello"`})
	src.Allocations = src.Allocations[1:]
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	same()
}
