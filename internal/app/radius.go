package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/config"
	"maillon/internal/radius"
	"maillon/internal/registry"
	"maillon/internal/store"
)

// radiusInput is the registry as the RADIUS snapshot needs it, kept between
// changes so that a change to one line or member costs a read of that line
// or member, not of the whole registry.
type radiusInput struct {
	members map[int64]registry.Member
	subs    map[int64]registry.Subscription
	nases   []registry.NAS
	hosts   []registry.Host
	ports   []registry.Port
	admins  []registry.Admin
}

// load reads everything in one consistent read.
func (in *radiusInput) load(ctx context.Context, reg *registry.Service) error {
	var (
		members []registry.Member
		subs    []registry.Subscription
	)
	err := reg.Read(ctx, func(r registry.Reader) error {
		var err error
		if members, err = r.ListMembers(ctx, registry.ListOptions{}); err != nil {
			return err
		}
		if subs, err = r.ListSubscriptions(ctx, registry.SubscriptionFilter{}); err != nil {
			return err
		}
		return in.readSmall(ctx, r)
	})
	if err != nil {
		return fmt.Errorf("read registry for RADIUS: %w", err)
	}
	in.members = make(map[int64]registry.Member, len(members))
	for _, m := range members {
		in.members[m.ID] = m
	}
	in.subs = make(map[int64]registry.Subscription, len(subs))
	for _, s := range subs {
		in.subs[s.ID] = s
	}
	return nil
}

func (in *radiusInput) readSmall(ctx context.Context, r registry.Reader) error {
	var err error
	if in.nases, err = r.ListNAS(ctx); err != nil {
		return err
	}
	if in.hosts, err = r.ListHosts(ctx, registry.ListOptions{}); err != nil {
		return err
	}
	if in.admins, err = r.ListAdmins(ctx); err != nil {
		return err
	}
	in.ports, err = r.ListPorts(ctx, 0)
	return err
}

// apply patches what the events say changed; false means a full load is
// needed instead.
func (in *radiusInput) apply(ctx context.Context, reg *registry.Service, events []registry.Event) (bool, error) {
	if in.subs == nil {
		return false, nil
	}
	small := false
	err := reg.Read(ctx, func(r registry.Reader) error {
		for _, e := range events {
			switch e.Entity {
			case "subscription":
				s, err := r.GetSubscription(ctx, e.ID)
				if errors.Is(err, registry.ErrNotFound) {
					delete(in.subs, e.ID)
					continue
				}
				if err != nil {
					return err
				}
				in.subs[e.ID] = s
			case "member":
				m, err := r.GetMember(ctx, e.ID)
				if errors.Is(err, registry.ErrNotFound) {
					delete(in.members, e.ID)
					continue
				}
				if err != nil {
					return err
				}
				in.members[e.ID] = m
			case "nas", "host", "port", "admin":
				small = true
			case "prefix", "allocation", "zone", "record", "site", "cpe", "token", "certificate", "revoked_key":
				// nothing the RADIUS snapshot holds
			default:
				return errFullLoad
			}
		}
		if small {
			return in.readSmall(ctx, r)
		}
		return nil
	})
	if errors.Is(err, errFullLoad) {
		return false, nil
	}
	return err == nil, err
}

var errFullLoad = errors.New("full load needed")

