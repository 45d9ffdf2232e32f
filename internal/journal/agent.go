package journal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"maillon/internal/registry"
)

// Sender delivers a report to maillon; internal/client implements it.
// created is false when maillon already had the report.
type Sender interface {
	SendReport(ctx context.Context, rep registry.ChangeReport) (entry registry.JournalEntry, created bool, err error)
}

// Options are what the agent needs besides its configuration.
type Options struct {
	Sender Sender
	// Permanent tells a refusal that sending again will not change (the
	// report is moved aside) from a failure to retry later.
	Permanent func(error) bool
	Logger    *slog.Logger
	// Now is the clock; tests set it.
	Now func() time.Time
}

// Agent watches a host and reports its changes.
type Agent struct {
	cfg   Config
	opt   Options
	log   *slog.Logger
	state *stateDir
	names names

	base savedSnapshot // what was last reported
	last Snapshot      // what the previous scan saw
	// first and lastChange bound the changes seen since the baseline.
	first, lastChange time.Time

	pkgStamp [2]int64 // size and mtime of the dpkg status last parsed
	retryAt  time.Time
	delay    time.Duration
	excludes []string
}

// New opens the agent's state. The first run takes the baseline: what is
// there now is not reported, only what changes from then on.
func New(cfg Config, opt Options) (*Agent, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Permanent == nil {
		opt.Permanent = func(error) bool { return false }
	}
	st, err := openState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, opt: opt, log: opt.Logger, state: st,
		excludes: append(append([]string{}, DefaultExcludes...), cfg.Exclude...)}
	snap, found, err := st.loadSnapshot()
	if err != nil {
		return nil, err
	}
	if err := st.dropOrphans(snap.Seq); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if !found {
		cur, err := a.scan()
		if err != nil {
			return nil, err
		}
		snap = savedSnapshot{Snapshot: cur}
		for p, f := range cur.Files {
			a.keep(p, f)
		}
		if err := st.saveSnapshot(snap); err != nil {
			return nil, err
		}
		a.log.Info("agent: baseline taken", "files", len(cur.Files), "packages", len(cur.Packages), "state", cfg.StateDir)
	}
	a.base = snap
	a.last = snap.Snapshot
	return a, nil
}

// keep stores a baseline file's contents for the next diff, when it is
// small enough to be worth it and readable.
func (a *Agent) keep(path string, f FileState) error {
	if f.Type != "file" || f.SHA256 == "" || f.Size > a.cfg.KeepMax {
		return nil
	}
	err := a.state.keep(path, f.SHA256)
	if err != nil && !errors.Is(err, errMoved) {
		a.log.Warn("agent: cannot keep contents for diffs", "path", path, "err", err)
		return nil
	}
	return err
}

// scan reads the watched files and dpkg's database.
func (a *Agent) scan() (Snapshot, error) {
	files, err := scanFiles(a.cfg.Watch, a.excludes, a.last.Files)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Files: files, Packages: a.last.Packages}
	if a.cfg.DpkgStatus == "none" {
		snap.Packages = nil
		return snap, nil
	}
	info, err := os.Stat(a.cfg.DpkgStatus)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return snap, nil // not a Debian system, or dpkg not there yet
		}
		return Snapshot{}, err
	}
	// dpkg rewrites the file whole (status-new, then rename), so size
	// and time tell when it needs parsing again.
	stamp := [2]int64{info.Size(), info.ModTime().UnixNano()}
	if stamp == a.pkgStamp && snap.Packages != nil {
		return snap, nil
	}
	f, err := os.Open(a.cfg.DpkgStatus)
	if err != nil {
		return Snapshot{}, err
	}
	defer f.Close()
	pkgs, err := ParseDpkgStatus(f)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%s: %w", a.cfg.DpkgStatus, err)
	}
	snap.Packages, a.pkgStamp = pkgs, stamp
	return snap, nil
}

