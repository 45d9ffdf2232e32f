package journal

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"maillon/internal/config"
	"maillon/internal/registry"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// inbox records what the agent delivers, the way maillon does: a report
// id is recorded once. fail makes the next deliveries fail.
type inbox struct {
	mu      sync.Mutex
	reports []registry.ChangeReport
	seen    map[string]bool
	fail    error
	calls   int
	// lose records the next report but answers as if the connection
	// broke before the answer came back.
	lose bool
}

var errDown = errors.New("connection refused")

func (b *inbox) SendReport(_ context.Context, rep registry.ChangeReport) (registry.JournalEntry, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.fail != nil {
		return registry.JournalEntry{}, false, b.fail
	}
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	if b.seen[rep.ID] {
		return registry.JournalEntry{ID: 1}, false, nil
	}
	b.seen[rep.ID] = true
	b.reports = append(b.reports, rep)
	if b.lose {
		b.lose = false
		return registry.JournalEntry{}, false, errDown
	}
	return registry.JournalEntry{ID: int64(len(b.reports))}, true, nil
}

func (b *inbox) got() []registry.ChangeReport {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]registry.ChangeReport(nil), b.reports...)
}

type rig struct {
	t     *testing.T
	dir   string // watched
	dpkg  string
	state string
	clock *clock
	inbox *inbox
	cfg   Config
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, dir: t.TempDir(), state: filepath.Join(t.TempDir(), "state"), clock: &clock{t: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}, inbox: &inbox{}}
	r.dpkg = filepath.Join(t.TempDir(), "status")
	b, _ := os.ReadFile("testdata/dpkg-status")
	write(t, r.dpkg, string(b), 0o644)
	write(t, filepath.Join(r.dir, "nginx.conf"), "worker_processes 1;\nuser www-data;\n", 0o644)
	write(t, filepath.Join(r.dir, "sub", "old.conf"), "old\n", 0o644)
	write(t, filepath.Join(r.dir, "shadow"), "root:$y$secret:19000::::::\n", 0o600)
	write(t, filepath.Join(r.dir, "big.bin"), strings.Repeat("\x00\x01", 600), 0o644)
	os.Symlink("nginx.conf", filepath.Join(r.dir, "link"))
	r.cfg = Config{Server: "http://maillon.invalid", Host: "gw1", Watch: []string{r.dir}, DpkgStatus: r.dpkg, StateDir: r.state,
		Quiet: config.Duration{Duration: time.Hour}, Interval: config.Duration{Duration: time.Minute}}
	if err := r.cfg.Complete(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) agent() *Agent {
	a, err := New(r.cfg, Options{Sender: r.inbox, Now: r.clock.Now, Permanent: func(err error) bool { return strings.Contains(err.Error(), "refused for good") }})
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

func (r *rig) step(a *Agent) {
	r.t.Helper()
	if err := a.step(context.Background(), false); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) queued() []string {
	names, _ := (&stateDir{root: r.state}).queued()
	return names
}

// TestAgentReportsOnceQuiet drives the agent on a simulated clock: the
// first scan is the baseline; changes are reported only after an hour
// without any, with paths, modes, owners and hashes, and the diffs stay
// in the local history.
func TestAgentReportsOnceQuiet(t *testing.T) {
	r := newRig(t)
	a := r.agent()
	r.step(a)
	if len(r.inbox.got()) != 0 || r.inbox.calls != 0 {
		t.Fatalf("the baseline was reported: %+v", r.inbox.got())
	}
	if info, err := os.Stat(r.state); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("state directory: %v %v", info.Mode(), err)
	}

	write(t, filepath.Join(r.dir, "nginx.conf"), "worker_processes 4;\nuser www-data;\n", 0o644)
	write(t, filepath.Join(r.dir, "sites", "isp.conf"), "server { listen 80; }\n", 0o644)
	os.Remove(filepath.Join(r.dir, "sub", "old.conf"))
	os.Chmod(filepath.Join(r.dir, "shadow"), 0o640)
	write(t, filepath.Join(r.dir, "nginx.conf.swp"), "editor droppings", 0o600)
	dpkg, _ := os.ReadFile(r.dpkg)
	upgraded := strings.Replace(string(dpkg), "Version: 3.134\n", "Version: 3.135\n", 1) +
		"\nPackage: nginx\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.22.1-9\n"
	write(t, r.dpkg, upgraded, 0o644)
	r.step(a)

	// Still moving half an hour later: the quiet period starts again.
	r.clock.Advance(30 * time.Minute)
	write(t, filepath.Join(r.dir, "nginx.conf"), "worker_processes 8;\nuser www-data;\n", 0o644)
	r.step(a)
	r.clock.Advance(59 * time.Minute)
	r.step(a)
	if n := len(r.inbox.got()); n != 0 {
		t.Fatalf("reported after 59 minutes of quiet")
	}
	r.clock.Advance(time.Minute)
	r.step(a)
	got := r.inbox.got()
	if len(got) != 1 {
		t.Fatalf("%d reports after an hour of quiet", len(got))
	}
	rep := got[0]
	if rep.Host != "gw1" || !strings.HasPrefix(rep.ID, "gw1-1-") || !rep.LastChange.Equal(time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)) ||
		!rep.FirstChange.Equal(time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("report %s for %s, changes %s to %s", rep.ID, rep.Host, rep.FirstChange, rep.LastChange)
	}
	if s := rep.Summary(); s != "5 files changed (2 added, 1 modified, 1 removed, 1 permissions changed), 1 package installed, 1 upgraded" {
		t.Errorf("summary: %s", s)
	}
	var paths []string
	for _, f := range rep.Files {
		paths = append(paths, f.Change+" "+strings.TrimPrefix(f.Path, r.dir))
	}
	if want := []string{"modified /nginx.conf", "permissions /shadow", "added /sites", "added /sites/isp.conf", "removed /sub/old.conf"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("files: %q\nwant %q", paths, want)
	}
	f := rep.Files[0]
	if f.Mode != "0644" || f.Owner != "root:root" || len(f.SHA256) != 64 || len(f.OldSHA256) != 64 || f.SHA256 == f.OldSHA256 || f.Type != "file" {
		t.Errorf("nginx.conf: %+v", f)
	}
	if p := rep.Files[1]; p.Mode != "0640" || p.OldMode != "0600" || p.SHA256 == "" || p.OldSHA256 != "" {
		t.Errorf("shadow: %+v", p)
	}
	if want := []registry.PackageChange{
		{Name: "adduser", Arch: "all", Change: "upgraded", Version: "3.135", OldVersion: "3.134"},
		{Name: "nginx", Arch: "amd64", Change: "installed", Version: "1.22.1-9"},
	}; !reflect.DeepEqual(rep.Packages, want) {
		t.Errorf("packages: %+v", rep.Packages)
	}
	// No contents travel.
	b, _ := json.Marshal(rep)
	for _, secret := range []string{"worker_processes", "$y$secret", "listen 80"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the report carries contents (%q)", secret)
		}
	}
	// The diffs stay here.
	if info, err := os.Stat(rep.History); err != nil || info.Mode().Perm() != 0o700 || !strings.HasPrefix(rep.History, r.state) {
		t.Fatalf("history %s: %v", rep.History, err)
	}
	diff, _ := os.ReadFile(filepath.Join(rep.History, "changes.diff"))
	for _, want := range []string{
		"package upgraded adduser: 3.134 -> 3.135",
		"--- a" + r.dir + "/nginx.conf\n+++ b" + r.dir + "/nginx.conf\n@@ -1,2 +1,2 @@\n-worker_processes 1;\n+worker_processes 8;\n user www-data;\n",
		"+server { listen 80; }", "-old\n", "mode 0600 -> 0640",
	} {
		if !strings.Contains(string(diff), want) {
			t.Errorf("the history lacks %q:\n%s", want, diff)
		}
	}
	if info, _ := os.Stat(filepath.Join(rep.History, "changes.diff")); info.Mode().Perm() != 0o600 {
		t.Errorf("diff file mode %v", info.Mode())
	}
	if len(r.queued()) != 0 {
		t.Errorf("delivered reports left in the queue: %v", r.queued())
	}

	// Nothing more changes: nothing more is sent; the next change makes
	// report 2, diffed against the new baseline.
	r.clock.Advance(2 * time.Hour)
	r.step(a)
	write(t, filepath.Join(r.dir, "nginx.conf"), "worker_processes 2;\nuser www-data;\n", 0o644)
	os.Remove(filepath.Join(r.dir, "link"))
	os.Symlink("sites/isp.conf", filepath.Join(r.dir, "link"))
	r.step(a)
	r.clock.Advance(time.Hour)
	r.step(a)
	got = r.inbox.got()
	if len(got) != 2 || !strings.HasPrefix(got[1].ID, "gw1-2-") || got[1].Summary() != "2 files changed (2 modified)" ||
		got[1].Files[0].OldTarget != "nginx.conf" || got[1].Files[0].Target != "sites/isp.conf" {
		t.Fatalf("second report: %+v", got[1:])
	}
	diff, _ = os.ReadFile(filepath.Join(got[1].History, "changes.diff"))
	if !strings.Contains(string(diff), "-worker_processes 8;\n+worker_processes 2;\n") {
		t.Errorf("second diff:\n%s", diff)
	}
}

