package config

import "fmt"

// Journal configures the interventions journal.
type Journal struct {
	// Notify names where an agent's change report is announced: channels
	// of notify.channels, or "admins" to email every admin and technical
	// officer. Empty: reports only land in the journal.
	Notify []string `yaml:"notify"`
}

// JournalAdmins is the Journal.Notify name that mails the admins.
const JournalAdmins = "admins"

func (c *Config) validateJournal() error {
	for _, name := range c.Journal.Notify {
		if name == JournalAdmins {
			if c.Notify.Email.SMTP == "" {
				return fmt.Errorf("journal.notify: %q needs notify.email.smtp", name)
			}
			continue
		}
		found := false
		for _, ch := range c.Notify.Channels {
			found = found || ch.Name == name
		}
		if !found {
			return fmt.Errorf("journal.notify: %q is not admins nor a channel of notify.channels", name)
		}
	}
	return nil
}
