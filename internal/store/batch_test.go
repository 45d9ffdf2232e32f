package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"maillon/internal/registry"
)

// The transaction-scoped caches of a batch (pool list, locked pools and
// their cursors, drained pools, objects created earlier in the batch, the
// statement cache) must give exactly what one write per object gives.

func TestBatchAllocatesLikeSingleWrites(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Grace")
		err := f.reg.Batch(f.ctx, f.admin, func(b *registry.Batch) error {
			for i := range 5 {
				mm, err := b.CreateMember(registry.MemberInput{Name: ptr(fmt.Sprintf("B%d", i)), Email: ptr(fmt.Sprintf("b%d@example.org", i))})
				if err != nil {
					return err
				}
				s, err := b.CreateSubscription(registry.SubscriptionInput{MemberID: &mm.ID, Kind: ptr(registry.KindPPP), Login: ptr(fmt.Sprintf("b%d@DEMO", i)), Password: ptr("batch-password")})
				if err != nil {
					return err
				}
				if got, want := addrOf(s, registry.RoleIPv4).String(), fmt.Sprintf("198.51.100.%d/32", i+1); got != want {
					return fmt.Errorf("line %d got %s, want %s", i, got, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The cursors the batch moved were written at commit.
		s, err := f.line(m.ID, "after@DEMO")
		if err != nil {
			t.Fatal(err)
		}
		if got := addrOf(s, registry.RoleIPv4).String(); got != "198.51.100.6/32" {
			t.Fatalf("line after the batch got %s, want 198.51.100.6/32", got)
		}
		if got := addrOf(s, registry.RoleDelegated).String(); got != "2001:db8:1000:500::/56" {
			t.Fatalf("line after the batch got delegated %s, want 2001:db8:1000:500::/56", got)
		}
	})
}

func TestFailedBatchLeavesCursors(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Ada")
		boom := errors.New("boom")
		err := f.reg.Batch(f.ctx, f.admin, func(b *registry.Batch) error {
			for i := range 3 {
				if _, err := b.CreateSubscription(registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindPPP), Login: ptr(fmt.Sprintf("x%d@DEMO", i)), Password: ptr("batch-password")}); err != nil {
					return err
				}
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("batch = %v", err)
		}
		s, err := f.line(m.ID, "first@DEMO")
		if err != nil || addrOf(s, registry.RoleIPv4).String() != "198.51.100.1/32" {
			t.Fatalf("after a failed batch the first line got %v, %v", s.Addresses, err)
		}
	})
}

// A pool created in the middle of a batch is seen by the lines after it,
// and an exhausted one is left for the next.
func TestBatchSeesPrefixesItCreates(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		m := f.member("Hedy")
		err := f.reg.Batch(f.ctx, f.admin, func(b *registry.Batch) error {
			line := func(login string) (registry.Subscription, error) {
				return b.CreateSubscription(registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindPPP), Login: ptr(login), Password: ptr("batch-password")})
			}
			if _, err := b.CreatePrefix(registry.PrefixInput{CIDR: ptr("192.0.2.0/30"), Purpose: ptr(registry.PurposeSubscriber)}); err != nil {
				return err
			}
			for i := range 2 {
				if _, err := line(fmt.Sprintf("a%d@DEMO", i)); err != nil {
					return err
				}
			}
			_, err := line("full@DEMO")
			return err
		})
		if !errors.Is(err, registry.ErrExhausted) {
			t.Fatalf("third line in a /30 = %v, want exhausted", err)
		}
		err = f.reg.Batch(f.ctx, f.admin, func(b *registry.Batch) error {
			line := func(login string) (registry.Subscription, error) {
				return b.CreateSubscription(registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindPPP), Login: ptr(login), Password: ptr("batch-password")})
			}
			if _, err := b.CreatePrefix(registry.PrefixInput{CIDR: ptr("192.0.2.0/30"), Purpose: ptr(registry.PurposeSubscriber)}); err != nil {
				return err
			}
			for i := range 2 {
				if _, err := line(fmt.Sprintf("a%d@DEMO", i)); err != nil {
					return err
				}
			}
			if _, err := b.CreatePrefix(registry.PrefixInput{CIDR: ptr("192.0.2.8/30"), Purpose: ptr(registry.PurposeSubscriber)}); err != nil {
				return err
			}
			s, err := line("b0@DEMO")
			if err != nil {
				return err
			}
			if got := addrOf(s, registry.RoleIPv4).String(); got != "192.0.2.9/32" {
				return fmt.Errorf("line after the new pool got %s, want 192.0.2.9/32", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A released block out of quarantine is reused once; the next lines of the
// same batch take fresh blocks.
func TestBatchReusesThenTakesFresh(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.prefix("192.0.2.0/28", registry.PurposeSubscriber)
		m := f.member("Barbara")
		var freed registry.Subscription
		for i := range 3 {
			s, err := f.line(m.ID, fmt.Sprintf("old%d@DEMO", i))
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				freed = s
			}
		}
		if err := f.reg.DeleteSubscription(f.ctx, f.admin, freed.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(25 * time.Hour)
		var got []string
		err := f.reg.Batch(f.ctx, f.admin, func(b *registry.Batch) error {
			for i := range 3 {
				s, err := b.CreateSubscription(registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindPPP), Login: ptr(fmt.Sprintf("new%d@DEMO", i)), Password: ptr("batch-password")})
				if err != nil {
					return err
				}
				got = append(got, addrOf(s, registry.RoleIPv4).String())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{addrOf(freed, registry.RoleIPv4).String(), "192.0.2.4/32", "192.0.2.5/32"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("batch got %v, want %v", got, want)
		}
	})
}

// What CreateSubscription returns (built in memory, without reading back)
// is what a read gives.
func TestCreatedSubscriptionIsWhatIsStored(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Katherine")
		for _, in := range []registry.SubscriptionInput{
			{MemberID: &m.ID, Kind: ptr(registry.KindPPP), Login: ptr("k1@DEMO"), Password: ptr("k-password"), UpstreamRef: ptr("VX-FTTH-1"), MAC: ptr("AA-BB-CC-00-00-01")},
			{MemberID: &m.ID, Kind: ptr(registry.KindRoomPort), Login: ptr("room-a101"), VLAN: ptr(110)},
		} {
			s, err := f.reg.CreateSubscription(f.ctx, f.admin, in)
			if err != nil {
				t.Fatal(err)
			}
			var read registry.Subscription
			err = f.reg.Read(f.ctx, func(r registry.Reader) error {
				var err error
				read, err = r.GetSubscription(f.ctx, s.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(s)
			b, _ := json.Marshal(read)
			if !bytes.Equal(a, b) || !bytes.Equal(s.SealedPassword, read.SealedPassword) {
				t.Fatalf("created:\n%s\nread back:\n%s", a, b)
			}
		}
	})
}

// A batch that refers to a member it did not create still checks it.
func TestBatchChecksReferences(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		err := f.reg.Batch(f.ctx, f.admin, func(b *registry.Batch) error {
			_, err := b.CreateSubscription(registry.SubscriptionInput{MemberID: ptr(int64(424242)), Kind: ptr(registry.KindPPP), Login: ptr("ghost@DEMO"), Password: ptr("ghost-password")})
			return err
		})
		var ve *registry.ValidationError
		if !errors.As(err, &ve) || ve.Field != "member_id" {
			t.Fatalf("line of a missing member = %v", err)
		}
	})
}
