package store_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"maillon/internal/accounting"
)

func rec(status accounting.Status, session string, at time.Time, secs uint32, in, out uint64) accounting.Record {
	return accounting.Record{
		NAS: "agg01", Status: status, SessionID: session, Login: "p1f9bd1@NEUTRINET", SubscriptionID: 7, MemberID: 3,
		IPv4: netip.MustParseAddr("198.51.100.6"), SessionTime: secs, InputOctets: in, OutputOctets: out, Interim: 60, EventTime: at,
	}
}

func TestAccountingCountsOnce(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		day := time.Date(2025, 4, 8, 22, 0, 0, 0, time.UTC)
		batches := [][]accounting.Record{
			{rec(accounting.Start, "81004668", day, 0, 0, 0)},
			{rec(accounting.Interim, "81004668", day.Add(time.Minute), 60, 1000, 5000)},
			// The NAS did not hear our answer and sends it again.
			{rec(accounting.Interim, "81004668", day.Add(time.Minute), 60, 1000, 5000)},
			{rec(accounting.Interim, "81004668", day.Add(2*time.Minute), 120, 3000, 9000),
				rec(accounting.Interim, "81004668", day.Add(90*time.Second), 90, 2000, 7000)}, // late, older
			// Cut by Session-Timeout at midnight: counts for the 8th.
			{rec(accounting.Stop, "81004668", time.Date(2025, 4, 9, 0, 0, 0, 0, time.UTC), 7200, 4000, 10000)},
			{rec(accounting.Stop, "81004668", time.Date(2025, 4, 9, 0, 0, 0, 0, time.UTC), 7200, 4000, 10000)},
			// Next session, next day.
			{rec(accounting.Start, "81004669", time.Date(2025, 4, 9, 0, 0, 5, 0, time.UTC), 0, 0, 0),
				rec(accounting.Interim, "81004669", time.Date(2025, 4, 9, 0, 1, 5, 0, time.UTC), 60, 10, 20)},
		}
		for i, b := range batches {
			if err := f.st.WriteAccounting(f.ctx, b); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
		days, err := f.st.Usage(f.ctx, accounting.UsageFilter{MemberID: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 2 || days[0].Day != "2025-04-08" || days[0].InputOctets != 4000 || days[0].OutputOctets != 10000 ||
			days[1].Day != "2025-04-09" || days[1].InputOctets != 10 || days[1].OutputOctets != 20 {
			t.Fatalf("usage = %+v", days)
		}
		sessions, err := f.st.ListSessions(f.ctx, accounting.SessionFilter{SubscriptionID: 7})
		if err != nil || len(sessions) != 2 {
			t.Fatalf("sessions = %+v, %v", sessions, err)
		}
		if s := sessions[1]; s.Open() || s.StopReason != "stop" || s.SessionTime != 7200 || s.IPv4.String() != "198.51.100.6" || !s.StartedAt.Equal(day) {
			t.Fatalf("first session = %+v", s)
		}
		if !sessions[0].Open() {
			t.Fatal("second session closed")
		}
	})
}

func TestAccountingOnClosesThatNASOnly(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		other := rec(accounting.Start, "x1", at, 0, 0, 0)
		other.NAS = "agg02"
		if err := f.st.WriteAccounting(f.ctx, []accounting.Record{rec(accounting.Start, "a1", at, 0, 0, 0), rec(accounting.Start, "a2", at, 0, 0, 0), other}); err != nil {
			t.Fatal(err)
		}
		on := accounting.Record{NAS: "agg01", Status: accounting.On, EventTime: at.Add(time.Hour)}
		if err := f.st.WriteAccounting(f.ctx, []accounting.Record{on}); err != nil {
			t.Fatal(err)
		}
		open, _ := f.st.ListSessions(f.ctx, accounting.SessionFilter{OpenOnly: true})
		if len(open) != 1 || open[0].NAS != "agg02" {
			t.Fatalf("open after Accounting-On = %+v", open)
		}
		// A NAS that went silent: its session is closed after three intervals.
		n, err := f.st.CloseStaleSessions(f.ctx, at.Add(2*time.Minute), time.Minute)
		if err != nil || n != 0 {
			t.Fatalf("closed %d too early (%v)", n, err)
		}
		n, err = f.st.CloseStaleSessions(f.ctx, at.Add(4*time.Minute), time.Minute)
		if err != nil || n != 1 {
			t.Fatalf("closed %d stale sessions, %v", n, err)
		}
		all, _ := f.st.ListSessions(f.ctx, accounting.SessionFilter{NAS: "agg02"})
		if all[0].Open() || all[0].StopReason != "stale" {
			t.Fatalf("stale session = %+v", all[0])
		}
	})
}

