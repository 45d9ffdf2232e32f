// Package webbench measures the admin web pages and the search on a
// registry of 20,000 members, each with a ppp line (its three address
// blocks), a lent CPE for one in ten, and a RADIUS session per line with
// a day of usage (90 days for the members whose pages are timed).
//
//	go test ./bench/web -run '^$' -bench Pages -benchtime 1x -v
//
// Every page is fetched over loopback HTTP with an admin's session
// cookie, sequentially, MAILLON_BENCH_REQUESTS times (default 200); the
// report gives p50, p99 and max per page. Target: p99 < 50 ms.
package webbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/csvimport"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
	"maillon/internal/web"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// membersFile is n members with a ppp line each, as a spreadsheet exports
// them.
func membersFile(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	first := []string{"Camille", "Lou", "Sacha", "Noé", "Inès", "Yanis", "Maëlle", "Hugo", "Léa", "Nour", "Jules", "Zoé"}
	last := []string{"Martin", "Dubois", "Lefèvre", "Peeters", "Janssens", "Nguyen", "Moreau", "Claes", "Girard", "Bernard"}
	var b bytes.Buffer
	b.WriteString("name;email;phone;state;membership_start;login;password\n")
	for i := range n {
		f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		fmt.Fprintf(&b, "%s %s;%s.%s.%d@example.org;+32 470 %06d;active;2025-%02d-01;line%05d@BENCH;pw-%016x\n",
			f, l, strings.ToLower(f), strings.ToLower(l), i, i, 1+i%12, i, rng.Uint64())
	}
	return b.Bytes()
}

