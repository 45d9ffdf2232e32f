package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Status configures the public status page and the emails it sends.
type Status struct {
	// Title heads the page and the feeds, e.g. "Neutrinet".
	Title string `yaml:"title"`
	// PublicURL is where members reach the status page, e.g.
	// "https://status.example.org/status"; links in emails and feeds use
	// it. Empty: http://<listen.http>/status.
	PublicURL string `yaml:"public_url"`
	// Language is what the page and emails speak to someone whose
	// language is unknown: fr or en.
	Language string `yaml:"language"`
	// TimeZone shows times where members live (IANA name).
	TimeZone string `yaml:"time_zone"`
	// ConfirmWithin is how long an email subscription waits for its
	// confirmation before it is forgotten.
	ConfirmWithin Duration `yaml:"confirm_within"`
}

func defaultStatus() Status {
	return Status{Title: "maillon", Language: "fr", TimeZone: "Europe/Paris", ConfirmWithin: Duration{48 * time.Hour}}
}

func (s *Status) validate() error {
	if s.Language != "fr" && s.Language != "en" {
		return fmt.Errorf("status.language: %q is not fr or en", s.Language)
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil {
		return fmt.Errorf("status.time_zone: %w", err)
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("status.public_url: %q is not an http(s) URL", s.PublicURL)
		}
		s.PublicURL = strings.TrimSuffix(s.PublicURL, "/")
	}
	if s.ConfirmWithin.Duration < time.Hour {
		return fmt.Errorf("status.confirm_within: %s is under an hour", s.ConfirmWithin.Duration)
	}
	return nil
}
