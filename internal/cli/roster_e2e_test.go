package cli

import (
	"regexp"
	"strings"
	"testing"

	"maillon/internal/config"
	"maillon/internal/testenv"
)

// TestRosterCommands drives maillon roster against the daemon and a real
// SMTP server: no campaign yet, a campaign started by hand mails the
// technical officer at once, status shows who is pending, an answer given
// on the admin socket names its admin, and the campaign closes.
func TestRosterCommands(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	env, _ := startDaemonWith(t, func(c *config.Config) {
		c.Notify.Email = config.Email{SMTP: smtp.Addr, From: "noc@example.org", TLS: "none"}
		c.Roster.PublicURL = "https://maillon.example.org"
	})
	cli := func(args ...string) result { return runCLI(runOpt{}, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("maillon %s: status %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}

	if out := must("roster", "status"); !strings.HasPrefix(out, "no roster campaign yet") {
		t.Fatalf("status before any campaign: %s", out)
	}
	must("admin", "add", "--name", "Ada", "--email", "ada@example.org", "--role", "technical-officer")
	must("admin", "add", "--name", "Root", "--email", "root@example.org", "--role", "admin")
	if out := must("roster", "start"); !strings.Contains(out, "1 admin(s) asked") {
		t.Fatalf("start: %s", out)
	}
	mail := smtp.Wait(t, 1)[0]
	if mail.To[0] != "ada@example.org" || !strings.Contains(mail.Body, "https://maillon.example.org/roster/confirm/mlr_") {
		t.Fatalf("mail = %+v", mail)
	}
	if r := cli("roster", "start"); r.code == 0 || !strings.Contains(r.stderr, "is open until") {
		t.Fatalf("second start: %d %s", r.code, r.stderr)
	}
	out := must("roster", "status")
	if !strings.Contains(out, "state:    open") || !regexp.MustCompile(`(?m)^Ada +ada@example.org +pending `).MatchString(out) {
		t.Fatalf("status:\n%s", out)
	}
	if r := cli("roster", "confirm"); r.code == 0 || !strings.Contains(r.stderr, "--admin") {
		t.Fatalf("confirm on the socket without --admin: %d %s", r.code, r.stderr)
	}
	if out := must("roster", "confirm", "--admin", "ada@example.org"); out != "Ada keeps their title\n" {
		t.Fatalf("confirm: %q", out)
	}
	if r := cli("roster", "step-down", "--admin", "ada"); r.code == 0 || !strings.Contains(r.stderr, "no roster campaign is open") {
		t.Fatalf("answer once closed: %d %s", r.code, r.stderr)
	}
	out = must("roster", "status")
	if !strings.Contains(out, "state:    closed") || !regexp.MustCompile(`(?m)^Ada .* kept .* by local:`).MatchString(out) {
		t.Fatalf("status after the answer:\n%s", out)
	}
	if out := must("audit", "--entity", "roster_request"); !strings.Contains(out, "keep") || !strings.Contains(out, "mail") {
		t.Fatalf("audit:\n%s", out)
	}
}
