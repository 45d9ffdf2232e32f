package status_test

import (
	"slices"
	"testing"

	"maillon/internal/registry"
	"maillon/internal/status"
)

// MemberAffected answers, for one member, what AffectedMembers answers
// for everyone.
func TestMemberAffectedAgreesWithAffectedMembers(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	comps := []registry.Component{n.internet, n.curieNet, n.vpn,
		f.component("switch", "", "host:"+id(n.sw.ID)), f.component("all", "", "service:all"), f.component("none", "", "service:mail")}
	members := []registry.Member{n.ada, n.bob, n.eve, n.zoe, n.vic}
	check := func(when string) {
		t.Helper()
		hits := 0
		for _, c := range comps {
			err := f.reg.Read(f.ctx, func(r registry.Reader) error {
				all, err := status.AffectedMembers(f.ctx, r, []int64{c.ID})
				if err != nil {
					return err
				}
				for _, m := range members {
					got, err := status.MemberAffected(f.ctx, r, m.ID, []int64{c.ID})
					if err != nil {
						return err
					}
					want := slices.ContainsFunc(all, func(a registry.Member) bool { return a.ID == m.ID })
					if got != want {
						t.Errorf("%s: %s, %s: MemberAffected = %v, AffectedMembers says %v", when, c.Name, m.Name, got, want)
					}
					if got {
						hits++
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if hits == 0 {
			t.Fatalf("%s: nobody affected by anything: the comparison proves nothing", when)
		}
	}
	check("as built")
	ada := must[registry.Subscription](t)(f.reg.FindSubscription(f.ctx, "room-02:00:00:00:00:01"))
	must[registry.Subscription](t)(f.reg.UpdateSubscription(f.ctx, f.admin, ada.ID, registry.SubscriptionInput{State: ptr(registry.SubSuspended)}))
	check("Ada's line suspended")
}
