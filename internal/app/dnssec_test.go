package app_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/demo"
	"maillon/internal/testenv"
	"maillon/internal/web"
)

// The demo's zones signed from the configuration: delv validates answers
// with the DNSKEY the API gives, the zone publishes the DS the API gives as
// CDS, and the zones are re-signed on the daemon's clock when a week of
// validity is left, with no registry change.
func TestDNSSECFromTheRegistry(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clock := apptest.NewClock(start)
	d := startWith(t, filepath.Join(t.TempDir(), "m.db"), func(cfg *config.Config) {
		cfg.DNS.Nameservers = []string{"ns1.example.net."}
		cfg.DNS.DNSSEC = config.DNSSEC{Zones: []string{"example.net", "100.51.198.in-addr.arpa."}}
	}, app.WithClock(clock))
	a := d.app
	if _, err := demo.Seed(context.Background(), a.Registry()); err != nil {
		t.Fatal(err)
	}
	addr := a.DNSAddr()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(kdigAt(t, addr, "+short", "-x", "198.51.100.1"), "demo1"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the demo's PTR never appeared")
		}
	}

	var ds web.ZoneDS
	if code := d.do("GET", "/api/v1/dns/zones/example.net/ds", d.token, nil, &ds); code != 200 || len(ds.DS) != 1 || ds.Algorithm != 13 {
		t.Fatalf("DS = %d %+v", code, ds)
	}
	// The CDS at the apex is the DS the parent gets.
	rdata := strings.Join(strings.Fields(ds.DS[0])[4:], " ")
	if cds := strings.TrimSpace(kdigAt(t, addr, "+short", "example.net.", "CDS")); !strings.EqualFold(strings.ReplaceAll(cds, " ", ""), strings.ReplaceAll(rdata, " ", "")) {
		t.Errorf("CDS %q, DS %q", cds, rdata)
	}
	var e struct{ Error string }
	if code := d.do("GET", "/api/v1/dns/zones/2.0.0.2.ip6.arpa/ds", d.token, nil, &e); code != 404 && code != 400 {
		t.Errorf("DS of an unsigned or unknown zone = %d %+v", code, e)
	}
	if code := d.do("GET", "/api/v1/dns/zones/example.net/ds", "", nil, &e); code != 401 {
		t.Errorf("DS without a token = %d", code)
	}

	delv := func(zone, key string, args ...string) string {
		t.Helper()
		anchor := filepath.Join(t.TempDir(), "anchor")
		f := strings.Fields(key)
		os.WriteFile(anchor, []byte("trust-anchors { "+zone+" static-key 257 3 13 \""+strings.Join(f[7:], "")+"\"; };\n"), 0o644)
		host, port, _ := strings.Cut(addr, ":")
		out, _ := exec.Command(testenv.LookPath(t, "delv"), append([]string{"@" + host, "-p", port, "-a", anchor, "+root=" + zone}, args...)...).CombinedOutput()
		return string(out)
	}
	if out := delv("example.net.", ds.DNSKEY, "demo1-demo.dsl.example.net", "A"); !strings.Contains(out, "; fully validated") {
		t.Errorf("forward A:\n%s", out)
	}
	if out := delv("example.net.", ds.DNSKEY, "nobody.example.net", "A"); !strings.Contains(out, "; negative response, fully validated") {
		t.Errorf("NXDOMAIN:\n%s", out)
	}
	var rev web.ZoneDS
	d.do("GET", "/api/v1/dns/zones/100.51.198.in-addr.arpa/ds", d.token, nil, &rev)
	if out := delv("100.51.198.in-addr.arpa.", rev.DNSKEY, "-x", "198.51.100.1"); !strings.Contains(out, "; fully validated") {
		t.Errorf("PTR:\n%s", out)
	}

	// Eight days on, the scheduler has the zones re-signed.
	serial := func() string {
		f := strings.Fields(kdigAt(t, addr, "+short", "example.net.", "SOA"))
		if len(f) < 3 {
			return ""
		}
		return f[2]
	}
	before := serial()
	clock.Advance(8 * 24 * time.Hour)
	for deadline := time.Now().Add(20 * time.Second); serial() == before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serial still %s eight days on", before)
		}
	}
	// The new signatures hold twelve days past the first ones' expiry.
	req, _ := http.NewRequest("GET", d.base+"/api/v1/dns/zones/example.net/export", nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := d.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	file := filepath.Join(t.TempDir(), "example.net.zone")
	os.WriteFile(file, text, 0o644)
	at := strconv.FormatInt(start.Add(20*24*time.Hour).Unix(), 10)
	if out, err := exec.Command(testenv.LookPath(t, "kzonecheck"), "-d", "on", "-t", at, "-o", "example.net.", file).CombinedOutput(); err != nil {
		t.Fatalf("kzonecheck after re-signing: %v\n%s", err, out)
	}
}
