package status_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"maillon/internal/notify"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

type discardSender struct{}

func (discardSender) Send(context.Context, notify.Message) error { return nil }

// The log says what happened to a maintenance (planned, started, ended),
// not "notice planned" for all three.
func TestMaintenanceNoticesLogWhatHappened(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	var logs testenv.Buffer
	f.opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	f.opt.Sender = discardSender{}
	f.restart()
	mStart := f.clock.Now().Add(time.Hour)
	m := must[registry.Maintenance](t)(f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "VPN server upgrade",
		Components: []int64{n.vpn.ID}, StartsAt: mStart, EndsAt: mStart.Add(time.Hour)}))
	f.svc.Tick(f.ctx)
	f.clock.Advance(time.Hour + time.Minute)
	f.svc.Tick(f.ctx)
	f.clock.Advance(time.Hour)
	f.svc.Tick(f.ctx)
	out := logs.String()
	for _, want := range []string{"planned", "started", "ended"} {
		if !strings.Contains(out, "maintenance "+id(m.ID)+" "+want) {
			t.Errorf("log does not say the maintenance %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "notice planned") {
		t.Errorf("log still says \"notice planned\":\n%s", out)
	}
}
