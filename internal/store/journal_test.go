package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"maillon/internal/registry"
)

func journalOf(f *fixture, flt registry.JournalFilter) []registry.JournalEntry {
	f.t.Helper()
	var out []registry.JournalEntry
	if err := f.reg.Read(f.ctx, func(r registry.Reader) error {
		var err error
		out, err = r.ListJournal(f.ctx, flt)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func texts(es []registry.JournalEntry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Host+":"+e.Text)
	}
	return strings.Join(out, " | ")
}

// TestJournalInterventions writes interventions on two hosts, lists them
// per host and for the whole network, refuses bad ones, and keeps a
// deleted host's history under its name.
func TestJournalInterventions(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		gw1, err := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw1")})
		if err != nil {
			t.Fatal(err)
		}
		gw2, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw2")})
		ada := registry.Actor{Name: "admin:Ada"}

		e1, err := f.reg.AddJournalEntry(f.ctx, ada, registry.JournalInput{HostID: gw1.ID, Text: "  replaced the PSU  "})
		if err != nil {
			t.Fatal(err)
		}
		if e1.Text != "replaced the PSU" || e1.Author != "admin:Ada" || e1.Host != "gw1" || *e1.HostID != gw1.ID ||
			e1.Kind != registry.JournalIntervention || !e1.At.Equal(f.clock.Now()) {
			t.Fatalf("entry = %+v", e1)
		}
		f.clock.Advance(time.Hour)
		earlier := f.clock.Now().Add(-30 * time.Minute)
		e2, err := f.reg.AddJournalEntry(f.ctx, ada, registry.JournalInput{HostID: gw2.ID, Text: "rebooted after the kernel upgrade",
			At: &earlier, RelatedKind: registry.RelatedMaintenance, RelatedID: ptr(int64(7))})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		if _, err := f.reg.AddJournalEntry(f.ctx, registry.Actor{Name: "local:root"}, registry.JournalInput{HostID: gw1.ID, Text: "apt upgrade",
			RelatedKind: registry.RelatedIncident, RelatedID: ptr(int64(3))}); err != nil {
			t.Fatal(err)
		}
		got, err := func() (registry.JournalEntry, error) {
			var e registry.JournalEntry
			err := f.reg.Read(f.ctx, func(r registry.Reader) error {
				var err error
				e, err = r.GetJournalEntry(f.ctx, e2.ID)
				return err
			})
			return e, err
		}()
		if err != nil || !reflect.DeepEqual(got, e2) || !got.At.Equal(earlier) || got.RelatedKind != "maintenance" || *got.RelatedID != 7 {
			t.Fatalf("read back %+v, %v\nwrote %+v", got, err, e2)
		}

		if s := texts(journalOf(f, registry.JournalFilter{})); s != "gw1:apt upgrade | gw2:rebooted after the kernel upgrade | gw1:replaced the PSU" {
			t.Errorf("whole network: %s", s)
		}
		if s := texts(journalOf(f, registry.JournalFilter{HostID: gw1.ID})); s != "gw1:apt upgrade | gw1:replaced the PSU" {
			t.Errorf("gw1: %s", s)
		}
		if s := texts(journalOf(f, registry.JournalFilter{Limit: 1})); s != "gw1:apt upgrade" {
			t.Errorf("limit 1: %s", s)
		}

		future := f.clock.Now().Add(time.Hour)
		for _, bad := range []struct {
			in    registry.JournalInput
			field string
		}{
			{registry.JournalInput{HostID: gw1.ID, Text: "  "}, "text"},
			{registry.JournalInput{HostID: 9999, Text: "x"}, "host_id"},
			{registry.JournalInput{HostID: gw1.ID, Text: "x", At: &future}, "at"},
			{registry.JournalInput{HostID: gw1.ID, Text: "x", RelatedKind: "outage", RelatedID: ptr(int64(1))}, "related_kind"},
			{registry.JournalInput{HostID: gw1.ID, Text: "x", RelatedKind: "incident"}, "related_id"},
			{registry.JournalInput{HostID: gw1.ID, Text: "x", RelatedID: ptr(int64(1))}, "related_kind"},
		} {
			_, err := f.reg.AddJournalEntry(f.ctx, ada, bad.in)
			var ve *registry.ValidationError
			if !errors.As(err, &ve) || ve.Field != bad.field {
				t.Errorf("%+v: got %v, want a %s error", bad.in, err, bad.field)
			}
		}
		if n := len(journalOf(f, registry.JournalFilter{})); n != 3 {
			t.Errorf("%d entries after refused ones", n)
		}
		audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "journal_entry"})
		if len(audit) != 3 || audit[0].Actor != "local:root" || audit[0].Action != "create" {
			t.Errorf("audit: %+v", audit)
		}

		// A deleted host keeps its history, under the name it had.
		if err := f.reg.DeleteHost(f.ctx, f.admin, gw1.ID); err != nil {
			t.Fatal(err)
		}
		all := journalOf(f, registry.JournalFilter{})
		if len(all) != 3 || all[0].HostID != nil || all[0].Host != "gw1" || all[2].HostID != nil {
			t.Errorf("after deleting gw1: %+v", all)
		}
	})
}

