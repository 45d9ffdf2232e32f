package radius

import (
	"bufio"
	"context"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"

	"layeh.com/radius/rfc2759"

	"maillon/internal/testenv"
)

// radReply is what radclient -x printed of the packet it received.
type radReply struct {
	code  string
	attrs map[string][]string
	out   string
}

func (r *radReply) get(name string) string {
	if v := r.attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// runRadclient feeds attrs to radclient (freeradius-utils) and parses the
// reply it prints; code is "" when no reply came.
func runRadclient(t *testing.T, addr, command, secret string, attrs []string, extra ...string) radReply {
	t.Helper()
	bin := testenv.LookPath(t, "radclient")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"-x", "-r", "1", "-t", "1"}, extra...)
	args = append(args, addr, command, secret)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(strings.Join(attrs, "\n") + "\n")
	out, _ := cmd.CombinedOutput() // exit status is 1 on reject and no reply
	return parseRadclientOutput(string(out))
}

func runRadtest(t *testing.T, method, user, password, addr, secret string) radReply {
	t.Helper()
	bin := testenv.LookPath(t, "radtest")
	testenv.LookPath(t, "radclient")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-t", method, "-x", user, password, addr, "0", secret, "0", "127.0.0.1")
	out, _ := cmd.CombinedOutput()
	return parseRadclientOutput(string(out))
}

func parseRadclientOutput(out string) radReply {
	r := radReply{attrs: map[string][]string{}, out: out}
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Received ") {
			f := strings.Fields(line)
			r.code = f[1]
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "  ") {
			in = false
			continue
		}
		name, value, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if !ok {
			continue
		}
		r.attrs[name] = append(r.attrs[name], strings.Trim(value, `"`))
	}
	return r
}

func TestRadtestPAPCHAPMSCHAP(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MARequire))
	addr := ts.auth.String()
	for _, method := range []string{"pap", "chap", "mschap"} {
		t.Run(method, func(t *testing.T) {
			r := runRadtest(t, method, "demo1@DEMO", "demo1-password", addr, testSecret)
			if r.code != "Access-Accept" {
				t.Fatalf("radtest -t %s: %q\n%s", method, r.code, r.out)
			}
			for name, want := range map[string]string{
				"Framed-IP-Address":     "192.0.2.10",
				"Framed-IP-Netmask":     "255.255.255.255",
				"Framed-IPv6-Prefix":    "2001:db8:10::/64",
				"Service-Type":          "Framed-User",
				"Framed-Protocol":       "PPP",
				"Framed-MTU":            "1500",
				"Port-Limit":            "1",
				"Acct-Interim-Interval": "60",
				"Session-Timeout":       "49708",
			} {
				if got := r.get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if method == "mschap" {
				h := newCredential("demo1-password").hashes()
				want := "0x" + hex.EncodeToString(h.lm[:8]) + hex.EncodeToString(h.ntnt[:])
				if got := r.get("MS-CHAP-MPPE-Keys"); got != want {
					t.Errorf("MS-CHAP-MPPE-Keys = %q, want %q", got, want)
				}
				if got := r.get("MS-MPPE-Encryption-Policy"); got != "Encryption-Allowed" {
					t.Errorf("MS-MPPE-Encryption-Policy = %q", got)
				}
			}
			wrong := runRadtest(t, method, "demo1@DEMO", "not-it", addr, testSecret)
			if wrong.code != "Access-Reject" || wrong.get("Reply-Message") != "wrong password" {
				t.Errorf("radtest -t %s with a wrong password: %q %q", method, wrong.code, wrong.get("Reply-Message"))
			}
		})
	}
}

