package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "maillon"

// pkg is what the rules need to know of one package of the module. Imports
// are the non-test imports: tests may import what they like.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
}

// The rules of DESIGN.md. A group is a package and its subpackages
// (maillon/internal/store and maillon/internal/store/postgres are both
// "store"). Groups that have no package yet are simply not checked.
var (
	// Serving subsystems never import each other nor the store, directly or
	// through another package: each declares the narrow interface it consumes.
	isolated = []string{"internal/radius", "internal/dns", "internal/web", "internal/monitor", "internal/status", "internal/journal", "internal/roster"}

	// Leaves may import only the listed packages of the module, so that any
	// subsystem can use them without a cycle or a hidden dependency.
	leaves = map[string][]string{"internal/notify": {"internal/config"}}

	store = "internal/store"

	// Only these may import the store (they pick an engine); tests may too.
	storeImporters = []string{"internal/app", "internal/cli", store}

	// Packages that must not depend on the store even indirectly.
	storeFree = []string{"internal/registry"}

	// Test helpers, never linked into the binary.
	testOnly = []string{"internal/testenv", "internal/app/apptest"}

	// No package may carry one of these names (path element or package clause).
	bannedNames = []string{"util", "utils", "common", "types", "api", "http"}
)

func full(group string) string { return module + "/" + group }

// inGroup reports whether path is the group's package or one below it.
func inGroup(path, group string) bool {
	g := full(group)
	return path == g || strings.HasPrefix(path, g+"/")
}

func groupOf(path string, groups []string) (string, bool) {
	for _, g := range groups {
		if inGroup(path, g) {
			return g, true
		}
	}
	return "", false
}

// graph indexes the module's packages by import path.
type graph map[string]*pkg

// chain returns the shortest chain of non-test imports from "from" to a
// package for which target is true, or nil.
func (g graph) chain(from string, target func(string) bool) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		p, ok := g[cur]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = cur
			if target(imp) {
				var path []string
				for n := imp; n != ""; n = prev[n] {
					path = append(path, n)
				}
				slices.Reverse(path)
				return path
			}
			queue = append(queue, imp)
		}
	}
	return nil
}

