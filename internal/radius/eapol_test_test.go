package radius

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"maillon/internal/testenv"
)

// The eapol_test tests run wpa_supplicant's EAP peer (Debian package
// eapoltest) against the in-process server, as a switch would relay a
// supplicant: it must be a real peer, not our own idea of one.

const eapolSwitchPortRoom = "Gi1/0/1" // room mode: the room's member's VLAN
const eapolSwitchPortMAC = "Gi1/0/2"  // MAC mode: the device's MAC entry

// eapolInput is a residence switch at 127.0.0.1 with a room port and a
// MAC port, the test subscribers, and the MACs eapol_test presents.
func eapolInput() SnapshotInput {
	return SnapshotInput{
		Subscribers: testSubscribers(),
		Clients: []Client{{
			Name: "sw1", Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: testSecret,
			Kind: ClientSwitch, MessageAuthenticator: MARequire,
		}},
		Admins: []Admin{{Login: "alice", Password: "alice-pw"}},
		Ports: []PortEntry{
			{Switch: "sw1", Port: eapolSwitchPortRoom, Mode: PortByRoom, Access: Access{Member: "m-room", VLAN: "42", Status: AccessOK}},
			{Switch: "sw1", Port: eapolSwitchPortMAC, Mode: PortByMAC},
		},
		MACs: []MACEntry{
			{MAC: "02:00:00:00:00:01", Access: Access{Member: "m-demo1", VLAN: "43", Status: AccessOK}},
			{MAC: "aa-bb-cc-00-00-01", Access: Access{Member: "m-printer", VLAN: "44", Status: AccessOK}},
		},
		Switch: SwitchPolicy{UnknownMAC: Decision{Reject: true}, UnknownPort: Decision{Reject: true}},
	}
}

type eapolResult struct {
	ok bool // eapol_test said SUCCESS
	// mppeOK: eapol_test found MS-MPPE-Recv-Key equal to its PMK, and
	// Recv-Key then Send-Key are the MSK the supplicant derived (eapol_test
	// itself checks only the first half).
	mppeOK bool
	accept map[string]string // Access-Accept attributes by number
	out    string
}

var (
	eapolAttr = regexp.MustCompile(`^\s+Attribute (\d+) \(([^)]*)\) length=\d+`)
	eapolVal  = regexp.MustCompile(`^\s+Value: (.*)$`)
	eapolMSK  = regexp.MustCompile(`EAP-\S+: Derived key - hexdump\(len=64\): ([0-9a-f ]+)`)
	eapolRecv = regexp.MustCompile(`MS-MPPE-Recv-Key \(crypt\) - hexdump\(len=32\): ([0-9a-f ]+)`)
	eapolSend = regexp.MustCompile(`MS-MPPE-Send-Key \(sign\) - hexdump\(len=32\): ([0-9a-f ]+)`)
)

func lastMatch(re *regexp.Regexp, s string) string {
	m := re.FindAllStringSubmatch(s, -1)
	if len(m) == 0 {
		return ""
	}
	return strings.TrimSpace(m[len(m)-1][1])
}

// runEapolTest writes network (the body of a network={} block) to a file
// and runs eapol_test with it against addr, on switch port port.
func runEapolTest(t *testing.T, addr netip.AddrPort, network, port string, extra ...string) eapolResult {
	t.Helper()
	bin := testenv.LookPath(t, "eapol_test")
	conf := t.TempDir() + "/eapol.conf"
	body := "network={\n\tkey_mgmt=IEEE8021X\n\teapol_flags=0\n" + network + "}\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-c", conf, "-a", addr.Addr().String(), "-p", strconv.Itoa(int(addr.Port())),
		"-s", testSecret, "-t", "20", "-N", "87:s:" + port}
	args = append(args, extra...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("eapol_test did not finish: %v\n%s", ctx.Err(), out)
	}
	r := eapolResult{out: string(out), accept: map[string]string{}}
	lines := strings.Split(r.out, "\n")
	r.ok = err == nil && strings.Contains(r.out, "\nSUCCESS")
	msk, recv, send := lastMatch(eapolMSK, r.out), lastMatch(eapolRecv, r.out), lastMatch(eapolSend, r.out)
	r.mppeOK = strings.Contains(r.out, "MPPE keys OK: 1  mismatch: 0") && msk != "" && msk == recv+" "+send
	// The attributes of the last Access-Accept received, in hex (addresses
	// as eapol_test prints them, dotted).
	in := false
	attr := ""
	for _, l := range lines {
		switch {
		case strings.Contains(l, "RADIUS message: code=2 (Access-Accept)"):
			in, r.accept = true, map[string]string{}
		case strings.Contains(l, "RADIUS message: code="):
			in = false
		case in:
			if m := eapolAttr.FindStringSubmatch(l); m != nil {
				attr = m[1]
				r.accept[attr] = ""
			} else if m := eapolVal.FindStringSubmatch(l); m != nil && attr != "" {
				v := m[1]
				if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
					v = hex.EncodeToString([]byte(v[1 : len(v)-1])) // printable values are quoted
				}
				r.accept[attr] = v
			} else if !strings.HasPrefix(l, " ") {
				attr = ""
			}
		}
	}
	return r
}

