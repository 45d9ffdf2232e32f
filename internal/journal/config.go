// Package journal is the host side of the interventions journal: the
// agent ("maillon agent") that watches a server's configuration files and
// Debian packages, waits until the server has been quiet for a while (an
// hour by default, as metche does), keeps the diffs in a local history and
// reports what changed, without contents, to the host's journal in
// maillon. Reports wait in an on-disk queue while maillon is unreachable.
package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"maillon/internal/config"
)

// Config is the agent's configuration: a small YAML file, flags on top.
type Config struct {
	// Server is maillon's base URL (https://maillon.example.org).
	Server string `yaml:"server"`
	// TokenFile holds the host's agent token ("maillon journal token
	// create HOST").
	TokenFile string `yaml:"token_file"`
	// Host is the host's name in the registry; the token must be its.
	Host string `yaml:"host"`
	// Watch are the directories to watch; Exclude adds patterns to
	// DefaultExcludes ("*.bak" matches names, "/etc/ssl/private" paths).
	Watch   []string `yaml:"watch"`
	Exclude []string `yaml:"exclude"`
	// DpkgStatus is dpkg's database; "none" watches no packages.
	DpkgStatus string `yaml:"dpkg_status"`
	// Quiet is how long nothing may change before a report goes out.
	Quiet config.Duration `yaml:"quiet"`
	// Interval is how often the files are scanned.
	Interval config.Duration `yaml:"interval"`
	// RetryMax caps the wait between two attempts to reach maillon.
	RetryMax config.Duration `yaml:"retry_max"`
	// StateDir keeps the snapshot, the report queue and the diff history
	// (mode 0700: the diffs hold secrets).
	StateDir string `yaml:"state_dir"`
	// KeepMax is the largest file whose contents are kept for diffs.
	KeepMax int64 `yaml:"keep_max"`
}

// The defaults, as for a server's /etc.
const (
	DefaultConfigFile = "/etc/maillon/agent.yaml"
	DefaultTokenFile  = "/etc/maillon/agent.token"
	DefaultStateDir   = "/var/lib/maillon-agent"
	DefaultDpkgStatus = "/var/lib/dpkg/status"
	DefaultQuiet      = time.Hour
	DefaultInterval   = time.Minute
	DefaultRetryMax   = 5 * time.Minute
	DefaultKeepMax    = 1 << 20
)

// LoadConfig reads a YAML file; unknown keys are errors, not typos to
// ignore. A missing file gives an empty configuration when optional.
func LoadConfig(path string, optional bool) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && optional {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("agent configuration: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return c, fmt.Errorf("agent configuration %s: %w", path, err)
	}
	return c, nil
}

// Complete fills the defaults and checks the configuration.
func (c *Config) Complete() error {
	if c.TokenFile == "" {
		c.TokenFile = DefaultTokenFile
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.DpkgStatus == "" {
		c.DpkgStatus = DefaultDpkgStatus
	}
	if len(c.Watch) == 0 {
		c.Watch = []string{"/etc"}
	}
	if c.Quiet.Duration == 0 {
		c.Quiet.Duration = DefaultQuiet
	}
	if c.Interval.Duration == 0 {
		c.Interval.Duration = min(DefaultInterval, c.Quiet.Duration/4)
	}
	if c.RetryMax.Duration == 0 {
		c.RetryMax.Duration = DefaultRetryMax
	}
	if c.KeepMax == 0 {
		c.KeepMax = DefaultKeepMax
	}
	if c.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("host: not set, and the hostname is unknown: %w", err)
		}
		c.Host, _, _ = strings.Cut(h, ".")
	}
	if c.Server == "" {
		return errors.New("server: maillon's URL is required (--url or server: in the agent's configuration)")
	}
	if u, err := url.Parse(c.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server: %q is not an http:// or https:// URL", c.Server)
	}
	for i, w := range c.Watch {
		if !filepath.IsAbs(w) {
			return fmt.Errorf("watch: %q is not an absolute path", w)
		}
		c.Watch[i] = filepath.Clean(w)
	}
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("state_dir: %q is not an absolute path", c.StateDir)
	}
	for _, w := range c.Watch {
		// The agent's own files would change with every report.
		if rel, err := filepath.Rel(w, c.StateDir); err == nil && !strings.HasPrefix(rel, "..") {
			c.Exclude = append(c.Exclude, c.StateDir)
		}
	}
	for _, p := range c.Exclude {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("exclude: %q is not a pattern: %w", p, err)
		}
	}
	if c.Quiet.Duration < 0 || c.Interval.Duration <= 0 || c.RetryMax.Duration <= 0 {
		return errors.New("quiet, interval and retry_max must be positive durations")
	}
	if c.Interval.Duration > c.Quiet.Duration {
		return fmt.Errorf("interval %s is longer than the quiet period %s", c.Interval.Duration, c.Quiet.Duration)
	}
	return nil
}

// Token reads the agent token from TokenFile.
func (c *Config) Token() (string, error) {
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("agent token: %w (create one with \"maillon journal token create %s\")", err, c.Host)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("agent token: %s is empty", c.TokenFile)
	}
	return t, nil
}
