package app_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/client"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// TestChangeReportsAreAnnounced: with journal.notify: [admins], a change
// report is mailed (through a real SMTP server) to the admins and
// technical officers, not to read-only ones, with the paths and versions
// and no contents; a report resent by its agent is not mailed again.
func TestChangeReportsAreAnnounced(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	cfg := app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "maillon.db"))
	cfg.Log.Level = "error"
	cfg.Notify.Email = config.Email{SMTP: smtp.Addr, From: "maillon <noc@example.org>", TLS: "none"}
	cfg.Journal.Notify = []string{config.JournalAdmins}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := apptest.Run(t, cfg)
	ctx := context.Background()
	reg := a.Registry()
	for _, ad := range []struct {
		name string
		role registry.Role
	}{{"ada", registry.RoleAdmin}, {"bob", registry.RoleTechnicalOfficer}, {"cy", registry.RoleReadOnly}} {
		if _, err := reg.CreateAdmin(ctx, registry.System, registry.AdminInput{Name: ptr(ad.name), Email: ptr(ad.name + "@example.org"), Roles: &[]registry.Role{ad.role}}); err != nil {
			t.Fatal(err)
		}
	}
	host, err := reg.CreateHost(ctx, registry.System, registry.HostInput{Name: ptr("gw1")})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := reg.CreateAgentToken(ctx, registry.System, host.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Options{URL: "http://" + a.HTTPAddr(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	rep := registry.ChangeReport{ID: "gw1-1-a", Host: "gw1",
		Files:    []registry.FileChange{{Path: "/etc/sudoers.d/ops", Change: "added", Type: "file", Mode: "0440", Owner: "root:root", SHA256: strings.Repeat("c", 64)}},
		Packages: []registry.PackageChange{{Name: "openssh-server", Change: "upgraded", Version: "1:9.2p1-2+deb12u4", OldVersion: "1:9.2p1-2+deb12u3"}},
		History:  "/var/lib/maillon-agent/history/000001-20261121T080000Z"}
	for range 2 { // the second time, as an agent that lost the answer
		if _, _, err := c.SendReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	rep.ID, rep.Packages = "gw1-2-b", nil
	rep.Files[0].Change = "removed"
	if _, _, err := c.SendReport(ctx, rep); err != nil {
		t.Fatal(err)
	}
	mails := smtp.Wait(t, 2)
	if len(mails) != 2 {
		t.Fatalf("%d mails", len(mails))
	}
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Subject)
		slices.Sort(m.To)
		if !slices.Equal(m.To, []string{"ada@example.org", "bob@example.org"}) {
			t.Errorf("mailed to %v", m.To)
		}
	}
	slices.Sort(subjects)
	if want := []string{"[maillon] gw1: 1 file changed (1 added), 1 package upgraded", "[maillon] gw1: 1 file changed (1 removed)"}; !slices.Equal(subjects, want) {
		t.Errorf("subjects %q", subjects)
	}
	for _, m := range mails {
		if strings.Contains(m.Subject, "added") && (!strings.Contains(m.Body, "added       /etc/sudoers.d/ops") ||
			!strings.Contains(m.Body, "openssh-server 1:9.2p1-2+deb12u3 -> 1:9.2p1-2+deb12u4") || !strings.Contains(m.Body, "/var/lib/maillon-agent/history/000001")) {
			t.Errorf("body:\n%s", m.Body)
		}
	}
}