func startEAPServer(t *testing.T, pki *testPKI, in SnapshotInput) *testServer {
	t.Helper()
	return startServer(t, Config{AcctAddr: "-", EAP: pki.eapConfig()}, in)
}

func peapNetwork(pki *testPKI, user, password string) string {
	return fmt.Sprintf("\teap=PEAP\n\tanonymous_identity=\"anonymous@DEMO\"\n\tidentity=%q\n\tpassword=%q\n"+
		"\tca_cert=%q\n\tphase2=\"auth=MSCHAPV2\"\n", user, password, pki.path("ca.pem"))
}

func tlsNetwork(pki *testPKI, name string) string {
	return fmt.Sprintf("\teap=TLS\n\tidentity=\"device\"\n\tca_cert=%q\n\tclient_cert=%q\n\tprivate_key=%q\n",
		pki.path("ca.pem"), pki.path(name+".pem"), pki.path(name+".key"))
}

// wantVLAN checks the RFC 3580 tunnel attributes eapol_test printed
// (tag 0, then the value: Tunnel-Type VLAN 13, Tunnel-Medium-Type 802 6).
func wantVLAN(t *testing.T, r eapolResult, vlan string) {
	t.Helper()
	if got := r.accept["64"]; got != "0000000d" {
		t.Errorf("Tunnel-Type = %q, want 0000000d (VLAN)", got)
	}
	if got := r.accept["65"]; got != "00000006" {
		t.Errorf("Tunnel-Medium-Type = %q, want 00000006 (IEEE-802)", got)
	}
	if got := r.accept["81"]; got != fmt.Sprintf("%x", vlan) {
		t.Errorf("Tunnel-Private-Group-Id = %q, want %x (%q)", got, vlan, vlan)
	}
}

func TestEapolPEAP(t *testing.T) {
	pki := newTestPKI(t)
	ts := startEAPServer(t, pki, eapolInput())

	t.Run("good password", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, peapNetwork(pki, "demo1@DEMO", "demo1-password"), eapolSwitchPortRoom)
		if !r.ok || !r.mppeOK {
			t.Fatalf("PEAP/MSCHAPv2 should succeed with MPPE keys matching (ok=%v mppe=%v)\n%s\n%s", r.ok, r.mppeOK, r.out, ts.logs)
		}
		wantVLAN(t, r, "42")
		if got := r.accept["1"]; got != fmt.Sprintf("%x", "demo1@DEMO") {
			t.Errorf("User-Name in the Accept = %q, want the inner identity", got)
		}
	})
	t.Run("MAC port", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, peapNetwork(pki, "demo1@DEMO", "demo1-password"), eapolSwitchPortMAC)
		if !r.ok || !r.mppeOK {
			t.Fatalf("PEAP on a MAC port should succeed\n%s", r.out)
		}
		wantVLAN(t, r, "43")
	})
	t.Run("wrong password", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, peapNetwork(pki, "demo1@DEMO", "not-the-password"), eapolSwitchPortRoom)
		if r.ok || strings.Contains(r.out, "code=2 (Access-Accept)") {
			t.Fatalf("a wrong password must fail\n%s", r.out)
		}
		if !strings.Contains(r.out, "code=3 (Access-Reject)") {
			t.Errorf("no Access-Reject\n%s", r.out)
		}
		wantLogged(t, ts, "result=wrong_password")
	})
	t.Run("admin on a switch port", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, peapNetwork(pki, "alice", "alice-pw"), eapolSwitchPortRoom)
		if !r.ok || !r.mppeOK {
			t.Fatalf("an admin's PEAP login should succeed\n%s", r.out)
		}
		wantVLAN(t, r, "42")
	})
	t.Run("concurrent supplicants", func(t *testing.T) {
		// More conversations than workers, interleaved: each must keep
		// to its own State.
		testenv.LookPath(t, "eapol_test") // skips here, not in a goroutine
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for i := range 8 {
			wg.Go(func() {
				user, pw := "demo1@DEMO", "demo1-password"
				if i%2 == 1 {
					user, pw = "vpn1", "vpn-password"
				}
				if r := runEapolTest(t, ts.auth, peapNetwork(pki, user, pw), eapolSwitchPortRoom); !r.ok || !r.mppeOK {
					errs <- r.out
				}
			})
		}
		wg.Wait()
		close(errs)
		for out := range errs {
			t.Errorf("a concurrent PEAP login failed\n%s", out)
		}
	})
	t.Run("suspended", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, peapNetwork(pki, "suspended1@DEMO", "pw-suspended"), eapolSwitchPortRoom)
		if r.ok {
			t.Fatalf("a suspended line must fail\n%s", r.out)
		}
		wantLogged(t, ts, "result=suspended")
	})
}

