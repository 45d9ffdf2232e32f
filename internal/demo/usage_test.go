package demo_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/demo"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
)

func TestSeedUsageFillsNinetyDays(t *testing.T) {
	ctx := context.Background()
	usage := func() ([]accounting.Day, []accounting.Session) {
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "maillon.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		key, _ := secret.ParseKey(secret.NewKey())
		box, _ := secret.New(key)
		reg := registry.New(st, box, registry.Options{Now: func() time.Time { return day }})
		if _, err := demo.Seed(ctx, reg); err != nil {
			t.Fatal(err)
		}
		n, err := demo.SeedUsage(ctx, reg, st)
		if err != nil || n != demo.UsageDays {
			t.Fatalf("SeedUsage = %d, %v", n, err)
		}
		sub, _ := reg.FindSubscription(ctx, demo.Login)
		days, err := st.Usage(ctx, accounting.UsageFilter{SubscriptionID: sub.ID})
		if err != nil {
			t.Fatal(err)
		}
		open, err := st.ListSessions(ctx, accounting.SessionFilter{SubscriptionID: sub.ID, OpenOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		return days, open
	}
	days, open := usage()
	if len(days) != demo.UsageDays {
		t.Fatalf("%d days of usage, want %d", len(days), demo.UsageDays)
	}
	first, last := day.AddDate(0, 0, -(demo.UsageDays-1)).Format("2006-01-02"), day.Format("2006-01-02")
	for _, d := range days {
		if d.Day < first || d.Day > last {
			t.Errorf("usage on %s, outside %s..%s", d.Day, first, last)
		}
		if d.OutputOctets == 0 || d.InputOctets == 0 || d.InputOctets >= d.OutputOctets {
			t.Errorf("%s: down %d, up %d: a household downloads more than it uploads", d.Day, d.OutputOctets, d.InputOctets)
		}
	}
	if len(open) != 1 || accounting.DayOf(open[0].StartedAt) != last {
		t.Fatalf("open sessions: %+v, want today's", open)
	}
	// The same day gives the same figures.
	again, _ := usage()
	for i := range days {
		if days[i].Day != again[i].Day || days[i].OutputOctets != again[i].OutputOctets {
			t.Fatalf("day %s: %d then %d", days[i].Day, days[i].OutputOctets, again[i].OutputOctets)
		}
	}
}
