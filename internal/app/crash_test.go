package app_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"maillon/internal/accounting"
	"maillon/internal/app"
	"maillon/internal/demo"
	"maillon/internal/store"
	"maillon/internal/testenv"
)

// A kill -9 of the daemon in the middle of an accounting storm loses no
// acknowledged record: every session's stored totals are at least the
// last totals the daemon acknowledged.
func TestKillDuringAccountingStorm(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	// Seed the demo ISP in-process, then hand the database to a daemon
	// running as its own process, so that it can be killed for real.
	cfg := app.LoopbackConfig(dir, db)
	port := testenv.FreePort(t)
	cfg.RADIUS.Auth, cfg.RADIUS.Acct = "", fmt.Sprintf("127.0.0.1:%d", port)
	cfg.Listen.HTTP = ""
	a, err := app.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(context.Background(), a.Registry()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	bin := filepath.Join(dir, "maillon")
	if out, err := exec.Command("go", "build", "-o", bin, "maillon/cmd/maillon").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "maillon.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`database: %q
secret_key: %q
listen: {http: "", socket: %q}
radius: {auth: "", acct: %q, spool_dir: %q}
log: {level: warn}
`, db, cfg.SecretKey, cfg.Listen.Socket, cfg.RADIUS.Acct, cfg.RADIUS.SpoolDir)), 0o600)
	daemon := exec.Command(bin, "serve", "--config", conf)
	daemon.Stderr = os.Stderr
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { daemon.Wait(); close(exited) }()
	t.Cleanup(func() { daemon.Process.Kill(); <-exited })

	// The storm: sessions of demo1 report growing totals as fast as they
	// are acknowledged, until the daemon dies under them.
	const sessions = 16
	acked := make([]uint32, sessions) // last acknowledged Acct-Input-Octets
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	total := 0
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := radius.Client{Retry: 200 * time.Millisecond}
			for n := uint32(1); ctx.Err() == nil; n++ {
				p := radius.New(radius.CodeAccountingRequest, []byte("demo-secret"))
				rfc2865.UserName_SetString(p, "demo1@DEMO")
				rfc2866.AcctSessionID_SetString(p, fmt.Sprintf("storm-%d", s))
				status := rfc2866.AcctStatusType_Value_InterimUpdate
				if n == 1 {
					status = rfc2866.AcctStatusType_Value_Start
				}
				rfc2866.AcctStatusType_Set(p, status)
				rfc2866.AcctSessionTime_Set(p, rfc2866.AcctSessionTime(n))
				rfc2866.AcctInputOctets_Set(p, rfc2866.AcctInputOctets(n*1000))
				rfc2866.AcctOutputOctets_Set(p, rfc2866.AcctOutputOctets(n*3000))
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				resp, err := client.Exchange(rctx, p, cfg.RADIUS.Acct)
				cancel()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					time.Sleep(50 * time.Millisecond) // not yet listening, or dead
					n--
					continue
				}
				if resp.Code == radius.CodeAccountingResponse {
					mu.Lock()
					acked[s] = n * 1000
					total++
					mu.Unlock()
				}
			}
		}()
	}
	// Let the storm run until well over a thousand records are in, then kill.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := total
		mu.Unlock()
		if n >= 1500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d records acknowledged in a minute", n)
		}
	}
	daemon.Process.Signal(syscall.SIGKILL)
	<-exited
	stop()
	wg.Wait()

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := st.ListSessions(context.Background(), accounting.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, s := range stored {
		got[s.SessionID] = s.InputOctets
	}
	for s := range sessions {
		id := fmt.Sprintf("storm-%d", s)
		if acked[s] > 0 && got[id] < uint64(acked[s]) {
			t.Errorf("session %s: acknowledged %d octets, stored %d", id, acked[s], got[id])
		}
	}
	t.Logf("%d records acknowledged before the kill; all of them are in the database", total)
}
