package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/registry"
)

// UsageDays is how many UTC days of traffic SeedUsage writes, the span of
// the member pages' chart.
const UsageDays = 90

// SeedUsage writes UsageDays of accounting for the demo subscriber's line,
// as its NAS would have reported it: one session a day, closed at night,
// and today's still open. So the member page's usage chart and the
// session list show something from the start. The figures are
// deterministic for a given today.
func SeedUsage(ctx context.Context, reg *registry.Service, st accounting.Store) (int, error) {
	sub, err := reg.FindSubscription(ctx, Login)
	if err != nil {
		return 0, fmt.Errorf("demo usage: %w", err)
	}
	var (
		ipv4            netip.Addr
		ipv6, delegated netip.Prefix
	)
	for _, a := range sub.Addresses {
		switch a.Role {
		case registry.RoleIPv4:
			ipv4 = a.Block.Addr()
		case registry.RoleIPv6:
			ipv6 = a.Block
		case registry.RoleDelegated:
			delegated = a.Block
		}
	}
	now := reg.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	rng := rand.New(rand.NewPCG(seed1, uint64(today.Unix())))
	var recs []accounting.Record
	rec := func(status accounting.Status, day time.Time, at time.Time, secs uint32, in, out uint64) accounting.Record {
		return accounting.Record{
			NAS: NASName, Status: status, SessionID: "demo-" + day.Format("20060102"), Login: sub.Login,
			SubscriptionID: sub.ID, MemberID: sub.MemberID, IPv4: ipv4, IPv6Prefix: ipv6, Delegated: delegated,
			SessionTime: secs, InputOctets: in, OutputOctets: out, Interim: 300, EventTime: at,
			TerminateCause: 1,
		}
	}
	for i := UsageDays - 1; i >= 0; i-- {
		day := today.AddDate(0, 0, -i)
		// A household: more on weekends, a slow drift up, some noise.
		base := 2.5e9 + 1.2e9*math.Sin(float64(i)/9)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			base *= 1.6
		}
		down := uint64(base * (0.6 + 0.8*rng.Float64()))
		up := down / uint64(6+rng.IntN(6))
		start := day.Add(10 * time.Second)
		recs = append(recs, rec(accounting.Start, day, start, 0, 0, 0))
		if i == 0 {
			// Today's session is open: an interim update a minute ago,
			// with the share of the day gone by.
			at := now.Add(-time.Minute)
			if !at.After(start) {
				continue
			}
			frac := at.Sub(day).Hours() / 24
			recs = append(recs, rec(accounting.Interim, day, at, uint32(at.Sub(start).Seconds()), uint64(float64(up)*frac), uint64(float64(down)*frac)))
			continue
		}
		end := day.Add(24*time.Hour - time.Minute)
		recs = append(recs, rec(accounting.Stop, day, end, uint32(end.Sub(start).Seconds()), up, down))
	}
	if err := st.WriteAccounting(ctx, recs); err != nil {
		return 0, fmt.Errorf("demo usage: %w", err)
	}
	return UsageDays, nil
}
