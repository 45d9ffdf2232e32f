package notify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"maillon/internal/config"
)

// The HTTP channels retry what may succeed later (network errors, 429,
// 5xx) a few times: an alert that fails once to reach Matrix should not be
// lost to a homeserver restart.
const httpAttempts = 3

type httpChannel struct {
	client  *http.Client
	headers http.Header
	// backoff is the wait before attempt n (1-based); tests shorten it.
	backoff func(n int) time.Duration
}

func newHTTPChannel(c config.Channel, client *http.Client) (httpChannel, error) {
	h := httpChannel{client: client, headers: http.Header{}, backoff: func(n int) time.Duration { return time.Duration(n) * time.Second }}
	if c.HeadersFile == "" {
		return h, nil
	}
	f, err := os.Open(c.HeadersFile)
	if err != nil {
		return h, fmt.Errorf("headers_file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, value, ok := strings.Cut(text, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return h, fmt.Errorf("headers_file %s line %d: want \"Name: value\"", c.HeadersFile, line)
		}
		h.headers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h, sc.Err()
}

// do sends the request built by build, retrying transient failures. The
// error never quotes the URL: webhook and gateway URLs often carry secrets.
func (h httpChannel) do(ctx context.Context, what string, build func() (*http.Request, error)) error {
	var last error
	for attempt := 1; attempt <= httpAttempts; attempt++ {
		if attempt > 1 {
			wait := h.backoff(attempt - 1)
			if ra, ok := last.(retryAfter); ok && ra.after > 0 {
				wait = ra.after
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), last)
			case <-time.After(wait):
			}
		}
		req, err := build()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for k, vs := range h.headers {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err := h.client.Do(req.WithContext(ctx))
		if err != nil {
			// url.Error quotes the URL, which may hold a token.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			last = err
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			break
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			last = retryAfter{last, time.Duration(s) * time.Second}
		}
	}
	return fmt.Errorf("%s: %w", what, last)
}

type retryAfter struct {
	error
	after time.Duration
}

// Webhook POSTs the message as JSON (or GETs the URL, for the simplest
// receivers). The payload is maillon's own; say so in the docs.
type Webhook struct {
	httpChannel
	url    string
	method string
}

func newWebhook(c config.Channel, client *http.Client) (*Webhook, error) {
	h, err := newHTTPChannel(c, client)
	if err != nil {
		return nil, err
	}
	method := strings.ToUpper(c.Method)
	if method == "" {
		method = http.MethodPost
	}
	return &Webhook{httpChannel: h, url: c.URL, method: method}, nil
}

// WebhookPayload is the JSON body of a webhook.
type WebhookPayload struct {
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	Severity string `json:"severity,omitempty"`
	URL      string `json:"url,omitempty"`
}

// Send delivers m to the webhook.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(WebhookPayload{Subject: m.Subject, Text: m.Text, Severity: m.Severity, URL: m.URL})
	if err != nil {
		return err
	}
	return w.do(ctx, "send webhook "+strconv.Quote(m.Subject), func() (*http.Request, error) {
		if w.method == http.MethodGet {
			return http.NewRequest(http.MethodGet, w.url, nil)
		}
		req, err := http.NewRequest(w.method, w.url, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
}

// SMS sends a text through an HTTP gateway, once per phone number. SMS
// are short: the subject, then the URL if any, cut at 480 characters
// (three concatenated messages).
type SMS struct {
	httpChannel
	url    string
	method string
	to     []string
}

func newSMS(c config.Channel, client *http.Client) (*SMS, error) {
	h, err := newHTTPChannel(c, client)
	if err != nil {
		return nil, err
	}
	method := strings.ToUpper(c.Method)
	if method == "" {
		method = http.MethodPost
	}
	return &SMS{httpChannel: h, url: c.URL, method: method, to: c.To}, nil
}

// SMSText is what an SMS says for m.
func SMSText(m Message) string {
	text := m.Subject
	if m.Severity != "" {
		text = strings.ToUpper(m.Severity) + ": " + text
	}
	if m.URL != "" {
		text += " " + m.URL
	}
	if r := []rune(text); len(r) > 480 {
		text = string(r[:479]) + "…"
	}
	return text
}

// Send texts every number; the first failure is reported after all were
// tried, so one bad number does not silence the others.
func (s *SMS) Send(ctx context.Context, m Message) error {
	text := SMSText(m)
	var first error
	for _, to := range s.to {
		target := strings.NewReplacer("{to}", url.QueryEscape(to), "{text}", url.QueryEscape(text)).Replace(s.url)
		err := s.do(ctx, "send sms", func() (*http.Request, error) {
			if s.method == http.MethodGet {
				return http.NewRequest(http.MethodGet, target, nil)
			}
			body, _ := json.Marshal(map[string]string{"to": to, "text": text})
			req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		})
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Matrix posts to a room through the client-server API as a bot account
// that has joined it. The transaction id makes a retried PUT idempotent:
// the homeserver posts the message once however many attempts reach it.
type Matrix struct {
	httpChannel
	homeserver string
	room       string
	token      string
}

func newMatrix(c config.Channel, client *http.Client) (*Matrix, error) {
	h, err := newHTTPChannel(c, client)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(c.AccessTokenFile)
	if err != nil {
		return nil, fmt.Errorf("access_token_file: %w", err)
	}
	return &Matrix{httpChannel: h, homeserver: strings.TrimRight(c.Homeserver, "/"), room: c.Room, token: strings.TrimSpace(string(b))}, nil
}

// Send posts m as an m.notice (bots' messages, which clients show quieter
// and other bots ignore), plain text with an HTML rendering.
func (x *Matrix) Send(ctx context.Context, m Message) error {
	var txn [12]byte
	rand.Read(txn[:])
	endpoint := x.homeserver + "/_matrix/client/v3/rooms/" + url.PathEscape(x.room) +
		"/send/m.room.message/" + hex.EncodeToString(txn[:])
	body, err := json.Marshal(MatrixEvent(m))
	if err != nil {
		return err
	}
	return x.do(ctx, "send matrix message "+strconv.Quote(m.Subject), func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPut, endpoint, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+x.token)
		}
		return req, err
	})
}

// MatrixEvent is the m.room.message content for m.
func MatrixEvent(m Message) map[string]string {
	plain := m.Subject
	rich := "<strong>" + html.EscapeString(m.Subject) + "</strong>"
	if m.Severity != "" {
		plain = "[" + m.Severity + "] " + plain
		rich = "[" + html.EscapeString(m.Severity) + "] " + rich
	}
	if m.Text != "" {
		plain += "\n" + m.Text
		rich += "<br>" + strings.ReplaceAll(html.EscapeString(m.Text), "\n", "<br>")
	}
	if m.URL != "" {
		plain += "\n" + m.URL
		rich += `<br><a href="` + html.EscapeString(m.URL) + `">` + html.EscapeString(m.URL) + "</a>"
	}
	return map[string]string{"msgtype": "m.notice", "body": plain, "format": "org.matrix.custom.html", "formatted_body": rich}
}
