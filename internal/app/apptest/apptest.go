// Package apptest runs whole maillon daemons inside tests, the way
// CoreDNS's test/server.go does: real listeners on loopback, a temporary
// database, stopped and checked when the test ends.
package apptest

import (
	"context"
	"testing"

	"maillon/internal/app"
	"maillon/internal/config"
)

// Run starts a daemon with cfg (app.LoopbackConfig is the usual start) and
// stops it when the test ends, failing the test if it stopped with an
// error.
func Run(t testing.TB, cfg *config.Config, with ...app.Option) *app.App {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, nil, with...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon stopped with %v", err)
		}
		a.Close()
	})
	return a
}
