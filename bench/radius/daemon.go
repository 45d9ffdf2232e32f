package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	_ "net/http/pprof" // served on -pprof only
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/app"
	"maillon/internal/csvimport"
	"maillon/internal/registry"
)

// daemon runs the whole maillon daemon (internal/app: registry, SQLite
// store, RADIUS with accounting into the store) on a fresh database of n
// members with a ppp line each, logins and passwords as login(i) and
// password(i), and one NAS (127.0.0.1, the load generator). It prints the
// bound addresses once RADIUS accepts a subscriber, serves until SIGTERM,
// then prints what the store holds.
func daemon(args []string) error {
	fs := flag.NewFlagSet("daemon", flag.ExitOnError)
	dir := fs.String("dir", "", "directory for the database, spool and socket (required)")
	n := fs.Int("users", 20000, "members, each with a ppp line")
	secret := fs.String("secret", "bench-secret", "the NAS's shared secret")
	ready := fs.String("ready", "", "write \"auth acct http\" addresses to this file once serving")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("daemon: -dir is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, sysTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := app.LoopbackConfig(*dir, filepath.Join(*dir, "maillon.db"))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	t0 := time.Now()
	if err := seed(ctx, a.Registry(), *n, *secret); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "radiusbench: registry of %d members with a ppp line each built in %.1fs\n", *n, time.Since(t0).Seconds())
	if *pprofAddr != "" {
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return err
		}
		go http.Serve(ln, nil)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(ctx) }()
	// Serving once a subscriber is accepted: the snapshot is built.
	auth := netip.MustParseAddrPort(a.RADIUSAuthAddr())
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if probe(auth, []byte(*secret), *n-1) {
			break
		}
		select {
		case err := <-runErr:
			return err
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("daemon: RADIUS accepts nobody after 2 minutes")
		}
	}
	fmt.Fprintf(os.Stderr, "radiusbench: maillon daemon serving %d lines, RADIUS auth %s acct %s, HTTP %s (%.1fs after start)\n",
		*n, a.RADIUSAuthAddr(), a.RADIUSAcctAddr(), a.HTTPAddr(), time.Since(t0).Seconds())
	if *ready != "" {
		line := fmt.Sprintf("%s %s %s\n", a.RADIUSAuthAddr(), a.RADIUSAcctAddr(), a.HTTPAddr())
		if err := os.WriteFile(*ready+".tmp", []byte(line), 0o644); err != nil {
			return err
		}
		if err := os.Rename(*ready+".tmp", *ready); err != nil {
			return err
		}
	}
	if err := <-runErr; err != nil {
		return err
	}
	return summary(a)
}

// seed fills the registry: address pools, the bench NAS, and n members
// imported from a members file as `maillon import` does.
func seed(ctx context.Context, reg *registry.Service, n int, secret string) error {
	err := reg.Batch(ctx, registry.System, func(b *registry.Batch) error {
		for _, p := range []struct {
			cidr    string
			purpose registry.Purpose
			bits    int
		}{
			{"100.64.0.0/10", registry.PurposeSubscriber, 32},
			{"2001:db8::/32", registry.PurposeAggregate, 0},
			{"2001:db8:1000::/36", registry.PurposeSubscriber, 64},
			{"3fff::/20", registry.PurposeAggregate, 0},
			{"3fff:800::/32", registry.PurposeDelegated, 56},
		} {
			in := registry.PrefixInput{CIDR: &p.cidr, Purpose: &p.purpose}
			if p.bits != 0 {
				in.BlockBits = &p.bits
			}
			if _, err := b.CreatePrefix(in); err != nil {
				return err
			}
		}
		name, addr, kind, ma := "bench", "127.0.0.1", registry.NASBras, registry.MessageAuthYes
		_, err := b.CreateNAS(registry.NASInput{Name: &name, Address: &addr, Secret: &secret, Kind: &kind, MessageAuth: &ma})
		return err
	})
	if err != nil {
		return err
	}
	var csv bytes.Buffer
	csv.WriteString("name,email,state,membership_start,login,password,upstream_ref\n")
	for i := range n {
		fmt.Fprintf(&csv, "Member %d,m%d@example.org,active,2024-01-01,%s,%s,VDSL-%08d\n", i, i, login(i), password(i), 81000000+i)
	}
	_, err = csvimport.Members(ctx, reg, registry.System, &csv, nil)
	return err
}

// probe sends one CHAP Access-Request for subscriber i and reports whether
// it was accepted.
func probe(dst netip.AddrPort, secret []byte, i int) bool {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return false
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
	raw := newTemplate(i, secret).next(1, rng, hmac.New(md5.New, secret))
	if _, err := c.Write(raw); err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 4096)
	k, err := c.Read(buf)
	return err == nil && k >= 20 && buf[0] == 2
}

// summary prints what the store holds, to check the load generator's
// acknowledged totals against it.
func summary(a *app.App) error {
	ctx := context.Background()
	sessions, err := a.Store().ListSessions(ctx, accounting.SessionFilter{})
	if err != nil {
		return err
	}
	open := 0
	var sin, sout uint64
	for _, s := range sessions {
		if s.Open() {
			open++
		}
		sin += s.InputOctets
		sout += s.OutputOctets
	}
	days, err := a.Store().Usage(ctx, accounting.UsageFilter{})
	if err != nil {
		return err
	}
	var uin, uout uint64
	for _, d := range days {
		uin += d.InputOctets
		uout += d.OutputOctets
	}
	fmt.Fprintf(os.Stderr, "radiusbench: store: %d sessions (%d open), session totals in=%d out=%d; %d usage rows, in=%d out=%d\n",
		len(sessions), open, sin, sout, len(days), uin, uout)
	return nil
}
