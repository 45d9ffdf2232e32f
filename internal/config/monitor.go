package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Monitor configures checks and alerting.
type Monitor struct {
	// Disabled stops this instance from running checks and alerting
	// (with several instances on one PostgreSQL, run it on one).
	Disabled bool `yaml:"disabled"`
	// PublicURL is maillon's URL as people and watched machines reach it:
	// push check URLs and acknowledgement links start with it.
	PublicURL string `yaml:"public_url"`
	// Concurrency bounds the probes running at once.
	Concurrency int `yaml:"concurrency"`
	// Alertmanager authenticates Prometheus Alertmanager's webhook at
	// /api/v1/alertmanager: its http_config sends the token as a bearer
	// token, or as the password of basic auth. Empty disables the intake.
	Alertmanager AlertmanagerIntake `yaml:"alertmanager"`
	// Routes send alerts to notify channels; the first that matches an
	// alert is used.
	Routes []AlertRoute `yaml:"routes"`
}

// AlertmanagerIntake is the webhook's credential.
type AlertmanagerIntake struct {
	Token string `yaml:"token"`
}

// AlertRoute matches alerts and says whom to tell, and when to tell more.
type AlertRoute struct {
	Name string `yaml:"name"`
	// Severities, Tags (any of) and Labels (all of; Alertmanager labels)
	// select the alerts; empty matches all.
	Severities []string          `yaml:"severities"`
	Tags       []string          `yaml:"tags"`
	Labels     map[string]string `yaml:"labels"`
	// Repeat re-sends an unacknowledged firing alert this often (0: never).
	Repeat Duration `yaml:"repeat"`
	// Levels are the escalation: level N is told once the alert has fired
	// for its After without acknowledgement.
	Levels []AlertLevel `yaml:"levels"`
}

// AlertLevel is one escalation step.
type AlertLevel struct {
	After    Duration `yaml:"after"`
	Channels []string `yaml:"channels"`
}

func (c *Monitor) validate() error {
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("monitor.public_url: %q is not an http(s) URL", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.Concurrency < 0 {
		return fmt.Errorf("monitor.concurrency: cannot be negative")
	}
	for i, r := range c.Routes {
		name := fmt.Sprintf("monitor.routes[%d]", i)
		if r.Name != "" {
			name = "monitor.routes." + r.Name
		}
		if len(r.Levels) == 0 {
			return fmt.Errorf("%s: needs at least one level with channels", name)
		}
		for _, s := range r.Severities {
			switch s {
			case "info", "warning", "critical":
			default:
				return fmt.Errorf("%s.severities: %q is not one of info, warning, critical", name, s)
			}
		}
		if r.Repeat.Duration < 0 {
			return fmt.Errorf("%s.repeat: cannot be negative", name)
		}
		for j, l := range r.Levels {
			if len(l.Channels) == 0 {
				return fmt.Errorf("%s.levels[%d]: no channels", name, j)
			}
			if j > 0 && l.After.Duration <= r.Levels[j-1].After.Duration {
				return fmt.Errorf("%s.levels[%d].after: %s must come after the previous level's %s", name, j, l.After.Duration, r.Levels[j-1].After.Duration)
			}
		}
	}
	return nil
}