// violations applies the rules to the module's packages and returns one
// message per offence, sorted.
func violations(pkgs []*pkg) []string {
	g := graph{}
	for _, p := range pkgs {
		g[p.ImportPath] = p
	}
	var out []string
	report := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	via := func(c []string) string { return strings.Join(c, " -> ") }

	for _, p := range pkgs {
		path := p.ImportPath
		if path != module && !strings.HasPrefix(path, module+"/") {
			continue
		}

		// 1. radius, dns, web, monitor: not each other, not the store.
		if own, ok := groupOf(path, isolated); ok {
			forbidden := append([]string{store}, isolated...)
			for _, f := range forbidden {
				if f == own {
					continue
				}
				if c := g.chain(path, func(s string) bool { return inGroup(s, f) }); c != nil {
					report("%s must not import %s (%s): DESIGN.md: the serving subsystems never import each other nor store; declare the narrow interface you consume",
						path, full(f), via(c))
				}
			}
		}

		// 1b. Leaves import (almost) nothing of the module.
		if own, ok := groupOf(path, slices.Collect(maps.Keys(leaves))); ok {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module+"/") && !inGroup(imp, own) && !slices.ContainsFunc(leaves[own], func(a string) bool { return inGroup(imp, a) }) {
					report("%s must not import %s: it is a leaf that any subsystem imports, so it depends only on %v", path, imp, leaves[own])
				}
			}
		}

		// 2. registry declares the storage interface; store implements it.
		if _, ok := groupOf(path, storeFree); ok {
			if c := g.chain(path, func(s string) bool { return inGroup(s, store) }); c != nil {
				report("%s must not import %s (%s): DESIGN.md: registry declares the storage interface it needs and store implements it",
					path, full(store), via(c))
			}
		}

		// 3. Only app and cli pick an engine.
		if _, ok := groupOf(path, storeImporters); !ok {
			for _, imp := range p.Imports {
				if inGroup(imp, store) {
					report("%s must not import %s: DESIGN.md: only %s and %s (and tests) import the store",
						path, imp, full("internal/app"), full("internal/cli"))
				}
			}
		}

		// 4. Test helpers stay out of non-test code.
		if _, ok := groupOf(path, testOnly); !ok {
			for _, imp := range p.Imports {
				if g, ok := groupOf(imp, testOnly); ok {
					report("%s must not import %s outside _test.go files: %s is for tests only", path, imp, full(g))
				}
			}
		}

		// 5. No util, common, types, api, http packages.
		elems := strings.Split(strings.TrimPrefix(path, module), "/")
		for _, e := range append(elems, p.Name) {
			if slices.Contains(bannedNames, e) {
				report("package %s (name %s) uses the banned name %q: DESIGN.md: no packages named util, common, types, api, http; name it for what it provides",
					path, p.Name, e)
				break
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// listModule returns the module's packages as `go list` sees them.
func listModule(t *testing.T) []*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []*pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, &p)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := listModule(t)
	var paths []string
	for _, p := range pkgs {
		paths = append(paths, p.ImportPath)
	}
	// Guard against a vacuous pass: the listing must hold this package and
	// the command.
	for _, want := range []string{module + "/cmd/maillon", module + "/internal/archtest"} {
		if !slices.Contains(paths, want) {
			t.Fatalf("go list %s/... did not list %s; got %v", module, want, paths)
		}
	}
	t.Logf("checked %d packages", len(pkgs))
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestRulesCatchViolations runs the rules on a made-up module, so that they
// are known to bite before the packages they guard exist.
func TestRulesCatchViolations(t *testing.T) {
	m := func(s string) string { return module + "/" + s }
	pkgs := []*pkg{
		{ImportPath: m("cmd/maillon"), Name: "main", Imports: []string{m("internal/cli")}},
		{ImportPath: m("internal/cli"), Name: "cli", Imports: []string{m("internal/app"), m("internal/store")}},
		{ImportPath: m("internal/app"), Name: "app", Imports: []string{m("internal/store/postgres"), m("internal/radius"), m("internal/web")}},
		{ImportPath: m("internal/store"), Name: "store", Imports: []string{m("internal/registry")}},
		{ImportPath: m("internal/store/postgres"), Name: "postgres", Imports: []string{m("internal/store"), "github.com/jackc/pgx/v5"}},
		{ImportPath: m("internal/registry"), Name: "registry", Imports: []string{m("internal/ipam")}},
		{ImportPath: m("internal/ipam"), Name: "ipam", Imports: []string{"net/netip"}},
		// Offences:
		{ImportPath: m("internal/radius"), Name: "radius", Imports: []string{m("internal/registry"), m("internal/dns")}},
		{ImportPath: m("internal/dns"), Name: "dns", Imports: []string{m("internal/helper")}},
		{ImportPath: m("internal/helper"), Name: "helper", Imports: []string{m("internal/store")}},
		{ImportPath: m("internal/web"), Name: "web", Imports: []string{m("internal/web/api")}},
		{ImportPath: m("internal/web/api"), Name: "api", Imports: []string{m("internal/testenv")}},
		{ImportPath: m("internal/monitor/probe"), Name: "probe", Imports: []string{m("internal/radius/dict")}},
		{ImportPath: m("internal/radius/dict"), Name: "dict"},
		{ImportPath: m("internal/testenv"), Name: "testenv"},
		{ImportPath: m("internal/notify"), Name: "notify", Imports: []string{m("internal/config"), m("internal/registry")}},
		{ImportPath: m("internal/status"), Name: "status", Imports: []string{m("internal/notify"), m("internal/monitor")}},
	}
	got := violations(pkgs)
	wants := []string{
		// radius -> dns directly, and -> store through dns -> helper.
		"maillon/internal/radius must not import maillon/internal/dns (maillon/internal/radius -> maillon/internal/dns)",
		"maillon/internal/radius must not import maillon/internal/store (maillon/internal/radius -> maillon/internal/dns -> maillon/internal/helper -> maillon/internal/store)",
		"maillon/internal/dns must not import maillon/internal/store (maillon/internal/dns -> maillon/internal/helper -> maillon/internal/store)",
		// subpackages belong to their group
		"maillon/internal/monitor/probe must not import maillon/internal/radius (maillon/internal/monitor/probe -> maillon/internal/radius/dict)",
		// only app and cli import the store
		"maillon/internal/helper must not import maillon/internal/store:",
		// test helpers in non-test code
		"maillon/internal/web/api must not import maillon/internal/testenv outside _test.go files",
		// a leaf reaching into the domain; status and monitor are isolated
		"maillon/internal/notify must not import maillon/internal/registry: it is a leaf",
		"maillon/internal/status must not import maillon/internal/monitor (",
		// banned names
		`package maillon/internal/web/api (name api) uses the banned name "api"`,
	}
	for _, w := range wants {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no violation starting with:\n  %s\ngot:\n  %s", w, strings.Join(got, "\n  "))
		}
	}
	if len(got) != len(wants) {
		t.Errorf("got %d violations, want %d:\n  %s", len(got), len(wants), strings.Join(got, "\n  "))
	}

	// registry reaching the store, even indirectly, is caught.
	pkgs[5].Imports = append(pkgs[5].Imports, m("internal/helper"))
	found := false
	for _, v := range violations(pkgs) {
		if strings.HasPrefix(v, "maillon/internal/registry must not import maillon/internal/store (maillon/internal/registry -> maillon/internal/helper -> maillon/internal/store)") {
			found = true
		}
	}
	if !found {
		t.Errorf("registry -> helper -> store not reported: %v", violations(pkgs))
	}
}
