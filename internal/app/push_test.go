package app_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/config"
	"maillon/internal/demo"
	"maillon/internal/testenv"
	"maillon/internal/web"
)

// Push mode: a site keeps its own Knot primary; maillon brings its copy of
// example.net in line with RFC 2136 updates after each change, and
// `maillon dns diff` (GET /api/v1/dns/diff) shows what differs.
func TestPushToAnExistingPrimary(t *testing.T) {
	port := testenv.FreePort(t)
	primary := "127.0.0.1:" + strconv.Itoa(port)
	testenv.StartKnot(t, port, func(dir, listen string) string {
		return knotConf(dir, listen) + fmt.Sprintf(`acl:
  - id: push
    address: 127.0.0.1
    key: %s
    action: [transfer, update]
template:
  - id: default
    storage: %q
    file: "%%s.zone"
zone:
  - domain: example.net.
    acl: push
`, tsigName, dir)
	}, map[string]string{"example.net.zone": `$ORIGIN example.net.
$TTL 3600
@ IN SOA ns1.example.net. hostmaster.example.net. 2024010101 3600 600 1209600 300
@ NS ns1.example.net.
ns1 A 198.51.100.193
stale TXT "left over from the old scripts"
`})

	d := startWith(t, t.TempDir()+"/m.db", func(cfg *config.Config) {
		cfg.DNS.Nameservers = []string{"ns1.example.net."}
		cfg.DNS.Keys = []config.TSIGKey{{Name: tsigName, Algorithm: "hmac-sha256", Secret: tsigSecret}}
		cfg.DNS.Push = []config.DNSPeer{{Addr: primary, Key: tsigName}}
	})
	if _, err := demo.Seed(context.Background(), d.app.Registry()); err != nil {
		t.Fatal(err)
	}
	// After the seed maillon pushes its example.net: the primary gains
	// maillon's records and loses the stale one.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		www := kdigAt(t, primary, "+short", "www.example.net.", "A")
		stale := kdigAt(t, primary, "+short", "stale.example.net.", "TXT")
		if strings.Contains(www, "198.51.100.194") && strings.TrimSpace(stale) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the primary was not brought in line: www=%q stale=%q", www, stale)
		}
	}
	var diff struct{ Items []web.PushDiff }
	if code := d.do("GET", "/api/v1/dns/diff?zone=example.net", d.token, nil, &diff); code != 200 || len(diff.Items) != 1 {
		t.Fatalf("diff = %d %+v", code, diff)
	}
	if it := diff.Items[0]; it.Error != "" || len(it.Changes) != 0 || it.Target != primary {
		t.Fatalf("after the push the diff should be empty: %+v", it)
	}
	// Someone edits the primary by hand: the diff says what maillon
	// would undo, before anything is sent.
	upd := exec.Command(testenv.LookPath(t, "knsupdate"), "-y", "hmac-sha256:"+strings.TrimSuffix(tsigName, ".")+":"+tsigSecret)
	upd.Stdin = strings.NewReader(fmt.Sprintf("server 127.0.0.1 %d\nzone example.net.\nupdate add manual.example.net. 300 A 192.0.2.99\nsend\n", port))
	if out, err := upd.CombinedOutput(); err != nil {
		t.Fatalf("knsupdate: %v\n%s", err, out)
	}
	d.do("GET", "/api/v1/dns/diff?zone=example.net", d.token, nil, &diff)
	if len(diff.Items) != 1 || len(diff.Items[0].Changes) != 1 || !strings.HasPrefix(diff.Items[0].Changes[0], "- manual.example.net.") {
		t.Fatalf("diff after a hand edit = %+v", diff.Items)
	}
}
