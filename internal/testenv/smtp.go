package testenv

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SMTP is a real SMTP server (aiosmtpd, Debian python3-aiosmtpd) started
// by a test, delivering every message into a maildir the test reads back.
type SMTP struct {
	Addr    string // 127.0.0.1:port
	Maildir string
	Log     Buffer
}

// Mail is one delivered message as the mailbox holds it.
type Mail struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Header  mail.Header
	Subject string // decoded
	Body    string // text, decoded from its transfer encoding
	Raw     []byte
}

// StartSMTP runs aiosmtpd on a free port of 127.0.0.1 and stops it when
// the test ends.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	// Debian's python3 has python3-aiosmtpd; a python3 earlier on PATH
	// (pyenv) would not.
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = LookPath(t, "python3")
	}
	if err := exec.Command(python, "-c", "import aiosmtpd").Run(); err != nil {
		Unavailable(t, "aiosmtpd (Debian package python3-aiosmtpd) is not installed for %s", python)
	}
	s := &SMTP{Maildir: filepath.Join(t.TempDir(), "Maildir"), Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))}
	cmd := exec.Command(python, "-m", "aiosmtpd", "-n", "-l", s.Addr, "-c", "aiosmtpd.handlers.Mailbox", s.Maildir)
	cmd.Stdout, cmd.Stderr = &s.Log, &s.Log
	if err := cmd.Start(); err != nil {
		t.Fatalf("aiosmtpd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("aiosmtpd log:\n%s", s.Log.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiosmtpd did not start:\n%s", s.Log.String())
		}
	}
}

// Messages reads every message delivered so far, oldest first.
func (s *SMTP) Messages(t testing.TB) []Mail {
	t.Helper()
	var files []string
	for _, sub := range []string{"new", "cur"} {
		names, err := filepath.Glob(filepath.Join(s.Maildir, sub, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, names...)
	}
	type dated struct {
		m  Mail
		at time.Time
	}
	var all []dated
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMail(raw)
		if err != nil {
			t.Fatalf("message %s: %v", name, err)
		}
		fi, _ := os.Stat(name)
		all = append(all, dated{m, fi.ModTime()})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	out := make([]Mail, len(all))
	for i, d := range all {
		out[i] = d.m
	}
	return out
}

// Wait returns the messages once at least n were delivered; it fails the
// test after 15 s (a deadline for a hung delivery, not a timing check).
func (s *SMTP) Wait(t testing.TB, n int) []Mail {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ms := s.Messages(t); len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d message(s) delivered to %s, want %d", len(s.Messages(t)), s.Addr, n)
		}
	}
}

// To returns the delivered messages whose envelope names rcpt.
func (s *SMTP) To(t testing.TB, rcpt string) []Mail {
	t.Helper()
	var out []Mail
	for _, m := range s.Messages(t) {
		for _, to := range m.To {
			if strings.EqualFold(to, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// ParseMail reads a message as aiosmtpd's Mailbox handler stores it: the
// envelope in X-MailFrom and X-RcptTo, the text part decoded.
func ParseMail(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	m := Mail{Header: msg.Header, Raw: raw, From: msg.Header.Get("X-MailFrom")}
	for _, to := range strings.Split(msg.Header.Get("X-RcptTo"), ",") {
		if to = strings.TrimSpace(to); to != "" {
			m.To = append(m.To, to)
		}
	}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, err
	}
	body, err := textBody(msg.Header, msg.Body)
	m.Body = body
	return m, err
}

func textBody(h mail.Header, r io.Reader) (string, error) {
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
				return decodePart(p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
	}
	return decodePart(h.Get("Content-Transfer-Encoding"), r)
}

func decodePart(encoding string, r io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}