func sampleReport(id, host string, at time.Time) registry.ChangeReport {
	return registry.ChangeReport{
		ID: id, Host: host, FirstChange: at.Add(-time.Minute), LastChange: at,
		Files: []registry.FileChange{
			{Path: "/etc/nginx/nginx.conf", Change: registry.FileModified, Type: "file", Mode: "0644", Owner: "root:root", Size: 1490,
				SHA256: strings.Repeat("a", 64), OldSHA256: strings.Repeat("b", 64)},
			{Path: "/etc/ssh/sshd_config.d/maillon.conf", Change: registry.FileAdded, Type: "file", Mode: "0600", Owner: "root:root", SHA256: strings.Repeat("c", 64)},
			{Path: "/etc/shadow", Change: registry.FilePermissions, Type: "file", Mode: "0640", Owner: "root:shadow", OldMode: "0644"},
		},
		Packages: []registry.PackageChange{{Name: "nginx", Arch: "amd64", Change: registry.PackageUpgraded, Version: "1.22.1-9+deb12u1", OldVersion: "1.22.1-9"}},
	}
}

// TestChangeReportsAndAgentTokens: a host's agent token posts reports to
// that host's journal only, a report sent twice is recorded once, and the
// token goes with its host.
func TestChangeReportsAndAgentTokens(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		gw1, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw1")})
		gw2, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw2")})
		secret1, tok1, err := f.reg.CreateAgentToken(f.ctx, f.admin, gw1.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret1, "mla_") || tok1.Host != "gw1" || tok1.Name != "agent" || tok1.CreatedBy != "test" {
			t.Fatalf("token %q %+v", secret1, tok1)
		}
		secret2, _, _ := f.reg.CreateAgentToken(f.ctx, f.admin, gw2.ID, "gw2 agent")
		if _, _, err := f.reg.CreateAgentToken(f.ctx, f.admin, 9999, ""); err == nil {
			t.Error("a token for a host that does not exist")
		}

		who, err := f.reg.AuthenticateAgent(f.ctx, secret1)
		if err != nil || who.ID != tok1.ID || who.HostID != gw1.ID {
			t.Fatalf("authenticate: %+v, %v", who, err)
		}
		adminToken, _, _ := f.reg.CreateToken(f.ctx, f.admin, mustAdmin(f).ID, "cli", 0)
		for _, bad := range []string{adminToken, "mla_nope", ""} {
			if _, err := f.reg.AuthenticateAgent(f.ctx, bad); !errors.Is(err, registry.ErrUnauthenticated) {
				t.Errorf("agent token %q: %v", bad, err)
			}
		}
		if _, err := f.reg.Authenticate(f.ctx, secret1); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Errorf("an agent token used as an admin token: %v", err)
		}

		rep := sampleReport("r-2026-0001", "GW1", f.clock.Now().Add(-time.Hour))
		e, created, err := f.reg.RecordChangeReport(f.ctx, who, rep)
		if err != nil || !created {
			t.Fatalf("report: %v %v", created, err)
		}
		if e.Kind != registry.JournalChangeReport || e.Author != "agent:gw1" || e.Host != "gw1" ||
			e.Text != "3 files changed (1 added, 1 modified, 1 permissions changed), 1 package upgraded" || !e.At.Equal(rep.LastChange) {
			t.Errorf("entry %+v", e)
		}
		again, created, err := f.reg.RecordChangeReport(f.ctx, who, rep)
		if err != nil || created || again.ID != e.ID {
			t.Errorf("sent twice: %+v created=%v %v", again, created, err)
		}
		list := journalOf(f, registry.JournalFilter{HostID: gw1.ID})
		if len(list) != 1 || list[0].Report == nil || !reflect.DeepEqual(list[0].Report.Files, rep.Files) ||
			!reflect.DeepEqual(list[0].Report.Packages, rep.Packages) || list[0].Report.FilesTotal != 3 {
			t.Fatalf("journal of gw1: %+v", list)
		}
		audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "journal_entry"})
		if len(audit) != 1 || audit[0].Action != "report" || audit[0].Actor != "agent:gw1" || strings.Contains(string(audit[0].After), "nginx.conf") {
			t.Errorf("audit: %+v", audit)
		}
		var toks []registry.AgentToken
		f.reg.Read(f.ctx, func(r registry.Reader) error { toks, err = r.ListAgentTokens(f.ctx, gw1.ID); return err })
		if len(toks) != 1 || toks[0].LastUsedAt == nil {
			t.Errorf("gw1's tokens: %+v", toks)
		}

		// gw2's token, reporting for gw1: refused. Reusing gw1's report
		// id for its own host: a conflict, not gw1's entry.
		who2, _ := f.reg.AuthenticateAgent(f.ctx, secret2)
		if _, _, err := f.reg.RecordChangeReport(f.ctx, who2, sampleReport("r-x", "gw1", f.clock.Now())); !errors.Is(err, registry.ErrForbidden) {
			t.Errorf("another host's report: %v", err)
		}
		if _, _, err := f.reg.RecordChangeReport(f.ctx, who2, sampleReport("r-2026-0001", "gw2", f.clock.Now())); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("a report id of another host: %v", err)
		}
		for _, bad := range []registry.ChangeReport{
			{ID: "r-empty", Host: "gw2"},
			{ID: "bad id!", Host: "gw2", Files: rep.Files},
			{ID: "r-rel", Host: "gw2", Files: []registry.FileChange{{Path: "etc/x", Change: "added"}}},
			{ID: "r-chg", Host: "gw2", Files: []registry.FileChange{{Path: "/etc/x", Change: "touched"}}},
			{ID: "r-pkg", Host: "gw2", Packages: []registry.PackageChange{{Name: "x", Change: "purged"}}},
		} {
			if _, _, err := f.reg.RecordChangeReport(f.ctx, who2, bad); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if n := len(journalOf(f, registry.JournalFilter{HostID: gw2.ID})); n != 0 {
			t.Errorf("gw2 has %d entries", n)
		}

		// Revoked, or its host deleted: the token is gone.
		if err := f.reg.RevokeAgentToken(f.ctx, f.admin, who2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.AuthenticateAgent(f.ctx, secret2); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Errorf("revoked token: %v", err)
		}
		if err := f.reg.RevokeAgentToken(f.ctx, f.admin, who2.ID); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("revoked twice: %v", err)
		}
		if err := f.reg.DeleteHost(f.ctx, f.admin, gw1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.AuthenticateAgent(f.ctx, secret1); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Errorf("token of a deleted host: %v", err)
		}
		if list := journalOf(f, registry.JournalFilter{}); len(list) != 1 || list[0].Report == nil || list[0].HostID != nil {
			t.Errorf("the report outlives its host: %+v", list)
		}
	})
}

func mustAdmin(f *fixture) registry.Admin {
	f.t.Helper()
	a, err := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: ptr("Ada"), Email: ptr("ada@example.org"), Roles: &[]registry.Role{"admin"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}