// The store remembers open sessions so that an interim does not read its
// row back; what it remembers must never make it count wrong when the row
// changed behind it: moved on by another instance on the same database, or
// closed as stale.
func TestAccountingRememberedSessionsFollowTheRow(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		write := func(rs ...accounting.Record) {
			t.Helper()
			if err := f.st.WriteAccounting(f.ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		exec := func(query string) {
			t.Helper()
			if _, err := f.st.DB().ExecContext(f.ctx, query); err != nil {
				t.Fatal(err)
			}
		}
		usage := func() (uint64, uint64) {
			t.Helper()
			days, err := f.st.Usage(f.ctx, accounting.UsageFilter{SubscriptionID: 7})
			if err != nil || len(days) != 1 {
				t.Fatalf("usage = %+v, %v", days, err)
			}
			return days[0].InputOctets, days[0].OutputOctets
		}
		write(rec(accounting.Start, "b", at, 0, 0, 0))
		write(rec(accounting.Interim, "b", at.Add(time.Minute), 60, 100, 500))
		// Another instance takes the next interim and counts it.
		exec("UPDATE sessions SET session_time = 120, input_octets = 300, output_octets = 900 WHERE session_id = 'b'")
		exec("UPDATE usage_daily SET input_octets = input_octets + 200, output_octets = output_octets + 400 WHERE subscription_id = 7")
		write(rec(accounting.Interim, "b", at.Add(3*time.Minute), 180, 600, 1500))
		if in, out := usage(); in != 600 || out != 1500 {
			t.Fatalf("usage after another instance's interim = %d/%d, want 600/1500", in, out)
		}
		// Closed as stale, then a late interim: its traffic still counts,
		// the session stays closed.
		if n, err := f.st.CloseStaleSessions(f.ctx, at.Add(time.Hour), time.Minute); err != nil || n != 1 {
			t.Fatalf("closed %d stale sessions, %v", n, err)
		}
		write(rec(accounting.Interim, "b", at.Add(4*time.Minute), 240, 1000, 2000))
		write(rec(accounting.Interim, "b", at.Add(4*time.Minute), 240, 1000, 2000)) // retransmitted
		if in, out := usage(); in != 1000 || out != 2000 {
			t.Fatalf("usage after a late interim = %d/%d, want 1000/2000", in, out)
		}
		all, err := f.st.ListSessions(f.ctx, accounting.SessionFilter{})
		if err != nil || len(all) != 1 || all[0].Open() || all[0].StopReason != "stale" || all[0].InputOctets != 1000 {
			t.Fatalf("sessions = %+v, %v", all, err)
		}
		// Accounting-On closes it in the database; a Stop then counts once.
		write(rec(accounting.Start, "c", at, 0, 0, 0), rec(accounting.Interim, "c", at.Add(time.Minute), 60, 10, 10))
		write(accounting.Record{NAS: "agg01", Status: accounting.On, EventTime: at.Add(2 * time.Minute)})
		write(rec(accounting.Stop, "c", at.Add(3*time.Minute), 180, 30, 30), rec(accounting.Stop, "c", at.Add(3*time.Minute), 180, 30, 30))
		if in, out := usage(); in != 1030 || out != 2030 {
			t.Fatalf("usage after Accounting-On and a Stop = %d/%d, want 1030/2030", in, out)
		}
	})
}

// A batch of many lines' interims writes each line's daily usage once.
func TestAccountingManyLinesInOneBatch(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var starts, interims []accounting.Record
		for i := range 300 {
			s := rec(accounting.Start, fmt.Sprintf("s%d", i), at, 0, 0, 0)
			s.SubscriptionID, s.MemberID = int64(100+i), int64(1000+i)
			starts = append(starts, s)
			r := rec(accounting.Interim, s.SessionID, at.Add(time.Minute), 60, uint64(i), 2*uint64(i))
			r.SubscriptionID, r.MemberID = s.SubscriptionID, s.MemberID
			interims = append(interims, r, r) // and its retransmission
		}
		for _, b := range [][]accounting.Record{starts, interims, interims} {
			if err := f.st.WriteAccounting(f.ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		days, err := f.st.Usage(f.ctx, accounting.UsageFilter{})
		if err != nil || len(days) != 299 { // line 0 moved no traffic
			t.Fatalf("%d usage rows, %v", len(days), err)
		}
		for _, d := range days {
			i := uint64(d.SubscriptionID - 100)
			if d.InputOctets != i || d.OutputOctets != 2*i || d.MemberID != int64(1000+i) {
				t.Fatalf("usage %+v", d)
			}
		}
	})
}
