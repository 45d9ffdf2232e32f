package app_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/config"
	"maillon/internal/demo"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// radtest runs freeradius-utils' radtest against the daemon and returns
// what it printed.
func radtest(t *testing.T, method, user, password, addr, secret string) string {
	t.Helper()
	bin := testenv.LookPath(t, "radtest")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-t", method, "-x", user, password, addr, "0", secret).CombinedOutput()
	return string(out)
}

func radclient(t *testing.T, addr, command, secret string, attrs ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "radclient")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-x", "-r", "2", "-t", "2", addr, command, secret)
	cmd.Stdin = strings.NewReader(strings.Join(attrs, "\n") + "\n")
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// The demo's subscriber logs in with radtest in PAP, CHAP and MS-CHAP and
// gets the addresses the registry allocated; accounting lands in the daily
// usage; suspending the line rejects the next login.
func TestRADIUSFromTheRegistry(t *testing.T) {
	d := start(t, t.TempDir()+"/m.db")
	ctx := context.Background()
	reg := d.app.Registry()
	if _, err := demo.Seed(ctx, reg); err != nil {
		t.Fatal(err)
	}
	demo1, err := reg.FindSubscription(ctx, "demo1@DEMO")
	if err != nil {
		t.Fatal(err)
	}
	var v4, pd string
	for _, a := range demo1.Addresses {
		switch a.Role {
		case registry.RoleIPv4:
			v4 = a.Block.Addr().String()
		case registry.RoleDelegated:
			pd = a.Block.String()
		}
	}
	// Extra reply attributes, per line and per NAS; a typo is refused when
	// typed, not when the subscriber connects.
	var e struct{ Error, Field string }
	if code := d.do("PATCH", "/api/v1/subscriptions/demo1@DEMO", d.token, map[string]any{"reply_attributes": []string{"Mikrotik-Rate-Limt = 10M/100M"}}, &e); code != 400 || e.Field != "reply_attributes" {
		t.Fatalf("misspelt attribute = %d %+v", code, e)
	}
	if code := d.do("PATCH", "/api/v1/subscriptions/demo1@DEMO", d.token, map[string]any{"reply_attributes": []string{"Mikrotik-Rate-Limit = 10M/100M"}}, nil); code != 200 {
		t.Fatalf("rate limit = %d", code)
	}
	if code := d.do("PATCH", "/api/v1/nas/demo-bras", d.token, map[string]any{"reply_attributes": []string{"Idle-Timeout = 600"}}, nil); code != 200 {
		t.Fatalf("NAS attribute = %d", code)
	}
	auth, acct := d.app.RADIUSAuthAddr(), d.app.RADIUSAcctAddr()
	// The snapshot is rebuilt in the background after the seed: wait for it.
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out = radtest(t, "pap", "demo1@DEMO", "demo1-password", auth, "demo-secret"); strings.Contains(out, "Received Access-Accept") {
			break
		}
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !strings.Contains(out, "Idle-Timeout"); time.Sleep(100 * time.Millisecond) {
		out = radtest(t, "pap", "demo1@DEMO", "demo1-password", auth, "demo-secret")
	}
	for _, want := range []string{"Received Access-Accept", "Framed-IP-Address = " + v4, `Mikrotik-Rate-Limit = "10M/100M"`, "Idle-Timeout = 600", "Delegated-IPv6-Prefix = " + pd, "Framed-IP-Netmask = 255.255.255.255", "Session-Timeout = ", "Acct-Interim-Interval = 60"} {
		if !strings.Contains(out, want) {
			t.Fatalf("PAP reply lacks %q:\n%s", want, out)
		}
	}
	if out := radtest(t, "chap", "demo1@DEMO", "demo1-password", auth, "demo-secret"); !strings.Contains(out, "Received Access-Accept") {
		t.Fatalf("CHAP:\n%s", out)
	}
	if out := radtest(t, "mschap", "demo1@DEMO", "demo1-password", auth, "demo-secret"); !strings.Contains(out, "Received Access-Accept") || !strings.Contains(out, "MS-CHAP-MPPE-Keys") {
		t.Fatalf("MS-CHAP:\n%s", out)
	}
	if out := radtest(t, "pap", "demo1@DEMO", "wrong-password", auth, "demo-secret"); !strings.Contains(out, "Received Access-Reject") {
		t.Fatalf("wrong password:\n%s", out)
	}
	// Accounting: a session starts and reports its counters.
	common := []string{`User-Name = "demo1@DEMO"`, `Acct-Session-Id = "81004668"`, "Framed-IP-Address = " + v4, `NAS-IP-Address = 127.0.0.1`}
	if out := radclient(t, acct, "acct", "demo-secret", append(common, "Acct-Status-Type = Start")...); !strings.Contains(out, "Accounting-Response") {
		t.Fatalf("Start:\n%s", out)
	}
	if out := radclient(t, acct, "acct", "demo-secret", append(common, "Acct-Status-Type = Interim-Update", "Acct-Session-Time = 60",
		"Acct-Input-Octets = 1000", "Acct-Output-Octets = 5000", "Acct-Output-Gigawords = 1")...); !strings.Contains(out, "Accounting-Response") {
		t.Fatalf("Interim:\n%s", out)
	}
	days, err := d.app.Store().Usage(ctx, accounting.UsageFilter{SubscriptionID: demo1.ID})
	if err != nil || len(days) != 1 || days[0].InputOctets != 1000 || days[0].OutputOctets != 1<<32+5000 || days[0].MemberID != demo1.MemberID {
		t.Fatalf("usage after the interim = %+v, %v", days, err)
	}
	var usage struct{ Items []accounting.Day }
	if code := d.do("GET", "/api/v1/usage?member=demo1@DEMO", d.token, nil, &usage); code != 200 || len(usage.Items) != 1 || usage.Items[0].InputOctets != 1000 {
		t.Fatalf("usage API = %d %+v", code, usage)
	}
	req, _ := http.NewRequest("GET", d.base+"/api/v1/usage?subscription="+v4+"&format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := d.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), ",demo1,") || !strings.Contains(string(body), "demo1@DEMO,1000,4294972296") {
		t.Fatalf("usage CSV:\n%s", body)
	}
	open, _ := d.app.Store().ListSessions(ctx, accounting.SessionFilter{SubscriptionID: demo1.ID, OpenOnly: true})
	if len(open) != 1 || open[0].IPv4.String() != v4 {
		t.Fatalf("open sessions = %+v", open)
	}
	// Device administration: an admin with a device password logs in to a
	// switch; a read-only one does not, whatever the password.
	for _, a := range []struct {
		name, role string
		accept     bool
	}{{"tech", "technical-officer", true}, {"viewer", "read-only", false}} {
		if code := d.do("POST", "/api/v1/admins", d.token, map[string]any{"name": a.name, "email": a.name + "@example.org",
			"roles": []string{a.role}, "device_password": a.name + "-device-pw"}, nil); code != 201 {
			t.Fatalf("admin %s = %d", a.name, code)
		}
		login := []string{`User-Name = "` + a.name + `"`, `User-Password = "` + a.name + `-device-pw"`, "Service-Type = Administrative-User", "Message-Authenticator = 0x00"}
		var reply string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if reply = radclient(t, auth, "auth", "demo-secret", login...); strings.Contains(reply, "Received Access-Accept") == a.accept {
				break
			}
		}
		if strings.Contains(reply, "Received Access-Accept") != a.accept {
			t.Fatalf("device login of %s (%s):\n%s", a.name, a.role, reply)
		}
	}
	// Suspend the line through the API: the open session is told to end,
	// and the answer says what the NAS (radclient, gone) answered: nothing.
	var edit struct {
		State       registry.SubscriptionState
		Disconnects []registry.Disconnect
	}
	if code := d.do("PATCH", "/api/v1/subscriptions/demo1@DEMO", d.token, map[string]any{"state": "suspended"}, &edit); code != 200 || edit.State != registry.SubSuspended {
		t.Fatalf("suspend = %d %+v", code, edit)
	}
	if len(edit.Disconnects) != 1 || edit.Disconnects[0].SessionID != "81004668" || edit.Disconnects[0].NAS != "demo-bras" || edit.Disconnects[0].Result != "timeout" {
		t.Fatalf("the suspension does not report the disconnect: %+v", edit.Disconnects)
	}
	// The next login is refused, saying why.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out = radtest(t, "pap", "demo1@DEMO", "demo1-password", auth, "demo-secret"); strings.Contains(out, "Received Access-Reject") {
			break
		}
	}
	if !strings.Contains(out, "Received Access-Reject") || !strings.Contains(strings.ToLower(out), "suspended") {
		t.Fatalf("login of a suspended line:\n%s", out)
	}
	// The audit log says so too, once (the request sends it, not every
	// instance hearing the change).
	actions, _ := reg.Audit(ctx, registry.AuditFilter{Entity: "subscription", EntityID: demo1.ID})
	var disconnects []registry.AuditEntry
	for _, a := range actions {
		if a.Action == "disconnect" {
			disconnects = append(disconnects, a)
		}
	}
	if len(disconnects) != 1 || !strings.Contains(string(disconnects[0].After), "81004668") || !strings.Contains(string(disconnects[0].After), `"result":"timeout"`) {
		t.Fatalf("disconnect not recorded once: %+v", disconnects)
	}
	// Suspending again changes nothing and disconnects nothing.
	var again map[string]any
	if code := d.do("PATCH", "/api/v1/subscriptions/demo1@DEMO", d.token, map[string]any{"state": "suspended"}, &again); code != 200 || again["disconnects"] != nil {
		t.Fatalf("suspending a suspended line = %d %v", code, again)
	}
}

// On an instance that does not serve RADIUS, suspending a line says that no
// Disconnect was sent, as a fact rather than a failure.
func TestSuspendWithoutRADIUSSaysNothingWasSent(t *testing.T) {
	d := startWith(t, t.TempDir()+"/m.db", func(c *config.Config) { c.RADIUS.Auth, c.RADIUS.Acct = "", "" })
	if _, err := demo.Seed(context.Background(), d.app.Registry()); err != nil {
		t.Fatal(err)
	}
	var edit struct {
		State           registry.SubscriptionState
		Disconnects     []registry.Disconnect
		DisconnectError string `json:"disconnect_error"`
	}
	if code := d.do("PATCH", "/api/v1/subscriptions/demo1@DEMO", d.token, map[string]any{"state": "suspended"}, &edit); code != 200 ||
		edit.State != registry.SubSuspended || !strings.Contains(edit.DisconnectError, "RADIUS is off on this instance") {
		t.Fatalf("suspend without RADIUS = %d %+v", code, edit)
	}
}
