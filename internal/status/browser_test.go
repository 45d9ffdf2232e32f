package status_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/testenv"
)

// TestStatusPageInChromium runs e2e/status.mjs: Playwright drives Debian's
// Chromium, JavaScript off, through the status page of scene() in both
// colour schemes and languages, checking landmarks, headings, keyboard
// access, labels and the contrast of every text. Screenshots go to
// $MAILLON_ARTIFACTS/status (default: test-artifacts/status).
func TestStatusPageInChromium(t *testing.T) {
	chromium := testenv.LookPath(t, "chromium")
	node := testenv.LookPath(t, "node")
	// playwright-core 1.65 needs Node.js 20 (Debian 12's nodejs is 18).
	if v, err := exec.Command(node, "-p", "process.versions.node.split('.')[0]").Output(); err != nil {
		t.Fatalf("node: %v", err)
	} else if major, _ := strconv.Atoi(strings.TrimSpace(string(v))); major < 20 {
		testenv.Unavailable(t, "Node.js %s is too old for playwright-core (20 or later)", strings.TrimSpace(string(v)))
	}
	e2e, err := filepath.Abs("../../e2e")
	if err != nil {
		t.Fatal(err)
	}
	testenv.NpmCI(t, e2e)
	artifacts := os.Getenv("MAILLON_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs("../../test-artifacts")
	}
	artifacts = filepath.Join(artifacts, "status")

	f, _ := scene(t)
	f.opt.Sender, _ = smtpSender(t) // the subscription form shows only when email is on
	f.restart()
	srv := f.server()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(e2e, "status.mjs"))
	cmd.Dir = e2e
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "CHROMIUM="+chromium, "ARTIFACTS="+artifacts)
	out, err := cmd.CombinedOutput()
	t.Logf("status.mjs (screenshots in %s):\n%s", artifacts, out)
	if err != nil {
		t.Fatalf("status.mjs: %v", err)
	}
}