// TestAgentQueuesWhileMaillonIsDown: reports made while maillon is
// unreachable wait on disk, survive a restart of the agent, and are
// delivered in order, each once, when it is back; a report maillon
// refuses for good is moved aside and does not block the others.
func TestAgentQueuesWhileMaillonIsDown(t *testing.T) {
	r := newRig(t)
	r.cfg.Quiet.Duration = time.Minute
	a := r.agent()
	r.inbox.fail = errDown
	for i, content := range []string{"one", "two", "three"} {
		write(t, filepath.Join(r.dir, "nginx.conf"), content+"\n", 0o644)
		r.step(a)
		r.clock.Advance(time.Minute)
		r.step(a)
		if n := len(r.queued()); n != i+1 {
			t.Fatalf("after change %d: %d queued", i+1, n)
		}
		r.clock.Advance(10 * time.Minute) // past the retry backoff
	}
	// The agent restarts; maillon is back.
	a = r.agent()
	r.inbox.mu.Lock()
	r.inbox.fail = nil
	r.inbox.mu.Unlock()
	r.step(a)
	got := r.inbox.got()
	if len(got) != 3 || len(r.queued()) != 0 {
		t.Fatalf("%d delivered, %v still queued", len(got), r.queued())
	}
	for i, rep := range got {
		if !strings.HasPrefix(rep.ID, "gw1-"+string(rune('1'+i))+"-") {
			t.Errorf("delivered out of order: %d is %s", i, rep.ID)
		}
	}
	r.step(a)
	if len(r.inbox.got()) != 3 {
		t.Error("delivered twice")
	}

	// A refusal for good goes aside; the next report still goes.
	write(t, filepath.Join(r.dir, "nginx.conf"), "four\n", 0o644)
	r.step(a)
	r.inbox.fail = errors.New("400: refused for good")
	r.clock.Advance(time.Minute)
	r.step(a)
	r.inbox.fail = nil
	write(t, filepath.Join(r.dir, "nginx.conf"), "five\n", 0o644)
	r.step(a)
	r.clock.Advance(time.Minute)
	r.step(a)
	rejected, _ := os.ReadDir(filepath.Join(r.state, "queue", "rejected"))
	if got := r.inbox.got(); len(got) != 4 || !strings.HasPrefix(got[3].ID, "gw1-5-") || len(rejected) != 1 {
		t.Errorf("after a refusal: %d delivered, %d rejected", len(got), len(rejected))
	}
}

