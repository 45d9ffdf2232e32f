package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"maillon/internal/registry"
)

// column is one column of a listing. A cell that depends on the day (a
// membership status) reads now, so that tests can fix it.
type column[T any] struct {
	head string
	cell func(now time.Time, v *T) string
}

func col[T any](head string, cell func(*T) string) column[T] {
	return column[T]{head, func(_ time.Time, v *T) string { return cell(v) }}
}

func colAt[T any](head string, cell func(now time.Time, v *T) string) column[T] {
	return column[T]{head, cell}
}

// table returns a printer for a listing of T, one row an object.
func table[T any](cols ...column[T]) func(s *session, w io.Writer, items []json.RawMessage) error {
	return func(s *session, w io.Writer, items []json.RawMessage) error {
		objs, err := decodeAll[T](items)
		if err != nil {
			return err
		}
		return writeTable(w, s.now(), objs, cols)
	}
}

func decodeAll[T any](items []json.RawMessage) ([]T, error) {
	objs := make([]T, len(items))
	for i, raw := range items {
		if err := json.Unmarshal(raw, &objs[i]); err != nil {
			return nil, fmt.Errorf("reading the daemon's answer: %w", err)
		}
	}
	return objs, nil
}

func writeTable[T any](w io.Writer, now time.Time, objs []T, cols []column[T]) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.head
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	for i := range objs {
		cells := make([]string, len(cols))
		for j, c := range cols {
			cells[j] = c.cell(now, &objs[i])
			if cells[j] == "" {
				cells[j] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// detail returns a printer for one T, decoded from the API's JSON.
func detail[T any](show func(s *session, w io.Writer, v *T) error) func(*session, io.Writer, json.RawMessage) error {
	return func(s *session, w io.Writer, raw json.RawMessage) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("reading the daemon's answer: %w", err)
		}
		return show(s, w, &v)
	}
}

// props is a key: value view; empty values are left out.
type props struct{ rows [][2]string }

func (p *props) add(key, value string) *props {
	if value != "" {
		p.rows = append(p.rows, [2]string{key, value})
	}
	return p
}

func (p *props) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, r := range p.rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// printJSON writes the API's JSON indented, otherwise as it came.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printItems writes a listing the way the API does: {"items": [...]}, with
// [] rather than null when empty.
func printItems[T any](w io.Writer, items []T) error {
	return printJSON(w, struct {
		Items []T `json:"items"`
	}{append([]T{}, items...)})
}

// listTable gets a listing of the API and prints it: as the API does
// with --json, else as a table of cols.
func listTable[T any](s *session, path string, q url.Values, cols []column[T]) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	var out struct{ Items []T }
	if err := c.Do(s.ctx, "GET", path, q, nil, &out); err != nil {
		return err
	}
	if s.json {
		return printItems(s.stdout, out.Items)
	}
	return writeTable(s.stdout, s.now(), out.Items, cols)
}

func fmtID(n int64) string { return strconv.FormatInt(n, 10) }

func fmtRef(p *int64) string {
	if p == nil {
		return ""
	}
	return fmtID(*p)
}

func fmtCount(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// address shows a host's /32 or /128 as a bare address, other blocks as
// prefixes.
func address(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// activeAddress is a subscription's block for role, if it holds one.
func activeAddress(s *registry.Subscription, role registry.AddressRole) string {
	var out []string
	for _, a := range s.Addresses {
		if a.Role == role && a.ReleasedAt == nil {
			out = append(out, address(a.Block))
		}
	}
	return strings.Join(out, " ")
}

// membership says whether a member is one today and until when.
func membership(m *registry.Member, now time.Time) (status, end string) {
	status = string(m.MembershipAt(now))
	if e := m.LastDay(); e != nil {
		end = e.String()
	} else if len(m.Periods) > 0 {
		end = "open-ended"
	}
	return status, end
}

func periodList(ps []registry.Period) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Start.String() + " to "
		if p.End != nil {
			out[i] += p.End.String()
		} else {
			out[i] += "(open)"
		}
	}
	return strings.Join(out, ", ")
}
