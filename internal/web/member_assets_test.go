package web

import (
	"bytes"
	"embed"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"maillon/internal/testenv"
)

// chartAssets is what the binary embeds (ui.go embeds all of static/).
//
//go:embed static/chart
var chartAssets embed.FS

// TestChartAssetsReproducible rebuilds the embedded chart library from
// web/package-lock.json (npm ci, then web/build.mjs into a temporary
// directory) and requires the result to be byte-identical to what is
// embedded: the asset served is the one the lock file pins, nobody edited
// it by hand, and a version bump cannot land without its rebuild.
func TestChartAssetsReproducible(t *testing.T) {
	node := testenv.LookPath(t, "node")
	dir, err := filepath.Abs("../../web")
	if err != nil {
		t.Fatal(err)
	}
	testenv.NpmCI(t, dir)
	out := t.TempDir()
	cmd := exec.Command(node, "build.mjs", out)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	built := map[string][]byte{}
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		built[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	embedded := map[string][]byte{}
	err = fs.WalkDir(chartAssets, "static/chart", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("static/chart", p)
		embedded[filepath.ToSlash(rel)], err = chartAssets.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(built) == 0 {
		t.Fatal("the build produced no file")
	}
	for name, b := range built {
		e, ok := embedded[name]
		if !ok {
			t.Errorf("%s is built but not embedded: run `npm ci && npm run build` in web/ and commit", name)
			continue
		}
		if !bytes.Equal(b, e) {
			t.Errorf("embedded %s (%d bytes) differs from the rebuild (%d bytes): run `npm ci && npm run build` in web/ and commit", name, len(e), len(b))
		}
	}
	for name := range embedded {
		if _, ok := built[name]; !ok {
			t.Errorf("embedded %s is not produced by the build: remove it", name)
		}
	}
}
