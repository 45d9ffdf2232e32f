package status_test

import (
	"context"
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
	pw := testenv.NewPlaywright(t, "../../e2e", "status")

	f, _ := scene(t)
	f.opt.Sender, _ = smtpSender(t) // the subscription form shows only when email is on
	f.restart()
	srv := f.server()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := pw.Command(ctx, "status.mjs", "BASE_URL="+srv.URL).CombinedOutput()
	t.Logf("status.mjs (screenshots in %s):\n%s", pw.Artifacts, out)
	if err != nil {
		t.Fatalf("status.mjs: %v", err)
	}
}
