package web_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/demo"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// TestBrowser runs e2e/browser.mjs: Playwright (playwright-core, pinned
// by e2e/package-lock.json) drives Debian's Chromium against a daemon
// started here on loopback with the demo's data and 90 days of its
// subscriber's traffic. An admin logs in, creates a member with a line,
// sees its addresses and suspends it, and finds the demo line's usage
// chart; the demo member logs in, sees their usage chart drawn, and gets
// 404 for another member's line.
//
// Screenshots of every page are kept, pass or fail, in
// $MAILLON_ARTIFACTS/browser, or test-artifacts/browser at the top of the
// repository when MAILLON_ARTIFACTS is unset; the test logs the path.
func TestBrowser(t *testing.T) {
	pw := testenv.NewPlaywright(t, "../../e2e", "browser")
	artifacts := pw.Artifacts
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", artifacts)

	dir := t.TempDir()
	a := apptest.Run(t, app.LoopbackConfig(dir, filepath.Join(dir, "maillon.db")))
	ctx := context.Background()
	reg := a.Registry()
	if _, err := demo.Seed(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.SeedUsage(ctx, reg, a.Store()); err != nil {
		t.Fatal(err)
	}
	admin := browserAdmin(t, reg)
	const adminPassword = "browser-test-password"
	if err := reg.SetAdminPassword(ctx, registry.Actor{Name: "test"}, admin.ID, adminPassword); err != nil {
		t.Fatal(err)
	}
	line, err := reg.FindSubscription(ctx, demo.Login)
	if err != nil {
		t.Fatal(err)
	}
	member, err := reg.FindMember(ctx, strconv.FormatInt(line.MemberID, 10))
	if err != nil {
		t.Fatal(err)
	}
	other, err := reg.FindSubscription(ctx, demo.SuspendedLogin)
	if err != nil {
		t.Fatal(err)
	}
	if other.MemberID == member.ID {
		t.Fatalf("%s and %s belong to the same member: the isolation check would prove nothing", demo.Login, demo.SuspendedLogin)
	}

	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := pw.Command(ctx, "browser.mjs",
		"BASE_URL=http://"+a.HTTPAddr(),
		"ADMIN_LOGIN="+admin.Name,
		"ADMIN_PASSWORD="+adminPassword,
		"MEMBER_LOGIN="+demo.Login,
		"MEMBER_PASSWORD="+demo.Password,
		"MEMBER_NAME="+member.Name,
		"OTHER_LINE_ID="+strconv.FormatInt(other.ID, 10),
		"OTHER_MEMBER_ID="+strconv.FormatInt(other.MemberID, 10),
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	steps, failed := 0, 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		l := sc.Text()
		t.Log(l)
		switch {
		case strings.HasPrefix(l, "ok - "):
			steps++
		case strings.HasPrefix(l, "not ok - "):
			failed++
		}
	}
	err = cmd.Wait()
	if err != nil || failed > 0 {
		t.Fatalf("node e2e/browser.mjs: %v, %d steps failed (screenshots in %s)\n%s", err, failed, artifacts, stderr.String())
	}
	// A step that is not run prints nothing: count them.
	if steps < 15 {
		t.Fatalf("only %d steps passed: the script stopped early\n%s", steps, stderr.String())
	}
}

// browserAdmin is the demo's first full admin.
func browserAdmin(t *testing.T, reg *registry.Service) registry.Admin {
	t.Helper()
	var admins []registry.Admin
	err := reg.Read(context.Background(), func(r registry.Reader) error {
		var err error
		admins, err = r.ListAdmins(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range admins {
		if ad.Has(registry.RoleAdmin) {
			return ad
		}
	}
	t.Fatal("the demo has no admin")
	return registry.Admin{}
}
