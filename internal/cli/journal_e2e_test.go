package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"maillon/internal/client"
	"maillon/internal/registry"
)

// TestJournalAgainstTheDaemon: admins write interventions from the CLI,
// signed with who they are, list them per host and for the network; a
// host's agent token posts reports for that host only.
func TestJournalAgainstTheDaemon(t *testing.T) {
	env, httpURL := startDaemon(t)
	cli := func(args ...string) result { return runCLI(runOpt{}, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("maillon %s: status %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	must("host", "add", "--name", "gw1", "--address", "192.0.2.1")
	must("host", "add", "--name", "gw2")
	must("admin", "add", "--name", "Ada", "--email", "ada@example.org", "--role", "technical-officer")
	must("admin", "add", "--name", "Reader", "--email", "reader@example.org", "--role", "read-only")
	adaToken := strings.TrimSpace(must("admin", "token", "create", "ada@example.org"))
	readerToken := strings.TrimSpace(must("admin", "token", "create", "reader@example.org"))
	ada := map[string]string{"MAILLON_URL": httpURL, "MAILLON_TOKEN": adaToken}

	if r := runCLI(runOpt{}, ada, "journal", "add", "gw1", "replaced", "the", "PSU", "--incident", "3"); r.code != 0 ||
		!regexp.MustCompile(`^journal entry \d+ on gw1 by admin:Ada at `).MatchString(r.stdout) {
		t.Fatalf("journal add as Ada: %+v", r)
	}
	must("journal", "add", "192.0.2.1", "apt upgrade", "--at", "2h")
	must("journal", "add", "gw2", "moved to rack B", "--maintenance", "4")

	out := must("journal", "list", "gw1")
	if !regexp.MustCompile(`(?m)^ID +WHEN +HOST +WHO +RELATED +WHAT\n\d+ .*gw1 +admin:Ada +incident 3 +replaced the PSU\n\d+ .* gw1 +local:\S+ +- +apt upgrade\n$`).MatchString(out) {
		t.Errorf("journal list gw1:\n%s", out)
	}
	var all struct{ Items []registry.JournalEntry }
	if err := json.Unmarshal([]byte(must("journal", "list", "--json")), &all); err != nil || len(all.Items) != 3 || all.Items[0].Host != "gw2" ||
		all.Items[0].RelatedKind != "maintenance" || *all.Items[0].RelatedID != 4 {
		t.Errorf("journal list --json: %+v %v", all, err)
	}

	// Bad input: one line, nothing written.
	cli("journal", "add", "gw9", "x").failsWith(t, 1, `host: host gw9: not found`)
	cli("journal", "add", "gw1").failsWith(t, 2, `maillon journal add takes a host (id, name or address) and what was done`)
	cli("journal", "add", "gw1", "x", "--at", "tomorrow").failsWith(t, 2, `--at: "tomorrow" is not a time (2026-11-20 14:00, RFC 3339, or a duration ago like 2h)`)
	runCLI(runOpt{}, map[string]string{"MAILLON_URL": httpURL, "MAILLON_TOKEN": readerToken}, "journal", "add", "gw1", "x").
		failsWith(t, 1, "admin:Reader is read-only: forbidden")
	if n := strings.Count(must("journal", "list"), "\n"); n != 4 {
		t.Errorf("%d lines after refused entries", n)
	}
	// Reading is for every admin.
	if r := runCLI(runOpt{}, map[string]string{"MAILLON_URL": httpURL, "MAILLON_TOKEN": readerToken}, "journal", "list", "gw2"); r.code != 0 || !strings.Contains(r.stdout, "moved to rack B") {
		t.Errorf("read-only admin lists: %+v", r)
	}

	// Agent tokens: printed once; each posts its own host's reports only.
	tok1 := strings.TrimSpace(must("journal", "token", "create", "gw1"))
	tok2 := strings.TrimSpace(must("journal", "token", "create", "gw2", "--name", "gw2 agent"))
	if !strings.HasPrefix(tok1, "mla_") || strings.Contains(must("journal", "token", "list", "--json"), tok1) {
		t.Fatalf("agent token %q, or shown again", tok1)
	}
	agent := func(token string) *client.Client {
		c, err := client.New(client.Options{URL: httpURL, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	rep := registry.ChangeReport{ID: "gw1-1", Host: "gw1", LastChange: time.Now().Add(-time.Minute),
		Files:    []registry.FileChange{{Path: "/etc/hosts", Change: "modified", Type: "file", Mode: "0644", Owner: "root:root", SHA256: strings.Repeat("a", 64)}},
		Packages: []registry.PackageChange{{Name: "nginx", Change: "upgraded", Version: "2", OldVersion: "1"}}}
	e, created, err := agent(tok1).SendReport(ctx, rep)
	if err != nil || !created || e.Text != "1 file changed (1 modified), 1 package upgraded" {
		t.Fatalf("report: %+v %v %v", e, created, err)
	}
	if e2, created, err := agent(tok1).SendReport(ctx, rep); err != nil || created || e2.ID != e.ID {
		t.Errorf("sent again: %+v %v %v", e2, created, err)
	}
	// A newer agent's report, with a field this daemon does not know,
	// still lands.
	var newer registry.JournalEntry
	if err := agent(tok1).Do(ctx, "POST", "/api/v1/journal/reports", nil, map[string]any{"id": "gw1-newer", "host": "gw1",
		"files": []map[string]any{{"path": "/etc/motd", "change": "added", "type": "file", "xattrs": "user.x"}}, "boot_id": "abc"}, &newer); err != nil ||
		newer.Text != "1 file changed (1 added)" {
		t.Errorf("a newer agent's report: %+v %v", newer, err)
	}
	var api *client.APIError
	rep.ID = "gw2-1"
	if _, _, err := agent(tok2).SendReport(ctx, rep); !errors.As(err, &api) || api.Status != http.StatusForbidden ||
		api.Message != `the agent token of host gw2 may not report for host "gw1": forbidden` {
		t.Errorf("gw2's token reporting for gw1: %v", err)
	}
	for _, tok := range []string{adaToken, "mla_wrong", ""} {
		if _, _, err := agent(tok).SendReport(ctx, rep); !errors.As(err, &api) || api.Status != http.StatusUnauthorized {
			t.Errorf("report with token %q: %v", tok, err)
		}
	}
	// An agent token opens nothing else.
	if _, err := agent(tok1).Journal(ctx, client.JournalQuery{}); !errors.As(err, &api) || api.Status != http.StatusUnauthorized {
		t.Errorf("agent token reading the journal: %v", err)
	}
	out = must("journal", "list", "gw1", "--kind", "change-report")
	if !regexp.MustCompile(`(?m)^\d+ .* gw1 +agent:gw1 +- +1 file changed \(1 modified\), 1 package upgraded$`).MatchString(out) || strings.Count(out, "\n") != 3 {
		t.Errorf("reports of gw1:\n%s", out)
	}
	show := must("journal", "show", itoa(e.ID))
	for _, want := range []string{"report:", "gw1-1", "modified  /etc/hosts", "upgraded  nginx", "1 -> 2"} {
		if !strings.Contains(show, want) {
			t.Errorf("journal show lacks %q:\n%s", want, show)
		}
	}
	// Every entry and token is in the audit log; the token itself never.
	audit := must("audit", "--entity", "journal_entry")
	if strings.Count(audit, "journal_entry") != 5 || !strings.Contains(audit, "agent:gw1") {
		t.Errorf("audit of the journal:\n%s", audit)
	}
	if audit := must("audit", "--entity", "agent_token", "--json"); strings.Count(audit, `"action": "create"`) != 2 || strings.Contains(audit, tok1) {
		t.Errorf("audit of agent tokens:\n%s", audit)
	}
	id := regexp.MustCompile(`(?m)^(\d+) +gw2 `).FindStringSubmatch(must("journal", "token", "list"))
	if id == nil {
		t.Fatal("no gw2 token listed")
	}
	must("journal", "token", "revoke", id[1])
	if _, _, err := agent(tok2).SendReport(ctx, registry.ChangeReport{ID: "gw2-2", Files: rep.Files}); !errors.As(err, &api) || api.Status != http.StatusUnauthorized {
		t.Errorf("revoked token: %v", err)
	}
}

func itoa(n int64) string { return fmtID(n) }
