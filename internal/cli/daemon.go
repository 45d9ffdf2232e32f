package cli

import "github.com/spf13/cobra"

// daemonCommands are the commands that run or maintain the daemon and its
// database directly: serve, demo, init, migrate, backup, restore.
func daemonCommands() []*cobra.Command { return nil }
