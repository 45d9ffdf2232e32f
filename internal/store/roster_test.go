package store_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"maillon/internal/registry"
)

func (f *fixture) rosterAdmin(name string, roles ...registry.Role) registry.Admin {
	f.t.Helper()
	a, err := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: ptr(name), Email: ptr(name + "@example.org"), Roles: &roles})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) userCert(ca ssh.Signer, admin registry.Admin, serial uint64, validity time.Duration) registry.Certificate {
	f.t.Helper()
	now := f.clock.Now().Truncate(time.Second)
	c, err := f.reg.RecordCertificate(f.ctx, f.admin, registry.CertificateInput{AdminID: &admin.ID,
		Certificate: signCert(f.t, ca, sshSigner(f.t).PublicKey(), ssh.UserCert, serial, []string{"technical-officer"}, now.Add(-time.Minute), now.Add(validity))})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func auditActions(f *fixture, entity string, id int64) []string {
	f.t.Helper()
	entries, err := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: entity, EntityID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	slices.Sort(out)
	return out
}

func requestOf(c registry.RosterCampaign, admin string) registry.RosterRequest {
	for _, r := range c.Requests {
		if r.AdminName == admin {
			return r
		}
	}
	return registry.RosterRequest{}
}

// TestRosterCampaign runs a renewal through the store: who is asked, a
// link answered once, a failed mail retried with a fresh link, an
// unanswered admin losing their title and certificates at the deadline,
// the campaign closing, each step audited.
func TestRosterCampaign(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		ca := sshSigner(t)
		f.rosterAdmin("ada", registry.RoleTechnicalOfficer)
		bob := f.rosterAdmin("bob", registry.RoleTechnicalOfficer, registry.RoleAdmin)
		f.rosterAdmin("cy", registry.RoleAdmin)
		f.rosterAdmin("dee", registry.RoleReadOnly)
		bobCert := f.userCert(ca, bob, 1, 393*24*time.Hour)
		window := 14 * 24 * time.Hour

		if _, err := f.reg.RosterCampaign(f.ctx, 0); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("no campaign yet = %v", err)
		}
		if _, err := f.reg.StartRosterCampaign(f.ctx, f.admin, []registry.Role{"wizard"}, window); !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("unknown role = %v", err)
		}
		camp, err := f.reg.StartRosterCampaign(f.ctx, f.admin, []registry.Role{registry.RoleTechnicalOfficer}, window)
		if err != nil {
			t.Fatal(err)
		}
		if camp.State != registry.CampaignOpen || !camp.Deadline.Equal(camp.StartedAt.Add(window)) || len(camp.Requests) != 2 ||
			requestOf(camp, "ada").State != registry.RosterPending || requestOf(camp, "bob").State != registry.RosterPending {
			t.Fatalf("campaign = %+v", camp)
		}
		if _, err := f.reg.StartRosterCampaign(f.ctx, f.admin, []registry.Role{registry.RoleTechnicalOfficer}, window); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("second open campaign = %v", err)
		}
		adaReq, bobReq := requestOf(camp, "ada"), requestOf(camp, "bob")

		// Ada's mail: claimed once, sent, answered through the link once.
		token, claimed, err := f.reg.ClaimRosterMail(f.ctx, adaReq.ID, 10*time.Minute)
		if err != nil || claimed.ExpiresAt == nil || !claimed.ExpiresAt.Equal(camp.Deadline) {
			t.Fatalf("claim = %+v, %v", claimed, err)
		}
		if _, _, err := f.reg.ClaimRosterMail(f.ctx, adaReq.ID, 10*time.Minute); !registry.IsNotDue(err) {
			t.Fatalf("second claim = %v", err)
		}
		if _, err := f.reg.RecordRosterMail(f.ctx, adaReq.ID, nil); err != nil {
			t.Fatal(err)
		}
		for range 2 { // looking is not answering
			if r, err := f.reg.RosterRequestByToken(f.ctx, token); err != nil || r.ID != adaReq.ID {
				t.Fatalf("lookup = %+v, %v", r, err)
			}
		}
		if _, err := f.reg.RosterRequestByToken(f.ctx, token+"x"); !errors.Is(err, registry.ErrRosterLink) {
			t.Fatalf("wrong token = %v", err)
		}
		kept, err := f.reg.AnswerRosterByToken(f.ctx, token, true)
		if err != nil || kept.State != registry.RosterKept || kept.AnsweredBy != "admin:ada (roster link)" || kept.TokenHash != "" {
			t.Fatalf("keep = %+v, %v", kept, err)
		}
		if _, err := f.reg.AnswerRosterByToken(f.ctx, token, false); !errors.Is(err, registry.ErrRosterLink) {
			t.Fatalf("link used twice = %v", err)
		}

		// Bob's mail fails, is retried once the claim is stale, with a
		// fresh link; the first link never works.
		first, _, err := f.reg.ClaimRosterMail(f.ctx, bobReq.ID, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := f.reg.RecordRosterMail(f.ctx, bobReq.ID, errors.New("smtp: connection refused")); err != nil || r.MailError == "" || r.MailSentAt != nil {
			t.Fatalf("failed mail = %+v, %v", r, err)
		}
		f.clock.Advance(11 * time.Minute)
		second, _, err := f.reg.ClaimRosterMail(f.ctx, bobReq.ID, 10*time.Minute)
		if err != nil || second == first {
			t.Fatalf("retry = %v", err)
		}
		if _, err := f.reg.RosterRequestByToken(f.ctx, first); !errors.Is(err, registry.ErrRosterLink) {
			t.Fatalf("first link after the retry = %v", err)
		}
		if r, err := f.reg.RecordRosterMail(f.ctx, bobReq.ID, nil); err != nil || r.MailError != "" || r.MailSentAt == nil {
			t.Fatalf("sent = %+v, %v", r, err)
		}

		// Not expired before the deadline; no answer after it.
		if _, err := f.reg.ExpireRosterRequest(f.ctx, bobReq.ID); !registry.IsNotDue(err) {
			t.Fatalf("expire before the deadline = %v", err)
		}
		f.clock.Advance(window)
		if _, err := f.reg.RosterRequestByToken(f.ctx, second); !errors.Is(err, registry.ErrRosterLink) {
			t.Fatalf("link after the deadline = %v", err)
		}
		if _, err := f.reg.AnswerRoster(f.ctx, f.admin, bob.ID, true); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("answer after the deadline = %v", err)
		}
		removed, err := f.reg.ExpireRosterRequest(f.ctx, bobReq.ID)
		if err != nil || removed.State != registry.RosterRemoved || !slices.Equal(removed.Revoked, []int64{bobCert.Serial}) {
			t.Fatalf("expire = %+v, %v", removed, err)
		}
		var bobNow registry.Admin
		f.reg.Read(f.ctx, func(r registry.Reader) error { bobNow, err = r.GetAdmin(f.ctx, bob.ID); return err })
		if !slices.Equal(bobNow.Roles, []registry.Role{registry.RoleAdmin}) {
			t.Fatalf("bob's roles = %v", bobNow.Roles)
		}
		if c := certState(f, bobCert.Serial); c.RevokedAt == nil || c.RevokedBy != "system" {
			t.Fatalf("bob's certificate = %+v", c)
		}
		camp, err = f.reg.RosterCampaign(f.ctx, 0)
		if err != nil || camp.State != registry.CampaignClosed || camp.ClosedAt == nil {
			t.Fatalf("campaign after the deadline = %+v, %v", camp, err)
		}

		// The other admins are told once.
		if _, err := f.reg.ClaimRosterNotice(f.ctx, adaReq.ID, time.Minute); !registry.IsNotDue(err) {
			t.Fatalf("notice for someone who kept their title = %v", err)
		}
		if _, err := f.reg.ClaimRosterNotice(f.ctx, bobReq.ID, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.RecordRosterNotice(f.ctx, bobReq.ID, []string{"ada@example.org"}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		if _, err := f.reg.ClaimRosterNotice(f.ctx, bobReq.ID, time.Minute); !registry.IsNotDue(err) {
			t.Fatalf("second notice = %v", err)
		}

		if got := auditActions(f, "roster_campaign", camp.ID); !slices.Equal(got, []string{"close", "start"}) {
			t.Fatalf("campaign audit = %v", got)
		}
		if got := auditActions(f, "roster_request", adaReq.ID); !slices.Equal(got, []string{"keep", "mail"}) {
			t.Fatalf("ada's audit = %v", got)
		}
		if got := auditActions(f, "roster_request", bobReq.ID); !slices.Equal(got, []string{"mail", "notice", "remove"}) {
			t.Fatalf("bob's audit = %v", got)
		}
		if got := auditActions(f, "certificate", bobCert.Serial); !slices.Equal(got, []string{"issue", "revoke"}) {
			t.Fatalf("certificate audit = %v", got)
		}
		if got := auditActions(f, "admin", bob.ID); !slices.Equal(got, []string{"create", "update"}) {
			t.Fatalf("bob's admin audit = %v", got)
		}

		// The yearly start happens once since its date, whoever tries.
		if _, err := f.reg.StartYearlyRosterCampaign(f.ctx, f.admin, []registry.Role{registry.RoleTechnicalOfficer}, window, camp.StartedAt); !registry.IsNotDue(err) {
			t.Fatalf("yearly start after a campaign since its date = %v", err)
		}

		// A new campaign may start once the last one closed; stepping
		// down takes the title at once.
		camp2, err := f.reg.StartRosterCampaign(f.ctx, f.admin, []registry.Role{registry.RoleTechnicalOfficer}, window)
		if err != nil || len(camp2.Requests) != 1 || camp2.Requests[0].AdminName != "ada" {
			t.Fatalf("second campaign = %+v, %v", camp2, err)
		}
		down, err := f.reg.AnswerRoster(f.ctx, registry.Actor{Name: "local:root"}, camp2.Requests[0].AdminID, false)
		if err != nil || down.State != registry.RosterSteppedDown || down.AnsweredBy != "local:root" {
			t.Fatalf("step down = %+v, %v", down, err)
		}
		if camp2, _ = f.reg.RosterCampaign(f.ctx, camp2.ID); camp2.State != registry.CampaignClosed {
			t.Fatalf("campaign after the last answer = %+v", camp2)
		}
		// Nobody holds the title any more: a campaign asks nobody and
		// closes at once.
		camp3, err := f.reg.StartRosterCampaign(f.ctx, f.admin, []registry.Role{registry.RoleTechnicalOfficer}, window)
		if err != nil || len(camp3.Requests) != 0 || camp3.State != registry.CampaignClosed {
			t.Fatalf("empty campaign = %+v, %v", camp3, err)
		}
	})
}

