package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const checkSecretContext = "check-radius-secret"

// HashPushToken is how a push token is kept and looked up.
func HashPushToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newPushToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseSeconds reads "60s", "5m", "2h", "1d" or a number of seconds.
func parseSeconds(field, s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < time.Second {
		return 0, invalid(field, "%q is not a duration of at least 1s (e.g. 60s, 5m, 1d)", s)
	}
	return int(d / time.Second), nil
}

func (s *Service) applyCheck(c *change, chk *Check, in CheckInput, creating bool) (token string, err error) {
	set(&chk.Name, in.Name)
	set(&chk.Kind, in.Kind)
	set(&chk.URL, in.URL)
	set(&chk.ExpectStatus, in.ExpectStatus)
	set(&chk.BodyMatch, in.BodyMatch)
	set(&chk.CertDays, in.CertDays)
	set(&chk.Address, in.Address)
	set(&chk.QueryName, in.QueryName)
	set(&chk.QueryType, in.QueryType)
	set(&chk.Retries, in.Retries)
	set(&chk.Severity, in.Severity)
	set(&chk.Enabled, in.Enabled)
	if in.Tags != nil {
		chk.Tags = nil
		for _, t := range *in.Tags {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(chk.Tags, t) {
				chk.Tags = append(chk.Tags, t)
			}
		}
	}
	if in.Interval != nil {
		if chk.IntervalSeconds, err = parseSeconds("interval", *in.Interval); err != nil {
			return "", err
		}
	}
	if in.Timeout != nil {
		if chk.TimeoutSeconds, err = parseSeconds("timeout", *in.Timeout); err != nil {
			return "", err
		}
	}
	// The target: the last of the given ones wins only if one is given.
	targets := 0
	for _, t := range []struct {
		typ string
		id  *int64
	}{{TargetHost, in.HostID}, {TargetSite, in.SiteID}, {TargetNAS, in.NASID}} {
		if t.id == nil {
			continue
		}
		targets++
		chk.TargetType, chk.TargetID, chk.Service = t.typ, zeroNil(*t.id), ""
		if chk.TargetID == nil {
			chk.TargetType = ""
		}
	}
	if in.Service != nil {
		targets++
		chk.TargetType, chk.TargetID, chk.Service = TargetService, nil, strings.TrimSpace(*in.Service)
		if chk.Service == "" {
			chk.TargetType = ""
		}
	}
	if targets > 1 {
		return "", invalid("host_id", "a check is attached to one host, site, NAS or service")
	}
	if in.Parents != nil {
		chk.Parents = nil
		all, err := c.tx.ListChecks(c.ctx)
		if err != nil {
			return "", err
		}
		for _, ref := range *in.Parents {
			ref = strings.TrimSpace(ref)
			if ref == "" {
				continue
			}
			i := slices.IndexFunc(all, func(x Check) bool {
				return strings.EqualFold(x.Name, ref) || strconv.FormatInt(x.ID, 10) == ref
			})
			if i < 0 {
				return "", invalid("parents", "no check %q", ref)
			}
			if !slices.Contains(chk.Parents, all[i].ID) {
				chk.Parents = append(chk.Parents, all[i].ID)
			}
		}
	}
	if in.Secret != nil {
		chk.SealedSecret = nil
		if *in.Secret != "" {
			chk.SealedSecret = s.box.Seal(*in.Secret, checkSecretContext)
		}
	}
	if err := chk.validate(); err != nil {
		return "", err
	}
	if chk.TargetID != nil {
		var err error
		switch chk.TargetType {
		case TargetHost:
			err = ref(c, "host_id", "host", *chk.TargetID, c.tx.GetHost)
		case TargetSite:
			err = ref(c, "site_id", "site", *chk.TargetID, c.tx.GetSite)
		case TargetNAS:
			err = ref(c, "nas_id", "nas", *chk.TargetID, c.tx.GetNAS)
		}
		if err != nil {
			return "", err
		}
	}
	if chk.Kind == CheckPush && (creating || chk.PushTokenHash == "" || in.RotateToken != nil && *in.RotateToken) {
		token = newPushToken()
		chk.PushTokenHash = HashPushToken(token)
	} else if chk.Kind != CheckPush {
		chk.PushTokenHash = ""
	}
	if chk.Kind == CheckRADIUS && len(chk.SealedSecret) == 0 {
		return "", invalid("secret", "a radius check needs the shared secret the server knows it by")
	}
	chk.SecretSet = len(chk.SealedSecret) > 0
	return token, nil
}

