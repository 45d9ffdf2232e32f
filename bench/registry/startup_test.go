package registrybench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"maillon/internal/csvimport"
	"maillon/internal/registry"
	"maillon/internal/secret"
)

// BenchmarkServeStartup20k starts `maillon serve` on a registry of 20,000
// members with a line each and measures how long until /healthz answers,
// how long until RADIUS accepts a subscriber (its snapshot is built), and
// the daemon's resident memory once it serves both.
func BenchmarkServeStartup20k(b *testing.B) {
	n := benchRows()
	dir := b.TempDir()
	key := secret.NewKey()
	reg, st := freshRegistryWithKey(b, dir, key)
	ctx := context.Background()
	if _, err := csvimport.Members(ctx, reg, registry.System, bytes.NewReader(membersCSV(n)), nil); err != nil {
		b.Fatal(err)
	}
	// One line whose password we know, to ask RADIUS about.
	err := reg.Batch(ctx, registry.System, func(bt *registry.Batch) error {
		name, email := "Probe", "probe@example.org"
		m, err := bt.CreateMember(registry.MemberInput{Name: &name, Email: &email, Periods: &[]registry.Period{{Start: registry.DateOf(time.Now().AddDate(-1, 0, 0))}}})
		if err != nil {
			return err
		}
		kind, login, password := registry.KindPPP, "probe@BENCH", "probe-password"
		if _, err := bt.CreateSubscription(registry.SubscriptionInput{MemberID: &m.ID, Kind: &kind, Login: &login, Password: &password}); err != nil {
			return err
		}
		nasName, addr, nasSecret := "bench", "127.0.0.1", "bench-secret"
		_, err = bt.CreateNAS(registry.NASInput{Name: &nasName, Address: &addr, Secret: &nasSecret, MessageAuth: ptr(registry.MessageAuthNo)})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	// Reverse names for every /32 and /64, so DNS serves 40,000 PTRs
	// (MAILLON_BENCH_PTR=0 leaves them out, to see the registry alone).
	withPTR := os.Getenv("MAILLON_BENCH_PTR") != "0"
	var prefixes []registry.Prefix
	reg.Read(ctx, func(r registry.Reader) error { prefixes, err = r.ListPrefixes(ctx); return err })
	for _, p := range prefixes {
		if withPTR && p.Purpose == registry.PurposeSubscriber {
			if _, err := reg.UpdatePrefix(ctx, registry.System, p.ID, registry.PrefixInput{PTRTemplate: ptr("{login}.dsl.bench.example")}); err != nil {
				b.Fatal(err)
			}
		}
	}
	st.Close()

	bin := filepath.Join(dir, "maillon")
	if out, err := exec.Command("go", "build", "-o", bin, "maillon/cmd/maillon").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	httpAddr, authAddr, dnsAddr := freeAddr(b, "tcp"), freeAddr(b, "udp"), freeAddr(b, "tcp")
	conf := filepath.Join(dir, "maillon.yaml")
	// Response rate limiting is off: the bench asks for a PTR every 5 ms
	// until it is served, which the default 20 responses a second would
	// answer with truncated replies and drops (a dropped query costs the
	// 2 s timeout).
	os.WriteFile(conf, []byte(fmt.Sprintf(`database: %q
secret_key: %q
listen: {http: %q, socket: %q}
radius: {auth: %q, acct: "", spool_dir: %q}
dns: {listen: %q, nameservers: [ns1.bench.example.], rate_limit: 0%s}
log: {level: warn}
`, filepath.Join(dir, "maillon.db"), key, httpAddr, filepath.Join(dir, "s.sock"), authAddr, filepath.Join(dir, "spool"), dnsAddr, dnssecConf())), 0o600)
	// MAILLON_BENCH_SERVICES=registry runs the registry and its API alone.
	registryOnly := os.Getenv("MAILLON_BENCH_SERVICES") == "registry"
	if registryOnly {
		withPTR = false
	}

	b.ResetTimer()
	for range b.N {
		daemon := exec.Command(bin, "serve", "--config", conf)
		if registryOnly {
			daemon.Env = append(os.Environ(), "MAILLON_RADIUS_AUTH=", "MAILLON_RADIUS_ACCT=", "MAILLON_DNS_LISTEN=")
		}
		noRADIUS := os.Getenv("MAILLON_BENCH_SERVICES") == "dns"
		if noRADIUS {
			daemon.Env = append(os.Environ(), "MAILLON_RADIUS_AUTH=", "MAILLON_RADIUS_ACCT=")
		}
		daemon.Stderr = os.Stderr
		start := time.Now()
		if err := daemon.Start(); err != nil {
			b.Fatal(err)
		}
		healthy := waitFor(b, func() bool {
			resp, err := http.Get("http://" + httpAddr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		healthAt := time.Since(start)
		_ = healthy
		waitFor(b, func() bool {
			if registryOnly || noRADIUS {
				return true
			}
			p := radius.New(radius.CodeAccessRequest, []byte("bench-secret"))
			rfc2865.UserName_SetString(p, "probe@BENCH")
			rfc2865.UserPassword_SetString(p, "probe-password")
			rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			resp, err := radius.Exchange(rctx, p, authAddr)
			return err == nil && resp.Code == radius.CodeAccessAccept
		})
		radiusAt := time.Since(start)
		// Zones built: the first line's PTR answers.
		first, _ := mdns.ReverseAddr("100.64.0.1")
		ptrServed := func(name string) bool {
			m := new(mdns.Msg)
			m.SetQuestion(name, mdns.TypePTR)
			r, err := mdns.Exchange(m, dnsAddr)
			return err == nil && len(r.Answer) > 0
		}
		dnsAt := time.Duration(0)
		if withPTR {
			waitFor(b, func() bool { return ptrServed(first) })
			dnsAt = time.Since(start)
		}
		// A new line, made through the API, until its PTR is served.
		sock := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(dir, "s.sock"))
		}}}
		body := fmt.Sprintf(`{"member_id": 1, "kind": "ppp", "login": "new%d@BENCH", "password": "new-password"}`, time.Now().UnixNano())
		changed := time.Now()
		resp, err := sock.Post("http://maillon/api/v1/subscriptions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var created registry.Subscription
		json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		committed := time.Now()
		apiTook := committed.Sub(changed)
		var v4 netip.Addr
		for _, a := range created.Addresses {
			if a.Role == registry.RoleIPv4 {
				v4 = a.Block.Addr()
			}
		}
		if !v4.IsValid() {
			b.Fatalf("new line: %d %+v", resp.StatusCode, created)
		}
		rev, _ := mdns.ReverseAddr(v4.String())
		servedAfter := time.Duration(0)
		if withPTR {
			waitFor(b, func() bool { return ptrServed(rev) })
			servedAfter = time.Since(committed)
		}
		time.Sleep(500 * time.Millisecond) // let the first rebuild's garbage settle
		rss, hwm := procMemory(daemon.Process.Pid)
		daemon.Process.Signal(os.Interrupt)
		daemon.Wait()
		b.Logf("%d members: /healthz after %s, RADIUS accepts after %s, DNS zones served after %s, a new line created through the API in %s and its PTR served %s after that, RSS %.0f MiB (peak %.0f MiB)",
			n+1, healthAt.Round(time.Millisecond), radiusAt.Round(time.Millisecond), dnsAt.Round(time.Millisecond), apiTook.Round(time.Millisecond), servedAfter.Round(time.Millisecond), rss, hwm)
		b.ReportMetric(dnsAt.Seconds(), "s-to-dns")
		b.ReportMetric(float64(servedAfter.Milliseconds()), "ms-change-to-DNS")
		b.ReportMetric(healthAt.Seconds(), "s-to-healthz")
		b.ReportMetric(radiusAt.Seconds(), "s-to-radius")
		b.ReportMetric(rss, "RSS-MiB")
		b.ReportMetric(hwm, "peakRSS-MiB")
	}
}

func ptr[T any](v T) *T { return &v }

// dnssecConf signs every zone when MAILLON_BENCH_DNSSEC=1: the time to the
// first answer then includes signing every record.
func dnssecConf() string {
	if os.Getenv("MAILLON_BENCH_DNSSEC") == "1" {
		return ", dnssec: {all: true}"
	}
	return ""
}

func freeAddr(tb testing.TB, network string) string {
	tb.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(tb testing.TB, ok func() bool) bool {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	tb.Fatal("timed out")
	return false
}

// procMemory reads a process's resident set and its high-water mark, MiB.
func procMemory(pid int) (rss, hwm float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		for key, dst := range map[string]*float64{"VmRSS:": &rss, "VmHWM:": &hwm} {
			if rest, ok := strings.CutPrefix(line, key); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				*dst = kb / 1024
			}
		}
	}
	return rss, hwm
}
