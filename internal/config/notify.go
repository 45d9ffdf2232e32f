package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
)

// Notify configures how maillon reaches people: the SMTP relay every
// email goes through, and named channels (email lists, Matrix rooms,
// webhooks, SMS gateways) that alert routes refer to.
type Notify struct {
	Email    Email     `yaml:"email"`
	Channels []Channel `yaml:"channels"`
}

// Email is the SMTP relay. An empty SMTP leaves email off: what would be
// mailed is logged as skipped instead.
type Email struct {
	// SMTP is host:port of the relay (25, 587 with STARTTLS, 465 with TLS).
	SMTP string `yaml:"smtp"`
	// From is the sender, e.g. "Neutrinet <noc@example.org>".
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	// PasswordFile keeps the relay's password out of the config file.
	PasswordFile string `yaml:"password_file"`
	// TLS is "starttls" (required), "tls" (implicit, port 465),
	// "opportunistic" (STARTTLS when offered; the default) or "none".
	TLS string `yaml:"tls"`
}

// Channel is one named destination.
type Channel struct {
	Name string `yaml:"name"`
	// Type is email, matrix, webhook or sms.
	Type string `yaml:"type"`
	// To are the email recipients (email) or phone numbers (sms).
	To []string `yaml:"to"`
	// Homeserver, Room and AccessTokenFile address a Matrix room through
	// the client-server API, as a bot account that joined it.
	Homeserver      string `yaml:"homeserver"`
	Room            string `yaml:"room"`
	AccessTokenFile string `yaml:"access_token_file"`
	// URL is the webhook's or the SMS gateway's address. For sms it may
	// hold {to} and {text} placeholders (query-escaped), which suits
	// gateways driven by GET (Free Mobile, many USB-modem daemons).
	URL string `yaml:"url"`
	// Method is GET or POST (default POST); POST sends JSON
	// {"to":..., "text":...} for sms and the message for webhooks.
	Method string `yaml:"method"`
	// HeadersFile holds extra request headers, one "Name: value" per
	// line (an Authorization header, typically): secrets stay out of here.
	HeadersFile string `yaml:"headers_file"`
}

func (n *Notify) validate() error {
	if e := n.Email; e.SMTP != "" {
		if _, _, err := net.SplitHostPort(e.SMTP); err != nil {
			return fmt.Errorf("notify.email.smtp: %q is not host:port", e.SMTP)
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			return fmt.Errorf("notify.email.from: %q: %v", e.From, err)
		}
		switch e.TLS {
		case "", "opportunistic", "starttls", "tls", "none":
		default:
			return fmt.Errorf("notify.email.tls: %q is not starttls, tls, opportunistic or none", e.TLS)
		}
	}
	seen := map[string]bool{}
	for i, c := range n.Channels {
		where := fmt.Sprintf("notify.channels[%d]", i)
		if c.Name == "" {
			return fmt.Errorf("%s: name is required", where)
		}
		if seen[c.Name] {
			return fmt.Errorf("%s: channel %q is defined twice", where, c.Name)
		}
		seen[c.Name] = true
		where = fmt.Sprintf("notify channel %q", c.Name)
		switch c.Type {
		case "email":
			if n.Email.SMTP == "" {
				return fmt.Errorf("%s: email channels need notify.email.smtp", where)
			}
			if len(c.To) == 0 {
				return fmt.Errorf("%s: to is required", where)
			}
			for _, to := range c.To {
				if _, err := mail.ParseAddress(to); err != nil {
					return fmt.Errorf("%s: to %q: %v", where, to, err)
				}
			}
		case "matrix":
			if err := checkURL(c.Homeserver); err != nil {
				return fmt.Errorf("%s: homeserver: %w", where, err)
			}
			if !strings.HasPrefix(c.Room, "!") {
				return fmt.Errorf("%s: room %q must be a room id (!…:server), not an alias", where, c.Room)
			}
			if c.AccessTokenFile == "" {
				return fmt.Errorf("%s: access_token_file is required", where)
			}
		case "webhook", "sms":
			if err := checkURL(strings.NewReplacer("{to}", "x", "{text}", "x").Replace(c.URL)); err != nil {
				return fmt.Errorf("%s: url: %w", where, err)
			}
			if c.Type == "sms" && len(c.To) == 0 {
				return fmt.Errorf("%s: to (phone numbers) is required", where)
			}
			switch strings.ToUpper(c.Method) {
			case "", "GET", "POST":
			default:
				return fmt.Errorf("%s: method %q is not GET or POST", where, c.Method)
			}
		default:
			return fmt.Errorf("%s: type %q is not email, matrix, webhook or sms", where, c.Type)
		}
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}
