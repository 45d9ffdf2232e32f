package store_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"maillon/internal/registry"
)

func sshSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signCert signs a certificate the way internal/sshca does, with what the
// registry checks left to the caller.
func signCert(t *testing.T, ca ssh.Signer, key ssh.PublicKey, typ uint32, serial uint64, principals []string, after, before time.Time) string {
	t.Helper()
	c := &ssh.Certificate{Key: key, Serial: serial, CertType: typ, KeyId: "test", ValidPrincipals: principals,
		ValidAfter: uint64(after.Unix()), ValidBefore: uint64(before.Unix())}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c)))
}

func certState(f *fixture, serial int64) registry.Certificate {
	f.t.Helper()
	var c registry.Certificate
	if err := f.reg.Read(f.ctx, func(r registry.Reader) error {
		var err error
		c, err = r.GetCertificate(f.ctx, serial)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return c
}

func listCerts(f *fixture, flt registry.CertificateFilter) []int64 {
	f.t.Helper()
	var out []int64
	if err := f.reg.Read(f.ctx, func(r registry.Reader) error {
		cs, err := r.ListCertificates(f.ctx, flt)
		for _, c := range cs {
			out = append(out, c.Serial)
		}
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestCertificatesIssueAndRevoke records user and host certificates, lists
// them by what the CA and the roster ask, and revokes them by serial, by
// key, and by deleting their holder, each step in the audit log.
func TestCertificatesIssueAndRevoke(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		ca, hostCA := sshSigner(t), sshSigner(t)
		ada, err := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: ptr("Ada"), Email: ptr("ada@example.org"), Roles: &[]registry.Role{"technical-officer"}})
		if err != nil {
			t.Fatal(err)
		}
		bob, _ := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: ptr("Bob"), Email: ptr("bob@example.org"), Roles: &[]registry.Role{"admin"}})
		host, err := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw1"), Address: ptr("192.0.2.1")})
		if err != nil {
			t.Fatal(err)
		}
		events, stop := f.reg.Events().Subscribe()
		defer stop()

		now := f.clock.Now().Truncate(time.Second)
		year := now.Add(393 * 24 * time.Hour)
		adaKey, bobKey := sshSigner(t).PublicKey(), sshSigner(t).PublicKey()
		var serials []int64
		for range 4 {
			n, err := f.reg.ReserveCertificateSerial(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			serials = append(serials, n)
		}
		if !slices.Equal(serials, []int64{1, 2, 3, 4}) {
			t.Fatalf("serials = %v", serials)
		}
		rec := func(admin, host *int64, text string) (registry.Certificate, error) {
			return f.reg.RecordCertificate(f.ctx, f.admin, registry.CertificateInput{AdminID: admin, HostID: host, Certificate: text})
		}
		c1, err := rec(&ada.ID, nil, signCert(t, ca, adaKey, ssh.UserCert, 1, []string{"technical-officer"}, now.Add(-5*time.Minute), year))
		if err != nil {
			t.Fatal(err)
		}
		if c1.Serial != 1 || c1.Kind != registry.CertUser || c1.Subject != "Ada" || c1.Fingerprint != ssh.FingerprintSHA256(adaKey) ||
			!c1.ValidBefore.Equal(year) || c1.SignerFingerprint != ssh.FingerprintSHA256(ca.PublicKey()) || c1.IssuedBy != "test" {
			t.Fatalf("recorded = %+v", c1)
		}
		got := certState(f, 1)
		got.State = ""
		if got.Certificate != c1.Certificate || !got.ValidAfter.Equal(c1.ValidAfter) || !got.IssuedAt.Equal(c1.IssuedAt) ||
			!slices.Equal(got.Principals, []string{"technical-officer"}) || *got.AdminID != ada.ID || got.RevokedAt != nil {
			t.Fatalf("read back = %+v\nwant %+v", got, c1)
		}
		if s := got.StateAt(f.clock.Now()); s != registry.CertValid {
			t.Fatalf("state = %s", s)
		}
		if _, err := rec(&bob.ID, nil, signCert(t, ca, bobKey, ssh.UserCert, 2, []string{"admin"}, now, year)); err != nil {
			t.Fatal(err)
		}
		if _, err := rec(nil, &host.ID, signCert(t, hostCA, sshSigner(t).PublicKey(), ssh.HostCert, 3, []string{"gw1", "192.0.2.1"}, now, year)); err != nil {
			t.Fatal(err)
		}
		// A second certificate for Ada's key, short-lived.
		if _, err := rec(&ada.ID, nil, signCert(t, ca, adaKey, ssh.UserCert, 4, []string{"technical-officer"}, now, now.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}

		for name, bad := range map[string]func() (registry.Certificate, error){
			"serial taken": func() (registry.Certificate, error) {
				return rec(&ada.ID, nil, signCert(t, ca, adaKey, ssh.UserCert, 1, []string{"x"}, now, year))
			},
			"serial 0": func() (registry.Certificate, error) {
				return rec(&ada.ID, nil, signCert(t, ca, adaKey, ssh.UserCert, 0, []string{"x"}, now, year))
			},
			"no principals": func() (registry.Certificate, error) {
				return rec(&ada.ID, nil, signCert(t, ca, adaKey, ssh.UserCert, 9, nil, now, year))
			},
			"user cert for a host": func() (registry.Certificate, error) {
				return rec(nil, &host.ID, signCert(t, ca, adaKey, ssh.UserCert, 9, []string{"x"}, now, year))
			},
			"unknown admin": func() (registry.Certificate, error) {
				return rec(ptr(int64(999)), nil, signCert(t, ca, adaKey, ssh.UserCert, 9, []string{"x"}, now, year))
			},
			"never expires": func() (registry.Certificate, error) {
				c := &ssh.Certificate{Key: adaKey, Serial: 9, CertType: ssh.UserCert, ValidPrincipals: []string{"x"}, ValidBefore: ssh.CertTimeInfinity}
				c.SignCert(rand.Reader, ca)
				return rec(&ada.ID, nil, string(ssh.MarshalAuthorizedKey(c)))
			},
			"plain key": func() (registry.Certificate, error) {
				return rec(&ada.ID, nil, string(ssh.MarshalAuthorizedKey(adaKey)))
			},
		} {
			if c, err := bad(); err == nil {
				t.Errorf("%s: recorded %+v", name, c)
			}
		}

		if got := listCerts(f, registry.CertificateFilter{}); !slices.Equal(got, []int64{4, 3, 2, 1}) {
			t.Fatalf("all = %v", got)
		}
		if got := listCerts(f, registry.CertificateFilter{Kind: registry.CertUser, AdminID: ada.ID}); !slices.Equal(got, []int64{4, 1}) {
			t.Fatalf("Ada's = %v", got)
		}
		if got := listCerts(f, registry.CertificateFilter{Fingerprint: ssh.FingerprintSHA256(adaKey)}); !slices.Equal(got, []int64{4, 1}) {
			t.Fatalf("by key = %v", got)
		}
		if got := listCerts(f, registry.CertificateFilter{Kind: registry.CertHost, HostID: host.ID}); !slices.Equal(got, []int64{3}) {
			t.Fatalf("host's = %v", got)
		}
		if got := listCerts(f, registry.CertificateFilter{ActiveAt: now.Add(2 * time.Hour)}); !slices.Equal(got, []int64{3, 2, 1}) {
			t.Fatalf("active in two hours = %v", got)
		}
		if got := listCerts(f, registry.CertificateFilter{ActiveAt: now.Add(-time.Hour)}); len(got) != 0 {
			t.Fatalf("active before issue = %v", got)
		}

		// Revocation by serial.
		r, err := f.reg.RevokeCertificate(f.ctx, f.admin, 2, "laptop stolen")
		if err != nil || r.RevokedAt == nil || r.RevocationReason != "laptop stolen" || r.StateAt(f.clock.Now()) != registry.CertRevoked {
			t.Fatalf("revoke = %+v, %v", r, err)
		}
		if _, err := f.reg.RevokeCertificate(f.ctx, f.admin, 2, ""); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("second revoke = %v", err)
		}
		if _, err := f.reg.RevokeCertificate(f.ctx, f.admin, 77, ""); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("revoke of an unknown serial = %v", err)
		}
		if got := certState(f, 2); got.RevokedAt == nil || !got.RevokedAt.Equal(*r.RevokedAt) || got.RevokedBy != "test" {
			t.Fatalf("revoked read back = %+v", got)
		}
		yes := true
		if got := listCerts(f, registry.CertificateFilter{Revoked: &yes}); !slices.Equal(got, []int64{2}) {
			t.Fatalf("revoked = %v", got)
		}

		// Revocation by key: both of Ada's certificates, given a
		// certificate file rather than the key.
		rk, revoked, err := f.reg.RevokeKey(f.ctx, f.admin, c1.Certificate, "key leaked")
		if err != nil || rk.Fingerprint != ssh.FingerprintSHA256(adaKey) || len(revoked) != 2 {
			t.Fatalf("revoke key = %+v, %d certificates, %v", rk, len(revoked), err)
		}
		if _, _, err := f.reg.RevokeKey(f.ctx, f.admin, string(ssh.MarshalAuthorizedKey(adaKey)), ""); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("second key revoke = %v", err)
		}
		if err := f.reg.CheckKeyNotRevoked(f.ctx, rk.Fingerprint); err == nil {
			t.Fatal("revoked key passes the check")
		}
		if _, err := rec(&ada.ID, nil, signCert(t, ca, adaKey, ssh.UserCert, 5, []string{"technical-officer"}, now, year)); !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("certificate on a revoked key = %v", err)
		}
		var keys []registry.RevokedKey
		f.reg.Read(f.ctx, func(r registry.Reader) error {
			keys, err = r.ListRevokedKeys(f.ctx)
			return err
		})
		if len(keys) != 1 || keys[0].Reason != "key leaked" || keys[0].PublicKey != strings.TrimSpace(string(ssh.MarshalAuthorizedKey(adaKey))) {
			t.Fatalf("revoked keys = %+v, %v", keys, err)
		}

		// Deleting the holder revokes what they still hold.
		if err := f.reg.DeleteHost(f.ctx, f.admin, host.ID); err != nil {
			t.Fatal(err)
		}
		if got := certState(f, 3); got.RevokedAt == nil || got.HostID != nil || got.Subject != "gw1" || got.RevocationReason != "host gw1 deleted" {
			t.Fatalf("host certificate after delete = %+v", got)
		}

		audit, err := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "certificate", EntityID: 1})
		if err != nil || len(audit) != 2 || audit[0].Action != "revoke" || audit[1].Action != "issue" ||
			!strings.Contains(string(audit[0].After), "key leaked") || audit[0].Before == nil {
			t.Fatalf("audit of certificate 1 = %+v, %v", audit, err)
		}
		audit, _ = f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "revoked_key", EntityID: rk.ID})
		if len(audit) != 1 || audit[0].Action != "revoke" {
			t.Fatalf("audit of the key = %+v", audit)
		}
		seen := map[string]int{}
		for len(events) > 0 {
			e := <-events
			seen[e.Entity+" "+e.Action]++
		}
		if seen["certificate issue"] != 4 || seen["certificate revoke"] != 4 || seen["revoked_key revoke"] != 1 {
			t.Fatalf("events = %v", seen)
		}

		// The roster's lever: everything an admin holds, at once.
		bobs, err := f.reg.RevokeAdminCertificates(f.ctx, f.admin, bob.ID, "title removed")
		if err != nil || len(bobs) != 0 { // already revoked by serial
			t.Fatalf("revoke Bob's = %d, %v", len(bobs), err)
		}
	})
}