// TestRosterClaimsRace has instances claim the same mail at once: one
// sends it.
func TestRosterClaimsRace(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.rosterAdmin("ada", registry.RoleTechnicalOfficer)
		camp, err := f.reg.StartRosterCampaign(f.ctx, f.admin, []registry.Role{registry.RoleTechnicalOfficer}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  int
			errs []error
		)
		for range 8 {
			wg.Go(func() {
				_, _, err := f.reg.ClaimRosterMail(f.ctx, camp.Requests[0].ID, time.Hour)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won++
				} else if !registry.IsNotDue(err) {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if won != 1 || len(errs) > 0 {
			t.Fatalf("%d claims won, errors %v", won, errs)
		}
	})
}

// TestCertReminders claims and records expiry reminders: once per
// certificate, retried when a claim goes stale, never for a revoked or
// expired certificate.
func TestCertReminders(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		ca := sshSigner(t)
		ada := f.rosterAdmin("ada", registry.RoleTechnicalOfficer)
		c1 := f.userCert(ca, ada, 1, 10*24*time.Hour)
		c2 := f.userCert(ca, ada, 2, 10*24*time.Hour)
		c3 := f.userCert(ca, ada, 3, time.Hour)

		cert, admin, err := f.reg.ClaimCertReminder(f.ctx, c1.Serial, time.Hour)
		if err != nil || cert.Serial != c1.Serial || admin.Email != "ada@example.org" {
			t.Fatalf("claim = %+v %+v %v", cert, admin, err)
		}
		if _, _, err := f.reg.ClaimCertReminder(f.ctx, c1.Serial, time.Hour); !registry.IsNotDue(err) {
			t.Fatalf("second claim = %v", err)
		}
		f.clock.Advance(2 * time.Hour) // the first attempt died: claim again
		if _, _, err := f.reg.ClaimCertReminder(f.ctx, c1.Serial, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := f.reg.RecordCertReminder(f.ctx, c1.Serial, "ada@example.org"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(2 * time.Hour)
		if _, _, err := f.reg.ClaimCertReminder(f.ctx, c1.Serial, time.Hour); !registry.IsNotDue(err) {
			t.Fatalf("claim after sending = %v", err)
		}
		if _, _, err := f.reg.ClaimCertReminder(f.ctx, c3.Serial, time.Hour); !registry.IsNotDue(err) {
			t.Fatalf("claim of an expired certificate = %v", err)
		}
		if _, err := f.reg.RevokeCertificate(f.ctx, f.admin, c2.Serial, "lost"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.reg.ClaimCertReminder(f.ctx, c2.Serial, time.Hour); !registry.IsNotDue(err) {
			t.Fatalf("claim of a revoked certificate = %v", err)
		}
		if got := auditActions(f, "certificate", c1.Serial); !slices.Equal(got, []string{"issue", "remind"}) {
			t.Fatalf("audit = %v", got)
		}
	})
}
