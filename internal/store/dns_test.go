package store_test

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"maillon/internal/registry"
)

func TestZonesRecordsAndReverseNames(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		z, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("Example.ORG")})
		if err != nil || z.Origin != "example.org." {
			t.Fatalf("zone = %+v, %v", z, err)
		}
		if _, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("example.org.")}); !errors.Is(err, registry.ErrConflict) || err.Error() != "create zone: origin is already taken" {
			t.Fatalf("duplicate zone = %v", err)
		}
		if _, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("100.51.198.in-addr.arpa")}); err == nil {
			t.Fatal("a reverse zone entry accepted")
		}
		r, err := f.reg.CreateRecord(f.ctx, f.admin, registry.RecordInput{ZoneID: &z.ID, Name: ptr("www"), Type: ptr("a"), Data: ptr("198.51.100.80")})
		if err != nil || r.Type != "A" {
			t.Fatalf("record = %+v, %v", r, err)
		}
		if _, err := f.reg.CreateRecord(f.ctx, f.admin, registry.RecordInput{ZoneID: &z.ID, Name: ptr("x"), Type: ptr("HINFO"), Data: ptr("a b")}); err == nil {
			t.Fatal("an unmanaged record type accepted")
		}
		var recs []registry.Record
		f.reg.Read(f.ctx, func(rd registry.Reader) error { recs, err = rd.ListRecords(f.ctx, z.ID); return err })
		if len(recs) != 1 {
			t.Fatalf("records = %+v", recs)
		}
		// Deleting the zone takes its records along.
		if err := f.reg.DeleteZone(f.ctx, f.admin, z.ID); err != nil {
			t.Fatal(err)
		}
		f.reg.Read(f.ctx, func(rd registry.Reader) error { recs, err = rd.ListRecords(f.ctx, 0); return err })
		if len(recs) != 0 {
			t.Fatalf("records outlive their zone: %+v", recs)
		}

		// A member's own reverse name, on the allocation holding the address.
		f.pools()
		m := f.member("Mail Server Owner")
		s, err := f.line(m.ID, "mail@DEMO")
		if err != nil {
			t.Fatal(err)
		}
		v4 := addrOf(s, registry.RoleIPv4).Addr()
		a, err := f.reg.SetReverseName(f.ctx, f.admin, v4, "MX.Example.net")
		if err != nil || a.ReverseName != "mx.example.net." {
			t.Fatalf("reverse name = %+v, %v", a, err)
		}
		got, _ := f.reg.FindSubscription(f.ctx, "mail@DEMO")
		for _, al := range got.Addresses {
			if al.Role == registry.RoleIPv4 && al.ReverseName != "mx.example.net." {
				t.Fatalf("stored reverse name = %q", al.ReverseName)
			}
		}
		if _, err := f.reg.SetReverseName(f.ctx, f.admin, netip.MustParseAddr("203.0.113.9"), "x.example.net"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("reverse name of an address nobody holds = %v", err)
		}
		audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "allocation"})
		if len(audit) != 1 || !strings.Contains(string(audit[0].After), "mx.example.net.") {
			t.Fatalf("audit = %+v", audit)
		}
	})
}

// fieldErr fails unless err is a ValidationError on field whose message
// contains want.
func fieldErr(t *testing.T, what string, err error, field, want string) {
	t.Helper()
	var ve *registry.ValidationError
	if !errors.As(err, &ve) || ve.Field != field || !strings.Contains(ve.Message, want) {
		t.Fatalf("%s = %v, want a %s error containing %q", what, err, field, want)
	}
}

