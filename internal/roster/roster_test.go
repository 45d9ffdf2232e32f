package roster_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"maillon/internal/notify"
	"maillon/internal/registry"
	"maillon/internal/roster"
	"maillon/internal/secret"
	"maillon/internal/store"
)

// outbox records what the roster sends, and fails while told to. The
// delivery itself is tested against a real SMTP server in internal/app.
type outbox struct {
	mu   sync.Mutex
	sent []notify.Message
	fail error
}

func (o *outbox) Send(_ context.Context, m notify.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) count() int { o.mu.Lock(); defer o.mu.Unlock(); return len(o.sent) }

type env struct {
	t    *testing.T
	ctx  context.Context
	now  time.Time
	reg  *registry.Service
	out  *outbox
	ro   *roster.Service
	opts roster.Options
}

func setup(t *testing.T, opt roster.Options) *env {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(key)
	e := &env{t: t, ctx: context.Background(), now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), out: &outbox{}}
	e.reg = registry.New(st, box, registry.Options{Now: func() time.Time { return e.now }})
	if opt.Mail == nil && !opt.MailOff {
		opt.Mail = e.out
	}
	e.opts = opt
	e.ro = roster.New(e.reg, opt)
	return e
}

// at moves the clock to t and ticks.
func (e *env) at(t time.Time) {
	e.t.Helper()
	e.now = t
	if err := e.ro.Tick(e.ctx, t); err != nil {
		e.t.Logf("tick at %s: %v", t, err)
	}
}