// radiusSnapshot builds the RADIUS server's view of the registry, secrets
// opened, everything the request path needs.
func radiusSnapshot(in *radiusInput, reg *registry.Service, policy config.SwitchPolicy) (radius.SnapshotInput, error) {
	var (
		out     radius.SnapshotInput
		members = make([]registry.Member, 0, len(in.members))
		subs    = make([]registry.Subscription, 0, len(in.subs))
		nases   = in.nases
		hosts   = in.hosts
		ports   = in.ports
		admins  = in.admins
	)
	for _, m := range in.members {
		members = append(members, m)
	}
	for _, s := range in.subs {
		subs = append(subs, s)
	}
	// Logins are unique, but a stable order keeps the snapshot identical
	// for identical registries.
	slices.SortFunc(subs, func(a, b registry.Subscription) int { return cmp.Compare(a.ID, b.ID) })
	now := reg.Now()
	byID := make(map[int64]*registry.Member, len(members))
	for i := range members {
		byID[members[i].ID] = &members[i]
	}
	portVLAN := map[int64]int{}
	for _, p := range ports {
		portVLAN[p.ID] = p.VLAN
	}
	roomSub := map[int64]*registry.Subscription{}
	var errs []error
	for i := range subs {
		s := &subs[i]
		m := byID[s.MemberID]
		if m == nil {
			continue
		}
		access := accessOf(m, s, now)
		vlan := s.VLAN
		if vlan == 0 && s.PortID != nil {
			vlan = portVLAN[*s.PortID]
		}
		if vlan != 0 {
			access.VLAN = strconv.Itoa(vlan)
		}
		if s.Kind == registry.KindRoomPort && s.PortID != nil && s.State != registry.SubClosed {
			roomSub[*s.PortID] = s
		}
		if s.MAC != "" && s.State != registry.SubClosed {
			out.MACs = append(out.MACs, radius.MACEntry{MAC: s.MAC, Access: access})
		}
		if !s.PasswordSet {
			continue
		}
		password, err := reg.Password(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sub := radius.Subscriber{
			Login: s.Login, Password: password,
			Member: strconv.FormatInt(m.ID, 10), Subscription: strconv.FormatInt(s.ID, 10),
			Kind: radius.SubscriptionKind(s.Kind), State: radius.SubscriptionState(s.State),
			Circuit: s.UpstreamRef,
		}
		if m.State != registry.MemberActive && s.State == registry.SubActive {
			sub.State = radius.StateSuspended
		}
		switch ms := m.MembershipAt(now); ms {
		case registry.MembershipCurrent:
			sub.MembershipCurrent = true
		case registry.MembershipExpired:
			sub.MembershipReason = "membership expired on " + m.LastDay().String()
		default:
			sub.MembershipReason = "membership " + string(ms)
		}
		if sub.Reply, err = replyAttrs(s.ReplyAttributes); err != nil {
			errs = append(errs, fmt.Errorf("subscription %s: %w", s.Login, err))
		}
		for _, a := range s.Addresses {
			switch a.Role {
			case registry.RoleIPv4:
				sub.IPv4 = a.Block.Addr()
			case registry.RoleIPv6:
				sub.IPv6 = a.Block
			case registry.RoleDelegated:
				sub.DelegatedIPv6 = a.Block
			}
		}
		out.Subscribers = append(out.Subscribers, sub)
	}
	for _, n := range nases {
		secret, err := reg.NASSecret(&n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c := radius.Client{
			Name: n.Name, Prefix: n.Address, Secret: secret, Kind: radius.ClientKind(n.Kind),
			MessageAuthenticator: radius.MAPolicy(n.MessageAuth), Realm: radius.RealmKeep, CoAPort: uint16(n.CoAPort),
		}
		if n.StripRealm {
			c.Realm = radius.RealmStrip
		}
		if c.Reply, err = replyAttrs(n.ReplyAttributes); err != nil {
			errs = append(errs, fmt.Errorf("NAS %s: %w", n.Name, err))
		}
		out.Clients = append(out.Clients, c)
	}
	for i := range admins {
		ad := &admins[i]
		if !ad.CanAdministerDevices() {
			continue
		}
		password, err := reg.DevicePassword(ad)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Admins = append(out.Admins, radius.Admin{Login: ad.Name, Password: password})
	}
	// A switch's ports are matched to the NAS of the same name.
	hostName := map[int64]string{}
	for _, h := range hosts {
		hostName[h.ID] = h.Name
	}
	for _, p := range ports {
		e := radius.PortEntry{Switch: hostName[p.HostID], Port: p.Name, Mode: radius.PortByMAC}
		if s := roomSub[p.ID]; s != nil {
			e.Mode = radius.PortByRoom
			e.Access = accessOf(byID[s.MemberID], s, now)
			if vlan := max(s.VLAN, 0); vlan != 0 {
				e.Access.VLAN = strconv.Itoa(vlan)
			} else if p.VLAN != 0 {
				e.Access.VLAN = strconv.Itoa(p.VLAN)
			}
		}
		out.Ports = append(out.Ports, e)
	}
	for field, v := range map[*radius.Decision]string{&out.Switch.UnknownMAC: policy.UnknownMAC, &out.Switch.UnknownPort: policy.UnknownPort,
		&out.Switch.NonMember: policy.NonMember, &out.Switch.Suspended: policy.Suspended} {
		field.Reject, field.VLAN, _ = config.ParseDecision(v)
	}
	return out, errors.Join(errs...)
}

// replyAttrs encodes "Name = value" attributes; a bad one is left out.
func replyAttrs(list []string) ([]radius.Attr, error) {
	var (
		out  []radius.Attr
		errs []error
	)
	for _, a := range list {
		name, value, err := registry.SplitAttribute(a)
		if err == nil {
			var attr radius.Attr
			if attr, err = radius.ParseAttr(name, value); err == nil {
				out = append(out, attr)
				continue
			}
		}
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// releaseStartupGarbage hands back to the system the memory the first
// full builds (RADIUS snapshot, DNS zones) needed only while building: on a
// large registry that transient peak would otherwise stay resident. It
// runs apart: a collection and a release of a few hundred megabytes take
// long enough (150 ms with a signed 20,000-line registry) to hold up the
// first requests or the first change to serve.
func releaseStartupGarbage() { go debug.FreeOSMemory() }

// accessOf is what the registry says of a member behind a port or a MAC.
func accessOf(m *registry.Member, s *registry.Subscription, now time.Time) radius.Access {
	a := radius.Access{Member: strconv.FormatInt(m.ID, 10), Status: radius.AccessOK}
	switch {
	case m.State != registry.MemberActive || s.State != registry.SubActive:
		a.Status = radius.AccessSuspended
	case m.MembershipAt(now) != registry.MembershipCurrent:
		a.Status = radius.AccessNonMember
	}
	return a
}

// accountingAdapter turns the RADIUS server's records into the store's.
type accountingAdapter struct{ store accounting.Store }

func (a accountingAdapter) WriteBatch(ctx context.Context, records []radius.Record) error {
	out := make([]accounting.Record, len(records))
	for i, r := range records {
		sub, _ := strconv.ParseInt(r.Subscription, 10, 64)
		member, _ := strconv.ParseInt(r.Member, 10, 64)
		out[i] = accounting.Record{
			NAS: r.NAS, Status: accounting.Status(r.Status), SessionID: r.SessionID, Login: r.Login,
			SubscriptionID: sub, MemberID: member,
			IPv4: r.FramedIPv4, IPv6Prefix: r.FramedIPv6Prefix, Delegated: r.DelegatedIPv6,
			CallingStation: r.CallingStationID, NASPortID: r.NASPortID, Circuit: r.Circuit,
			SessionTime: r.SessionTime, InputOctets: r.InputOctets, OutputOctets: r.OutputOctets,
			TerminateCause: r.TerminateCause, Interim: r.InterimInterval, EventTime: r.EventTime,
		}
	}
	return a.store.WriteAccounting(ctx, out)
}

var _ radius.AccountingStore = accountingAdapter{}
var _ accounting.Store = (*store.Store)(nil)

// radiusService runs the RADIUS server and keeps its snapshot current.
type radiusService struct {
	srv        *radius.Server
	auth, acct net.PacketConn
	reg        *registry.Service
	store      *store.Store
	policy     config.SwitchPolicy
	log        *slog.Logger
	rebuilt    chan struct{} // signalled after each snapshot swap (tests)
	in         radiusInput
}

func (a *App) newRADIUS() (*radiusService, error) {
	rc := a.cfg.RADIUS
	if rc.Auth == "" && rc.Acct == "" {
		return nil, nil
	}
	cfg := radius.Config{
		InterimInterval: uint32(rc.InterimInterval),
		DayBoundary:     rc.DayBoundary.Duration,
		// The midnight reconnect storm (every line's Stop, Access-Request
		// and Start at once): with the default 4096 the server shed most
		// of 20,000 lines' accounting at once, and the NASes waited their
		// 3 s to retransmit (bench/radius, part storm).
		QueueSize:  32768,
		Logger:     a.log,
		Registerer: a.metrics,
	}
	if e := rc.EAP; e.CertFile != "" {
		cfg.EAP = &radius.EAPConfig{CertFile: e.CertFile, KeyFile: e.KeyFile, ClientCAFile: e.ClientCAFile}
	}
	rs := &radiusService{reg: a.reg, store: a.store, policy: rc.Switch, log: a.log, rebuilt: make(chan struct{}, 1)}
	var err error
	if rc.Auth != "" {
		if rs.auth, err = net.ListenPacket("udp", rc.Auth); err != nil {
			return nil, &ListenError{"radius.auth", err}
		}
	}
	if rc.Acct != "" {
		if rs.acct, err = net.ListenPacket("udp", rc.Acct); err != nil {
			rs.closeConns()
			return nil, &ListenError{"radius.acct", err}
		}
		cfg.Accounting = accountingAdapter{a.store}
		cfg.SpoolDir = rc.SpoolDir
	}
	if rs.srv, err = radius.New(cfg); err != nil {
		rs.closeConns()
		return nil, fmt.Errorf("radius: %w", err)
	}
	return rs, nil
}

func (rs *radiusService) closeConns() {
	if rs.auth != nil {
		rs.auth.Close()
	}
	if rs.acct != nil {
		rs.acct.Close()
	}
}

// rebuild swaps in a fresh snapshot; a row that cannot be used is logged
// and left out, the others keep being served.
func (rs *radiusService) rebuild(ctx context.Context, batch []registry.Event) error {
	patched := false
	if batch != nil {
		var err error
		if patched, err = rs.in.apply(ctx, rs.reg, batch); err != nil {
			return err
		}
	}
	if !patched {
		if err := rs.in.load(ctx, rs.reg); err != nil {
			return err
		}
	}
	in, err := radiusSnapshot(&rs.in, rs.reg, rs.policy)
	if err != nil {
		rs.log.Warn("RADIUS snapshot: rows left out", "err", err)
	}
	snap, err := radius.NewSnapshot(in)
	if err != nil {
		rs.log.Warn("RADIUS snapshot: entries left out", "err", err)
	}
	rs.srv.SetSnapshot(snap)
	select {
	case rs.rebuilt <- struct{}{}:
	default:
	}
	return nil
}

// run serves RADIUS, rebuilding the snapshot after registry changes
// (coalesced: a burst of changes costs one rebuild) and at midnight, when
// memberships may expire.
func (rs *radiusService) run(ctx context.Context) error {
	events, stop := rs.reg.Events().Subscribe()
	defer stop()
	if err := rs.rebuild(ctx, nil); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return fmt.Errorf("radius: first snapshot: %w", err)
	}
	releaseStartupGarbage()
	done := make(chan error, 1)
	go func() {
		var auth, acct net.PacketConn = rs.auth, rs.acct
		done <- rs.srv.Serve(ctx, auth, acct)
	}()
	defer rs.srv.Close()
	defer rs.closeConns()
	stale := time.NewTicker(time.Minute)
	defer stale.Stop()
	for {
		nextDay := time.Until(time.Now().UTC().Truncate(24 * time.Hour).Add(24*time.Hour + time.Second))
		select {
		case <-ctx.Done():
			return <-done
		case err := <-done:
			return err
		case e := <-events:
			// Coalesce a burst into one rebuild.
			batch := []registry.Event{e}
			time.Sleep(20 * time.Millisecond)
			for len(events) > 0 {
				batch = append(batch, <-events)
			}
			if err := rs.rebuild(ctx, batch); err != nil {
				rs.log.Error("RADIUS snapshot rebuild failed; serving the previous one", "err", err)
			}
		case <-time.After(nextDay):
			if err := rs.rebuild(ctx, nil); err != nil {
				rs.log.Error("RADIUS snapshot rebuild failed; serving the previous one", "err", err)
			}
		case now := <-stale.C:
			if n, err := rs.store.CloseStaleSessions(ctx, now, 5*time.Minute); err != nil {
				rs.log.Warn("closing stale sessions", "err", err)
			} else if n > 0 {
				rs.log.Info("closed stale sessions", "count", n)
			}
		}
	}
}

// DisconnectLine sends a Disconnect-Request for every open session of a
// line that was just suspended or closed, so the suspension takes effect
// now rather than at the next reconnection. It waits for the NASes'
// answers (a few seconds at most: SendChange retries then gives up),
// records each in the audit log and returns them, so that the admin who
// suspended the line learns whether the sessions really ended. It is
// called by the request that made the change, not on the change event:
// every instance hears the event, and only one should disconnect.
func (rs *radiusService) DisconnectLine(ctx context.Context, sub registry.Subscription) ([]registry.Disconnect, error) {
	// The answers are recorded even if the admin's request goes away.
	ctx = context.WithoutCancel(ctx)
	sessions, err := rs.store.ListSessions(ctx, accounting.SessionFilter{SubscriptionID: sub.ID, OpenOnly: true})
	if err != nil {
		return nil, fmt.Errorf("disconnect %s: list open sessions: %w", sub.Login, err)
	}
	out := make([]registry.Disconnect, len(sessions))
	var wg sync.WaitGroup
	for i, se := range sessions {
		wg.Go(func() { out[i] = rs.disconnect(ctx, sub, se) })
	}
	wg.Wait()
	return out, nil
}

func (rs *radiusService) disconnect(ctx context.Context, sub registry.Subscription, se accounting.Session) registry.Disconnect {
	res, err := rs.srv.SendChange(ctx, radius.ChangeRequest{NAS: se.NAS, UserName: se.Login, SessionID: se.SessionID, FramedIP: se.IPv4})
	d := registry.Disconnect{NAS: se.NAS, SessionID: se.SessionID, Login: se.Login, Result: res.String()}
	if err != nil {
		d.Result = "error: " + err.Error()
	}
	rs.log.Info("disconnect sent", "login", sub.Login, "nas", se.NAS, "session", se.SessionID, "result", d.Result)
	if err := rs.reg.RecordAction(ctx, registry.System, "disconnect", "subscription", sub.ID, d); err != nil {
		rs.log.Warn("disconnect: audit", "err", err)
	}
	return d
}
