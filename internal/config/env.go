package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// envPrefix starts every variable that overrides a key of the file.
const envPrefix = "MAILLON_"

// envOther are MAILLON_* variables that are not configuration keys but
// are read elsewhere (the CLI, the tests, the benchmarks): they must not be
// reported as unknown keys.
var envOther = map[string]bool{
	"MAILLON_CONFIG":          true, // serve/init --config default
	"MAILLON_SOCKET":          true, // CLI: daemon's admin socket
	"MAILLON_URL":             true, // CLI: daemon's HTTP address
	"MAILLON_TOKEN":           true, // CLI: API token
	"MAILLON_ARTIFACTS":       true, // browser tests' screenshots
	"MAILLON_REQUIRE_PEERS":   true, // tests fail instead of skipping
	"MAILLON_GO_TEST_TIMEOUT": true, // scripts/test.sh
}

// envOtherPrefixes are families of such variables.
var envOtherPrefixes = []string{"MAILLON_TEST_", "MAILLON_BENCH_"}

// envAliases maps variable names kept for compatibility to the key they
// set, when they differ from the name derived from the key. Every name
// documented so far is the derived one, so it is empty; a key renamed
// later keeps its old variable working by an entry here.
var envAliases = map[string]string{}

// envKey is one key of the file that a variable can set.
type envKey struct {
	path string        // "ipam.quarantine"
	v    reflect.Value // settable field
}

// envName is the variable of a key path: MAILLON_ and the path in upper
// case with dots as underscores.
func envName(path string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// envKeys lists, by variable name, every scalar key of c: strings, bools,
// numbers, durations and lists of strings. Lists of tables (dns.keys,
// monitor.routes, ...) and maps have no variable.
func envKeys(c *Config) map[string]envKey {
	out := map[string]envKey{}
	add := func(path string, v reflect.Value) {
		n := envName(path)
		if prev, dup := out[n]; dup {
			panic(fmt.Sprintf("config: %s and %s both map to %s", prev.path, path, n))
		}
		out[n] = envKey{path, v}
	}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if opts == "inline" {
				walk(fv, prefix)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			path := prefix + name
			switch {
			case f.Type == reflect.TypeFor[Duration]():
				add(path, fv)
			case f.Type.Kind() == reflect.Struct:
				walk(fv, path+".")
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String,
				f.Type.Kind() == reflect.String, f.Type.Kind() == reflect.Bool,
				fv.CanInt(), fv.CanUint(), fv.CanFloat():
				add(path, fv)
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return out
}

// applyEnv lets MAILLON_* variables of environ ("NAME=value") override the
// file, which is how containers and systemd credentials pass secrets and
// how instances sharing one file differ. A MAILLON_* variable that names no
// key is an error: a misspelt override would otherwise be silently lost.
func (c *Config) applyEnv(environ []string) error {
	keys := envKeys(c)
	set := map[string]string{}
	var unknown []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || envIgnored(name) {
			continue
		}
		if alias, ok := envAliases[name]; ok {
			name = envName(alias)
		}
		if _, ok := keys[name]; !ok {
			unknown = append(unknown, name)
			continue
		}
		set[name] = value
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		msgs := make([]string, len(unknown))
		for i, u := range unknown {
			msgs[i] = u
			if s := closest(u, names); s != "" {
				msgs[i] += " (did you mean " + s + "?)"
			}
		}
		return fmt.Errorf("%s: no such configuration key (MAILLON_ and a key's path in capitals, e.g. MAILLON_MONITOR_DISABLED for monitor.disabled)", strings.Join(msgs, ", "))
	}
	// In name order, so that with several bad variables the same one is
	// reported each time.
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := setEnv(keys[n].v, set[n]); err != nil {
			return fmt.Errorf("%s (%s): %w", n, keys[n].path, err)
		}
	}
	return nil
}

func envIgnored(name string) bool {
	if envOther[name] {
		return true
	}
	for _, p := range envOtherPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// setEnv parses s into the field v as its YAML counterpart would be.
func setEnv(v reflect.Value, s string) error {
	if d, ok := v.Addr().Interface().(*Duration); ok {
		p, err := ParseDuration(s)
		if err != nil {
			return err
		}
		d.Duration = p
		return nil
	}
	switch {
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "true", "yes", "on":
			v.SetBool(true)
		case "0", "false", "no", "off":
			v.SetBool(false)
		default:
			return fmt.Errorf("%q is not true or false", s)
		}
	case v.CanInt():
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(n)
	case v.CanUint():
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetUint(n)
	case v.CanFloat():
		n, err := strconv.ParseFloat(strings.TrimSpace(s), v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(n)
	case v.Kind() == reflect.Slice:
		// Comma-separated; an empty variable empties the list.
		var list []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		v.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// closest is the candidate nearest to s by edit distance, if near enough
// to be a likely typo ("" otherwise). Ties go to the first in sorted order
// so the suggestion does not depend on map order.
func closest(s string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestD := "", max(2, len(s)/4)+1
	for _, c := range sorted {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
