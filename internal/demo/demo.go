// Package demo fills an empty registry with a small, realistic community
// ISP for `maillon demo`: two student residences with switches and rooms, a
// point of presence where the wholesale aggregator hands over PPPoE lines, a
// datacenter rack with hypervisors, VPN users, CPE stock, admins, IPAM and
// three RADIUS clients on loopback addresses. It is deterministic (a fixed
// seed; dates are relative to the registry's today), so the demo subscriber
// demo1@DEMO always gets the same addresses.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"maillon/internal/registry"
)

// The demo's fixed credentials, printed by `maillon demo` and used by the
// README's radtest example.
const (
	Login          = "demo1@DEMO"
	Password       = "demo1-password"
	NASName        = "demo-bras"
	NASAddress     = "127.0.0.1"
	NASSecret      = "demo-secret"
	Realm          = "DEMO"
	SuspendedLogin = "demo2@DEMO"
)

// Actor is who the demo data is recorded as in the audit log.
var Actor = registry.Actor{Name: "demo"}

// seed makes the demo the same on every run.
const seed1, seed2 = 0x6d61696c6c6f6e, 0x64656d6f

// ErrNotEmpty is returned when the registry already holds data.
var ErrNotEmpty = errors.New("demo: the registry is not empty (the demo fills a fresh database)")

// Subscriber describes the demo subscriber and what it was allocated.
type Subscriber struct {
	Member    string
	Login     string
	Password  string
	IPv4      netip.Addr
	IPv6      netip.Prefix
	Delegated netip.Prefix
}

// NASInfo is one RADIUS client of the demo.
type NASInfo struct {
	Name    string
	Address string
	Kind    registry.NASKind
	Secret  string
}

// Summary is what the demo created, for `maillon demo` to print.
type Summary struct {
	Sites         int
	Members       int
	Current       int // membership current today
	Expired       int
	Future        int
	Archived      int
	Subscriptions int
	PPP           int
	VPN           int
	RoomPorts     int
	VMs           int
	Suspended     int // suspended subscriptions
	Switches      int
	Ports         int
	Hosts         int // all hosts, switches included
	MonthlyCost   registry.Money
	CPEs          int
	Prefixes      int
	NAS           []NASInfo
	Admins        []string // "name (roles)"
	Demo          Subscriber
	// SuspendedLogin is a line that is suspended, to show a rejection.
	SuspendedLogin string
}

// String is the summary as `maillon demo` prints it (without the URLs,
// which only the daemon knows).
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Demo ISP: %d sites, %d hosts (%d switches, %d ports, %s EUR/month), %d CPE, %d prefixes\n",
		s.Sites, s.Hosts, s.Switches, s.Ports, s.MonthlyCost, s.CPEs, s.Prefixes)
	fmt.Fprintf(&b, "Members: %d (%d current, %d expired, %d future, %d archived)\n",
		s.Members, s.Current, s.Expired, s.Future, s.Archived)
	fmt.Fprintf(&b, "Subscriptions: %d (%d ppp, %d vpn, %d room ports, %d vm; %d suspended)\n",
		s.Subscriptions, s.PPP, s.VPN, s.RoomPorts, s.VMs, s.Suspended)
	fmt.Fprintf(&b, "Subscriber %s, password %s (member %s): %s, %s, delegated %s\n",
		s.Demo.Login, s.Demo.Password, s.Demo.Member, s.Demo.IPv4, s.Demo.IPv6, s.Demo.Delegated)
	fmt.Fprintf(&b, "Suspended line (rejected): %s\n", s.SuspendedLogin)
	for _, n := range s.NAS {
		secret := n.Secret
		if secret == "" {
			secret = "(not shown)"
		}
		fmt.Fprintf(&b, "NAS %s at %s (%s), secret %s\n", n.Name, n.Address, n.Kind, secret)
	}
	fmt.Fprintf(&b, "Admins: %s\n", strings.Join(s.Admins, ", "))
	return b.String()
}

// Seed fills an empty registry with the demo ISP in one transaction.
func Seed(ctx context.Context, reg *registry.Service) (Summary, error) {
	if err := checkEmpty(ctx, reg); err != nil {
		return Summary{}, err
	}
	g := &gen{
		rng:   rand.New(rand.NewPCG(seed1, seed2)),
		today: registry.DateOf(reg.Now()),
		now:   reg.Now(),
		used:  map[string]bool{},
	}
	err := reg.Batch(ctx, Actor, func(b *registry.Batch) error {
		g.b = b
		return g.build()
	})
	if err != nil {
		return Summary{}, fmt.Errorf("demo: %w", err)
	}
	if err := seedStatus(ctx, reg); err != nil {
		return Summary{}, fmt.Errorf("demo: %w", err)
	}
	return g.sum, nil
}

func checkEmpty(ctx context.Context, reg *registry.Service) error {
	return reg.Read(ctx, func(r registry.Reader) error {
		n, err := r.CountMembers(ctx)
		if err != nil {
			return err
		}
		prefixes, err := r.ListPrefixes(ctx)
		if err != nil {
			return err
		}
		nas, err := r.ListNAS(ctx)
		if err != nil {
			return err
		}
		sites, err := r.ListSites(ctx)
		if err != nil {
			return err
		}
		if n > 0 || len(prefixes) > 0 || len(nas) > 0 || len(sites) > 0 {
			return ErrNotEmpty
		}
		return nil
	})
}
