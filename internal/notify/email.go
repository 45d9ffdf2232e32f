package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"maillon/internal/config"
)

// Email sends through the configured SMTP relay, one connection per
// message: maillon mails rarely, and a kept-open connection would only
// add a failure mode when the relay restarts.
type Email struct {
	host     string
	port     int
	from     *netmail.Address
	opts     []mail.Option
	hostname string
}

// NewEmail checks cfg and prepares the relay's client options.
func NewEmail(cfg config.Email) (*Email, error) {
	host, portText, err := net.SplitHostPort(cfg.SMTP)
	if err != nil {
		return nil, fmt.Errorf("notify.email.smtp %q: %w", cfg.SMTP, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("notify.email.smtp %q: bad port", cfg.SMTP)
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify.email.from %q: %w", cfg.From, err)
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(30 * time.Second)}
	switch cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if cfg.Username != "" {
		password := ""
		if cfg.PasswordFile != "" {
			b, err := os.ReadFile(cfg.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("notify.email.password_file: %w", err)
			}
			password = strings.TrimSpace(string(b))
		}
		// PLAIN and LOGIN refuse to run over an unencrypted connection
		// except to localhost, which is what a relay on the same host needs.
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain),
			mail.WithUsername(cfg.Username), mail.WithPassword(password))
	}
	hostname, _ := os.Hostname()
	if hostname != "" {
		opts = append(opts, mail.WithHELO(hostname))
	}
	return &Email{host: host, port: port, from: from, opts: opts, hostname: hostname}, nil
}

// Send mails m to m.To.
func (e *Email) Send(ctx context.Context, m Message) error {
	if len(m.To) == 0 {
		return errors.New("send email: no recipient")
	}
	msg := mail.NewMsg()
	msg.FromMailAddress(e.from)
	if err := msg.To(m.To...); err != nil {
		return fmt.Errorf("send email %q: recipients: %w", m.Subject, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(messageID(e.from.Address))
	// Robots' mail says so, so that vacation responders stay quiet.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	for k, v := range m.Headers {
		msg.SetGenHeader(mail.Header(k), v)
	}
	body := m.Text
	if m.URL != "" && !strings.Contains(body, m.URL) {
		body = strings.TrimRight(body, "\n") + "\n\n" + m.URL + "\n"
	}
	msg.SetBodyString(mail.TypeTextPlain, body)
	client, err := mail.NewClient(e.host, e.opts...)
	if err != nil {
		return fmt.Errorf("send email %q: %w", m.Subject, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send email %q to %d recipient(s) through %s: %w", m.Subject, len(m.To), net.JoinHostPort(e.host, strconv.Itoa(e.port)), err)
	}
	return nil
}

// messageID is unique and names the sender's domain, as RFC 5322 asks.
func messageID(from string) string {
	domain := "maillon.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@" + domain
}