// The walkthrough's names: each is refused on the field at fault, saying
// what is wrong with it, and nothing is written.
func TestDNSNamesValidated(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		_, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("bad zone")})
		fieldErr(t, "zone bad zone", err, "origin", `label "bad zone" holds a space`)
		z, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("example.net")})
		if err != nil {
			t.Fatal(err)
		}
		rec := func(name, typ, data string) error {
			_, err := f.reg.CreateRecord(f.ctx, f.admin, registry.RecordInput{ZoneID: &z.ID, Name: ptr(name), Type: ptr(typ), Data: ptr(data)})
			return err
		}
		fieldErr(t, "record 'bad name!'", rec("bad name!", "A", "198.51.100.1"), "name", `label "bad name!" holds a space`)
		fieldErr(t, "CNAME at the apex", rec("@", "CNAME", "foo.example.org."), "name", "a CNAME cannot be at the zone apex")
		if err := rec("shop", "A", "198.51.100.1"); err != nil {
			t.Fatal(err)
		}
		fieldErr(t, "CNAME beside an A", rec("shop", "CNAME", "other.example.net."), "name", "shop.example.net. already has a A record")
		if err := rec("blog", "CNAME", "pages.example.org."); err != nil {
			t.Fatal(err)
		}
		fieldErr(t, "TXT beside a CNAME", rec("blog", "TXT", "hello"), "name", "blog.example.net. is a CNAME to pages.example.org.")
		if err := rec("_dmarc", "TXT", "v=DMARC1; p=none"); err != nil {
			t.Fatalf("_dmarc TXT: %v", err)
		}
		// Editing a record into a conflict is refused too.
		var recs []registry.Record
		if err := f.reg.Read(f.ctx, func(rd registry.Reader) error { recs, err = rd.ListRecords(f.ctx, z.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 {
			t.Fatalf("records = %+v", recs)
		}
		for _, r := range recs {
			if r.Name == "_dmarc" {
				_, err := f.reg.UpdateRecord(f.ctx, f.admin, r.ID, registry.RecordInput{Name: ptr("blog")})
				fieldErr(t, "TXT moved beside a CNAME", err, "name", "is a CNAME to")
			}
		}

		_, err = f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("Web Server 1")})
		fieldErr(t, "host Web Server 1", err, "name", `label "Web Server 1" holds a space`)
		_, err = f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("bad/x")})
		fieldErr(t, "host bad/x", err, "name", `holds '/'`)

		_, err = f.reg.CreatePrefix(f.ctx, f.admin, registry.PrefixInput{CIDR: ptr("198.51.100.0/24"), Purpose: ptr(registry.PurposeSubscriber), PTRTemplate: ptr("{bogus}")})
		fieldErr(t, "ptr_template {bogus}", err, "ptr_template", `unknown placeholder "{bogus}"`)
		f.pools()
		m := f.member("Mail Server Owner")
		s, err := f.line(m.ID, "mail")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.reg.SetReverseName(f.ctx, f.admin, addrOf(s, registry.RoleIPv4).Addr(), "bad name")
		fieldErr(t, "reverse name 'bad name'", err, "reverse_name", `label "bad name" holds a space`)
	})
}

// A CNAME stands alone at its name (RFC 1034 §3.6.2): two admins adding a
// CNAME and an A record of the same name at the same moment must not both
// succeed. On PostgreSQL each checks the zone's records in its own
// transaction; the zone's lock makes the second wait for the first.
func TestConcurrentCNAMEConflict(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		z, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("race.example.")})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			name := "n" + strconv.Itoa(i)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for j, rec := range []registry.RecordInput{
				{ZoneID: &z.ID, Name: &name, Type: ptr("CNAME"), Data: ptr("elsewhere.example.")},
				{ZoneID: &z.ID, Name: &name, Type: ptr("A"), Data: ptr("192.0.2.1")},
			} {
				wg.Go(func() { _, errs[j] = f.reg.CreateRecord(f.ctx, f.admin, rec) })
			}
			wg.Wait()
			if errs[0] == nil && errs[1] == nil {
				t.Fatalf("%s: a CNAME and an A record were both added", name)
			}
			if errs[0] != nil && errs[1] != nil {
				t.Fatalf("%s: both refused: %v; %v", name, errs[0], errs[1])
			}
		}
	})
}
