package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// npmStamp, in node_modules, records the package-lock.json that `npm ci`
// installed, so that a later run with the same lock file reuses it.
const npmStamp = ".maillon-lock-sha256"

// NpmCI installs the Node project in dir (a directory of the repository
// with package.json and package-lock.json) with `npm ci`, exactly as its
// lock file pins it, and returns its node_modules directory. The install
// is kept in dir/node_modules (git ignores it) and reused while the lock
// file is unchanged, so only the first run of a machine pays for it.
func NpmCI(t testing.TB, dir string) string {
	t.Helper()
	npm := LookPath(t, "npm")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	modules := filepath.Join(dir, "node_modules")
	if got, err := os.ReadFile(filepath.Join(modules, npmStamp)); err == nil && string(got) == want {
		return modules
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: npm ci in %s: %v\n%s", dir, err, out)
	}
	if err := os.WriteFile(filepath.Join(modules, npmStamp), []byte(want), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return modules
}