func (chk *Check) validate() error {
	chk.Name = strings.TrimSpace(chk.Name)
	if chk.Name == "" {
		return invalid("name", "is required")
	}
	if _, err := strconv.ParseInt(chk.Name, 10, 64); err == nil {
		return invalid("name", "%q is a number, which reads as an id", chk.Name)
	}
	if chk.IntervalSeconds == 0 {
		chk.IntervalSeconds = 60
	}
	if chk.TimeoutSeconds == 0 {
		chk.TimeoutSeconds = 10
	}
	if chk.Kind != CheckPush && chk.TimeoutSeconds > chk.IntervalSeconds {
		return invalid("timeout", "%ds is longer than the interval (%ds)", chk.TimeoutSeconds, chk.IntervalSeconds)
	}
	if chk.Retries < 0 || chk.Retries > 100 {
		return invalid("retries", "%d is outside 0-100", chk.Retries)
	}
	if chk.Severity == "" {
		chk.Severity = SeverityWarning
	}
	switch chk.Severity {
	case SeverityInfo, SeverityWarning, SeverityCritical:
	default:
		return invalid("severity", "%q is not one of info, warning, critical", chk.Severity)
	}
	hostPort := func() error {
		host, port, err := net.SplitHostPort(chk.Address)
		if err != nil || host == "" {
			return invalid("address", "%q is not host:port", chk.Address)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalid("address", "port %q is not 1-65535", port)
		}
		return nil
	}
	switch chk.Kind {
	case CheckHTTP:
		u, err := url.Parse(chk.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("url", "%q is not an http:// or https:// URL", chk.URL)
		}
		if chk.ExpectStatus != 0 && (chk.ExpectStatus < 100 || chk.ExpectStatus > 599) {
			return invalid("expect_status", "%d is not an HTTP status", chk.ExpectStatus)
		}
		if chk.CertDays < 0 || chk.CertDays > 0 && u.Scheme != "https" {
			return invalid("cert_days", "needs an https:// URL and a positive number of days")
		}
	case CheckTCP, CheckRADIUS:
		if err := hostPort(); err != nil {
			return err
		}
	case CheckICMP:
		chk.Address = strings.TrimSpace(chk.Address)
		if chk.Address == "" || strings.ContainsAny(chk.Address, " /") {
			return invalid("address", "%q is not a host name or address", chk.Address)
		}
	case CheckDNS:
		if err := hostPort(); err != nil {
			return err
		}
		if chk.QueryName == "" {
			return invalid("query_name", "is required (the name to ask for)")
		}
		if chk.QueryType == "" {
			chk.QueryType = "A"
		}
		chk.QueryType = strings.ToUpper(chk.QueryType)
		switch chk.QueryType {
		case "A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA":
		default:
			return invalid("query_type", "%q is not one of A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT, CAA", chk.QueryType)
		}
	case CheckPush:
	case "":
		return invalid("kind", "is required: http, tcp, icmp, dns, radius or push")
	default:
		return invalid("kind", "%q is not one of http, tcp, icmp, dns, radius, push", chk.Kind)
	}
	return nil
}

// checkGraph builds the dependency graph inside a transaction, with chk
// as it is about to be written.
func (c *change) checkGraph(chk *Check) (*CheckGraph, error) {
	checks, err := c.tx.ListChecks(c.ctx)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(checks, func(x Check) bool { return x.ID == chk.ID }); i >= 0 {
		checks[i] = *chk
	} else {
		checks = append(checks, *chk)
	}
	hosts, err := c.tx.ListHosts(c.ctx, ListOptions{})
	if err != nil {
		return nil, err
	}
	nas, err := c.tx.ListNAS(c.ctx)
	if err != nil {
		return nil, err
	}
	sites, err := c.tx.ListSites(c.ctx)
	if err != nil {
		return nil, err
	}
	return BuildCheckGraph(checks, hosts, nas, sites), nil
}

func (c *change) refuseCycle(chk *Check) error {
	g, err := c.checkGraph(chk)
	if err != nil {
		return err
	}
	if cycle := g.Cycle(); cycle != nil {
		return g.cycleError(cycle)
	}
	return nil
}

// audited is what the audit log keeps of a check: no token, no secret.
func audited(chk Check) Check {
	chk.PushToken, chk.PushURL, chk.State = "", "", nil
	return chk
}