// TestCertificateSerialsNeverRepeat reserves serials from many writers at
// once: on PostgreSQL (and through PgBouncer) they are separate
// connections racing for the counter.
func TestCertificateSerialsNeverRepeat(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		const n = 24
		var (
			mu   sync.Mutex
			seen = map[int64]bool{}
			wg   sync.WaitGroup
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := f.reg.ReserveCertificateSerial(f.ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[s] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("%d distinct serials out of %d", len(seen), n)
		}
		next, _ := f.reg.ReserveCertificateSerial(f.ctx)
		if next != n+1 {
			t.Fatalf("next serial = %d, want %d", next, n+1)
		}
	})
}

func TestDeletingAnAdminRevokesTheirCertificates(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		ca := sshSigner(t)
		a, _ := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: ptr("Leaving"), Email: ptr("l@example.org"), Roles: &[]registry.Role{"technical-officer"}})
		now := f.clock.Now()
		for i := range 2 {
			n, _ := f.reg.ReserveCertificateSerial(f.ctx)
			if _, err := f.reg.RecordCertificate(f.ctx, f.admin, registry.CertificateInput{AdminID: &a.ID,
				Certificate: signCert(t, ca, sshSigner(t).PublicKey(), ssh.UserCert, uint64(n), []string{"technical-officer"}, now, now.Add(time.Duration(i+1)*time.Hour))}); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.reg.DeleteAdmin(f.ctx, f.admin, a.ID); err != nil {
			t.Fatal(err)
		}
		yes := true
		got := listCerts(f, registry.CertificateFilter{Revoked: &yes})
		if len(got) != 2 {
			t.Fatalf("revoked after delete = %v", got)
		}
		if c := certState(f, got[0]); c.AdminID != nil || c.Subject != "Leaving" || c.RevocationReason != "admin Leaving deleted" {
			t.Fatalf("certificate of a deleted admin = %+v", c)
		}
	})
}
