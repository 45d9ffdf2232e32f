package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/registry"
)

// Accounting is what the web layer reads of sessions and usage.
type Accounting interface {
	ListSessions(ctx context.Context, f accounting.SessionFilter) ([]accounting.Session, error)
	Usage(ctx context.Context, f accounting.UsageFilter) ([]accounting.Day, error)
}

// subjectFilter resolves ?member= and ?subscription= (any ref) to ids.
func (s *Server) subjectFilter(r *http.Request) (member, subscription int64, err error) {
	q := r.URL.Query()
	if ref := q.Get("member"); ref != "" {
		m, err := s.opt.Registry.FindMember(r.Context(), ref)
		if err != nil {
			return 0, 0, err
		}
		member = m.ID
	}
	if ref := q.Get("subscription"); ref != "" {
		sub, err := s.opt.Registry.FindSubscription(r.Context(), ref)
		if err != nil {
			return 0, 0, err
		}
		subscription = sub.ID
	}
	return member, subscription, nil
}

func checkDay(name, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", v); err != nil {
		return fmt.Errorf("%s=%q is not a day (YYYY-MM-DD): %w", name, v, errBadRequest)
	}
	return nil
}

func (s *Server) usageRoutes() {
	if s.opt.Accounting == nil {
		return
	}
	s.handle("GET /api/v1/sessions", "List sessions reported by the NAS, newest first", nil, reflect.TypeOf(listResponse[accounting.Session]{}),
		[]string{"member", "subscription", "nas", "open", "limit"}, func(w http.ResponseWriter, r *http.Request) {
			member, sub, err := s.subjectFilter(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			q := r.URL.Query()
			limit, _ := strconv.Atoi(q.Get("limit"))
			if limit <= 0 {
				limit = 100
			}
			items, err := s.opt.Accounting.ListSessions(r.Context(), accounting.SessionFilter{
				MemberID: member, SubscriptionID: sub, NAS: q.Get("nas"), OpenOnly: q.Get("open") == "true" || q.Get("open") == "1", Limit: limit,
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if items == nil {
				items = []accounting.Session{}
			}
			writeJSON(w, http.StatusOK, listResponse[accounting.Session]{Items: items})
		})
	s.handle("GET /api/v1/usage", "Daily usage (UTC days) per subscription; format=csv gives a CSV for invoicing", nil, reflect.TypeOf(listResponse[accounting.Day]{}),
		[]string{"member", "subscription", "from", "to", "format"}, func(w http.ResponseWriter, r *http.Request) {
			member, sub, err := s.subjectFilter(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			q := r.URL.Query()
			for _, k := range []string{"from", "to"} {
				if err := checkDay(k, q.Get(k)); err != nil {
					s.fail(w, r, err)
					return
				}
			}
			days, err := s.opt.Accounting.Usage(r.Context(), accounting.UsageFilter{MemberID: member, SubscriptionID: sub, From: q.Get("from"), To: q.Get("to")})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if days == nil {
				days = []accounting.Day{}
			}
			if q.Get("format") == "csv" {
				s.usageCSV(w, r, days)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[accounting.Day]{Items: days})
		})
}

// usageCSV writes usage with the member's name and the line's login, the
// columns an invoicing tool (the seeds use Odoo) imports.
func (s *Server) usageCSV(w http.ResponseWriter, r *http.Request, days []accounting.Day) {
	names, logins := map[int64]string{}, map[int64]string{}
	err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		for _, d := range days {
			if _, ok := names[d.MemberID]; !ok {
				if m, err := rd.GetMember(r.Context(), d.MemberID); err == nil {
					names[d.MemberID] = m.Name
				}
			}
			if _, ok := logins[d.SubscriptionID]; !ok {
				if sub, err := rd.GetSubscription(r.Context(), d.SubscriptionID); err == nil {
					logins[d.SubscriptionID] = sub.Login
				}
			}
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="usage.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"day", "member_id", "member", "subscription_id", "login", "input_octets", "output_octets"})
	for _, d := range days {
		cw.Write([]string{d.Day, strconv.FormatInt(d.MemberID, 10), names[d.MemberID], strconv.FormatInt(d.SubscriptionID, 10),
			logins[d.SubscriptionID], strconv.FormatUint(d.InputOctets, 10), strconv.FormatUint(d.OutputOctets, 10)})
	}
	cw.Flush()
}