// CreateCheck adds a check. A push check's token is in the result, once.
func (s *Service) CreateCheck(ctx context.Context, a Actor, in CheckInput) (Check, error) {
	var out Check
	err := s.write(ctx, a, func(c *change) error {
		chk := Check{Enabled: true}
		token, err := s.applyCheck(c, &chk, in, true)
		if err != nil {
			return err
		}
		if err := c.tx.InsertCheck(ctx, &chk); err != nil {
			return fmt.Errorf("create check: %w", err)
		}
		if err := c.refuseCycle(&chk); err != nil {
			return err
		}
		out = chk
		out.PushToken = token
		return c.record("create", "check", chk.ID, nil, audited(chk))
	})
	return out, err
}

// UpdateCheck edits a check; the dependency graph must stay acyclic.
func (s *Service) UpdateCheck(ctx context.Context, a Actor, id int64, in CheckInput) (Check, error) {
	var out Check
	err := s.write(ctx, a, func(c *change) error {
		before, err := c.tx.GetCheck(ctx, id)
		if err != nil {
			return err
		}
		chk := before
		chk.Tags, chk.Parents = slices.Clone(before.Tags), slices.Clone(before.Parents)
		token, err := s.applyCheck(c, &chk, in, false)
		if err != nil {
			return err
		}
		if slices.Contains(chk.Parents, id) {
			return invalid("parents", "check %s cannot depend on itself", chk.Name)
		}
		if err := c.refuseCycle(&chk); err != nil {
			return err
		}
		if err := c.tx.UpdateCheck(ctx, &chk); err != nil {
			return fmt.Errorf("update check %d: %w", id, err)
		}
		out = chk
		out.PushToken = token
		return c.record("update", "check", id, audited(before), audited(chk))
	})
	return out, err
}

// DeleteCheck removes a check, refusing while other checks name it as
// their parent. Its alerts stay, as history.
func (s *Service) DeleteCheck(ctx context.Context, a Actor, id int64) error {
	return s.write(ctx, a, func(c *change) error {
		before, err := c.tx.GetCheck(ctx, id)
		if err != nil {
			return err
		}
		all, err := c.tx.ListChecks(ctx)
		if err != nil {
			return err
		}
		var children []string
		for _, x := range all {
			if slices.Contains(x.Parents, id) {
				children = append(children, x.Name)
			}
		}
		if children != nil {
			return fmt.Errorf("check %s is a parent of %s: remove it from their parents first: %w", before.Name, strings.Join(children, ", "), ErrInUse)
		}
		if err := c.tx.DeleteCheck(ctx, id); err != nil {
			return fmt.Errorf("delete check %d: %w", id, err)
		}
		return c.record("delete", "check", id, audited(before), nil)
	})
}

// FindCheck finds a check by id or name.
func (s *Service) FindCheck(ctx context.Context, ref string) (Check, error) {
	var out Check
	err := s.store.Read(ctx, func(r Reader) error {
		if id, err := strconv.ParseInt(strings.TrimSpace(ref), 10, 64); err == nil {
			var err error
			out, err = r.GetCheck(ctx, id)
			return err
		}
		all, err := r.ListChecks(ctx)
		if err != nil {
			return err
		}
		for _, c := range all {
			if strings.EqualFold(c.Name, strings.TrimSpace(ref)) {
				out = c
				return nil
			}
		}
		return NotFound("check", ref)
	})
	return out, err
}

// CheckSecret opens a radius check's shared secret.
func (s *Service) CheckSecret(c Check) (string, error) {
	if len(c.SealedSecret) == 0 {
		return "", nil
	}
	v, err := s.box.Open(c.SealedSecret, checkSecretContext)
	if err != nil {
		return "", fmt.Errorf("open secret of check %s: %w", c.Name, err)
	}
	return v, nil
}

// Graph reads the checks and the registry relations into the dependency
// graph.
func (s *Service) CheckGraph(ctx context.Context) (*CheckGraph, error) {
	var g *CheckGraph
	err := s.store.Read(ctx, func(r Reader) error {
		checks, err := r.ListChecks(ctx)
		if err != nil {
			return err
		}
		hosts, err := r.ListHosts(ctx, ListOptions{})
		if err != nil {
			return err
		}
		nas, err := r.ListNAS(ctx)
		if err != nil {
			return err
		}
		sites, err := r.ListSites(ctx)
		if err != nil {
			return err
		}
		g = BuildCheckGraph(checks, hosts, nas, sites)
		return nil
	})
	return g, err
}

// The monitor's own bookkeeping (check states, alerts it raises and
// resolves) is written without audit entries, like accounting: they are
// observations, not changes someone made. What people do (acknowledge,
// silence) is audited.

// SaveCheckState records a check's new state.
func (s *Service) SaveCheckState(ctx context.Context, st CheckState) error {
	return s.store.Write(ctx, func(tx Tx) error {
		st.LastRun, st.CertExpiry, st.LatencyMS = nil, nil, 0
		return tx.PutCheckState(ctx, &st)
	})
}

