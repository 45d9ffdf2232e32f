package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// daemon is a maillon that a test stops and starts again on the same
// address and database, to play maillon being unreachable.
type daemon struct {
	t      *testing.T
	cfg    *config.Config
	cancel context.CancelFunc
	done   chan error
	a      *app.App
}

func (d *daemon) start() {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, d.cfg, nil)
	if err != nil {
		cancel()
		d.t.Fatal(err)
	}
	d.a, d.cancel, d.done = a, cancel, make(chan error, 1)
	go func() { d.done <- a.Run(ctx) }()
	// Restarts listen where the first run did.
	d.cfg.Listen.HTTP = a.HTTPAddr()
}

func (d *daemon) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	if err := <-d.done; err != nil {
		d.t.Errorf("daemon stopped with %v", err)
	}
	d.a.Close()
	d.cancel = nil
}

// runAgent runs "maillon agent" through the command line's own path
// until the test ends, and returns its log.
func runAgent(t *testing.T, env map[string]string, args ...string) *testenv.Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &testenv.Buffer{}
	done := make(chan int, 1)
	go func() {
		var out strings.Builder
		s := &session{stdin: strings.NewReader(""), stdout: &out, stderr: log, getenv: func(k string) string { return env[k] },
			isTerminal: func(any) bool { return false }, now: time.Now}
		done <- run(ctx, append([]string{"agent"}, args...), s)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("maillon agent exited with %d:\n%s", code, log.String())
		}
	})
	return log
}