func (e *env) admin(name string, roles ...registry.Role) registry.Admin {
	e.t.Helper()
	a, err := e.reg.CreateAdmin(e.ctx, registry.System, registry.AdminInput{Name: &name, Email: ptr(name + "@example.org"), Roles: &roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func ptr[T any](v T) *T { return &v }

func day(m time.Month, d, h int) time.Time { return time.Date(2027, m, d, h, 0, 0, 0, time.UTC) }

func (e *env) campaign() registry.RosterCampaign {
	e.t.Helper()
	c, err := e.ro.Status(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestYearlyStart starts the campaign on its date, once, catches up
// within the window a daemon down on the date, and leaves a year alone
// whose window passed.
func TestYearlyStart(t *testing.T) {
	e := setup(t, roster.Options{Month: time.January, Day: 5, Window: 14 * 24 * time.Hour})
	e.admin("ada", registry.RoleTechnicalOfficer)

	e.at(day(1, 4, 23))
	if _, err := e.ro.Status(e.ctx); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("campaign before the date: %v", err)
	}
	e.at(day(1, 5, 0))
	if c := e.campaign(); c.ID != 1 || !c.StartedAt.Equal(day(1, 5, 0)) || e.out.count() != 1 {
		t.Fatalf("campaign on the date = %+v, %d mails", c, e.out.count())
	}
	if _, err := e.ro.AnswerToken(e.ctx, "mlr_nope", true); !errors.Is(err, registry.ErrRosterLink) {
		t.Fatalf("wrong token = %v", err)
	}
	if _, err := e.ro.Answer(e.ctx, registry.System, 1, true); err != nil {
		t.Fatal(err)
	}
	e.at(day(1, 6, 0))
	if c := e.campaign(); c.ID != 1 || c.State != registry.CampaignClosed || e.out.count() != 1 {
		t.Fatalf("the day after = %+v, %d mails", c, e.out.count())
	}

	// Next year the daemon was down on the date: it starts on its
	// first tick within the window.
	e.at(time.Date(2028, 1, 12, 8, 0, 0, 0, time.UTC))
	if c := e.campaign(); c.ID != 2 || c.StartedAt.Year() != 2028 {
		t.Fatalf("late start = %+v", c)
	}
	e.ro.Answer(e.ctx, registry.System, 1, true)

	// The year after, it comes back after the window: no campaign
	// months late, the next one on its date.
	e.at(time.Date(2029, 1, 20, 0, 0, 0, 0, time.UTC))
	if c := e.campaign(); c.ID != 2 {
		t.Fatalf("campaign after the window = %+v", c)
	}
	e.at(time.Date(2030, 1, 5, 0, 0, 0, 0, time.UTC))
	if c := e.campaign(); c.ID != 3 {
		t.Fatalf("campaign of 2030 = %+v", c)
	}
}

// TestMailOff starts nothing and removes nobody when no mail can go out.
func TestMailOff(t *testing.T) {
	e := setup(t, roster.Options{Month: time.January, Day: 5, MailOff: true})
	e.admin("ada", registry.RoleTechnicalOfficer)
	e.at(day(1, 5, 1))
	if _, err := e.ro.Status(e.ctx); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("campaign without mail: %v", err)
	}
	if _, err := e.ro.Start(e.ctx, registry.System); !errors.Is(err, roster.ErrMailOff) {
		t.Fatalf("start without mail = %v", err)
	}
}

// TestFailedMailRetried retries a mail the relay refused, and gives an
// admin mailed late a whole window from their mail; nobody mailed loses
// anything.
func TestFailedMailRetried(t *testing.T) {
	window := 14 * 24 * time.Hour
	e := setup(t, roster.Options{Window: window, Retry: time.Hour})
	e.admin("ada", registry.RoleTechnicalOfficer)
	e.out.fail = errors.New("451 try again later")
	e.now = day(3, 1, 0)
	camp, err := e.ro.Start(e.ctx, registry.System)
	if err != nil {
		t.Fatal(err)
	}
	e.at(day(3, 1, 0))
	if c := e.campaign(); c.Requests[0].MailError == "" || c.Requests[0].MailSentAt != nil {
		t.Fatalf("after a refused mail = %+v", c.Requests[0])
	}
	e.out.fail = nil
	e.at(day(3, 1, 0).Add(30 * time.Minute))
	if e.out.count() != 0 {
		t.Fatal("retried before the retry delay")
	}
	// The relay is back two days later; the deadline moves with the mail.
	e.at(day(3, 3, 0))
	r := e.campaign().Requests[0]
	if e.out.count() != 1 || r.MailSentAt == nil || !r.ExpiresAt.Equal(day(3, 3, 0).Add(window)) || !r.ExpiresAt.After(camp.Deadline) {
		t.Fatalf("after the retry: %d mails, %+v", e.out.count(), r)
	}
	e.at(camp.Deadline.Add(time.Hour))
	if r := e.campaign().Requests[0]; r.State != registry.RosterPending {
		t.Fatalf("removed at the campaign's deadline though mailed late: %+v", r)
	}
	e.at(r.ExpiresAt.Add(time.Minute))
	r = e.campaign().Requests[0]
	if r.State != registry.RosterRemoved || r.NoticeSentAt == nil || e.out.count() != 1 {
		t.Fatalf("at their own deadline = %+v (nobody else to tell), %d mails", r, e.out.count())
	}
}

// TestRemindOncePerCertificate reminds before expiry, once, and leaves out
// a certificate renewed on the same key.
func TestRemindOncePerCertificate(t *testing.T) {
	e := setup(t, roster.Options{Reminder: 14 * 24 * time.Hour})
	ada := e.admin("ada", registry.RoleTechnicalOfficer)
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	ca, _ := ssh.NewSignerFromKey(caKey)
	_, k1, _ := ed25519.GenerateKey(rand.Reader)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	key1, _ := ssh.NewSignerFromKey(k1)
	key2, _ := ssh.NewSignerFromKey(k2)
	sign := func(serial uint64, key ssh.PublicKey, until time.Time) {
		c := &ssh.Certificate{Key: key, Serial: serial, CertType: ssh.UserCert, KeyId: "t", ValidPrincipals: []string{"technical-officer"},
			ValidAfter: uint64(e.now.Add(-time.Minute).Unix()), ValidBefore: uint64(until.Unix())}
		if err := c.SignCert(rand.Reader, ca); err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.RecordCertificate(e.ctx, registry.System, registry.CertificateInput{AdminID: &ada.ID, Certificate: string(ssh.MarshalAuthorizedKey(c))}); err != nil {
			t.Fatal(err)
		}
	}
	sign(1, key1.PublicKey(), day(2, 1, 0))
	sign(2, key1.PublicKey(), day(12, 1, 0)) // renewed: 1 needs no reminder
	sign(3, key2.PublicKey(), day(2, 1, 0))

	e.at(day(1, 17, 0))
	if e.out.count() != 0 {
		t.Fatal("reminded too early")
	}
	e.at(day(1, 18, 0))
	e.at(day(1, 19, 0))
	e.at(day(1, 31, 0))
	if e.out.count() != 1 || !strings.HasPrefix(e.out.sent[0].Subject, "Your SSH certificate 3 expires") || e.out.sent[0].To[0] != "ada@example.org" {
		t.Fatalf("reminders = %+v", e.out.sent)
	}
}
