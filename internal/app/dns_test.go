package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/cli"
	"maillon/internal/config"
	"maillon/internal/demo"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

const (
	tsigName   = "transfer.test."
	tsigSecret = "dGVzdC10cmFuc2Zlci1rZXktZm9yLW1haWxsb24="
)

func kdigAt(t *testing.T, addr string, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "kdig")
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, append([]string{"@" + host, "-p", port, "+time=2", "+retry=1"}, args...)...).CombinedOutput()
	return string(out)
}

// knotConf is the part of a Knot configuration the tests share: where it
// runs, its log and the transfer key; remotes, ACLs and zones follow.
func knotConf(dir, listen string) string {
	return fmt.Sprintf("server:\n  rundir: %q\n  listen: %s\ndatabase:\n  storage: %q\nlog:\n  - target: stderr\n    any: info\n"+
		"key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n", dir, listen, dir, tsigName, tsigSecret)
}

// The demo's reverse and forward names answer from the registry; transfers
// need the TSIG key; a Knot secondary follows a change made through the API.
func TestDNSFromTheRegistry(t *testing.T) {
	knotPort := testenv.FreePort(t)
	knotAddr := "127.0.0.1:" + strconv.Itoa(knotPort)
	d := startWith(t, t.TempDir()+"/m.db", func(cfg *config.Config) {
		cfg.DNS.Nameservers = []string{"ns1.example.net."}
		cfg.DNS.Keys = []config.TSIGKey{{Name: tsigName, Algorithm: "hmac-sha256", Secret: tsigSecret}}
		cfg.DNS.Transfer = []config.TransferACL{{Key: tsigName}}
		cfg.DNS.Notify = []config.DNSPeer{{Addr: knotAddr, Key: tsigName}}
	})
	ctx := context.Background()
	if _, err := demo.Seed(ctx, d.app.Registry()); err != nil {
		t.Fatal(err)
	}
	addr := d.app.DNSAddr()
	key := "hmac-sha256:" + strings.TrimSuffix(tsigName, ".") + ":" + tsigSecret
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out = kdigAt(t, addr, "+short", "-x", "198.51.100.1"); strings.Contains(out, "demo1-demo.dsl.example.net.") {
			break
		}
	}
	if !strings.Contains(out, "demo1-demo.dsl.example.net.") {
		t.Fatalf("PTR of demo1's IPv4:\n%s", out)
	}
	if out := kdigAt(t, addr, "+short", "-x", "2001:db8:100::1"); !strings.Contains(out, "ip-2001-db8-100--1.example.net.") {
		t.Fatalf("PTR of demo1's IPv6:\n%s", out)
	}
	if out := kdigAt(t, addr, "+short", "demo1-demo.dsl.example.net", "A"); strings.TrimSpace(out) != "198.51.100.1" {
		t.Fatalf("forward A:\n%s", out)
	}
	if out := kdigAt(t, addr, "-y", key, "AXFR", "example.net."); !strings.Contains(out, "mail.example.net.") || !strings.Contains(out, "NOERROR") {
		t.Fatalf("AXFR with the key:\n%s", out)
	}
	if out := kdigAt(t, addr, "AXFR", "example.net."); strings.Contains(out, "mail.example.net.") || !strings.Contains(out, "REFUSED") {
		t.Fatalf("AXFR without the key:\n%s", out)
	}

	// The export is a zone file Knot's checker accepts, for both kinds.
	for _, zone := range []string{"example.net.", "100.51.198.in-addr.arpa."} {
		req, _ := http.NewRequest("GET", d.base+"/api/v1/dns/zones/"+zone+"/export", nil)
		req.Header.Set("Authorization", "Bearer "+d.token)
		resp, err := d.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		file := filepath.Join(t.TempDir(), zone+"zone")
		os.WriteFile(file, text, 0o644)
		if out, err := exec.Command(testenv.LookPath(t, "kzonecheck"), "-o", zone, file).CombinedOutput(); err != nil || resp.StatusCode != 200 {
			t.Fatalf("kzonecheck %s: %v %s\n%s", zone, err, out, text)
		}
	}
	var e0 struct{ Error string }
	if code := d.do("GET", "/api/v1/dns/diff", d.token, nil, &e0); code != 400 || !strings.Contains(e0.Error, "dns.push") {
		t.Fatalf("diff without push targets = %d %+v", code, e0)
	}

	// A Knot secondary of example.net.
	host, port, _ := strings.Cut(addr, ":")
	testenv.StartKnot(t, knotPort, func(dir, listen string) string {
		return knotConf(dir, listen) + fmt.Sprintf(`remote:
  - id: maillon
    address: %s@%s
    key: %s
acl:
  - id: from_maillon
    address: 127.0.0.1
    key: %s
    action: notify
template:
  - id: default
    storage: %q
    zonefile-sync: -1
zone:
  - domain: example.net.
    master: maillon
    acl: [from_maillon]
`, host, port, tsigName, tsigName, dir)
	}, nil)
	serial := func(at string) string {
		f := strings.Fields(kdigAt(t, at, "+short", "example.net.", "SOA"))
		if len(f) < 3 {
			return ""
		}
		return f[2]
	}
	follow := func(what string) {
		t.Helper()
		want := serial(addr)
		if want == "" {
			t.Fatalf("%s: maillon serves no SOA for example.net.", what)
		}
		for deadline := time.Now().Add(20 * time.Second); serial(knotAddr) != want; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: Knot at serial %q, maillon at %q", what, serial(knotAddr), want)
			}
		}
	}
	follow("first transfer")
	// A change made with the CLI, over the daemon's socket, reaches the
	// secondary.
	t.Setenv("MAILLON_SOCKET", d.app.SocketPath())
	if code := cli.Main(ctx, []string{"record", "add", "--zone", "example.net", "--name", "later", "--type", "AAAA", "--data", "2001:db8:ffff::80"}); code != 0 {
		t.Fatalf("maillon record add: status %d", code)
	}
	var z registry.Zone
	d.do("GET", "/api/v1/zones/example.net", d.token, nil, &z)
	var e struct{ Error, Field string }
	if code := d.do("POST", "/api/v1/records", d.token, map[string]any{"zone_id": z.ID, "name": "bad", "type": "A", "data": "not-an-address"}, &e); code != 400 || e.Field != "data" {
		t.Fatalf("bad record = %d %+v", code, e)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if strings.Contains(kdigAt(t, knotAddr, "+short", "later.example.net.", "AAAA"), "2001:db8:ffff::80") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the secondary never served the new record (maillon serial %s, Knot %s)", serial(addr), serial(knotAddr))
		}
	}
	follow("after the change")
}
