// Package app wires maillon's parts into one daemon: it opens the store,
// builds the registry on it and starts the listeners, each subsystem under
// one errgroup so that the first to fail stops the others.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"maillon/internal/config"
	"maillon/internal/csvimport"
	"maillon/internal/monitor"
	"maillon/internal/notify"
	"maillon/internal/radius"
	"maillon/internal/registry"
	"maillon/internal/roster"
	"maillon/internal/secret"
	"maillon/internal/status"
	"maillon/internal/store"
	"maillon/internal/web"
)

// Version is set at build time.
var Version = "dev"

// App is a running maillon.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *store.Store
	reg      *registry.Service
	metrics  *prometheus.Registry
	web      *web.Server
	httpLn   net.Listener
	socketLn net.Listener
	radius   *radiusService
	dns      *dnsService
	ca       *caService
	notify   *notify.Notifier
	clock    Clock
	sched    *scheduler
	roster   *roster.Service
	status   *status.Service
	mon      *monitor.Monitor
}

// New opens the database (migrating it) and binds the listeners, so that
// addresses are known (and port conflicts reported) before Run.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, with ...Option) (*App, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := options{clock: realClock{}}
	for _, opt := range with {
		opt(&o)
	}
	key, err := secret.ParseKey(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	box, err := secret.New(key)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st, metrics: prometheus.NewRegistry(), clock: o.clock}
	if a.notify, err = notify.New(cfg.Notify, nil); err != nil {
		st.Close()
		return nil, err
	}
	a.reg = registry.New(st, box, registry.Options{
		Quarantine: cfg.IPAM.Quarantine.Duration, DelegatedBits: cfg.IPAM.DelegatedBits,
		CheckAttribute: func(name, value string) error {
			_, err := radius.ParseAttr(name, value)
			return err
		},
		CheckRecord: checkRecord,
		Now:         o.clock.Now,
	})
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.ca, err = a.newCA(); err != nil {
		st.Close()
		return nil, err
	}
	a.metrics.MustRegister(a.ca)
	a.sched = newScheduler(a.clock, schedulerInterval, log)
	a.roster = a.newRoster()
	a.sched.add("roster", a.roster.Tick)
	if a.status, err = a.newStatus(); err != nil {
		st.Close()
		return nil, err
	}
	a.sched.add("status", func(ctx context.Context, _ time.Time) error { return a.status.Tick(ctx) })
	// The DNS server is made before the web layer, which exports its zones.
	if a.dns, err = a.newDNS(); err != nil {
		st.Close()
		return nil, err
	}
	if !cfg.Monitor.Disabled {
		if a.mon, err = a.newMonitor(key[:]); err != nil {
			st.Close()
			return nil, err
		}
	}
	opts := web.Options{
		Registry:   a.reg,
		Importer:   a.importCSV,
		Accounting: st,
		CA:         a.ca,
		Journal:    journalWeb{a.reg, a.announceReport},
		Roster:     rosterWeb{a.roster, a.sched.Kick},
		Health:     st.Ping,
		Metrics:    a.metrics,
		Logger:     log,
		Version:    Version,
		Web:        &cfg.Web,
	}
	if a.dns != nil {
		opts.DNS = a.dns
	}
	opts.Mailer = memberMailerOf(a.notify)
	opts.MemberNotices = a.memberNotices
	opts.Status = statusAdmin{a.reg}
	opts.Disconnect = a.disconnectLine
	opts.Mount = mount(opts.Mount, a.status.Mounts())
	if a.mon != nil {
		opts.Monitor = monitorService{Service: a.reg, mon: a.mon, publicURL: cfg.Monitor.PublicURL}
		opts.Mount = mount(opts.Mount, monitorMounts(a.mon))
	}
	a.web = web.New(opts)
	if err := a.listen(); err != nil {
		a.Close()
		return nil, err
	}
	if a.radius, err = a.newRADIUS(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) listen() error {
	if a.cfg.Listen.HTTP != "" {
		ln, err := net.Listen("tcp", a.cfg.Listen.HTTP)
		if err != nil {
			return &ListenError{"listen.http", err}
		}
		a.httpLn = ln
	}
	if path := a.cfg.Listen.Socket; path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("listen.socket: %w", err)
		}
		// A socket file left by a killed daemon would make Listen fail;
		// a live daemon answers a dial, a stale file does not.
		if SocketAnswers(path) {
			return fmt.Errorf("listen.socket: another maillon is already listening on %s", path)
		}
		os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err != nil {
			return &ListenError{"listen.socket", err}
		}
		if err := os.Chmod(path, 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("listen.socket: %w", err)
		}
		a.socketLn = ln
	}
	return nil
}

// Registry is the running registry service.
func (a *App) Registry() *registry.Service { return a.reg }

// Notifier sends email and the configured channels' messages.
func (a *App) Notifier() *notify.Notifier { return a.notify }

// Store is the open store.
func (a *App) Store() *store.Store { return a.store }