// wantLogged checks the server logged a reject for the reason expected,
// and not a protocol failure in its stead.
func wantLogged(t *testing.T, ts *testServer, result string) {
	t.Helper()
	if !strings.Contains(ts.logs.String(), result) {
		t.Errorf("no %q in the server's log:\n%s", result, ts.logs)
	}
}

func TestEapolEAPTLS(t *testing.T) {
	pki := newTestPKI(t)
	pki.client(t, "demo1", "demo1@DEMO", false)
	pki.client(t, "printer", "printer-3", false, "aa:bb:cc:00:00:01")
	pki.client(t, "rogue", "demo1@DEMO", true)
	ts := startEAPServer(t, pki, eapolInput())

	t.Run("subscriber certificate", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, tlsNetwork(pki, "demo1"), eapolSwitchPortMAC)
		if !r.ok || !r.mppeOK {
			t.Fatalf("EAP-TLS should succeed with MPPE keys matching\n%s\n%s", r.out, ts.logs)
		}
		wantVLAN(t, r, "43") // the port is in MAC mode: eapol_test's MAC
	})
	t.Run("device certificate", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, tlsNetwork(pki, "printer"), eapolSwitchPortMAC)
		if !r.ok || !r.mppeOK {
			t.Fatalf("EAP-TLS with a device certificate should succeed\n%s\n%s", r.out, ts.logs)
		}
		wantVLAN(t, r, "44") // the certificate's MAC, not Calling-Station-Id
	})
	t.Run("certificate from another CA", func(t *testing.T) {
		r := runEapolTest(t, ts.auth, tlsNetwork(pki, "rogue"), eapolSwitchPortMAC)
		if r.ok || strings.Contains(r.out, "code=2 (Access-Accept)") {
			t.Fatalf("a certificate from another CA must fail\n%s", r.out)
		}
		if !strings.Contains(r.out, "code=3 (Access-Reject)") {
			t.Errorf("no Access-Reject\n%s", r.out)
		}
		wantLogged(t, ts, "result=eap_tls_failed")
		wantLogged(t, ts, "certificate signed by unknown authority")
	})
	t.Run("small fragments both ways", func(t *testing.T) {
		cfg := pki.eapConfig()
		cfg.FragmentSize = 200
		ts := startServer(t, Config{AcctAddr: "-", EAP: cfg}, eapolInput())
		r := runEapolTest(t, ts.auth, tlsNetwork(pki, "demo1")+"\tfragment_size=200\n", eapolSwitchPortRoom)
		if !r.ok || !r.mppeOK {
			t.Fatalf("EAP-TLS in 200-octet fragments should succeed\n%s\n%s", r.out, ts.logs)
		}
		wantVLAN(t, r, "42")
	})
}

// TestEapolPEAPOtherNAS: on a NAS that is not a switch (a Wi-Fi access
// point, say) the Accept carries the subscriber's attributes, as PAP's.
func TestEapolPEAPOtherNAS(t *testing.T) {
	pki := newTestPKI(t)
	in := eapolInput()
	in.Clients[0].Kind = ClientOther
	ts := startEAPServer(t, pki, in)
	r := runEapolTest(t, ts.auth, peapNetwork(pki, "demo1@DEMO", "demo1-password"), eapolSwitchPortRoom)
	if !r.ok || !r.mppeOK {
		t.Fatalf("PEAP on an access point should succeed\n%s\n%s", r.out, ts.logs)
	}
	if got := r.accept["8"]; got != "192.0.2.10" {
		t.Errorf("Framed-IP-Address = %q, want 192.0.2.10", got)
	}
	if _, ok := r.accept["64"]; ok {
		t.Errorf("a VLAN for a subscriber on an access point: %v", r.accept)
	}
}
