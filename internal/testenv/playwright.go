package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Playwright runs the scripts of the repository's e2e directory:
// playwright-core, pinned by e2e/package-lock.json, driving Debian's
// Chromium.
type Playwright struct {
	Node, Chromium string
	Dir            string // the e2e directory, installed by NpmCI
	// Artifacts is where the scripts put screenshots:
	// $MAILLON_ARTIFACTS/<name>, or test-artifacts/<name> at the top of
	// the repository when MAILLON_ARTIFACTS is unset.
	Artifacts string
}

// NewPlaywright finds node and chromium, installs e2e (its path from the
// test's package, like "../../e2e") and names the artifacts directory
// for name.
func NewPlaywright(t testing.TB, e2e, name string) Playwright {
	t.Helper()
	p := Playwright{Chromium: LookPath(t, "chromium"), Node: LookPath(t, "node")}
	// playwright-core 1.65 needs Node.js 20 (Debian 12's nodejs is 18).
	if v, err := exec.Command(p.Node, "-p", "process.versions.node.split('.')[0]").Output(); err != nil {
		t.Fatalf("node: %v", err)
	} else if major, _ := strconv.Atoi(strings.TrimSpace(string(v))); major < 20 {
		Unavailable(t, "Node.js %s is too old for playwright-core (20 or later)", strings.TrimSpace(string(v)))
	}
	var err error
	if p.Dir, err = filepath.Abs(e2e); err != nil {
		t.Fatal(err)
	}
	NpmCI(t, p.Dir)
	artifacts := os.Getenv("MAILLON_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(filepath.Dir(p.Dir), "test-artifacts")
	}
	p.Artifacts = filepath.Join(artifacts, name)
	return p
}

// Command runs the script of e2e with CHROMIUM, ARTIFACTS and env set.
func (p Playwright) Command(ctx context.Context, script string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.Node, filepath.Join(p.Dir, script))
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+p.Chromium, "ARTIFACTS="+p.Artifacts)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}
