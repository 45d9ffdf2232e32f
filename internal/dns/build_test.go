package dns

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestReverseZones(t *testing.T) {
	cases := map[string][]string{
		"198.51.100.0/24":  {"100.51.198.in-addr.arpa."},
		"10.0.0.0/8":       {"10.in-addr.arpa."},
		"198.51.100.0/22":  {"100.51.198.in-addr.arpa.", "101.51.198.in-addr.arpa.", "102.51.198.in-addr.arpa.", "103.51.198.in-addr.arpa."},
		"172.16.0.0/15":    {"16.172.in-addr.arpa.", "17.172.in-addr.arpa."},
		"203.0.113.64/26":  {"64/26.113.0.203.in-addr.arpa."},
		"203.0.113.128/25": {"128/25.113.0.203.in-addr.arpa."},
		"2001:db8::/32":    {"8.b.d.0.1.0.0.2.ip6.arpa."},
		"2001:db8:40::/46": {"0.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "1.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "3.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
	}
	for p, want := range cases {
		got, err := reverseZones(netip.MustParsePrefix(p))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("reverseZones(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"0.0.0.0/0", "10.0.0.0/7", "::/2", "0.0.0.0/1"} {
		if _, err := reverseZones(netip.MustParsePrefix(p)); err == nil {
			t.Errorf("reverseZones(%s) accepted", p)
		}
	}
}

func TestWildcardsAtNibbles(t *testing.T) {
	got := wildcards(netip.MustParsePrefix("2001:db8:0:4::/62"))
	want := []string{
		"*.4.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		"*.5.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		"*.6.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		"*.7.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("wildcards = %q", got)
	}
}

func TestValidateReverseName(t *testing.T) {
	for _, ok := range []string{"mail.example.net", "mx-1.Example.NET.", "a.b.c.d.example"} {
		if err := ValidateReverseName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "localhost", "-a.example.net", "a_b.example.net", "a..example.net",
		"1.2.0.192.in-addr.arpa", "x.ip6.arpa", "sp ace.example.net", strings.Repeat("a", 64) + ".net"} {
		if err := ValidateReverseName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := ValidateReverseName("bad name"); err == nil || !strings.Contains(err.Error(), `label "bad name" is not a host name`) {
		t.Errorf("bad name: %v, want the label named", err)
	}
}

func TestBuildProblems(t *testing.T) {
	src := testSource()
	src.Records = append(src.Records,
		Record{Zone: "example.org", Name: "x", Type: "A", Data: "not-an-address"},
		Record{Name: "www.example.com.", Type: "A", Data: "192.0.2.1"},
		Record{Zone: "example.org", Name: "x", Type: "HINFO", Data: `"a" "b"`},
	)
	src.Allocations = append(src.Allocations,
		Allocation{Login: "eve", Prefix: netip.MustParsePrefix("192.0.2.1/32")},
		Allocation{Login: "eve", Prefix: netip.MustParsePrefix("198.51.100.9/32"), ReverseName: "bad_name.example"},
	)
	snap, err := Build(src, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Problems) != 5 {
		t.Fatalf("problems: %q", snap.Problems)
	}
	// The good records are all there.
	if snap.Zone("example.org").node("front.example.org.") == nil {
		t.Fatal("good record missing")
	}
	// Configuration errors fail the build.
	bad := testSource()
	bad.Zones[0].NS = nil
	if _, err := Build(bad, nil, time.Now()); err == nil {
		t.Fatal("zone without NS accepted")
	}
	bad = testSource()
	bad.Zones[0].Transfer = []ACL{{Key: "nokey."}}
	if _, err := Build(bad, nil, time.Now()); err == nil {
		t.Fatal("unknown key accepted")
	}
}

func TestSerialAndJournal(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	src := testSource()
	s1, err := Build(src, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	z1 := s1.Zone("example.org")
	if z1.Serial() != uint32(t0.Unix()) {
		t.Fatalf("first serial %d, want unix time", z1.Serial())
	}
	// A rebuild without change keeps every serial.
	s2, _ := Build(src, s1, t0.Add(time.Minute))
	for _, o := range s1.Origins() {
		if s2.Zone(o).Serial() != s1.Zone(o).Serial() {
			t.Fatalf("%s: serial changed without a change", o)
		}
	}
	// Two changes within the same second still increase the serial.
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "n1", Type: "A", Data: "192.0.2.1"})
	s3, _ := Build(src, s2, t0)
	src.Records[len(src.Records)-1].Data = "192.0.2.2"
	s4, _ := Build(src, s3, t0)
	z3, z4 := s3.Zone("example.org"), s4.Zone("example.org")
	if z3.Serial() != z1.Serial()+1 || z4.Serial() != z1.Serial()+2 {
		t.Fatalf("serials %d %d after %d", z3.Serial(), z4.Serial(), z1.Serial())
	}
	// Other zones did not change.
	if s4.Zone("100.51.198.in-addr.arpa").Serial() != s1.Zone("100.51.198.in-addr.arpa").Serial() {
		t.Fatal("untouched reverse zone changed serial")
	}
	// Time moving on wins over +1.
	src.Records[len(src.Records)-1].TTL = 60
	s5, _ := Build(src, s4, t0.Add(time.Hour))
	if got := s5.Zone("example.org").Serial(); got != uint32(t0.Add(time.Hour).Unix()) {
		t.Fatalf("serial %d after an hour", got)
	}
	j := s5.Zone("example.org").Journal()
	if len(j) != 3 {
		t.Fatalf("journal has %d deltas", len(j))
	}
	str := func(rrs []mdns.RR) string { return strings.Join(rrStrings(rrs), "|") }
	if j[0].From != z1.Serial() || str(j[0].Deleted) != "" || str(j[0].Added) != "n1.example.org. 3600 IN A 192.0.2.1" {
		t.Errorf("delta 0: %d→%d -%s +%s", j[0].From, j[0].To, str(j[0].Deleted), str(j[0].Added))
	}
	if str(j[1].Deleted) != "n1.example.org. 3600 IN A 192.0.2.1" || str(j[1].Added) != "n1.example.org. 3600 IN A 192.0.2.2" {
		t.Errorf("delta 1: -%s +%s", str(j[1].Deleted), str(j[1].Added))
	}
	if str(j[2].Added) != "n1.example.org. 60 IN A 192.0.2.2" {
		t.Errorf("delta 2: -%s +%s", str(j[2].Deleted), str(j[2].Added))
	}
	// MinSerial is a floor.
	src.Zones[0].MinSerial = 2_000_000_000
	s6, _ := Build(src, s5, t0.Add(time.Hour))
	if got := s6.Zone("example.org").Serial(); got != 2_000_000_000 {
		t.Fatalf("serial %d under MinSerial", got)
	}
}

func TestExportParsesBack(t *testing.T) {
	snap, err := Build(testSource(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range snap.Origins() {
		z := snap.Zone(o)
		zp := mdns.NewZoneParser(strings.NewReader(z.Text()), "", "")
		n := 0
		for _, ok := zp.Next(); ok; _, ok = zp.Next() {
			n++
		}
		if err := zp.Err(); err != nil {
			t.Fatalf("%s: %v\n%s", o, err, z.Text())
		}
		if n != len(z.Records()) {
			t.Fatalf("%s: parsed %d records, want %d", o, n, len(z.Records()))
		}
	}
}

func TestTTLsOfAnRRsetAgree(t *testing.T) {
	src := testSource()
	src.Records = append(src.Records,
		Record{Zone: "example.org", Name: "rr", Type: "A", TTL: 60, Data: "192.0.2.1"},
		Record{Zone: "example.org", Name: "rr", Type: "A", TTL: 120, Data: "192.0.2.2"},
		Record{Zone: "example.org", Name: "rr", Type: "A", TTL: 120, Data: "192.0.2.1"}, // duplicate
	)
	snap, _ := Build(src, nil, time.Now())
	set := snap.Zone("example.org").node("rr.example.org.").get(mdns.TypeA)
	if len(set) != 2 || set[0].Header().Ttl != 60 || set[1].Header().Ttl != 60 {
		t.Fatalf("rrset %v", set)
	}
}

// TestIncrementalMatchesFull applies random changes and checks that the
// patched zones equal zones built from scratch, node for node.
func TestIncrementalMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := isp(150)
	prev, err := Build(src, nil, time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	for step := range 150 {
		src.Allocations = slices.Clone(src.Allocations)
		src.Records = slices.Clone(src.Records)
		switch rng.IntN(6) {
		case 0: // a subscriber leaves
			i := rng.IntN(len(src.Allocations))
			src.Allocations = slices.Delete(src.Allocations, i, i+1)
		case 1: // a member names their address
			i := rng.IntN(len(src.Allocations))
			src.Allocations[i].ReverseName = fmt.Sprintf("h%d.example.net", rng.IntN(5))
		case 2: // a login changes
			i := rng.IntN(len(src.Allocations))
			src.Allocations[i].Login = fmt.Sprintf("sub%05d", rng.IntN(200))
		case 3: // a hand-made record, sometimes a duplicate, sometimes in a delegation
			name := []string{"x", "y.z", "sub", "deep.sub", "*.w", "a.w", "b.c.w", "*.c.w"}[rng.IntN(8)]
			typ, data := "A", fmt.Sprintf("192.0.2.%d", rng.IntN(3))
			if name == "sub" {
				typ, data = "NS", "ns.other.net."
			}
			src.Records = append(src.Records, Record{Zone: "example.org", Name: name, Type: typ, TTL: uint32(60 * (1 + rng.IntN(2))), Data: data})
		case 4: // a hand-made record goes
			i := rng.IntN(len(src.Records))
			src.Records = slices.Delete(src.Records, i, i+1)
		case 5: // nothing
		}
		now := time.Unix(1_700_000_000+int64(step), 0)
		before := map[string]string{}
		for _, o := range prev.Origins() {
			before[o] = prev.Zone(o).Text()
		}
		inc, err := Build(src, prev, now)
		if err != nil {
			t.Fatal(err)
		}
		if inc.cache.gen != uint64(step+1) {
			t.Fatalf("step %d: a build from scratch, not a patch", step)
		}
		// Readers may still be using prev: the patch wrote to copies.
		for o, text := range before {
			if prev.Zone(o).Text() != text {
				t.Fatalf("step %d: building the next version changed the served zone %s", step, o)
			}
		}
		full, err := Build(src, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range full.Origins() {
			zi, zf := inc.Zone(o), full.Zone(o)
			if d := Diff(zf.Records(), zi.Records()); len(d) > 0 {
				t.Fatalf("step %d, %s: incremental differs from full: %v", step, o, d)
			}
			if len(zi.Records()) != len(zf.Records()) {
				t.Fatalf("step %d, %s: %d records, full has %d", step, o, len(zi.Records()), len(zf.Records()))
			}
			for name, nf := range zf.nodes.all() {
				ni := zi.node(name)
				if ni == nil || ni.cut != nf.cut || len(ni.sets) != len(nf.sets) {
					t.Fatalf("step %d, %s: node %s: %+v, full %+v", step, o, name, ni, nf)
				}
			}
			if zi.cuts != zf.cuts {
				t.Fatalf("step %d, %s: %d cuts, full has %d", step, o, zi.cuts, zf.cuts)
			}
			if !slices.Equal(zi.names, zf.names) {
				t.Fatalf("step %d, %s: names %v, full %v", step, o, zi.names, zf.names)
			}
			if zi.wild.len() != zf.wild.len() || !slices.Equal(zi.wildDepths, zf.wildDepths) {
				t.Fatalf("step %d, %s: wildcard index of %d parents at depths %v, full has %d at %v", step, o, zi.wild.len(), zi.wildDepths, zf.wild.len(), zf.wildDepths)
			}
			for p, wf := range zf.wild.all() {
				wi, ok := zi.wild.get(hashOwner(p), p)
				if !ok || wi.whole != wf.whole || !slices.Equal(wi.kids, wf.kids) {
					t.Fatalf("step %d, %s: wildcard parent %s indexed %+v, full %+v", step, o, p, wi, wf)
				}
			}
			if zi.nodes.len() != zf.nodes.len() {
				t.Fatalf("step %d, %s: %d nodes, full has %d", step, o, zi.nodes.len(), zf.nodes.len())
			}
			// The journal's last delta leads from the previous version to this one.
			if pz := prev.Zone(o); zi.Serial() != pz.Serial() {
				j := zi.Journal()
				last := j[len(j)-1]
				if d := Diff(zi.Records(), applyDelta(pz.Records(), last)); len(d) > 0 {
					t.Fatalf("step %d, %s: journal delta wrong: %v", step, o, d)
				}
			}
		}
		prev = inc
	}
}

func applyDelta(rrs []mdns.RR, d Delta) []mdns.RR {
	out := []mdns.RR{}
	for _, rr := range rrs {
		if !slices.ContainsFunc(d.Deleted, func(x mdns.RR) bool { return x.String() == rr.String() }) {
			out = append(out, rr)
		}
	}
	return append(out, d.Added...)
}

func TestClasslessParent(t *testing.T) {
	rrs, err := ClasslessParent(netip.MustParsePrefix("203.0.113.64/30"), []string{"ns1.example.org"}, 3600)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(rrStrings(rrs), "\n")
	want := strings.Join([]string{
		"64/30.113.0.203.in-addr.arpa. 3600 IN NS ns1.example.org.",
		"64.113.0.203.in-addr.arpa. 3600 IN CNAME 64.64/30.113.0.203.in-addr.arpa.",
		"65.113.0.203.in-addr.arpa. 3600 IN CNAME 65.64/30.113.0.203.in-addr.arpa.",
		"66.113.0.203.in-addr.arpa. 3600 IN CNAME 66.64/30.113.0.203.in-addr.arpa.",
		"67.113.0.203.in-addr.arpa. 3600 IN CNAME 67.64/30.113.0.203.in-addr.arpa.",
	}, "\n")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := ClasslessParent(netip.MustParsePrefix("203.0.113.0/24"), nil, 0); err == nil {
		t.Fatal("a /24 accepted")
	}
}

func TestTransferSettingsNeedNoRebuild(t *testing.T) {
	src := isp(50)
	s1, err := Build(src, nil, time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	src.Zones = slices.Clone(src.Zones)
	src.Zones[0].Transfer = []ACL{{Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	src.Zones[0].Notify = []Secondary{{Addr: "192.0.2.1:53"}}
	s2, err := Build(src, s1, time.Unix(1_700_000_100, 0))
	if err != nil {
		t.Fatal(err)
	}
	z1, z2 := s1.Zone("example.org"), s2.Zone("example.org")
	// s2 took s1's cache over, as an incremental build.
	if s1.cache != nil || s2.cache == nil || s2.cache.gen != 1 || len(s2.cache.allocs) != len(src.Allocations) {
		t.Fatal("cache not taken over: the build was not incremental")
	}
	if z2.Serial() != z1.Serial() {
		t.Fatal("serial changed for a transfer setting")
	}
	if !z2.allowTransfer(netip.MustParseAddr("10.1.2.3"), "") || z1.allowTransfer(netip.MustParseAddr("10.1.2.3"), "") {
		t.Fatal("new ACL not applied, or the old snapshot changed")
	}
	if len(z2.notify) != 1 || len(z1.notify) != 0 {
		t.Fatal("notify list not applied, or the old snapshot changed")
	}
	if s1.config != s2.config {
		t.Fatal("transfer settings forced a full build")
	}
}
