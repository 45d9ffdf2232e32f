package cli

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"maillon/internal/app"
	"maillon/internal/config"
	"maillon/internal/demo"
	"maillon/internal/registry"
)

// demoMonitorConfig routes every alert to a "noc" mailbox when the demo
// has an SMTP server.
func demoMonitorConfig(cfg *config.Config, httpAddr string, mail bool) {
	if httpAddr != "" {
		cfg.Monitor.PublicURL = "http://" + httpAddr
	}
	if mail {
		cfg.Notify.Channels = append(cfg.Notify.Channels, config.Channel{Name: "noc", Type: "email",
			To: []string{"noc@" + strings.TrimSuffix(demo.Domain, ".")}})
		cfg.Monitor.Routes = []config.AlertRoute{{Name: "all", Levels: []config.AlertLevel{{Channels: []string{"noc"}}}}}
	}
}

// demoTarget is the TCP service the demo's switch checks probe. SIGUSR1
// stops it (a power cut in the residences) and starts it again.
type demoTarget struct {
	addr string
	mu   sync.Mutex
	ln   net.Listener
	sig  chan os.Signal
}

func newDemoTarget() (*demoTarget, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &demoTarget{addr: ln.Addr().String(), ln: ln, sig: make(chan os.Signal, 1)}
	go acceptAndClose(ln)
	signal.Notify(t.sig, syscall.SIGUSR1)
	go func() {
		for range t.sig {
			t.mu.Lock()
			if t.ln != nil {
				t.ln.Close()
				t.ln = nil
			} else if ln, err := net.Listen("tcp", t.addr); err == nil {
				t.ln = ln
				go acceptAndClose(ln)
			}
			t.mu.Unlock()
		}
	}()
	return t, nil
}

func (t *demoTarget) close() {
	signal.Stop(t.sig)
	close(t.sig)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln != nil {
		t.ln.Close()
	}
}

func acceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func printDemoMonitor(w io.Writer, a *app.App, cfg *config.Config, push registry.Check) {
	fmt.Fprint(w, demoMonitorBanner(os.Getpid(), demoSocketFlag(cfg), "http://"+a.HTTPAddr(), push.PushToken))
}

// demoMonitorBanner is what the demo prints about its monitoring; sock is
// the --socket flag the other commands of the banner carry, if any.
func demoMonitorBanner(pid int, sock, base, pushToken string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Monitoring (checks every 10 s):\n")
	fmt.Fprintf(&b, "  maillon%s check list; maillon%s check graph\n", sock, sock)
	// Both the uplink (critical) and the Fleming switch (warning) are down:
	// two alerts; the Les Rives switches behind the uplink raise none.
	fmt.Fprintf(&b, "  kill -USR1 %d   # power cut: uplink-rives and sw-fleming-1 down, sw-rives-a/b unreachable, two alerts (again: power back)\n", pid)
	fmt.Fprintf(&b, "  maillon%s alert list; maillon%s alert ack 1\n", sock, sock)
	fmt.Fprintf(&b, "  curl %s/push/%s   # the backups' heartbeat\n\n", base, pushToken)
	return b.String()
}