// Run scans every interval, reports once the host has been quiet for the
// quiet period, and delivers the queue, until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("agent: watching", "dirs", strings.Join(a.cfg.Watch, " "), "quiet", a.cfg.Quiet.Duration, "interval", a.cfg.Interval.Duration,
		"host", a.cfg.Host, "server", a.cfg.Server)
	t := time.NewTicker(a.cfg.Interval.Duration)
	defer t.Stop()
	for {
		if err := a.step(ctx, false); err != nil && ctx.Err() == nil {
			a.log.Error("agent", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once reports what changed since the last report now, quiet or not, and
// tries to deliver the queue once.
func (a *Agent) Once(ctx context.Context) error {
	if err := a.step(ctx, true); err != nil {
		return err
	}
	if n, _ := a.state.queued(); len(n) > 0 {
		return fmt.Errorf("%d report(s) still queued in %s: maillon did not take them yet", len(n), a.state.path("queue"))
	}
	return nil
}

// step is one scan: note when things last moved, report once quiet, then
// deliver what is queued.
func (a *Agent) step(ctx context.Context, now bool) error {
	cur, err := a.scan()
	if err != nil {
		return err
	}
	t := a.opt.Now()
	if !sameFiles(cur.Files, a.last.Files) || !samePackages(cur.Packages, a.last.Packages) {
		a.lastChange = t
		if a.first.IsZero() {
			a.first = t
		}
	}
	a.last = cur
	pending := !sameFiles(cur.Files, a.base.Files) || !samePackages(cur.Packages, a.base.Packages)
	switch {
	case !pending:
		a.first = time.Time{} // changed, then changed back
	case now || t.Sub(a.lastChange) >= a.cfg.Quiet.Duration:
		if a.first.IsZero() {
			// Changed while the agent was stopped.
			a.first, a.lastChange = t, t
		}
		if err := a.report(cur, t); errors.Is(err, errMoved) {
			a.lastChange = t // not quiet after all: wait again
		} else if err != nil {
			return err
		}
	}
	return a.flush(ctx)
}

// newReportID is unique across reinstalls of the agent (the sequence
// number starts again, the random part does not repeat).
func newReportID(host string, seq int64) string {
	b := make([]byte, 8)
	rand.Read(b)
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, host)
	return fmt.Sprintf("%s-%d-%s", truncate(clean, 60), seq, hex.EncodeToString(b))
}

// report writes the history entry and queues the report of what changed
// from the baseline to cur, then makes cur the baseline. The queue file
// is written before the snapshot that counts it, and sending starts after:
// a crash in between leaves an orphan that New drops, never a report sent
// twice or lost.
func (a *Agent) report(cur Snapshot, t time.Time) error {
	files, pkgs := compare(a.base.Snapshot, cur, &a.names)
	if len(files) == 0 && len(pkgs) == 0 {
		// Only what a report leaves out changed (a package's triggers).
		a.base.Snapshot, a.first = cur, time.Time{}
		return a.state.saveSnapshot(a.base)
	}
	for _, f := range files {
		if f.Change == registry.FileAdded || f.Change == registry.FileModified {
			if err := a.keep(f.Path, cur.Files[f.Path]); err != nil {
				return err
			}
		}
	}
	seq := a.base.Seq + 1
	rep := registry.ChangeReport{ID: newReportID(a.cfg.Host, seq), Host: a.cfg.Host, FirstChange: a.first.UTC(), LastChange: a.lastChange.UTC(),
		Files: files, Packages: pkgs, FilesTotal: len(files), PackagesTotal: len(pkgs)}
	hist := a.state.path("history", seqName(seq)+"-"+t.UTC().Format("20060102T150405Z"))
	rep.History = hist
	if err := os.MkdirAll(hist, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(hist, "changes.diff"), a.diffs(rep, cur), 0o600); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	full, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(hist, "report.json"), full, 0o600); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	// What travels is bounded; the history keeps everything.
	if len(rep.Files) > registry.MaxReportItems {
		rep.Files = rep.Files[:registry.MaxReportItems]
	}
	if len(rep.Packages) > registry.MaxReportItems {
		rep.Packages = rep.Packages[:registry.MaxReportItems]
	}
	b, _ := json.Marshal(rep)
	if err := writeAtomic(a.state.path("queue", seqName(seq)+".json"), b); err != nil {
		return err
	}
	a.base = savedSnapshot{Seq: seq, Snapshot: cur}
	if err := a.state.saveSnapshot(a.base); err != nil {
		return err
	}
	a.log.Info("agent: report queued", "id", rep.ID, "summary", rep.Summary(), "history", hist)
	a.first = time.Time{}
	if err := a.state.gcObjects(cur.Files); err != nil {
		a.log.Warn("agent: cleaning kept contents", "err", err)
	}
	return nil
}

// diffs renders the local history of a report: the packages, then a text
// diff of each file against the previous snapshot, as metche does.
func (a *Agent) diffs(rep registry.ChangeReport, cur Snapshot) []byte {
	var out bytes.Buffer
	fmt.Fprintf(&out, "# maillon agent report %s for %s\n# changes seen %s to %s\n# %s\n\n", rep.ID, rep.Host,
		rep.FirstChange.Format(time.RFC3339), rep.LastChange.Format(time.RFC3339), rep.Summary())
	for _, p := range rep.Packages {
		fmt.Fprintf(&out, "package %s %s: %s\n", p.Change, p.Name, arrow(p.OldVersion, p.Version))
	}
	if len(rep.Packages) > 0 {
		out.WriteString("\n")
	}
	diffProg, _ := exec.LookPath("diff")
	for _, f := range rep.Files {
		fmt.Fprintf(&out, "=== %s %s (%s)\n", f.Change, f.Path, f.Type)
		if f.OldMode != "" || f.OldOwner != "" {
			fmt.Fprintf(&out, "mode %s, owner %s\n", arrow(f.OldMode, f.Mode), arrow(f.OldOwner, f.Owner))
		}
		if f.OldTarget != "" || f.Target != "" {
			fmt.Fprintf(&out, "symlink to %s\n", arrow(f.OldTarget, f.Target))
		}
		if f.Change == registry.FilePermissions || (f.Type != "file" && f.OldType != "file") {
			continue
		}
		oldPath, newPath := os.DevNull, os.DevNull
		if f.OldSHA256 != "" || f.Change == registry.FileRemoved {
			oldPath = a.state.objectPath(orNone(f.OldSHA256))
		} else if f.Change == registry.FileModified {
			oldPath = a.state.objectPath(orNone(f.SHA256)) // type change only
		}
		if f.Change != registry.FileRemoved {
			newPath = a.state.objectPath(orNone(f.SHA256))
		}
		old, oerr := readObject(oldPath)
		now, nerr := readObject(newPath)
		switch {
		case oerr != nil || nerr != nil:
			fmt.Fprintf(&out, "contents %s, not kept (larger than %d bytes or unreadable)\n", arrow(short(f.OldSHA256), short(f.SHA256)), a.cfg.KeepMax)
		case binary(old) || binary(now):
			fmt.Fprintf(&out, "binary contents %s\n", arrow(short(f.OldSHA256), short(f.SHA256)))
		case diffProg == "":
			fmt.Fprintf(&out, "contents %s (no diff program)\n", arrow(short(f.OldSHA256), short(f.SHA256)))
		default:
			cmd := exec.Command(diffProg, "-u", "--label", "a"+f.Path, "--label", "b"+f.Path, oldPath, newPath)
			d, err := cmd.Output()
			var exit *exec.ExitError
			if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
				fmt.Fprintf(&out, "diff failed: %v\n", err)
			}
			out.Write(d)
		}
		out.WriteString("\n")
	}
	return out.Bytes()
}

