// Package notify delivers messages to people: email through an SMTP relay,
// and named channels (email lists, Matrix rooms, webhooks, SMS gateways)
// that alert routes and announcements refer to. It is a leaf: monitoring,
// the status page and the roster import it for Message and the channels,
// and it imports nothing of maillon but config.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"maillon/internal/config"
)

// Message is one notification, written for a human.
type Message struct {
	// To are email recipients for Email.Send; channels have their own
	// destinations and ignore it.
	To      []string
	Subject string
	// Text is the plain-text body.
	Text string
	// Severity ("critical", "warning", "info") lets channels mark it.
	Severity string
	// URL is where the reader acts (acknowledge, confirm, read more).
	URL string
	// Headers are extra email headers (List-Unsubscribe, Auto-Submitted).
	Headers map[string]string
}

// Sender delivers a message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrEmailOff is returned when something must be mailed but no SMTP relay
// is configured.
var ErrEmailOff = errors.New("email is off: notify.email.smtp is not configured")

// Notifier holds the mailer and the named channels of a configuration.
type Notifier struct {
	email    *Email
	channels map[string]Sender
}

// New builds the notifier of cfg. client carries the HTTP channels'
// requests (nil: a client with a 10 s timeout).
func New(cfg config.Notify, client *http.Client) (*Notifier, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	n := &Notifier{channels: map[string]Sender{}}
	if cfg.Email.SMTP != "" {
		e, err := NewEmail(cfg.Email)
		if err != nil {
			return nil, err
		}
		n.email = e
	}
	for _, c := range cfg.Channels {
		ch, err := n.channel(c, client)
		if err != nil {
			return nil, fmt.Errorf("notify channel %q: %w", c.Name, err)
		}
		n.channels[c.Name] = ch
	}
	return n, nil
}

func (n *Notifier) channel(c config.Channel, client *http.Client) (Sender, error) {
	switch c.Type {
	case "email":
		if n.email == nil {
			return nil, ErrEmailOff
		}
		return emailList{n.email, c.To}, nil
	case "matrix":
		return newMatrix(c, client)
	case "webhook":
		return newWebhook(c, client)
	case "sms":
		return newSMS(c, client)
	}
	return nil, fmt.Errorf("unknown type %q", c.Type)
}

// Email sends to each message's own recipients; it answers ErrEmailOff
// when no relay is configured, so callers can tell "off" from "failed".
func (n *Notifier) Email() Sender {
	if n == nil || n.email == nil {
		return off{}
	}
	return n.email
}

// EmailEnabled reports whether an SMTP relay is configured.
func (n *Notifier) EmailEnabled() bool { return n != nil && n.email != nil }

// Channel returns the named channel.
func (n *Notifier) Channel(name string) (Sender, bool) {
	if n == nil {
		return nil, false
	}
	s, ok := n.channels[name]
	return s, ok
}

// Channels lists the channel names, sorted.
func (n *Notifier) Channels() []string {
	if n == nil {
		return nil
	}
	names := make([]string, 0, len(n.channels))
	for name := range n.channels {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

type off struct{}

func (off) Send(context.Context, Message) error { return ErrEmailOff }

// emailList is an email channel: the message goes to the channel's list.
type emailList struct {
	email *Email
	to    []string
}

func (l emailList) Send(ctx context.Context, m Message) error {
	m.To = l.to
	return l.email.Send(ctx, m)
}
