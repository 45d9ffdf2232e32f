package config

import (
	"strings"
	"testing"
	"time"

	"maillon/internal/secret"
)

func TestRosterConfig(t *testing.T) {
	key := secret.NewKey()
	base := "database: /tmp/x.db\nsecret_key: " + key + "\n"
	c, err := Load(write(t, base+"roster:\n  renewal: \"01-05\"\n  window: 10d\n  public_url: https://maillon.example.org\nca:\n  user:\n    reminder: 7d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Roster.Renewal != "01-05" || c.Roster.Window.Duration != 10*24*time.Hour || c.Roster.Roles[0] != "technical-officer" ||
		c.CA.User.Reminder.Duration != 7*24*time.Hour {
		t.Fatalf("roster = %+v, reminder %s", c.Roster, c.CA.User.Reminder)
	}
	if d := Default(); d.Roster.Renewal != "" || d.Roster.Window.Duration != 14*24*time.Hour || d.CA.User.Reminder.Duration != 14*24*time.Hour {
		t.Fatalf("defaults = %+v, reminder %s", d.Roster, d.CA.User.Reminder)
	}
	for body, want := range map[string]string{
		"roster:\n  renewal: \"13-01\"":    "roster.renewal",
		"roster:\n  renewal: \"02-30\"":    "roster.renewal",
		"roster:\n  renewal: \"1-5\"":      "roster.renewal",
		"roster:\n  window: 0s":            "roster.window",
		"roster:\n  roles: [wizard]":       "roster.roles",
		"roster:\n  public_url: maillon":   "roster.public_url",
		"ca:\n  user:\n    reminder: 400d": "ca.user.reminder",
		"ca:\n  user:\n    reminder: -1h":  "ca.user.reminder",
	} {
		if _, err := Load(write(t, base+body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %s", body, err, want)
		}
	}
	for s, want := range map[string][2]int{"01-05": {1, 5}, "02-29": {2, 29}, "12-31": {12, 31}} {
		m, d, err := ParseMonthDay(s)
		if err != nil || int(m) != want[0] || d != want[1] {
			t.Errorf("ParseMonthDay(%q) = %v %d %v", s, m, d, err)
		}
	}
}

func FuzzParseMonthDay(f *testing.F) {
	for _, s := range []string{"01-05", "02-29", "00-00", "1-1", "12-32", "aa-bb", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, d, err := ParseMonthDay(s)
		if err != nil {
			return
		}
		if m < 1 || m > 12 || d < 1 || d > 31 || time.Date(2024, m, d, 0, 0, 0, 0, time.UTC).Day() != d {
			t.Fatalf("ParseMonthDay(%q) = %v %d", s, m, d)
		}
	})
}