// HTTPAddr is the bound HTTP address, empty when HTTP is off.
func (a *App) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// disconnectLine ends the open sessions of a line an admin took out of
// service (web.Options.Disconnect); the RADIUS service is made after the
// web server, hence the indirection.
func (a *App) disconnectLine(ctx context.Context, sub registry.Subscription) ([]registry.Disconnect, error) {
	if a.radius == nil {
		return nil, web.ErrNoRADIUS
	}
	return a.radius.DisconnectLine(ctx, sub)
}

// RADIUSAuthAddr is the bound RADIUS authentication address, if any.
func (a *App) RADIUSAuthAddr() string {
	if a.radius == nil || a.radius.auth == nil {
		return ""
	}
	return a.radius.auth.LocalAddr().String()
}

// RADIUSAcctAddr is the bound RADIUS accounting address, if any.
func (a *App) RADIUSAcctAddr() string {
	if a.radius == nil || a.radius.acct == nil {
		return ""
	}
	return a.radius.acct.LocalAddr().String()
}

// DNSAddr is the bound DNS address, if any.
func (a *App) DNSAddr() string {
	if a.dns == nil {
		return ""
	}
	return a.dns.srv.Addr()
}

// SocketPath is the admin socket path, empty when off.
func (a *App) SocketPath() string { return a.cfg.Listen.Socket }

// Run serves until ctx is cancelled or a subsystem fails.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	if a.httpLn != nil {
		srv := &http.Server{Handler: a.web, ReadHeaderTimeout: 10 * time.Second}
		serveHTTP(ctx, g, srv, a.httpLn)
		a.log.Info("HTTP API listening", "addr", a.HTTPAddr())
	}
	if a.socketLn != nil {
		srv := &http.Server{Handler: a.web, ConnContext: web.LocalConnContext, ReadHeaderTimeout: 10 * time.Second}
		serveHTTP(ctx, g, srv, a.socketLn)
		a.log.Info("admin socket listening", "path", a.cfg.Listen.Socket)
	}
	g.Go(func() error {
		listen := a.cfg.DatabaseListen
		if listen == "" {
			listen = a.cfg.Database
		}
		events := a.reg.Events()
		return a.store.Listen(ctx, listen, a.log, func(e registry.Event) { events.Publish(e) })
	})
	if a.radius != nil {
		g.Go(func() error { return a.radius.run(ctx) })
		a.log.Info("RADIUS listening", "auth", a.RADIUSAuthAddr(), "acct", a.RADIUSAcctAddr())
	}
	if a.dns != nil {
		g.Go(func() error { return a.dns.run(ctx) })
		a.log.Info("DNS listening", "addr", a.DNSAddr())
	}
	g.Go(func() error { return a.ca.run(ctx) })
	g.Go(func() error { return a.status.Run(ctx) })
	g.Go(func() error { return a.sched.run(ctx) })
	if a.mon != nil {
		g.Go(func() error { return a.runMonitor(ctx) })
	}
	g.Go(func() error {
		<-ctx.Done()
		return nil
	})
	err := g.Wait()
	if a.socketLn != nil {
		os.Remove(a.cfg.Listen.Socket)
	}
	return err
}

func serveHTTP(ctx context.Context, g *errgroup.Group, srv *http.Server, ln net.Listener) {
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve %s: %w", ln.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	})
}

// Reload rereads what can change without a restart (the EAP
// certificates); what fails to load leaves the previous state in use.
func (a *App) Reload() error {
	if a.radius != nil && a.cfg.RADIUS.EAP.CertFile != "" {
		if err := a.radius.srv.ReloadEAP(); err != nil {
			return fmt.Errorf("reload EAP certificates: %w", err)
		}
	}
	return nil
}

// Close releases the store and listeners (Run closes the listeners itself).
func (a *App) Close() error {
	if a.httpLn != nil {
		a.httpLn.Close()
	}
	if a.socketLn != nil {
		a.socketLn.Close()
	}
	if a.radius != nil {
		a.radius.closeConns()
	}
	if a.dns != nil {
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		a.dns.srv.Stop(shut)
		cancel()
	}
	return a.store.Close()
}

// importCSV runs the CSV importer for the web layer, which knows it only
// through its narrow Importer type.
func (a *App) importCSV(ctx context.Context, kind string, actor registry.Actor, r io.Reader, progress func(done, total int)) (int, error) {
	run := csvimport.Members
	if kind == "subscriptions" {
		run = csvimport.Subscriptions
	}
	n, err := run(ctx, a.reg, actor, r, progress)
	var le *csvimport.LineError
	if errors.As(err, &le) {
		return n, lineError{err: err, line: le.Line}
	}
	return n, err
}

// lineError tells the web layer which line of the file failed first,
// keeping the message of every bad line.
type lineError struct {
	err  error
	line int
}

func (e lineError) Error() string   { return e.err.Error() }
func (e lineError) Unwrap() error   { return e.err }
func (e lineError) LineNumber() int { return e.line }
