// Package archtest holds no code: its test enforces the import rules of
// DESIGN.md on every package of the module (which packages may import which),
// the way Tailscale's cmd/tailscaled/deps_test.go does. A forbidden import
// fails `go test ./...` with the chain of imports that leads to it.
package archtest