// TestAgentResendsALostAnswer: maillon recorded a report but its answer
// was lost; the agent sends it again, and it is recorded once.
func TestAgentResendsALostAnswer(t *testing.T) {
	r := newRig(t)
	r.cfg.Quiet.Duration = time.Minute
	a := r.agent()
	write(t, filepath.Join(r.dir, "nginx.conf"), "lost\n", 0o644)
	r.step(a)
	r.inbox.lose = true
	r.clock.Advance(time.Minute)
	r.step(a)
	if n := len(r.queued()); n != 1 {
		t.Fatalf("%d queued after a lost answer", n)
	}
	r.clock.Advance(10 * time.Minute)
	r.step(a)
	if got := r.inbox.got(); len(got) != 1 || r.inbox.calls != 2 || len(r.queued()) != 0 {
		t.Errorf("%d recorded in %d calls, %v queued", len(got), r.inbox.calls, r.queued())
	}
}

// TestAgentDropsWhatACrashLeft: a queue file whose snapshot was never
// saved is dropped at start, and the same changes are reported again.
func TestAgentDropsWhatACrashLeft(t *testing.T) {
	r := newRig(t)
	r.cfg.Quiet.Duration = time.Minute
	a := r.agent()
	write(t, filepath.Join(r.dir, "nginx.conf"), "crash\n", 0o644)
	r.step(a)
	// As if the agent died between writing report 1 and its snapshot.
	write(t, filepath.Join(r.state, "queue", "000001.json"), `{"id":"gw1-1-orphan","host":"gw1","files":[{"path":"/x","change":"added"}]}`, 0o600)
	os.MkdirAll(filepath.Join(r.state, "history", "000001-20261121T080000Z"), 0o700)
	a = r.agent()
	if len(r.queued()) != 0 {
		t.Fatalf("orphan kept: %v", r.queued())
	}
	r.step(a)
	r.clock.Advance(time.Minute)
	r.step(a)
	if got := r.inbox.got(); len(got) != 1 || got[0].ID == "gw1-1-orphan" || got[0].Files[0].Change != "modified" {
		t.Errorf("after the crash: %+v", got)
	}
}

func TestConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agent.yaml")
	write(t, p, "server: https://maillon.example.org\nhost: gw1\nwatch: [/etc, /usr/local/etc]\nexclude: ['*.bak']\nquiet: 2h\nstate_dir: /var/lib/maillon-agent\n", 0o644)
	c, err := LoadConfig(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Complete(); err != nil {
		t.Fatal(err)
	}
	if c.Quiet.Duration != 2*time.Hour || c.Interval.Duration != time.Minute || len(c.Watch) != 2 || c.TokenFile != DefaultTokenFile {
		t.Errorf("%+v", c)
	}
	write(t, p, "server: https://x\nquiett: 2h\n", 0o644)
	if _, err := LoadConfig(p, false); err == nil || !strings.Contains(err.Error(), "field quiett not found") {
		t.Errorf("a typo: %v", err)
	}
	if c, err := LoadConfig(filepath.Join(t.TempDir(), "none.yaml"), true); err != nil || c.Server != "" {
		t.Errorf("optional and missing: %v", err)
	}
	for _, bad := range []Config{
		{Host: "x"},
		{Host: "x", Server: "ftp://x"},
		{Host: "x", Server: "http://x", Watch: []string{"etc"}},
		{Host: "x", Server: "http://x", Quiet: config.Duration{Duration: time.Second}, Interval: config.Duration{Duration: time.Minute}},
	} {
		if err := bad.Complete(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
