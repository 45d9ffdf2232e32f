package app

import (
	"path/filepath"

	"maillon/internal/config"
	"maillon/internal/secret"
)

// LoopbackConfig runs every listener of a daemon on 127.0.0.1 with a port
// the kernel picks, and keeps its socket and spool under dir: what tests
// and benchmarks start many of, side by side.
func LoopbackConfig(dir, database string) *config.Config {
	cfg := config.Default()
	cfg.Database = database
	cfg.SecretKey = secret.NewKey()
	cfg.Listen.HTTP = "127.0.0.1:0"
	cfg.Listen.Socket = filepath.Join(dir, "maillon.sock")
	cfg.RADIUS.Auth = "127.0.0.1:0"
	cfg.RADIUS.Acct = "127.0.0.1:0"
	cfg.RADIUS.SpoolDir = filepath.Join(dir, "radius-spool")
	cfg.DNS.Listen = "127.0.0.1:0"
	return cfg
}