func orNone(sum string) string {
	if len(sum) < 3 {
		return "none"
	}
	return sum
}

func readObject(p string) ([]byte, error) {
	if p == os.DevNull {
		return nil, nil
	}
	return os.ReadFile(p)
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func arrow(old, now string) string {
	switch {
	case old == now:
		return now
	case old == "":
		return now
	case now == "":
		return old + " -> (none)"
	}
	return old + " -> " + now
}

// flush delivers the queue in order, each report once: maillon records a
// report id once, so one whose answer was lost is simply sent again.
func (a *Agent) flush(ctx context.Context) error {
	now := a.opt.Now()
	if now.Before(a.retryAt) {
		return nil
	}
	names, err := a.state.queued()
	if err != nil {
		return err
	}
	for _, name := range names {
		p := a.state.path("queue", name)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var rep registry.ChangeReport
		if err := json.Unmarshal(b, &rep); err != nil {
			a.log.Error("agent: unreadable queued report, moved aside", "file", p, "err", err)
			os.Rename(p, a.state.path("queue", "rejected", name))
			continue
		}
		entry, created, err := a.opt.Sender.SendReport(ctx, rep)
		if err != nil && a.opt.Permanent(err) {
			a.log.Error("agent: maillon refused a report; moved aside", "id", rep.ID, "file", a.state.path("queue", "rejected", name), "err", err)
			if err := os.Rename(p, a.state.path("queue", "rejected", name)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			if a.delay == 0 {
				a.delay = a.cfg.Interval.Duration
			} else {
				a.delay = min(2*a.delay, a.cfg.RetryMax.Duration)
			}
			a.retryAt = now.Add(a.delay)
			a.log.Warn("agent: report not delivered, kept in the queue", "id", rep.ID, "queued", len(names), "retry_in", a.delay, "err", err)
			return nil
		}
		a.delay, a.retryAt = 0, time.Time{}
		if err := os.Remove(p); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(p)); err != nil {
			return err
		}
		a.log.Info("agent: report delivered", "id", rep.ID, "entry", entry.ID, "again", !created)
	}
	return nil
}