func TestRadclientRejects(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MARequire))
	addr := ts.auth.String()
	for _, c := range []struct{ user, password, want string }{
		{"suspended1@DEMO", "pw-suspended", "line suspended"},
		{"expired1@DEMO", "pw-expired", "no current membership"},
		{"nobody@DEMO", "whatever", "unknown user"},
	} {
		r := runRadtest(t, "pap", c.user, c.password, addr, testSecret)
		if r.code != "Access-Reject" || r.get("Reply-Message") != c.want {
			t.Errorf("%s: %q %q, want reject %q\n%s", c.user, r.code, r.get("Reply-Message"), c.want, r.out)
		}
	}
	// A wrong shared secret breaks the Message-Authenticator: no answer,
	// and the drop is counted.
	r := runRadtest(t, "pap", "demo1@DEMO", "demo1-password", addr, "wrong-secret")
	if r.code != "" {
		t.Errorf("wrong secret answered with %s", r.code)
	}
	if got := ts.drops(dropBadMA); got < 1 {
		t.Errorf("bad Message-Authenticator drops = %v", got)
	}
}

// TestRadclientReplaysReferenceTrace sends the attributes of
// shared/reference/pppoe-radius-trace.md (MS-CHAP v1 computed for a test
// password over the trace's challenge) and expects the trace's Accept.
func TestRadclientReplaysReferenceTrace(t *testing.T) {
	ts := startServer(t, Config{MPPEPolicy: 2, MPPETypes: 4}, testInput(MARequire))
	challenge := unhex(t, "c7ef962bc5cec9ca")
	pwHash := rfc2759.NTPasswordHash(mustUTF16(t, "trace-password"))
	nt := rfc2759.ChallengeResponse(challenge, pwHash)
	resp := "0x0101" + strings.Repeat("00", 24) + hex.EncodeToString(nt)
	circuit := hex.EncodeToString([]byte("F02MAR00006 eth 1/1/13/16/54/1/1:10"))
	attrs := []string{
		`Service-Type = Framed-User`,
		`Framed-Protocol = PPP`,
		`NAS-Port = 15746666`,
		`NAS-Port-Type = Ethernet`,
		`User-Name = "p1f9bd1@NEUTRINET"`,
		`Calling-Station-Id = "BC:24:11:D5:FE:0E"`,
		`Called-Station-Id = "HYPERLINE-02MAR0-GPON"`,
		`NAS-Port-Id = "XE02-VL211-02MAR0-P0BIS"`,
		`MS-CHAP-Domain = "NEUTRINET"`,
		`Acct-Session-Id = "81004668"`,
		`ADSL-Agent-Circuit-Id = 0x` + circuit,
		`MS-CHAP-Challenge = 0xc7ef962bc5cec9ca`,
		`MS-CHAP-Response = ` + resp,
		`NAS-Identifier = "agg01.pxmar.bra.be.verixi.net"`,
		`Mikrotik-Realm = "NEUTRINET"`,
		`NAS-IP-Address = 100.64.57.40`,
		`Message-Authenticator = 0x00`,
		`Event-Timestamp = "Apr  8 2025 10:11:32 UTC"`,
		`Proxy-State = 0x3333`,
	}
	r := runRadclient(t, ts.auth.String(), "auth", testSecret, attrs)
	if r.code != "Access-Accept" {
		t.Fatalf("trace replay: %q\n%s", r.code, r.out)
	}
	h := newCredential("trace-password").hashes()
	want := map[string]string{
		"Framed-IP-Address":         "80.67.191.6",
		"Framed-IPv6-Prefix":        "2001:913:1d00:600::/64",
		"Delegated-IPv6-Prefix":     "2001:913:1d00:600::/60",
		"Service-Type":              "Framed-User",
		"Framed-Protocol":           "PPP",
		"Framed-IP-Netmask":         "255.255.255.255",
		"Port-Limit":                "1",
		"Framed-MTU":                "1500",
		"Acct-Interim-Interval":     "60",
		"MS-CHAP-MPPE-Keys":         "0x" + hex.EncodeToString(h.lm[:8]) + hex.EncodeToString(h.ntnt[:]),
		"MS-MPPE-Encryption-Policy": "Encryption-Required",
		"MS-MPPE-Encryption-Types":  "4",
		"Proxy-State":               "0x3333",
		"Session-Timeout":           "49708",
	}
	for name, v := range want {
		if got := r.get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if n := len(r.attrs["Proxy-State"]); n != 1 {
		t.Errorf("%d Proxy-State in reply, want 1", n)
	}
	if t.Failed() {
		t.Log(r.out)
	}
}
