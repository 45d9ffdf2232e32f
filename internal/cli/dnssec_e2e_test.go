package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/testenv"
)

// `maillon dns ds` prints the DS record of a signed zone, the one the zone
// publishes as CDS; an unsigned zone gets a clear error.
func TestDNSDSAgainstTheDaemon(t *testing.T) {
	cfg := app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "maillon.db"))
	cfg.Log.Level = "error"
	cfg.DNS.Nameservers = []string{"ns1.example.org."}
	cfg.DNS.DNSSEC.Zones = []string{"example.org."}
	a := apptest.Run(t, cfg)
	env := map[string]string{"MAILLON_SOCKET": a.SocketPath()}
	cli := func(args ...string) result { return runCLI(runOpt{}, env, args...) }
	for _, origin := range []string{"example.org", "example.com"} {
		if r := cli("zone", "add", "--origin", origin); r.code != 0 {
			t.Fatalf("zone add %s: %+v", origin, r)
		}
	}
	var r result
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r = cli("dns", "ds", "example.org"); r.code == 0 || time.Now().After(deadline) {
			break
		}
	}
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) != 8 || f[0] != "example.org." || f[3] != "DS" || f[5] != "13" || f[6] != "2" {
		t.Fatalf("dns ds: %+v", r)
	}
	host, port, _ := strings.Cut(a.DNSAddr(), ":")
	cds, _ := exec.Command(testenv.LookPath(t, "kdig"), "@"+host, "-p", port, "+short", "example.org.", "CDS").Output()
	if strings.Join(strings.Fields(string(cds)), "") != strings.ToUpper(strings.Join(f[4:], "")) {
		t.Errorf("CDS %q, DS %q", cds, f[4:])
	}
	// Zones are served a moment after they are added: until then the
	// answer is "not found", which is not what this checks.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r = cli("dns", "ds", "example.com"); !strings.Contains(r.stderr, "not found") || time.Now().After(deadline) {
			break
		}
	}
	r.failsWith(t, 1, "zone example.com. is not signed (dns.dnssec)")
}
