package store_test

import (
	"errors"
	"testing"
	"time"

	"maillon/internal/registry"
)

// TestChecksAlertsSilences stores checks (with a sealed secret and a push
// token hash), their states, alerts (one firing per fingerprint) and
// silences on every engine.
func TestChecksAlertsSilences(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		host, err := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("radius1")})
		if err != nil {
			t.Fatal(err)
		}
		rad, err := f.reg.CreateCheck(f.ctx, f.admin, registry.CheckInput{Name: ptr("radius1"), Kind: ptr(registry.CheckRADIUS),
			Address: ptr("127.0.0.1:1812"), Secret: ptr("s3cret"), HostID: &host.ID, Tags: &[]string{"aaa", "core"}, Retries: ptr(2)})
		if err != nil {
			t.Fatal(err)
		}
		push, err := f.reg.CreateCheck(f.ctx, f.admin, registry.CheckInput{Name: ptr("backup"), Kind: ptr(registry.CheckPush), Interval: ptr("1d"),
			Parents: &[]string{"radius1"}, Enabled: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.CreateCheck(f.ctx, f.admin, registry.CheckInput{Name: ptr("RADIUS1"), Kind: ptr(registry.CheckTCP), Address: ptr("a:1")}); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("duplicate name: %v", err)
		}
		got, err := f.reg.FindCheck(f.ctx, "radius1")
		if err != nil || got.TargetType != registry.TargetHost || *got.TargetID != host.ID || !got.SecretSet || len(got.Tags) != 2 || got.Retries != 2 {
			t.Fatalf("radius1: %+v %v", got, err)
		}
		if s, err := f.reg.CheckSecret(got); err != nil || s != "s3cret" {
			t.Errorf("secret %q %v", s, err)
		}
		var byToken registry.Check
		f.reg.Read(f.ctx, func(r registry.Reader) error {
			byToken, err = r.GetCheckByPushToken(f.ctx, registry.HashPushToken(push.PushToken))
			return err
		})
		if err != nil || byToken.ID != push.ID || byToken.Enabled || len(byToken.Parents) != 1 || byToken.Parents[0] != rad.ID || byToken.IntervalSeconds != 86400 {
			t.Fatalf("by token: %+v %v", byToken, err)
		}

		now := f.clock.Now().Truncate(time.Microsecond)
		for _, st := range []string{registry.StateDown, registry.StateUp} {
			if err := f.reg.SaveCheckState(f.ctx, registry.CheckState{CheckID: rad.ID, State: st, Since: now, Failures: 3, Message: "timeout"}); err != nil {
				t.Fatal(err)
			}
		}
		id := rad.ID
		al := registry.Alert{Fingerprint: "check:1", Source: registry.SourceCheck, CheckID: &id, Name: "radius1", Severity: "critical",
			Labels: map[string]string{"check": "radius1"}, StartedAt: now}
		if err := f.reg.RaiseAlert(f.ctx, &al); err != nil {
			t.Fatal(err)
		}
		dup := al
		if err := f.reg.RaiseAlert(f.ctx, &dup); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("second firing alert: %v", err)
		}
		al.Notifications, al.NotifiedAt, al.Level = 1, &now, 1
		if err := f.reg.SaveAlert(f.ctx, &al); err != nil {
			t.Fatal(err)
		}
		acked, err := f.reg.AckAlert(f.ctx, f.admin, al.ID)
		if err != nil || acked.AckedBy != "test" || acked.Level != 1 {
			t.Fatalf("ack: %+v %v", acked, err)
		}
		if _, err := f.reg.AckAlert(f.ctx, f.admin, al.ID); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("second ack: %v", err)
		}
		al = acked
		al.State, al.ResolvedAt = registry.AlertResolved, &now
		if err := f.reg.SaveAlert(f.ctx, &al); err != nil {
			t.Fatal(err)
		}
		again := registry.Alert{Fingerprint: "check:1", Source: registry.SourceCheck, Name: "radius1", Severity: "critical", StartedAt: now}
		if err := f.reg.RaiseAlert(f.ctx, &again); err != nil {
			t.Errorf("raise after resolution: %v", err)
		}
		sl, err := f.reg.CreateSilence(f.ctx, f.admin, registry.SilenceInput{Matchers: []string{"tag=core", "severity=critical"}, Duration: "2h"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.ExpireSilence(f.ctx, f.admin, sl.ID); err != nil {
			t.Fatal(err)
		}
		f.reg.Read(f.ctx, func(r registry.Reader) error {
			states, err := r.ListCheckStates(f.ctx)
			if err != nil || len(states) != 1 || states[0].State != registry.StateUp || !states[0].Since.Equal(now) {
				t.Errorf("states %+v %v", states, err)
			}
			alerts, err := r.ListAlerts(f.ctx, registry.AlertFilter{})
			if err != nil || len(alerts) != 2 || alerts[1].State != registry.AlertResolved || alerts[1].Labels["check"] != "radius1" || alerts[1].AckedAt == nil {
				t.Errorf("alerts %+v %v", alerts, err)
			}
			sls, err := r.ListSilences(f.ctx)
			if err != nil || len(sls) != 1 || sls[0].ActiveAt(now) || len(sls[0].Matchers) != 2 {
				t.Errorf("silences %+v %v", sls, err)
			}
			return nil
		})
		if err := f.reg.DeleteCheck(f.ctx, f.admin, rad.ID); !errors.Is(err, registry.ErrInUse) {
			t.Errorf("delete a parent: %v", err)
		}
		if err := f.reg.DeleteCheck(f.ctx, f.admin, push.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.reg.DeleteCheck(f.ctx, f.admin, rad.ID); err != nil {
			t.Fatalf("delete with a state: %v", err)
		}
	})
}
