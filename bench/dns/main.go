// Command dns prepares and serves the DNS benchmark: a registry of N
// subscribers (IPv4 /32 with A and PTR, IPv6 /56 with AAAA, PTR and a
// wildcard PTR), written out as zone files and a Knot configuration serving
// the same contents, a dnsperf query file, and maillon's server answering
// from it. run.sh drives it; see README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"maillon/internal/dns"
)

func main() {
	n := flag.Int("n", 20000, "subscribers")
	dir := flag.String("dir", "", "directory for zone files, knot.conf and queries.txt")
	addr := flag.String("addr", "", "serve maillon on this address (empty: only write the files)")
	knotAddr := flag.String("knot", "127.0.0.1@53530", "listen address written into knot.conf")
	queries := flag.Int("queries", 200000, "lines of the dnsperf query file")
	workers := flag.Int("workers", 0, "UDP workers (0: GOMAXPROCS)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the serving to this file")
	flag.Parse()

	src := registry(*n)
	start := time.Now()
	snap, err := dns.Build(src, nil, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("built %d zones in %v", len(snap.Origins()), time.Since(start))
	if *dir != "" {
		if err := write(*dir, *knotAddr, *queries, *n, snap); err != nil {
			log.Fatal(err)
		}
	}
	if *addr == "" {
		return
	}
	s := dns.NewServer(dns.Config{Addr: *addr, UDPWorkers: *workers})
	s.Load(snap)
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("maillon DNS on %s", s.Addr())
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Stop(sctx)
}

const key = "bench.example.org."
const secret = "YmVuY2gtc2VjcmV0LWZvci1tYWlsbG9uLWFuZC1rbm90"

func registry(n int) dns.Source {
	zone := func(origin string) dns.ZoneConfig {
		return dns.ZoneConfig{Origin: origin, NS: []string{"ns1.example.org.", "ns2.example.net."},
			Transfer: []dns.ACL{{Key: key}}}
	}
	src := dns.Source{
		Zones:   []dns.ZoneConfig{zone("example.org.")},
		Reverse: zone(""),
		Keys:    []dns.TSIGKey{{Name: key, Secret: secret}},
		Records: []dns.Record{
			{Zone: "example.org.", Name: "ns1", Type: "A", Data: "192.0.2.53"},
			{Zone: "example.org.", Name: "@", Type: "MX", Data: "10 mail"},
			{Zone: "example.org.", Name: "mail", Type: "A", Data: "192.0.2.25"},
			{Zone: "example.org.", Name: "www", Type: "CNAME", Data: "mail"},
		},
		Prefixes: []dns.Prefix{
			{Prefix: netip.MustParsePrefix("100.64.0.0/16"), PTRTemplate: "{login}.dsl.example.org.", Forward: true},
			{Prefix: netip.MustParsePrefix("2001:db8::/32"), PTRTemplate: "{login}.v6.example.org.", Forward: true},
		},
	}
	v4 := netip.MustParseAddr("100.64.0.1")
	v6 := netip.MustParsePrefix("2001:db8:100::/56")
	for i := range n {
		login := fmt.Sprintf("sub%05d", i)
		src.Allocations = append(src.Allocations,
			dns.Allocation{Login: login, Prefix: netip.PrefixFrom(v4, 32)},
			dns.Allocation{Login: login, Prefix: v6})
		v4 = v4.Next()
		v6 = netip.PrefixFrom(nextPrefix(v6), 56)
	}
	return src
}

func nextPrefix(p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	i := p.Bits()/8 - 1
	for ; i >= 0; i-- {
		a[i]++
		if a[i] != 0 {
			break
		}
	}
	return netip.AddrFrom16(a)
}

// write puts the zone files, knot.conf and the query file in dir.
func write(dir, knotAddr string, lines, n int, snap *dns.Snapshot) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "server:\n  rundir: %q\n  listen: %s\n", dir, knotAddr)
	fmt.Fprintf(&conf, "database:\n  storage: %q\n", dir)
	fmt.Fprintf(&conf, "log:\n  - target: stderr\n    any: warning\n")
	fmt.Fprintf(&conf, "key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n", key, secret)
	fmt.Fprintf(&conf, "acl:\n  - id: transfer\n    key: %s\n    action: transfer\n", key)
	fmt.Fprintf(&conf, "template:\n  - id: default\n    storage: %q\n    zonefile-sync: -1\n    journal-content: none\n    semantic-checks: off\n    acl: transfer\nzone:\n", dir)
	for i, o := range snap.Origins() {
		file := fmt.Sprintf("zone%d.zone", i)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(snap.Zone(o).Text()), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&conf, "  - domain: %s\n    file: %q\n", o, file)
	}
	if err := os.WriteFile(filepath.Join(dir, "knot.conf"), []byte(conf.String()), 0o644); err != nil {
		return err
	}
	// Queries as a resolver would send them: forward and reverse for random
	// subscribers, and a few names that do not exist.
	rng := rand.New(rand.NewPCG(1, 1))
	var q strings.Builder
	for range lines {
		i := rng.IntN(n)
		switch rng.IntN(10) {
		case 0, 1, 2:
			fmt.Fprintf(&q, "sub%05d.dsl.example.org A\n", i)
		case 3, 4:
			fmt.Fprintf(&q, "sub%05d.v6.example.org AAAA\n", i)
		case 5, 6:
			a := netip.MustParseAddr("100.64.0.1").As4()
			v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) + uint32(i)
			fmt.Fprintf(&q, "%d.%d.%d.%d.in-addr.arpa PTR\n", v&0xff, v>>8&0xff, v>>16&0xff, v>>24)
		case 7, 8:
			// an address inside the subscriber's /56: the wildcard answers
			b := netip.MustParseAddr("2001:db8:100::").As16()
			v := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6]) + uint32(i)
			b[4], b[5], b[6] = byte(v>>16), byte(v>>8), byte(v)
			b[15] = byte(rng.IntN(256))
			b[8] = byte(rng.IntN(256))
			q.WriteString(reverse6(b) + " PTR\n")
		default:
			fmt.Fprintf(&q, "nobody%d.dsl.example.org A\n", i)
		}
	}
	return os.WriteFile(filepath.Join(dir, "queries.txt"), []byte(q.String()), 0o644)
}

func reverse6(b [16]byte) string {
	var s strings.Builder
	for i := 15; i >= 0; i-- {
		fmt.Fprintf(&s, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	return s.String() + "ip6.arpa"
}
