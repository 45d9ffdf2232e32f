package registrybench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/csvimport"
	"maillon/internal/registry"
	"maillon/internal/secret"
)

// BenchmarkMemberPages20k times a member's pages (their home with the
// 90-day chart, and their line's page) on a registry of 20,000 members
// with a line each, the member's line holding 90 days of accounting, and a
// maintenance planned on every ppp line (the worst case of "maintenance
// that affects them", which walks the registry to find whom it touches).
// It logs p50 and p99 over sequential requests through the daemon's HTTP
// listener, session and CSRF included.
//
//	go test ./bench/registry -run '^$' -bench MemberPages20k -benchtime 1x -v
func BenchmarkMemberPages20k(b *testing.B) {
	n := benchRows()
	dir := b.TempDir()
	key := secret.NewKey()
	reg, st := freshRegistryWithKey(b, dir, key)
	ctx := context.Background()
	if _, err := csvimport.Members(ctx, reg, registry.System, bytes.NewReader(membersCSV(n)), nil); err != nil {
		b.Fatal(err)
	}
	name, email := "Probe", "probe@example.org"
	m, err := reg.CreateMember(ctx, registry.System, registry.MemberInput{Name: &name, Email: &email,
		Periods: &[]registry.Period{{Start: registry.DateOf(time.Now().AddDate(-1, 0, 0))}}})
	if err != nil {
		b.Fatal(err)
	}
	kind, login, password := registry.KindPPP, "probe@BENCH", "probe-password"
	sub, err := reg.CreateSubscription(ctx, registry.System, registry.SubscriptionInput{MemberID: &m.ID, Kind: &kind, Login: &login, Password: &password})
	if err != nil {
		b.Fatal(err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var recs []accounting.Record
	for i := range 90 {
		day := today.AddDate(0, 0, -i)
		sid := "probe-" + strconv.Itoa(i)
		rec := accounting.Record{NAS: "bench", SessionID: sid, Login: login, SubscriptionID: sub.ID, MemberID: m.ID, Interim: 300}
		start, stop := rec, rec
		start.Status, start.EventTime = accounting.Start, day.Add(time.Minute)
		stop.Status, stop.EventTime, stop.SessionTime = accounting.Stop, day.Add(23*time.Hour), 22*3600
		stop.InputOctets, stop.OutputOctets = uint64(3e8+i*1e6), uint64(3e9+i*1e7)
		recs = append(recs, start, stop)
	}
	if err := st.WriteAccounting(ctx, recs); err != nil {
		b.Fatal(err)
	}
	comp := "Internet"
	c, err := reg.CreateComponent(ctx, registry.System, registry.ComponentInput{Name: &comp, Targets: &[]string{"service:ppp"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := reg.PlanMaintenance(ctx, registry.System, registry.MaintenanceInput{Title: "Core router upgrade", Components: []int64{c.ID},
		StartsAt: time.Now().Add(48 * time.Hour), EndsAt: time.Now().Add(50 * time.Hour)}); err != nil {
		b.Fatal(err)
	}
	st.Close()

	cfg := app.LoopbackConfig(dir, filepath.Join(dir, "maillon.db"))
	cfg.SecretKey = key
	cfg.RADIUS.Auth, cfg.RADIUS.Acct, cfg.DNS.Listen = "", "", ""
	cfg.Log.Level = "warn"
	a := apptest.Run(b, cfg)
	base := "http://" + a.HTTPAddr()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) []byte {
		resp, err := client.Get(base + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return body
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(get("/member/login"))
	resp, err := client.PostForm(base+"/member/login", url.Values{"csrf": {string(csrf[1])}, "login": {login}, "password": {password}})
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("login: %v %v", err, resp)
	}
	resp.Body.Close()
	if !bytes.Contains(get("/member/"), []byte("Core router upgrade")) {
		b.Fatal("the member page does not show the maintenance")
	}

	const requests = 200
	b.ResetTimer()
	for range b.N {
		for _, path := range []string{"/member/", "/member/lines/" + strconv.FormatInt(sub.ID, 10)} {
			get(path) // warm
			lat := make([]time.Duration, 0, requests)
			for range requests {
				t0 := time.Now()
				get(path)
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
			b.Logf("%s with %d members: p50 %.1f ms, p99 %.1f ms (%d requests)", path, n+1, ms(p50), ms(p99), requests)
			b.ReportMetric(ms(p99), "p99-ms"+pathLabel(path))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pathLabel(p string) string {
	if p == "/member/" {
		return "-home"
	}
	return "-line"
}
