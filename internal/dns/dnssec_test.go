package dns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"maillon/internal/testenv"
)

// testKeys gives every zone its own key, made once per test.
func testKeys(t testing.TB) func(origin string) *ZoneKey {
	keys := map[string]*ZoneKey{}
	return func(origin string) *ZoneKey {
		if k := keys[origin]; k != nil {
			return k
		}
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := NewZoneKey(origin, priv)
		if err != nil {
			t.Fatal(err)
		}
		keys[origin] = k
		return k
	}
}

func signedSource(t testing.TB) Source {
	src := testSource()
	src.ZoneKey = testKeys(t)
	return src
}

// kzonecheck runs Knot's zone checker with DNSSEC checks on: it verifies
// every RRSIG with the zone's DNSKEY, and the NSEC chain.
func kzonecheckSigned(t *testing.T, z *Zone, now time.Time) {
	t.Helper()
	bin := testenv.LookPath(t, "kzonecheck")
	file := filepath.Join(t.TempDir(), "zone")
	if err := os.WriteFile(file, []byte(z.Text()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-d", "on", "-o", z.Origin(), "-t", fmt.Sprint(now.Unix()), file}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Errorf("kzonecheck %s: %v\n%s", z.Origin(), err, out)
	}
}

func TestSignedZonesPassKzonecheck(t *testing.T) {
	now := time.Now()
	snap, err := Build(signedSource(t), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range snap.Origins() {
		z := snap.Zone(o)
		if !z.Signed() {
			t.Fatalf("%s not signed", o)
		}
		kzonecheckSigned(t, z, now)
	}
	if t.Failed() {
		t.Log(snap.Zone("example.org").Text())
	}
}

// recordSet is a zone's records as text, SOA included.
func recordSet(z *Zone) map[string]bool {
	out := map[string]bool{}
	for _, rr := range z.Records() {
		out[rr.String()] = true
	}
	return out
}

// checkDelta checks that the journal's last delta turns prev into next, as
// a secondary applying the IXFR would, DNSSEC records included.
func checkDelta(t *testing.T, prev, next *Zone) {
	t.Helper()
	if next.Serial() == prev.Serial() {
		t.Fatalf("%s: serial did not move", next.Origin())
	}
	j := next.Journal()
	d := j[len(j)-1]
	if d.From != prev.Serial() || d.To != next.Serial() {
		t.Fatalf("last delta %d→%d, want %d→%d", d.From, d.To, prev.Serial(), next.Serial())
	}
	have := recordSet(prev)
	delete(have, prev.soa.String())
	for _, rr := range d.Deleted {
		if !have[rr.String()] {
			t.Errorf("delta deletes %s, not in the zone", rr)
		}
		delete(have, rr.String())
	}
	for _, rr := range d.Added {
		have[rr.String()] = true
	}
	have[next.soa.String()] = true
	want := recordSet(next)
	for k := range want {
		if !have[k] {
			t.Errorf("IXFR misses %s", k)
		}
	}
	for k := range have {
		if !want[k] {
			t.Errorf("IXFR leaves %s", k)
		}
	}
}

func countType(z *Zone, typ uint16) int {
	n := 0
	for _, rr := range z.Records() {
		if rr.Header().Rrtype == typ {
			n++
		}
	}
	return n
}

func TestIncrementalSigning(t *testing.T) {
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	src := signedSource(t)
	prev, err := Build(src, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		change func(*Source)
		zones  []string // the zones that must change
	}{
		{"add a record", func(s *Source) {
			s.Records = append(s.Records, Record{Zone: "example.org", Name: "new", Type: "A", Data: "192.0.2.1"})
		}, []string{"example.org."}},
		{"second type at an owner", func(s *Source) {
			s.Records = append(s.Records, Record{Zone: "example.org", Name: "new", Type: "TXT", Data: `"hello"`})
		}, []string{"example.org."}},
		{"remove a record", func(s *Source) { s.Records = s.Records[:len(s.Records)-2] }, []string{"example.org."}},
		{"add a subscriber", func(s *Source) {
			s.Allocations = append(s.Allocations, Allocation{Login: "erin", Prefix: netip.MustParsePrefix("198.51.100.9/32")},
				Allocation{Login: "erin", Prefix: netip.MustParsePrefix("2001:db8:1:200::/56")})
		}, []string{"example.org.", "100.51.198.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa."}},
		{"remove an address", func(s *Source) { s.Allocations = s.Allocations[1:] }, []string{"example.org.", "100.51.198.in-addr.arpa."}},
		{"rename a reverse name", func(s *Source) { s.Allocations[1].ReverseName = "host.example.net" }, []string{"example.org.", "100.51.198.in-addr.arpa."}},
		{"add a delegation", func(s *Source) {
			s.Records = append(s.Records, Record{Zone: "example.org", Name: "front", Type: "NS", Data: "ns.elsewhere.net."},
				Record{Zone: "example.org", Name: "front", Type: "DS", Data: "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
		}, []string{"example.org."}},
		{"an empty non-terminal appears", func(s *Source) {
			s.Records = append(s.Records, Record{Zone: "example.org", Name: "x.y.z", Type: "A", Data: "192.0.2.2"})
		}, []string{"example.org."}},
	}
	for i, st := range steps {
		st.change(&src)
		now = now.Add(time.Minute)
		next, err := Build(src, prev, now)
		if err != nil || len(next.Problems) > 0 {
			t.Fatalf("%s: %v %v", st.name, err, next.Problems)
		}
		for _, o := range next.Origins() {
			z, pz := next.Zone(o), prev.Zone(o)
			kzonecheckSigned(t, z, now)
			if slices.Contains(st.zones, o) {
				t.Logf("step %d %s: zone %s", i, st.name, o)
				checkDelta(t, pz, z)
				// Incremental: nearly every signature is kept.
				if kept := sharedSigs(pz, z); kept < countType(pz, mdns.TypeRRSIG)-12 {
					t.Errorf("step %d %s: %s kept only %d signatures of %d", i, st.name, o, kept, countType(pz, mdns.TypeRRSIG))
				}
			} else if z.Serial() != pz.Serial() {
				t.Errorf("%s: zone %s changed", st.name, o)
			}
		}
		if t.Failed() {
			t.Fatalf("after %s", st.name)
		}
		prev = next
	}
}

func sharedSigs(a, b *Zone) int {
	have := map[mdns.RR]bool{}
	for _, rr := range a.Records() {
		if rr.Header().Rrtype == mdns.TypeRRSIG {
			have[rr] = true
		}
	}
	n := 0
	for _, rr := range b.Records() {
		if have[rr] {
			n++
		}
	}
	return n
}

func TestResignWhenDue(t *testing.T) {
	start := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	src := signedSource(t)
	first, err := Build(src, nil, start)
	if err != nil {
		t.Fatal(err)
	}
	// Six days later nothing is due: the zones stay as they are.
	later, err := Build(src, first, start.Add(6*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range first.Origins() {
		if later.Zone(o) != first.Zone(o) {
			t.Errorf("%s rebuilt before its signatures were due", o)
		}
	}
	// Past seven days every signature is renewed and the serial moves, so
	// that secondaries fetch the new signatures.
	due := start.Add(7*24*time.Hour + time.Minute)
	renewed, err := Build(src, later, due)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range first.Origins() {
		z := renewed.Zone(o)
		if z.Serial() == first.Zone(o).Serial() {
			t.Errorf("%s: serial unchanged after re-signing", o)
		}
		if n := sharedSigs(first.Zone(o), z); n != 0 {
			t.Errorf("%s: %d old signatures left", o, n)
		}
		// Valid twelve days on, when the first signatures have expired.
		kzonecheckSigned(t, z, start.Add(15*24*time.Hour))
	}
}

func TestSigningOffAndOn(t *testing.T) {
	now := time.Now()
	src := testSource()
	plain, err := Build(src, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	src.ZoneKey = testKeys(t)
	signed, err := Build(src, plain, now)
	if err != nil {
		t.Fatal(err)
	}
	z := signed.Zone("example.org")
	checkDelta(t, plain.Zone("example.org"), z)
	if countType(z, mdns.TypeDNSKEY) != 1 || countType(z, mdns.TypeCDS) != 1 || countType(z, mdns.TypeCDNSKEY) != 1 {
		t.Errorf("apex keys missing:\n%s", z.Text())
	}
	src.ZoneKey = nil
	back, err := Build(src, signed, now)
	if err != nil {
		t.Fatal(err)
	}
	z2 := back.Zone("example.org")
	checkDelta(t, z, z2)
	for _, typ := range []uint16{mdns.TypeRRSIG, mdns.TypeNSEC, mdns.TypeDNSKEY, mdns.TypeCDS} {
		if n := countType(z2, typ); n != 0 {
			t.Errorf("%d %s left once unsigned", n, mdns.TypeToString[typ])
		}
	}
}

// BenchmarkRebuildSigned is BenchmarkRebuild with every zone signed: a
// change re-signs its owners and their NSEC neighbours, not the zone.
func BenchmarkRebuildSigned(b *testing.B) {
	src := isp(20000)
	src.ZoneKey = testKeys(b)
	start := time.Now()
	prev, err := Build(src, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "full-sign-ms")
	b.ResetTimer()
	for i := range b.N {
		src.Allocations[0].ReverseName = fmt.Sprintf("host%d.example.net", i)
		next, err := Build(src, prev, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		prev = next
	}
}

// The UDP fast path gives DO queries to a signed zone the full path's
// answers, from the cache the second time; names under a wildcard, whose
// proofs differ from name to name, take the full path.
func TestFastPathSigned(t *testing.T) {
	snap, err := Build(signedSource(t), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Config{})
	src := netip.MustParseAddr("192.0.2.1")
	for _, name := range []string{"front.example.org.", "WWW.example.org.", "nope.example.org.", "b.deep.example.org.",
		"anyone.users.example.org.", "deeper.sub.example.org.", "example.org.", reverse("2001:db8:1:1ff::abcd"), "6.100.51.198.in-addr.arpa."} {
		for _, qt := range []uint16{mdns.TypeA, mdns.TypeTXT, mdns.TypePTR, mdns.TypeDNSKEY, mdns.TypeNSEC, mdns.TypeRRSIG} {
			req := new(mdns.Msg)
			req.SetQuestion(name, qt)
			req.SetEdns0(1232, true)
			if qt == mdns.TypeNSEC || qt == mdns.TypeRRSIG {
				req.Extra = nil // without DO, asked for by name
			}
			pkt, _ := req.Pack()
			full := s.respond(snap, req, src, "", false)
			if req.IsEdns0() != nil && !full.IsEdns0().Do() {
				t.Fatalf("%s: DO bit not echoed", name)
			}
			fullPkt, _ := full.Pack()
			var want mdns.Msg
			want.Unpack(fullPkt)
			for range 2 {
				out, _ := s.fast(snap, pkt, nil, nil, src)
				if out == nil {
					continue
				}
				var got mdns.Msg
				if err := got.Unpack(out); err != nil {
					t.Fatal(err)
				}
				g := strings.ToLower(fmt.Sprint(rrStrings(got.Answer), rrStrings(got.Ns), got.Rcode))
				w := strings.ToLower(fmt.Sprint(rrStrings(want.Answer), rrStrings(want.Ns), want.Rcode))
				if g != w {
					t.Fatalf("%s %s:\nfast %s\nfull %s", name, mdns.TypeToString[qt], g, w)
				}
			}
		}
	}
}

// A zone larger than a batch is renewed over several builds, each a small
// IXFR step, and validates throughout.
func TestRollingResign(t *testing.T) {
	start := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	src := isp(300) // 600 forward names: several batches
	src.ZoneKey = testKeys(t)
	prev, err := Build(src, nil, start)
	if err != nil {
		t.Fatal(err)
	}
	now := start.Add(7*24*time.Hour + time.Hour)
	if !prev.SigningDue(now) {
		t.Fatal("not due after seven days")
	}
	builds := 0
	for ; prev.SigningDue(now) && builds < 20; builds++ {
		next, err := Build(src, prev, now)
		if err != nil {
			t.Fatal(err)
		}
		z, pz := next.Zone("example.org"), prev.Zone("example.org")
		if z.Serial() != pz.Serial() {
			checkDelta(t, pz, z)
			if len(z.Journal()) == 0 {
				t.Errorf("build %d: a renewal step left no journal for IXFR", builds)
			}
		}
		prev = next
		now = now.Add(time.Minute)
	}
	if builds < 2 || builds > 8 {
		t.Errorf("renewed in %d builds", builds)
	}
	for _, o := range prev.Origins() {
		kzonecheckSigned(t, prev.Zone(o), start.Add(15*24*time.Hour))
	}
}

// BenchmarkAnswerSigned is the full path of DO queries to a signed zone:
// a positive answer with its RRSIG, an NXDOMAIN with two NSEC proofs, and
// a name under a wildcard (never cached: its proof is its own).
func BenchmarkAnswerSigned(b *testing.B) {
	src := isp(2000)
	src.ZoneKey = testKeys(b)
	snap, err := Build(src, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(Config{})
	source := netip.MustParseAddr("192.0.2.1")
	for _, c := range []struct{ name, qname string }{
		{"positive", "sub01234.dsl.example.org."},
		{"nxdomain", "nobody.dsl.example.org."},
		{"wildcard", reverse("2001:db8:100:1234::77")},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := new(mdns.Msg)
			req.SetQuestion(c.qname, mdns.TypeA)
			if c.name == "wildcard" {
				req.Question[0].Qtype = mdns.TypePTR
			}
			req.SetEdns0(1232, true)
			b.ReportAllocs()
			for b.Loop() {
				m := s.respond(snap, req, source, "", false)
				if _, err := m.Pack(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