// waitFor polls until cond holds; the deadline only bounds a broken run.
func waitFor(t *testing.T, what string, log *testenv.Buffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; agent log:\n%s", what, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAgentReportsToTheJournal is the "done when": the real
// daemon, and "maillon agent" watching a temporary directory and a copy
// of a real dpkg status file with a quiet period of two seconds. A change
// shows up in "maillon journal list HOST" after the quiet period; one made
// while maillon is down waits in the agent's queue and is delivered once
// maillon is back, once; another host's token is refused.
func TestAgentReportsToTheJournal(t *testing.T) {
	cfg := app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "maillon.db"))
	cfg.Log.Level = "error"
	d := &daemon{t: t, cfg: cfg}
	d.start()
	t.Cleanup(d.stop)
	env := map[string]string{"MAILLON_SOCKET": d.a.SocketPath()}
	cli := func(args ...string) result { return runCLI(runOpt{}, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("maillon %s: status %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	must("host", "add", "--name", "gw1")
	must("host", "add", "--name", "gw2")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte(must("journal", "token", "create", "gw1")), 0o600); err != nil {
		t.Fatal(err)
	}
	watched := filepath.Join(dir, "etc")
	write := func(name, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(watched, name)), 0o755)
		if err := os.WriteFile(filepath.Join(watched, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nginx/nginx.conf", "worker_processes 1;\n")
	write("hosts", "127.0.0.1 localhost\n")
	dpkg := filepath.Join(dir, "status")
	sample, err := os.ReadFile("../journal/testdata/dpkg-status")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dpkg, sample, 0o644)
	state := filepath.Join(dir, "state")
	httpURL := "http://" + d.a.HTTPAddr()
	conf := filepath.Join(dir, "agent.yaml")
	os.WriteFile(conf, []byte("server: "+httpURL+"\nhost: gw1\ntoken_file: "+tokenFile+"\nstate_dir: "+state+"\nquiet: 2s\n"), 0o644)

	log := runAgent(t, map[string]string{}, "--config", conf, "--watch", watched, "--dpkg-status", dpkg,
		"--interval", "100ms", "--retry-max", "300ms")
	waitFor(t, "the baseline", log, func() bool { return strings.Contains(log.String(), "baseline taken") })

	reports := func() []registry.JournalEntry {
		var out struct{ Items []registry.JournalEntry }
		if err := json.Unmarshal([]byte(must("journal", "list", "gw1", "--kind", "change-report", "--json")), &out); err != nil {
			t.Fatal(err)
		}
		return out.Items
	}

	// A change, then quiet: the report shows in the host's journal.
	write("nginx/nginx.conf", "worker_processes 4;\n")
	os.WriteFile(dpkg, []byte(strings.Replace(string(sample), "Version: 3.134\n", "Version: 3.135\n", 1)), 0o644)
	waitFor(t, "the first report", log, func() bool { return len(reports()) == 1 })
	out := must("journal", "list", "gw1")
	if !strings.Contains(out, "agent:gw1") || !strings.Contains(out, "1 file changed (1 modified), 1 package upgraded") {
		t.Errorf("maillon journal list gw1:\n%s", out)
	}
	e := reports()[0]
	if e.Report == nil || len(e.Report.Files) != 1 || e.Report.Files[0].Path != filepath.Join(watched, "nginx/nginx.conf") ||
		e.Report.Packages[0].Name != "adduser" || e.Report.Packages[0].Version != "3.135" {
		t.Fatalf("report: %+v", e.Report)
	}
	// Sent only once the quiet period had passed since the last change.
	if e.CreatedAt.Sub(e.Report.LastChange) < 2*time.Second {
		t.Errorf("reported %s after the last change, before the quiet period", e.CreatedAt.Sub(e.Report.LastChange))
	}
	diff, err := os.ReadFile(filepath.Join(e.Report.History, "changes.diff"))
	if err != nil || !strings.Contains(string(diff), "-worker_processes 1;\n+worker_processes 4;\n") {
		t.Errorf("local history: %v\n%s", err, diff)
	}
	if show := must("journal", "show", itoa(e.ID)); !strings.Contains(show, "modified  "+filepath.Join(watched, "nginx/nginx.conf")) {
		t.Errorf("journal show:\n%s", show)
	}

	// maillon goes down; a change is made and its report falls due.
	d.stop()
	write("hosts", "127.0.0.1 localhost\n192.0.2.1 gw1\n")
	waitFor(t, "the report to wait in the queue", log, func() bool {
		q, _ := os.ReadDir(filepath.Join(state, "queue"))
		for _, f := range q {
			if strings.HasSuffix(f.Name(), ".json") {
				return strings.Contains(log.String(), "report not delivered, kept in the queue")
			}
		}
		return false
	})
	d.start()
	waitFor(t, "the queued report", log, func() bool { return len(reports()) == 2 })
	// Delivered once: the queue is empty and no third entry comes.
	waitFor(t, "the queue to empty", log, func() bool {
		q, _ := os.ReadDir(filepath.Join(state, "queue"))
		return len(q) == 1 // rejected/ only
	})
	got := reports()
	if len(got) != 2 || got[0].Text != "1 file changed (1 modified)" || got[0].Report.Files[0].Path != filepath.Join(watched, "hosts") {
		t.Errorf("after maillon came back: %+v", got)
	}

	// gw2's token cannot report for gw1: refused, kept queued, not in
	// gw1's journal.
	tok2 := filepath.Join(dir, "gw2.token")
	os.WriteFile(tok2, []byte(must("journal", "token", "create", "gw2")), 0o600)
	other, otherEtc := t.TempDir(), t.TempDir()
	r := runCLI(runOpt{}, map[string]string{}, "agent", "--url", "http://"+d.a.HTTPAddr(), "--host", "gw1", "--token-file", tok2,
		"--watch", otherEtc, "--dpkg-status", "none", "--state-dir", other, "--once")
	if r.code != 0 {
		t.Fatalf("baseline run: %+v", r)
	}
	os.WriteFile(filepath.Join(otherEtc, "motd"), []byte("hello\n"), 0o644)
	r = runCLI(runOpt{}, map[string]string{}, "agent", "--url", "http://"+d.a.HTTPAddr(), "--host", "gw1", "--token-file", tok2,
		"--watch", otherEtc, "--dpkg-status", "none", "--state-dir", other, "--once")
	if r.code != 1 || !strings.Contains(r.stderr, `the agent token of host gw2 may not report for host \"gw1\": forbidden`) ||
		!strings.Contains(r.stderr, "1 report(s) still queued") {
		t.Errorf("gw2's token for gw1: status %d\n%s", r.code, r.stderr)
	}
	if n := len(reports()); n != 2 {
		t.Errorf("gw1 has %d reports after gw2's attempt", n)
	}
}
