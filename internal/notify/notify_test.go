package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"maillon/internal/config"
	"maillon/internal/testenv"
)

func TestEmailDeliveredToRealSMTPServer(t *testing.T) {
	srv := testenv.StartSMTP(t)
	n, err := New(config.Notify{
		Email:    config.Email{SMTP: srv.Addr, From: "NOC Neutrinet <noc@example.org>", TLS: "none"},
		Channels: []config.Channel{{Name: "ops", Type: "email", To: []string{"ops@example.org", "oncall@example.org"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = n.Email().Send(ctx, Message{
		To:      []string{"alice@example.net"},
		Subject: "Maintenance prévue — résidence Fleming",
		Text:    "Coupure de 22 h à 23 h.\nMerci de votre patience.",
		URL:     "https://status.example.org/maintenance/4",
		Headers: map[string]string{"List-Unsubscribe": "<https://status.example.org/u/abc>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ops, ok := n.Channel("ops")
	if !ok {
		t.Fatal("channel ops missing")
	}
	if err := ops.Send(ctx, Message{To: []string{"ignored@example.net"}, Subject: "switch sw-fleming down", Severity: "critical"}); err != nil {
		t.Fatal(err)
	}
	mails := srv.Wait(t, 2)
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	alice := srv.To(t, "alice@example.net")
	if len(alice) != 1 {
		t.Fatalf("alice got %d mails", len(alice))
	}
	m := alice[0]
	if m.Subject != "Maintenance prévue — résidence Fleming" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Body, "Coupure de 22 h à 23 h.") || !strings.Contains(m.Body, "https://status.example.org/maintenance/4") {
		t.Errorf("body %q", m.Body)
	}
	if got := m.Header.Get("List-Unsubscribe"); got != "<https://status.example.org/u/abc>" {
		t.Errorf("List-Unsubscribe %q", got)
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if m.From != "noc@example.org" {
		t.Errorf("envelope sender %q", m.From)
	}
	if got := srv.To(t, "ignored@example.net"); len(got) != 0 {
		t.Error("a channel mailed the message's own recipients instead of its list")
	}
	list := srv.To(t, "oncall@example.org")
	if len(list) != 1 || list[0].Subject != "switch sw-fleming down" || len(list[0].To) != 2 {
		t.Errorf("channel mail: %+v", list)
	}
}

func TestEmailErrors(t *testing.T) {
	var n *Notifier
	if err := n.Email().Send(context.Background(), Message{To: []string{"a@example.org"}}); err != ErrEmailOff {
		t.Errorf("no relay: %v, want ErrEmailOff", err)
	}
	if _, err := New(config.Notify{Channels: []config.Channel{{Name: "x", Type: "email", To: []string{"a@example.org"}}}}, nil); err == nil {
		t.Error("an email channel without a relay was accepted")
	}
	// A relay that is down: a clear error naming it, not a hang.
	port := testenv.FreePort(t)
	e, err := NewEmail(config.Email{SMTP: "127.0.0.1:" + strconv.Itoa(port), From: "noc@example.org", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Send(context.Background(), Message{To: []string{"a@example.org"}, Subject: "s"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("relay down: %v", err)
	}
	if err := e.Send(context.Background(), Message{Subject: "s"}); err == nil {
		t.Error("a message without recipient was sent")
	}
}

// recorder is a real HTTP server that records what reached it and answers
// with the statuses given, in turn (then 200).
type recorder struct {
	mu       sync.Mutex
	reqs     []*http.Request
	bodies   []string
	statuses []int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.bodies = append(r.bodies, string(b))
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, `{"event_id":"$x"}`)
}

func fast(s Sender) Sender {
	switch c := s.(type) {
	case *Webhook:
		c.backoff = func(int) time.Duration { return time.Millisecond }
	case *SMS:
		c.backoff = func(int) time.Duration { return time.Millisecond }
	case *Matrix:
		c.backoff = func(int) time.Duration { return time.Millisecond }
	}
	return s
}

func channel(t *testing.T, c config.Channel) Sender {
	t.Helper()
	n, err := New(config.Notify{Channels: []config.Channel{c}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := n.Channel(c.Name)
	return fast(s)
}

func writeFile(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWebhookRetriesTransientFailuresOnly(t *testing.T) {
	rec := &recorder{statuses: []int{503}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	wh := channel(t, config.Channel{Name: "hook", Type: "webhook", URL: srv.URL + "/hook?token=s3cret",
		HeadersFile: writeFile(t, "# auth\nAuthorization: Bearer abc\n")})
	msg := Message{Subject: "sw1 down", Text: "no answer to ping", Severity: "critical", URL: "https://m/ack/1"}
	if err := wh.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("%d requests, want a retry after the 503", len(rec.reqs))
	}
	var got WebhookPayload
	if err := json.Unmarshal([]byte(rec.bodies[1]), &got); err != nil {
		t.Fatal(err)
	}
	if got != (WebhookPayload{Subject: msg.Subject, Text: msg.Text, Severity: msg.Severity, URL: msg.URL}) {
		t.Errorf("payload %+v", got)
	}
	if h := rec.reqs[1].Header.Get("Authorization"); h != "Bearer abc" {
		t.Errorf("Authorization %q", h)
	}

	rec.statuses = []int{400}
	err := wh.Send(context.Background(), msg)
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("400: %v", err)
	}
	if len(rec.reqs) != 3 {
		t.Errorf("a 400 was retried (%d requests)", len(rec.reqs))
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the URL's token: %v", err)
	}
}

func TestSMSGatewayGetTemplate(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	sms := channel(t, config.Channel{Name: "sms", Type: "sms", Method: "GET",
		URL: srv.URL + "/sendmsg?user=123&pass=k&to={to}&msg={text}", To: []string{"+33600000001", "+33600000002"}})
	if err := sms.Send(context.Background(), Message{Subject: "Uplink Fleming down & 30 members cut", Severity: "critical", URL: "https://m/a/7"}); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("%d requests, want one per number", len(rec.reqs))
	}
	q := rec.reqs[0].URL.Query()
	if q.Get("to") != "+33600000001" || q.Get("msg") != "CRITICAL: Uplink Fleming down & 30 members cut https://m/a/7" || q.Get("user") != "123" {
		t.Errorf("query %v", q)
	}
	if rec.reqs[1].URL.Query().Get("to") != "+33600000002" {
		t.Errorf("second number: %v", rec.reqs[1].URL)
	}
}

func TestSMSTextIsBounded(t *testing.T) {
	text := SMSText(Message{Subject: strings.Repeat("é", 1000)})
	if n := len([]rune(text)); n != 480 {
		t.Errorf("%d runes", n)
	}
}

func TestMatrixRetryKeepsTransactionID(t *testing.T) {
	rec := &recorder{statuses: []int{502}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	mx := channel(t, config.Channel{Name: "mx", Type: "matrix", Homeserver: srv.URL, Room: "!abc:example.org",
		AccessTokenFile: writeFile(t, "syt_token\n")})
	if err := mx.Send(context.Background(), Message{Subject: "<sw1> down", Text: "a\nb", Severity: "warning"}); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("%d requests", len(rec.reqs))
	}
	first, second := rec.reqs[0], rec.reqs[1]
	if first.Method != http.MethodPut || first.URL.EscapedPath() != second.URL.EscapedPath() {
		t.Errorf("retry changed the transaction: %s %s vs %s", first.Method, first.URL.EscapedPath(), second.URL.EscapedPath())
	}
	if !strings.HasPrefix(first.URL.EscapedPath(), "/_matrix/client/v3/rooms/%21abc:example.org/send/m.room.message/") {
		t.Errorf("path %s", first.URL.EscapedPath())
	}
	if first.Header.Get("Authorization") != "Bearer syt_token" {
		t.Errorf("Authorization %q", first.Header.Get("Authorization"))
	}
	var ev map[string]string
	json.Unmarshal([]byte(rec.bodies[1]), &ev)
	if ev["msgtype"] != "m.notice" || ev["body"] != "[warning] <sw1> down\na\nb" ||
		ev["formatted_body"] != "[warning] <strong>&lt;sw1&gt; down</strong><br>a<br>b" {
		t.Errorf("event %v", ev)
	}
}
