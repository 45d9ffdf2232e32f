package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"maillon/internal/demo"
	"maillon/internal/testenv"
)

// TestDemoMonitoringDoneWhen walks issue 5's "done when" on `maillon
// demo --smtp`: the status page shows components, an incident and the
// planned maintenance; the members behind the maintained residence got its
// email; a power cut (SIGUSR1) takes the demo's switches down and what sits
// behind the uplink unreachable; the alerts reach the mailbox, one per
// check that is really down; one is acknowledged from the web UI.
func TestDemoMonitoringDoneWhen(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	httpAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	socket := filepath.Join(t.TempDir(), "demo.sock")
	var out testenv.Buffer
	s := &session{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" },
		isTerminal: func(any) bool { return false }, now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"demo", "--socket", socket, "--http", httpAddr, "--radius-auth", "127.0.0.1:0",
			"--radius-acct", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--smtp", smtp.Addr}, s)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("demo exited with %d:\n%s", code, out.String())
		}
	}()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out.String(), "kill -USR1"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not start:\n%s", out.String())
		}
	}
	base := "http://" + httpAddr
	get := func(c *http.Client, path string) string {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}

	// The public status page, without login.
	page := get(http.DefaultClient, "/status?lang=fr")
	for _, want := range []string{"Internet — Résidence Fleming", "Internet — Résidence Les Rives", "Connexion lente aux Rives", demo.MaintenanceTitle} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}

	// The members of the maintained residence were told, and only they.
	env := map[string]string{"MAILLON_SOCKET": socket}
	r := runCLI(runOpt{}, env, "maintenance", "recipients", "--component", "Internet — Résidence Fleming")
	if r.code != 0 {
		t.Fatalf("maintenance recipients: %s", r.stderr)
	}
	recipients := regexp.MustCompile(`[\w.+-]+@[\w.-]+`).FindAllString(r.stdout, -1)
	if len(recipients) == 0 {
		t.Fatalf("no recipient for the demo maintenance:\n%s", r.stdout)
	}
	var told []string
	for deadline := time.Now().Add(30 * time.Second); len(told) < len(recipients) && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		told = told[:0]
		for _, m := range smtp.Messages(t) {
			if strings.Contains(m.Subject+m.Body, demo.MaintenanceTitle) {
				told = append(told, m.To...)
			}
		}
	}
	if len(told) != len(recipients) {
		t.Fatalf("%d maintenance emails for %d affected members (%v vs %v)", len(told), len(recipients), told, recipients)
	}
	for _, to := range told {
		if !strings.Contains(r.stdout, to) {
			t.Errorf("%s was emailed but is not an affected member", to)
		}
	}

	// Power cut.
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	noc := "noc@" + strings.TrimSuffix(demo.Domain, ".")
	// The checks are probed every 10 s, spread over the interval: wait
	// until each switch check has decided.
	settled := regexp.MustCompile(`(?m)^\d+ +uplink-rives .* down |^\d+ +sw-rives-a .* unreachable |^\d+ +sw-rives-b .* unreachable |^\d+ +sw-fleming-1 .* down `)
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r = runCLI(runOpt{}, env, "check", "list")
		if len(settled.FindAllString(r.stdout, -1)) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("check list after the power cut:\n%s", r.stdout)
		}
	}
	// One alert per check really down (the uplink and the Fleming switch),
	// none for the switches behind the uplink.
	var alerts []testenv.Mail
	for deadline := time.Now().Add(60 * time.Second); len(alerts) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d alert mails to %s after the power cut:\n%s", len(alerts), noc, out.String())
		}
		alerts = smtp.To(t, noc)
	}
	for _, m := range alerts {
		if strings.Contains(m.Subject, "sw-rives") {
			t.Errorf("an unreachable switch alerted: %q", m.Subject)
		}
	}

	// Acknowledged from the web UI.
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar}
	login := get(web, "/login")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login)
	resp, err := web.PostForm(base+"/login", url.Values{"login": {"camille"}, "password": {"demo-admin-password"}, "csrf": {csrf[1]}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("web login: %v %v", err, resp)
	}
	resp.Body.Close()
	page = get(web, "/admin/alerts")
	ack := regexp.MustCompile(`action="(/admin/alerts/\d+/ack)"`).FindStringSubmatch(page)
	csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if ack == nil || csrf == nil {
		t.Fatalf("no acknowledge button on the alerts page:\n%s", page)
	}
	resp, err = web.PostForm(base+ack[1], url.Values{"csrf": {csrf[1]}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("acknowledge: %v %v", err, resp)
	}
	resp.Body.Close()
	if page = get(web, "/admin/alerts"); !strings.Contains(page, "acknowledged by") {
		t.Fatalf("the alert does not show its acknowledgement:\n%s", page)
	}
}
