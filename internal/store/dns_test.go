package store_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"maillon/internal/registry"
)

func TestZonesRecordsAndReverseNames(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		z, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("Example.ORG")})
		if err != nil || z.Origin != "example.org." {
			t.Fatalf("zone = %+v, %v", z, err)
		}
		if _, err := f.reg.CreateZone(f.ctx, f.admin, registry.ZoneInput{Origin: ptr("example.org.")}); !errors.Is(err, registry.ErrConflict) || err.Error() != "create zone: origin is already taken: conflict" {
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