// RaiseAlert opens an alert; ErrConflict if one with its fingerprint is
// already firing.
func (s *Service) RaiseAlert(ctx context.Context, al *Alert) error {
	return s.store.Write(ctx, func(tx Tx) error {
		al.State = AlertFiring
		al.UpdatedAt = s.Now().Truncate(time.Microsecond)
		return tx.InsertAlert(ctx, al)
	})
}

// SaveAlert writes the monitor's changes to an alert (notified,
// escalated, resolved, muted).
func (s *Service) SaveAlert(ctx context.Context, al *Alert) error {
	return s.store.Write(ctx, func(tx Tx) error {
		al.UpdatedAt = s.Now().Truncate(time.Microsecond)
		return tx.UpdateAlert(ctx, al)
	})
}

// AckAlert acknowledges a firing alert: no more repeats or escalation.
func (s *Service) AckAlert(ctx context.Context, a Actor, id int64) (Alert, error) {
	var out Alert
	err := s.write(ctx, a, func(c *change) error {
		al, err := c.tx.GetAlert(ctx, id)
		if err != nil {
			return err
		}
		if al.AckedAt != nil {
			return fmt.Errorf("alert %d was already acknowledged by %s on %s: %w", id, al.AckedBy, al.AckedAt.Format(time.RFC3339), ErrConflict)
		}
		if al.State != AlertFiring {
			return fmt.Errorf("alert %d is resolved: %w", id, ErrConflict)
		}
		before := al
		at := c.now
		al.AckedAt, al.AckedBy, al.UpdatedAt = &at, a.Name, c.now
		if err := c.tx.UpdateAlert(ctx, &al); err != nil {
			return err
		}
		out = al
		return c.record("acknowledge", "alert", id, before, al)
	})
	return out, err
}

// CreateSilence mutes the alerts its matchers match, for a while.
func (s *Service) CreateSilence(ctx context.Context, a Actor, in SilenceInput) (Silence, error) {
	var out Silence
	err := s.write(ctx, a, func(c *change) error {
		sl := Silence{Comment: strings.TrimSpace(in.Comment), CreatedBy: a.Name, CreatedAt: c.now, StartsAt: c.now}
		for _, m := range in.Matchers {
			k, v, ok := strings.Cut(m, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || v == "" {
				return invalid("matchers", "%q is not name=value (check=web1, tag=core, severity=critical, alertname=...)", m)
			}
			sl.Matchers = append(sl.Matchers, k+"="+v)
		}
		if len(sl.Matchers) == 0 {
			return invalid("matchers", "at least one name=value is needed: a silence of everything is a maintenance")
		}
		if in.StartsAt != nil {
			sl.StartsAt = in.StartsAt.UTC().Truncate(time.Microsecond)
		}
		switch {
		case in.EndsAt != nil:
			sl.EndsAt = in.EndsAt.UTC().Truncate(time.Microsecond)
		case in.Duration != "":
			n, err := parseSeconds("duration", in.Duration)
			if err != nil {
				return err
			}
			sl.EndsAt = sl.StartsAt.Add(time.Duration(n) * time.Second)
		default:
			return invalid("ends_at", "a silence needs an end (ends_at or duration)")
		}
		if !sl.EndsAt.After(sl.StartsAt) || !sl.EndsAt.After(c.now) {
			return invalid("ends_at", "must be after the start and in the future")
		}
		if err := c.tx.InsertSilence(ctx, &sl); err != nil {
			return fmt.Errorf("create silence: %w", err)
		}
		out = sl
		return c.record("create", "silence", sl.ID, nil, sl)
	})
	return out, err
}

// ExpireSilence ends a silence now.
func (s *Service) ExpireSilence(ctx context.Context, a Actor, id int64) (Silence, error) {
	var out Silence
	err := s.write(ctx, a, func(c *change) error {
		sl, err := c.tx.GetSilence(ctx, id)
		if err != nil {
			return err
		}
		if !sl.EndsAt.After(c.now) {
			return fmt.Errorf("silence %d already ended on %s: %w", id, sl.EndsAt.Format(time.RFC3339), ErrConflict)
		}
		before := sl
		sl.EndsAt = c.now
		if sl.StartsAt.After(c.now) {
			sl.StartsAt = c.now
		}
		if err := c.tx.UpdateSilence(ctx, &sl); err != nil {
			return err
		}
		out = sl
		return c.record("expire", "silence", id, before, sl)
	})
	return out, err
}