func BenchmarkPages(b *testing.B) {
	n := envInt("MAILLON_BENCH_MEMBERS", 20000)
	requests := envInt("MAILLON_BENCH_REQUESTS", 200)
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "maillon.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(key)
	reg := registry.New(st, box, registry.Options{})
	actor := registry.Actor{Name: "bench"}
	for _, p := range []struct {
		cidr    string
		purpose registry.Purpose
	}{
		{"10.0.0.0/8", registry.PurposeAggregate}, {"10.64.0.0/14", registry.PurposeSubscriber},
		{"2001:db8::/32", registry.PurposeAggregate}, {"2001:db8:100::/40", registry.PurposeSubscriber},
		{"2001:db8:8000::/33", registry.PurposeDelegated},
	} {
		if _, err := reg.CreatePrefix(ctx, actor, registry.PrefixInput{CIDR: &p.cidr, Purpose: &p.purpose}); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	if _, err := csvimport.Members(ctx, reg, actor, bytes.NewReader(membersFile(n)), nil); err != nil {
		b.Fatal(err)
	}
	var subs []registry.Subscription
	reg.Read(ctx, func(r registry.Reader) error {
		subs, err = r.ListSubscriptions(ctx, registry.SubscriptionFilter{})
		return err
	})
	// A lent CPE for one member in ten, with a MAC.
	err = reg.Batch(ctx, actor, func(bt *registry.Batch) error {
		for i := 0; i < len(subs); i += 10 {
			model, serial, state := "FritzBox 7530", fmt.Sprintf("SN%08d", i), registry.CPELent
			mac := fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
			m := subs[i].MemberID
			if _, err := bt.CreateCPE(registry.CPEInput{Model: &model, Serial: &serial, MAC: &mac, State: &state, MemberID: &m}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// A session per line, and 90 days of usage for the timed members.
	now := time.Now().UTC()
	var recs []accounting.Record
	for i, s := range subs {
		days := 1
		if i%(len(subs)/4) == 0 {
			days = 90
		}
		for d := days; d >= 1; d-- {
			recs = append(recs, accounting.Record{NAS: "bras1", Status: accounting.Interim, SessionID: "s" + strconv.Itoa(i), Login: s.Login,
				SubscriptionID: s.ID, MemberID: s.MemberID, IPv4: s.Addresses[0].Block.Addr(), SessionTime: uint32(86400 * (days - d + 1)),
				InputOctets: uint64(days-d+1) << 28, OutputOctets: uint64(days-d+1) << 30, EventTime: now.AddDate(0, 0, -d+1)})
		}
		if len(recs) > 5000 {
			if err := st.WriteAccounting(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	if err := st.WriteAccounting(ctx, recs); err != nil {
		b.Fatal(err)
	}
	b.Logf("registry of %d members, %d lines, CPE and sessions built in %v", n, len(subs), time.Since(t0).Round(time.Millisecond))

	name, email, roles := "bench", "bench@example.org", []registry.Role{registry.RoleAdmin}
	admin, err := reg.CreateAdmin(ctx, actor, registry.AdminInput{Name: &name, Email: &email, Roles: &roles})
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := reg.StartWebSession(ctx, actor, registry.SessionStart{Kind: registry.SessionAdmin, SubjectID: admin.ID, Lifetime: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Options{Registry: reg, Accounting: st}))
	defer srv.Close()

	mid := subs[len(subs)/2]
	v6, delegated := mid.Addresses[1].Block.Addr().Next(), mid.Addresses[2].Block.Addr().Next()
	pages := []struct{ name, path string }{
		{"home", "/admin/"},
		{"members list", "/admin/members"},
		{"members list, page 200", "/admin/members?offset=10000"},
		{"members filtered", "/admin/members?search=dubois"},
		{"member page (90 days of usage)", "/admin/members/" + strconv.FormatInt(subs[len(subs)/4].MemberID, 10)},
		{"member page", "/admin/members/" + strconv.FormatInt(mid.MemberID, 10)},
		{"member edit form", "/admin/members/" + strconv.FormatInt(mid.MemberID, 10) + "/edit"},
		{"new member form", "/admin/members/new"},
		{"line page", "/admin/subscriptions/" + strconv.FormatInt(mid.ID, 10)},
		{"lines list", "/admin/subscriptions"},
		{"prefixes", "/admin/prefixes"},
		{"prefix page", "/admin/prefixes/2"},
		{"NAS", "/admin/nas"},
		{"sites", "/admin/sites"},
		{"hosts", "/admin/hosts"},
		{"ports", "/admin/ports"},
		{"CPE list", "/admin/cpes"},
		{"CPE page", "/admin/cpes/100"},
		{"admins", "/admin/admins"},
		{"DNS zones", "/admin/zones"},
		{"DNS records", "/admin/records"},
		{"certificates", "/admin/certificates"},
		{"audit log", "/admin/audit"},
		{"search: name (many hits)", "/admin/search?q=" + url.QueryEscape("martin")},
		{"search: email", "/admin/search?q=" + url.QueryEscape("lou.claes.10007@example.org")},
		{"search: login", "/admin/search?q=" + url.QueryEscape(mid.Login)},
		{"search: IPv4", "/admin/search?q=" + mid.Addresses[0].Block.Addr().String()},
		{"search: IPv6 in the /64", "/admin/search?q=" + url.QueryEscape(v6.String())},
		{"search: IPv6 in the delegated prefix", "/admin/search?q=" + url.QueryEscape(delegated.String())},
		{"search: MAC, Cisco notation", "/admin/search?q=0200.0000.2710"},
		{"search: CPE serial", "/admin/search?q=SN00010000"},
		{"search: nothing", "/admin/search?q=" + url.QueryEscape("zzz-nobody")},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, time.Duration) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "maillon_session", Value: token})
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	b.ResetTimer()
	var report strings.Builder
	fmt.Fprintf(&report, "\n| page | status | p50 | p99 | max |\n|---|---|---|---|---|\n")
	worst := time.Duration(0)
	for _, p := range pages {
		code, _ := get(p.path) // warm the caches once
		if code != 200 && code != http.StatusSeeOther {
			b.Fatalf("%s (%s): status %d", p.name, p.path, code)
		}
		lat := make([]time.Duration, requests)
		for i := range lat {
			_, lat[i] = get(p.path)
		}
		slices.Sort(lat)
		p99 := lat[min(len(lat)-1, len(lat)*99/100)]
		worst = max(worst, p99)
		fmt.Fprintf(&report, "| %s | %d | %.1f ms | %.1f ms | %.1f ms |\n", p.name, code, ms(lat[len(lat)/2]), ms(p99), ms(lat[len(lat)-1]))
	}
	b.StopTimer()
	b.Logf("%d requests per page, one at a time, %d members:%s", requests, n, report.String())
	b.ReportMetric(ms(worst), "worst-p99-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
