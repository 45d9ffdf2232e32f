package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Roster configures the yearly renewal of the roster: on the renewal date
// each admin holding one of Roles is mailed a link asking whether they
// keep their title; whoever has not answered when Window ends loses it,
// and their SSH certificates are revoked.
type Roster struct {
	// Renewal is the yearly date, "MM-DD" (00:00 UTC); empty turns the
	// yearly campaign off (`maillon roster start` still starts one).
	Renewal string   `yaml:"renewal"`
	Window  Duration `yaml:"window"`
	// Roles are the titles renewed; unset means technical-officer.
	Roles []string `yaml:"roles"`
	// PublicURL is maillon's address as admins' browsers reach it, for
	// the links in the mails; empty means web.public_url, then
	// ca.public_url.
	PublicURL string `yaml:"public_url"`
}

func defaultRoster() Roster {
	return Roster{Window: Duration{14 * 24 * time.Hour}, Roles: []string{"technical-officer"}}
}

// ParseMonthDay reads "MM-DD" (February 29 falls on March 1 in other years).
func ParseMonthDay(s string) (time.Month, int, error) {
	m, d, ok := strings.Cut(strings.TrimSpace(s), "-")
	month, err1 := strconv.Atoi(m)
	day, err2 := strconv.Atoi(d)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || len(d) != 2 ||
		time.Date(2024, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day || month < 1 || month > 12 {
		return 0, 0, fmt.Errorf("%q is not a date of the year as MM-DD (e.g. 01-05)", s)
	}
	return time.Month(month), day, nil
}

func (r *Roster) validate() error {
	if r.Renewal != "" {
		if _, _, err := ParseMonthDay(r.Renewal); err != nil {
			return fmt.Errorf("roster.renewal: %w", err)
		}
	}
	if d := r.Window.Duration; d <= 0 || d > 180*24*time.Hour {
		return fmt.Errorf("roster.window: %s is outside 1s..180d (14d gives two weeks to answer)", d)
	}
	if len(r.Roles) == 0 {
		return errors.New("roster.roles: at least one role (technical-officer) is renewed")
	}
	for _, role := range r.Roles {
		switch role {
		case "admin", "technical-officer", "read-only":
		default:
			return fmt.Errorf("roster.roles: %q is not one of admin, technical-officer, read-only", role)
		}
	}
	if r.PublicURL != "" {
		u, err := url.Parse(r.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("roster.public_url: not an http(s):// URL")
		}
	}
	return nil
}

const rosterTemplate = `
roster:
  # Yearly renewal of the titles (seeds/003: "début janvier, sans réponse
  # au bout de 2 semaines le RT est démis"). On the date (MM-DD, 00:00 UTC)
  # every admin holding one of the roles gets a mail with a link to keep
  # the title or step down; whoever has not answered when the window ends
  # loses it, their SSH certificates are revoked (KRL rewritten), and the
  # other admins are told. Needs notify.email. Empty: off, but
  # "maillon roster start" still starts one by hand.
  renewal: ""              # e.g. "01-05"
  window: 14d
  roles: [technical-officer]
  # Base of the links in the mails, as admins' browsers reach maillon;
  # empty means web.public_url (then ca.public_url).
  # public_url: https://maillon.example.org
`
