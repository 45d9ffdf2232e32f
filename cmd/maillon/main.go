// Command maillon runs the community ISP registry and the services built on it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"maillon/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
